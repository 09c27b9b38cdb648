"""The queue view's entries in the command palette: filters, marks, bulk actions, triage.

Kept apart from commands.py so that the palette lists every key of the main screen without
that shared file growing with each one.
"""

from __future__ import annotations

# (title, help, action on the main screen); the palette adds the action's key (commands.py).
QUEUE_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("view: filter", "Filter as you type: words, status:failed, model:, age:<1h", "filter"),
    ("view: all jobs", "Drop the status filter", "quick_view('all')"),
    ("view: active jobs", "Only jobs not ended yet", "quick_view('active')"),
    ("view: failed jobs", "Only failed jobs", "quick_view('failed')"),
    ("view: done jobs", "Only completed jobs", "quick_view('done')"),
    ("view: sort by next column", "Queue order, status, time, prompt, model, …", "sort_next"),
    ("view: reverse sort", "Flip the order", "sort_reverse"),
    ("view: newest first", "The queue's order, newest or oldest first; kept", "newest_first"),
    ("view: follow new jobs", "Keep the newest job in view until you move", "toggle_follow"),
    ("view: choose columns", "Which columns show as the width allows; kept", "choose_columns"),
    ("view: group by batch", "Rows under a header per batch, or not", "group_batches"),
    ("view: save", "Save the filter, sort and grouping under a name", "save_view"),
    ("view: recall saved", "Apply a saved view", "recall_view"),
    ("mark: toggle", "Mark or unmark the highlighted job", "toggle_mark"),
    ("mark: all shown", "Mark every job the filter shows", "mark_all"),
    ("mark: range", "From where it was first pressed to here (press twice)", "mark_range"),
    ("mark: invert", "Marked become unmarked and back", "invert_marks"),
    ("mark: clear", "Unmark everything", "clear_marks"),
    ("jobs: retry", "Marked jobs (or this one) again, same request", "rerun"),
    (
        "jobs: re-run with new seeds",
        "Marked jobs (or this one) with new seeds",
        "rerun_new_seed",
    ),
    ("jobs: cancel", "Cancel marked jobs (or this one)", "cancel_job"),
    ("jobs: save results", "Download results of marked jobs", "download"),
    ("jobs: copy ids", "Copy the ids of marked jobs", "copy_id"),
    ("jobs: remove from history", "Forget marked ended jobs; files stay", "remove"),
    ("jobs: enhance (upscale)", "Upscale the results of marked jobs, priced first", "enhance"),
    ("queue: move held job up", "Send it sooner", "move_held(-1)"),
    ("queue: move held job down", "Send it later", "move_held(1)"),
    ("queue: edit held job", "Change its request before it is sent", "edit_held"),
    (
        "queue: cancel batch's held jobs",
        "Sent ones finish; the rest never go",
        "cancel_held_batch",
    ),
    ("triage: failures by cause", "Failed jobs grouped by reason; time per state", "triage"),
)
