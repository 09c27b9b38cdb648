"""Worker failures reach the App, wherever the worker ran.

Every worker runs with `exit_on_error=False`, so a failure does not end the app; but Textual
tells only the worker's own node (`Worker.StateChanged` does not bubble), where it would vanish.
`ReportsWorkerFailures` passes it on as `WorkerFailed`, which bubbles up to the App's one
handler (`KreaApp._on_worker_failed`): a toast, or a modal when the engine stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.worker import Worker, WorkerState

# What the user was waiting for when a worker of each group failed.
WHAT_FAILED = {
    "bulk": "The action on the selected jobs",
    "clipboard": "Copying",
    "import": "Importing jobs from the server",
    "sheet-pictures": "Drawing the contact sheet's pictures",
    "thumbnail": "Drawing the thumbnail",
    "viewer-image": "Showing the picture",
    "thumbs": "Drawing the gallery's thumbnails",
    "styles": "Reading the styles",
    "cover": "Drawing the style's cover",
    "train-scan": "Looking at the training folder",
    "train-style": "Sending the style training",
    "enhance": "Preparing the enhance",
    "enhance-sizing": "Sizing the pictures to enhance",
    "compare-pictures": "Drawing the pictures to compare",
    "export": "Exporting",
}


class WorkerFailed(Message, bubble=True):
    """A worker ended with an exception; `worker.error` holds it."""

    def __init__(self, worker: Worker[Any]) -> None:
        self.worker = worker
        super().__init__()

    @property
    def summary(self) -> str:
        what = WHAT_FAILED.get(self.worker.group, f"A background task ({self.worker.group})")
        error = self.worker.error
        return f"{what} failed: {type(error).__name__}: {error}"


class ReportsWorkerFailures:
    """Mixed into every node that runs workers, before its Textual base class."""

    if TYPE_CHECKING:

        def post_message(self, message: Message) -> bool: ...

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.post_message(WorkerFailed(event.worker))
