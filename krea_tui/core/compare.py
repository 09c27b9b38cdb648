"""A/B comparison, without a screen: a batch narrowed down by pairs, and what differs between
two requests.

The pictures meet two at a time. The one chosen stays where it is on screen (the eye keeps
its place) and the next picture comes up in the loser's place, until one is left: a batch of
n is narrowed down in n - 1 choices. What a choice writes to the history is the screen's
(see tui/screens/compare.py): the winner is picked, the loser only loses a pick it had (it
lost to a better one; that does not make it a reject).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from krea_tui.core.sheet import show_value


class Duel:
    """Pictures (job ids) met two at a time; `slots` are what the screen shows, left and
    right (or top and bottom)."""

    def __init__(self, local_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(local_ids))
        self.slots: list[str | None] = [ids[0] if ids else None, ids[1] if len(ids) > 1 else None]
        self._waiting = ids[2:]
        self._kept_side = 0  # where the last winner is (at first: the left, the first one)

    @property
    def pair(self) -> tuple[str, str] | None:
        left, right = self.slots
        return (left, right) if left is not None and right is not None else None

    @property
    def done(self) -> bool:
        return self.pair is None

    @property
    def left(self) -> int:
        """Choices still to make."""
        return len(self._waiting) + (1 if self.pair else 0)

    @property
    def kept(self) -> str | None:
        """The one picture left, once done."""
        return next((slot for slot in self.slots if slot is not None), None) if self.done else None

    def choose(self, side: int) -> tuple[str, str]:
        """The picture in slot `side` (0 left, 1 right) wins: (winner, loser). The next one
        waiting takes the loser's slot."""
        pair = self.pair
        if pair is None:
            raise ValueError("no pair to choose from")
        winner, loser = pair[side], pair[1 - side]
        self.slots[1 - side] = self._waiting.pop(0) if self._waiting else None
        self._kept_side = side
        return winner, loser

    def skip(self) -> None:
        """Neither: both stay as they are in the history, and the challenger (not the last
        winner) makes way for the next picture."""
        if self.pair is not None:
            other = 1 - self._kept_side
            self.slots[other] = self._waiting.pop(0) if self._waiting else None


def request_diff(
    model_a: str, a: Mapping[str, Any], model_b: str, b: Mapping[str, Any]
) -> list[tuple[str, str, str]]:
    """(parameter, A's value, B's value) of each parameter whose values differ, the model
    first, then by name; a parameter one request lacks shows as "—"."""
    rows: list[tuple[str, str, str]] = []
    if model_a != model_b:
        rows.append(("model", model_a, model_b))
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key), b.get(key)
        if left != right or type(left) is not type(right):
            rows.append((key, show_value(left), show_value(right)))
    return rows
