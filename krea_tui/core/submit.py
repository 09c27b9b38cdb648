"""What a front end asks `JobEngine.submit` to send, and the rules every way of sending shares.

The compose form, a sweep, a bulk re-run, `krea-tui submit` and `krea-tui batch` all send through
one function, so a job's stored price and its batch are the same whichever way it was sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from krea_tui.core.batch import new_batch_id


@dataclass(frozen=True, slots=True)
class Order:
    """Request bodies for one model, and the preset they came from (if any). `parents`, when
    given, has one entry per body: the local id of the job that body was made from (an enhanced
    picture's job, the job re-run or edited), or None; the history keeps it (lineage)."""

    model: str
    bodies: Sequence[Mapping[str, Any]]
    preset: str | None = None
    parents: Sequence[str | None] | None = None

    def __post_init__(self) -> None:
        if self.parents is not None and len(self.parents) != len(self.bodies):
            raise ValueError(
                f"an order of {len(self.bodies)} bodies names {len(self.parents)} parents"
            )

    def parent_of(self, index: int) -> str | None:
        """The parent of the `index`th body, if it has one."""
        return self.parents[index] if self.parents is not None else None


class Pricing(Protocol):
    """What submitting needs of the catalogue: one job's estimate, as the history stores it."""

    def cost_with_unit(
        self, path: str, params: Mapping[str, Any]
    ) -> tuple[float | None, str | None]: ...


def batch_for(orders: Sequence[Order], batch_id: str | None, now: datetime | None) -> str | None:
    """The batch the jobs join: the one given (a sweep names its parameters in it), else a new
    one when there is more than one job, so their end is announced once and the contact sheet
    can lay them out; a lone job is no batch."""
    if batch_id is not None:
        return batch_id
    return new_batch_id(now=now) if sum(len(o.bodies) for o in orders) > 1 else None
