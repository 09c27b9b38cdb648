"""What the engine tells its subscribers, and the fan-out that delivers it.

Each subscriber gets its own unbounded queue, so a slow screen never makes the engine drop or
reorder anything: every event reaches every subscriber once, in the order it happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from krea_tui.core.store import StoredJob


@dataclass(frozen=True, slots=True)
class JobEvent:
    """A job changed status (`old` is None when it was just created)."""

    job: StoredJob
    old: str | None
    new: str
    skipped: tuple[str, ...] = ()
    # The job as it was, when the change is not one of status (a rating): what the queue
    # model tests the filter against, for the row to leave or enter the view.
    before: StoredJob | None = None


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """The local queue was paused or resumed; `reason` says why it stopped, in words."""

    paused: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """How talking to the API goes: "ok", or "backing-off" for `retry_in` s because of `detail`."""

    state: str
    detail: str | None = None
    retry_in: float | None = None


@dataclass(frozen=True, slots=True)
class DownloadEvent:
    """A result file was saved (or failed to be: `error`)."""

    job: StoredJob
    index: int
    path: Path | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PreviewEvent:
    """An in-progress preview of a job was saved to `path` (outside the output dir)."""

    job: StoredJob
    path: Path


@dataclass(frozen=True, slots=True)
class RemovedEvent:
    """Jobs another process removed from the history."""

    local_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NoticeEvent:
    """Something the user should read that is not a status change (e.g. a reconciled job)."""

    message: str
    severity: str = "information"


EngineEvent = (
    JobEvent
    | QueueEvent
    | ConnectionEvent
    | DownloadEvent
    | PreviewEvent
    | NoticeEvent
    | RemovedEvent
)


class Subscription:
    """An async iterator of events; `close()` (or leaving `async with`) stops delivery."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        self.queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()

    def __aiter__(self) -> AsyncIterator[EngineEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[EngineEvent]:
        while True:
            event = await self.queue.get()
            if event is None:
                return
            yield event

    def get_nowait(self) -> EngineEvent | None:
        try:
            return self.queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def close(self) -> None:
        self._hub.unsubscribe(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class EventHub:
    def __init__(self) -> None:
        self._subscribers: list[Subscription] = []

    def subscribe(self) -> Subscription:
        subscription = Subscription(self)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)
            subscription.queue.put_nowait(None)

    def publish(self, event: EngineEvent) -> None:
        for subscription in self._subscribers:
            subscription.queue.put_nowait(event)

    def close(self) -> None:
        for subscription in list(self._subscribers):
            self.unsubscribe(subscription)
