"""The queue view's entries in the command palette: filters, marks, bulk actions, triage.

Kept apart from commands.py so that the palette lists every key of the main screen without
that shared file growing with each one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Run = Callable[[str], Callable[[], Any]]

# (title, help, action on the main screen)
QUEUE_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("view: filter", "Filter as you type: words, status:failed, model:, age:<1h (/)", "filter"),
    ("view: all jobs", "Drop the status filter (1)", "quick_view('all')"),
    ("view: active jobs", "Only jobs not ended yet (2)", "quick_view('active')"),
    ("view: failed jobs", "Only failed jobs (3)", "quick_view('failed')"),
    ("view: done jobs", "Only completed jobs (4)", "quick_view('done')"),
    ("view: sort by next column", "Queue order, status, time, prompt, model, … (o)", "sort_next"),
    ("view: reverse sort", "Flip the order (O)", "sort_reverse"),
    ("view: newest first", "The queue's order, newest or oldest first; kept (N)", "newest_first"),
    ("view: follow new jobs", "Keep the newest job in view until you move (f)", "toggle_follow"),
    ("view: choose columns", "Which columns show as the width allows; kept (L)", "choose_columns"),
    ("view: group by batch", "Rows under a header per batch, or not (B)", "group_batches"),
    ("view: save", "Save the filter, sort and grouping under a name (w)", "save_view"),
    ("view: recall saved", "Apply a saved view (V)", "recall_view"),
    ("mark: toggle", "Mark or unmark the highlighted job (space)", "toggle_mark"),
    ("mark: all shown", "Mark every job the filter shows (A)", "mark_all"),
    ("mark: range", "From where v was pressed to here (v, v)", "mark_range"),
    ("mark: invert", "Marked become unmarked and back (I)", "invert_marks"),
    ("mark: clear", "Unmark everything (u)", "clear_marks"),
    ("jobs: retry", "Marked jobs (or this one) again, same request (r)", "rerun"),
    (
        "jobs: re-run with new seeds",
        "Marked jobs (or this one) with new seeds (R)",
        "rerun_new_seed",
    ),
    ("jobs: cancel", "Cancel marked jobs (or this one) (c)", "cancel_job"),
    ("jobs: save results", "Download results of marked jobs (D)", "download"),
    ("jobs: copy ids", "Copy the ids of marked jobs (y)", "copy_id"),
    ("jobs: remove from history", "Forget marked ended jobs; files stay (x)", "remove"),
    ("queue: move held job up", "Send it sooner (K)", "move_held(-1)"),
    ("queue: move held job down", "Send it later (J)", "move_held(1)"),
    ("queue: edit held job", "Change its request before it is sent (E)", "edit_held"),
    (
        "queue: cancel batch's held jobs",
        "Sent ones finish; the rest never go (C)",
        "cancel_held_batch",
    ),
    ("triage: failures by cause", "Failed jobs grouped by reason; time per state (t)", "triage"),
)


def queue_view_commands(run: Run) -> list[tuple[str, str, Callable[[], Any]]]:
    return [(title, text, run(action)) for title, text, action in QUEUE_COMMANDS]
