"""Messages that carry engine events into the widget tree."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from krea_tui.core.events import EngineEvent


@dataclass
class RuntimeReady(Message):
    """The engine is running; screens may read the store and act."""


@dataclass
class RuntimeFailed(Message):
    """The engine could not start or stopped; `reason` is for the user to read."""

    reason: str


@dataclass
class EngineUpdate(Message):
    """One engine event, delivered in the order the engine published it."""

    event: EngineEvent
