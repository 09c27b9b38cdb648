"""Keys handled one at a time, in the order they were typed.

Textual posts each key to the widget focused when the app reads it, and runs an ordinary
binding only when the key has travelled back up from that widget to the app. In a burst (SSH
lag, a paste without bracketed paste, `tmux send-keys abc Tab 5`) the app reads every key
before the first is handled, so the keys after a Tab were already sent to the old field when
the Tab moved the focus ("abc5", N still 1), and keys after the `n` that opens a form went to
the job table.

So the app holds each key until the one before it has been handled: the key has reached the
widget it was sent to and come back up (its binding has run), a screen it opened or went back
to has handled its messages (mounted, taken its focus), and the app has run the callbacks
queued meanwhile (`.focus()`). A text field keeps the focus while it takes printable text (no
field here acts otherwise), so a run of text goes through without waiting, as fast as before;
the first other key waits for all of it.

Effects that travel as a widget's message (Input.Submitted, Button.Pressed) can still come after
the next key; screens that act on such keys bind them with priority.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, TypeVar

from textual import events
from textual.app import App, ScreenStackError
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, TextArea

ReturnType = TypeVar("ReturnType")

# A key normally comes back within milliseconds, even on a busy machine. One that does not was
# dropped on the way (its widget was removed): after this long the next key goes anyway.
HOLD_LIMIT = 2.0


class KeyFollower(Message, bubble=True):
    """Sent after a key to the widget that got it: when it reaches the app, so has the key."""

    def __init__(self, serial: int) -> None:
        super().__init__()
        self.serial = serial


class KeysInOrder(App[ReturnType]):
    """An app that routes a key only once the keys before it have been handled."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held_keys: deque[events.Key | events.Paste] = deque()
        self._keys_followed = 0
        self._key_serial = 0  # the number of the key being followed; 0 when none is
        self._key_since = 0.0
        self._key_screen: Screen[Any] | None = None  # where the followed key was read
        self._typing_into: Widget | None = None  # text sent here and not followed yet
        self._hold_timer: Timer | None = None

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            if self._key_serial or self._held_keys:
                self._held_keys.append(event)
                self._watch_held()
            else:
                await self._route(event)
            return
        await super().on_event(event)

    async def _route(self, event: events.Key | events.Paste) -> None:
        try:
            target: Widget = self.focused or self.screen
        except ScreenStackError:
            await super().on_event(event)
            return
        if self._is_text(event, target) and self._typing_into in (None, target):
            self._typing_into = target
            await super().on_event(event)
            return
        if self._typing_into is not None:
            # This key waits until the text typed before it is in its field.
            typed, self._typing_into = self._typing_into, None
            self._held_keys.appendleft(event)
            self._follow(typed, sent=True)
            return
        self._follow(target, sent=False)
        await super().on_event(event)
        # A key not forwarded was a priority binding's, and has run just now.
        self._send_follower(target, event.is_forwarded)

    def _is_text(self, event: events.Key | events.Paste, target: Widget) -> bool:
        return (
            isinstance(event, events.Key)
            and event.is_printable
            and isinstance(target, Input | TextArea)
            and event.key not in self.active_bindings
        )

    def _follow(self, target: Widget, *, sent: bool) -> None:
        """Hold the next keys until what was sent to `target` has been handled."""
        self._keys_followed += 1
        self._key_serial = self._keys_followed
        self._key_since = time.monotonic()
        self._key_screen = target.screen if target.is_attached else None
        if sent:
            self._send_follower(target, True)

    def _send_follower(self, target: Widget, forwarded: bool) -> None:
        serial = self._key_serial
        if not (forwarded and target.post_message(KeyFollower(serial))):
            self._screen_caught_up(serial)

    def on_key_follower(self, message: KeyFollower) -> None:
        message.stop()
        self._screen_caught_up(message.serial)

    def _screen_caught_up(self, serial: int) -> None:
        """Once a screen the key opened or went back to has handled its messages, and the app
        has run what was queued meanwhile (`.focus()`), the next key may go."""
        try:
            screen: Screen[Any] | None = self.screen
        except ScreenStackError:
            screen = None
        if (
            screen is None
            or screen is self._key_screen
            or not screen.call_later(self.call_later, self._release, serial)
        ):
            self.call_later(self._release, serial)

    async def _release(self, serial: int) -> None:
        if serial != self._key_serial:
            return  # a key given up on by the hold limit, arriving late
        self._key_serial = 0
        while self._held_keys and not self._key_serial:
            await self._route(self._held_keys.popleft())

    def _watch_held(self) -> None:
        if self._hold_timer is None:
            self._hold_timer = self.set_timer(HOLD_LIMIT, self._give_up_waiting)

    async def _give_up_waiting(self) -> None:
        self._hold_timer = None
        if not self._key_serial:
            return
        waited = time.monotonic() - self._key_since
        if waited < HOLD_LIMIT:
            self._hold_timer = self.set_timer(HOLD_LIMIT - waited, self._give_up_waiting)
            return
        await self._release(self._key_serial)
        if self._key_serial:
            self._watch_held()
