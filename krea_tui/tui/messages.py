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
    """Engine events in the order the engine published them: every event that was waiting
    when the app's engine worker looked. A poll publishes hundreds at once; one message for
    all of them lets a key pressed meanwhile through after one message instead of hundreds,
    and lets the screen draw the rows, counts and detail pane once for the lot."""

    events: list[EngineEvent]


@dataclass
class EngineEvents(Message, bubble=False):
    """The events of one EngineUpdate, passed on by the App to every other screen in its stack
    (the main screen it updates directly, first). It does not bubble: from a screen it would
    reach the App again."""

    events: list[EngineEvent]
