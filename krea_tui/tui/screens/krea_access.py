"""`KreaAccess`: the running KreaApp, typed, for the screens that need its store, engine and
catalogue (Textual types `self.app` as any App). Its workers' failures reach the App too
(worker_errors.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from krea_tui.tui.worker_errors import ReportsWorkerFailures

if TYPE_CHECKING:
    from krea_tui.tui.app import KreaApp


class KreaAccess(ReportsWorkerFailures):
    """Mixed into a Screen, before it: `class X(KreaAccess, Screen[None])`."""

    if TYPE_CHECKING:
        app: Any

    @property
    def krea(self) -> KreaApp:
        return self.app  # type: ignore[no-any-return]
