"""Crashes: the engine (and once the whole TUI) killed with SIGKILL at many moments, then
restarted, loses nothing, sends nothing twice and leaves no half-written file behind.

CI runs 20 kills (about 30 s). The long version, 100 kills:

    KREA_TUI_SOAK=full .venv/bin/python -m pytest -q -p no:cacheprovider tests/reliability

Kill moments are drawn from a seeded RNG, so a failure replays the same way; a few are forced
into the narrow windows that matter: a POST the server heard but has not acted on, a POST whose
job exists but whose answer is not sent, a result download under way, and an atomic file write
after its data and before its rename.
"""

from __future__ import annotations

import random
import re
import stat
import time
from pathlib import Path

from krea_tui.config import read_config_file
from krea_tui.presets import load_presets
from krea_tui.sim.config import FaultConfig
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, SimFactory
from tests.integration.engine_support import check_saved_files
from tests.reliability.support import (
    Child,
    check_nothing_lost,
    check_store_opens,
    db_rows,
    file_rows,
    hold_sim_call,
    scaled,
    temp_files,
)

SEED = 20260412
FINAL = {"completed", "failed", "cancelled"}
# Forced kill moments, by cycle number (repeated every 10 cycles in the long version).
FORCED = {1: "post-heard", 3: "post-answered", 5: "download", 7: "write", 9: "preview-write"}


def check_config_files(config_dir: Path, saved: int) -> None:
    """presets.toml and config.toml parse and hold everything written before the kill, and the
    file holding the token is readable by its owner only."""
    presets = load_presets(config_dir / "presets.toml")
    missing = [f"p{n}" for n in range(saved) if f"p{n}" not in presets]
    assert not missing, f"presets saved before the kill are gone: {missing[:5]}"
    config = config_dir / "config.toml"
    if saved:
        values, warnings = read_config_file(config)
        assert values.get("token") == TOKEN_A
        assert not warnings, warnings
        assert stat.S_IMODE(config.stat().st_mode) == 0o600


def saved_count(lines: list[str]) -> int:
    numbers = [int(m.group(1)) for line in lines if (m := re.fullmatch(r"saved (\d+)", line))]
    return max(numbers, default=0)


def test_engine_killed_at_random_moments_loses_nothing(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    faults = FaultConfig(slow_rate=0.25, slow_seconds=0.3, groups=("generate", "results"))
    sim = make_sim(speed=5, concurrency=4, backlog=16, faults=faults)
    kills = scaled(20, 100)
    count = scaled(24, 200)
    rng = random.Random(SEED)
    data, config_dir = tmp_path / "data", tmp_path / "config"
    db, out, previews = data / "history.sqlite3", data / "out", data / "previews"
    config_dir.mkdir()
    env = {
        "KREA_API_TOKEN": TOKEN_A,
        "KREA_CHILD_FOREVER": "1",
        "KREA_CHILD_PREVIEWS": "1",
        "KREA_CHILD_MAX_POSTS": "2",
        "KREA_CHILD_CHURN": str(config_dir),
    }
    args = [sim.base_url, str(data), str(count)]
    saved = 0
    leftovers: set[Path] = set()
    moments: list[str] = []

    def start(extra: dict[str, str] | None = None) -> Child:
        return Child(
            "tests.integration.engine_child", args, {**env, **(extra or {})}, tmp_path / "log"
        )

    for cycle in range(kills):
        forced = FORCED.get(cycle % 10) if cycle < 10 or scaled(0, 1) else None
        if forced and not work_left(db, forced):
            forced = None  # the long version may run out of jobs to POST or results to save
        if forced in ("post-heard", "post-answered"):
            # The server has heard the POST: before it creates the job, or after, with the
            # answer not yet sent. Either way the child dies not knowing.
            with hold_sim_call(sim, sim.state, "create", before=forced == "post-heard") as held:
                child = start()
                assert held.wait(20), f"cycle {cycle}: no POST reached the server"
                child.kill()
        elif forced == "download":
            with hold_sim_call(sim, sim.sim.images, "get_or_render", before=True) as held:
                child = start()
                assert held.wait(20), f"cycle {cycle}: no result was downloaded"
                child.kill()
        elif forced in ("write", "preview-write"):
            where = str(out if forced == "write" else previews)
            hang = {"KREA_CHILD_HANG_AT_FSYNC": "1", "KREA_CHILD_HANG_IN": where}
            child = start({**hang, "KREA_CHILD_CHURN": ""})
            child.wait_line(lambda line: line == "hanging", 20)
            child.kill()
        else:
            child = start()
            time.sleep(rng.uniform(0.05, 1.0))  # the kill moment itself, not a wait
            child.kill()
        moments.append(forced or "random")
        lines = child.drain()
        if "started" in lines:
            # Recovery ran before `started`: what the last kill left half-written is gone.
            assert not (leftovers & temp_files(out, previews)), f"cycle {cycle}: not swept"
        saved = max(saved, saved_count(lines))

        check_store_opens(db)
        check_nothing_lost(sim, db)
        check_config_files(config_dir, saved)
        leftovers |= temp_files(out, previews)
        if forced in ("write", "preview-write"):
            assert temp_files(Path(where)), "the kill inside a write left no temp file"

    # Restarted once more, it finishes everything it can, and what it cannot is flagged.
    child = start({"KREA_CHILD_CHURN": ""})
    deadline = time.monotonic() + scaled(60, 180)
    while not settled(sim, db):
        assert time.monotonic() < deadline, f"not settled: {sorted_states(db)}"
        time.sleep(0.1)
    child.kill()

    check_store_opens(db)
    figures = check_nothing_lost(sim, db)
    check_config_files(config_dir, saved)
    assert temp_files(out, previews) == set()
    from krea_tui.core.store import JobStore

    store = JobStore(db)
    try:
        jobs = store.jobs()
        assert len(jobs) == count
        for job in jobs:
            if job.status == "completed":
                check_saved_files(job, out)
    finally:
        store.close()
    print(f"kill moments {moments}; {figures}; states {sorted_states(db)}")
    assert set(FORCED.values()) <= set(moments), moments


def work_left(db: Path, moment: str) -> bool:
    """Whether a restart still has something to do in which `moment` can happen."""
    rows = db_rows(db)
    if not rows:
        return True  # a fresh history: everything is still to come
    if moment.startswith("post"):
        return any(row["status"] == "held" for row in rows)
    return any(row["status"] not in FINAL | {"unknown"} for row in rows)


def settled(sim: RunningSim, db: Path) -> bool:
    """Every job ended with its results saved, or is a POST with no known outcome."""
    rows = db_rows(db)
    saved = {(f["local_id"], f["idx"]) for f in file_rows(db)} if rows else set()
    for row in rows:
        if row["status"] not in FINAL | {"unknown"}:
            return False
        if row["status"] == "completed":
            urls = row["urls"].count('"') // 2
            if any((row["local_id"], i) not in saved for i in range(urls)):
                return False
    return bool(rows)


def sorted_states(db: Path) -> list[tuple[str, str]]:
    return sorted((row["status"], row["error_message"] or "") for row in db_rows(db))


def test_tui_killed_mid_run_resumes_every_job(make_sim: SimFactory, tmp_path: Path) -> None:
    sim = make_sim(speed=2)  # a Flux job takes ~3.5 s: all six still run when the app dies
    (tmp_path / "config.toml").write_text("min_interval = 0.1\nmax_interval = 0.3\n")
    env = {
        "KREA_API_TOKEN": TOKEN_A,
        "KREA_API_BASE_URL": sim.base_url,
        "KREA_TUI_DATA_DIR": str(tmp_path / "data"),
        "KREA_TUI_OUTPUT_DIR": str(tmp_path / "out"),
    }
    db, out = tmp_path / "data" / "history.sqlite3", tmp_path / "out"
    log = tmp_path / "stderr"

    child = Child("tests.reliability.tui_child", [str(tmp_path), "submit"], env, log)
    child.wait_line(lambda line: line == "running", 60)
    child.kill()
    check_store_opens(db)
    check_nothing_lost(sim, db)
    rows = db_rows(db)
    assert len(rows) == 6
    assert all(row["remote_id"] and row["status"] not in FINAL for row in rows)

    child = Child("tests.reliability.tui_child", [str(tmp_path), "resume"], env, log)
    child.wait_line(lambda line: line == "done", 90)
    assert child.proc.wait(30) == 0, log.read_text()[-2000:]

    check_store_opens(db)
    figures = check_nothing_lost(sim, db)
    assert figures == {"adopted": 6, "orphans": 0}
    from krea_tui.core.store import JobStore

    store = JobStore(db)
    try:
        for job in store.jobs():
            assert job.status == "completed", (job.status, job.error_message)
            check_saved_files(job, out)
    finally:
        store.close()
    assert temp_files(out) == set()


def test_a_kill_between_picture_and_sidecar_leaves_no_orphan_copy(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    data = tmp_path / "data"
    out = data / "out"
    env = {"KREA_API_TOKEN": TOKEN_A}
    args = [sim.base_url, str(data), "1"]
    hang = {"KREA_CHILD_HANG_AT_FSYNC": "2", "KREA_CHILD_HANG_IN": str(out)}
    child = Child("tests.integration.engine_child", args, {**env, **hang}, tmp_path / "log")
    child.wait_line(lambda line: line == "hanging", 20)  # the sidecar's fsync: picture in place
    child.kill()
    assert len(list(out.rglob("*.png"))) == 1

    child = Child("tests.integration.engine_child", args, env, tmp_path / "log")
    assert child.proc.wait(30) == 0
    (row,) = db_rows(data / "history.sqlite3")
    recorded = {Path(f["path"]).name for f in file_rows(data / "history.sqlite3")}
    on_disk = {p.name for p in out.rglob("*.png")}
    assert row["status"] == "completed"
    assert on_disk == recorded, f"files the history does not know: {on_disk - recorded}"
