"""Several processes on one history: the store decides the pause, the claims and the in-flight
limit for all of them at once. Two connections to one file stand for two processes here (each
with its own process id); the end-to-end cases with real processes are in
tests/integration/test_several_processes.py."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from krea_tui.core.processes import _start_ticks, process_alive, this_process
from krea_tui.core.store import MIGRATIONS, JobStore

FLUX = "bfl/flux-1-dev"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def dead_process_id() -> str:
    """The id a process had that has ended since."""
    code = "from krea_tui.core.processes import this_process; print(this_process())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def two(tmp_path: Path):
    """Two stores on one file, as two live processes would have them."""
    path = tmp_path / "history.sqlite3"
    first, second = JobStore(path), JobStore(path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    second.me = f"{other.pid}:{_start_ticks(other.pid) or 0}:other"
    assert process_alive(second.me)
    yield first, second
    other.kill()
    other.wait()
    first.close()
    second.close()


def test_a_held_job_is_claimed_by_exactly_one_process(two) -> None:
    first, second = two
    jobs = [first.add_job(FLUX, {"prompt": f"p{i}"}) for i in range(3)]
    a = first.claim_next_held(8, T0)
    b = second.claim_next_held(8, T0)
    assert a is not None and b is not None
    assert a.local_id == jobs[0].local_id and b.local_id == jobs[1].local_id
    assert first.get(a.local_id).status == "submitting"


def test_a_pause_made_by_one_process_stops_the_claims_of_every_process(two) -> None:
    first, second = two
    first.add_job(FLUX, {"prompt": "p"})
    first.set_paused(True, None)
    assert second.queue_state().paused
    assert second.claim_next_held(8, T0) is None
    second.set_paused(False)
    assert first.claim_next_held(8, T0) is not None


def test_the_in_flight_limit_counts_the_jobs_of_every_process(two) -> None:
    first, second = two
    for i in range(4):
        first.add_job(FLUX, {"prompt": f"p{i}"})
    assert first.claim_next_held(2, T0) is not None
    sent = second.claim_next_held(2, T0)
    assert sent is not None
    second.set_status(sent.local_id, "queued", T0, remote_id="r-1")
    assert first.claim_next_held(2, T0) is None  # one submitting here, one queued there
    assert second.claim_next_held(2, T0) is None


def test_nobody_claims_while_a_live_process_matches_lost_posts(two) -> None:
    first, second = two
    first.add_job(FLUX, {"prompt": "p"})
    assert second.begin_reconciling(60)
    assert first.claim_next_held(8, T0) is None
    assert not first.begin_reconciling(60)  # held by the other, which is alive
    second.end_reconciling()
    assert first.claim_next_held(8, T0) is not None


def test_a_lease_held_by_a_dead_process_is_free(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "h.sqlite3")
    store.me = dead_process_id()
    assert store.take_watcher_lease(600)
    store.me = this_process()
    assert store.take_watcher_lease(600)  # the holder died: taken over at once
    store.close()


def test_claims_of_a_dead_process_are_orphaned_and_a_live_ones_not(two) -> None:
    first, second = two
    first.add_job(FLUX, {"prompt": "mine"})
    first.add_job(FLUX, {"prompt": "theirs"})
    assert first.claim_next_held(8, T0) is not None
    second.me = dead_process_id()
    theirs = second.claim_next_held(8, T0)
    assert theirs is not None
    assert [job.local_id for job in first.orphaned_claims()] == [theirs.local_id]


def test_changes_by_another_process_are_followed_and_our_own_are_not(two) -> None:
    first, second = two
    start = first.current_rev()
    mine = first.add_job(FLUX, {"prompt": "mine"})
    theirs = second.add_job(FLUX, {"prompt": "theirs"})
    second.set_status(theirs.local_id, "cancelled", T0)
    second.remove([mine.local_id])
    changes = first.changes_since(start)
    assert [job.local_id for job in changes.jobs] == [theirs.local_id]
    assert changes.jobs[0].status == "cancelled"
    assert changes.removed == [mine.local_id]
    assert first.changes_since(changes.rev).jobs == []


def test_a_new_history_opened_by_many_processes_at_once_is_created_once(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "history.sqlite3"
    # Every child imports first, then all open the file at the same moment.
    code = (
        "import sys, time; from krea_tui.core.store import JobStore\n"
        "while time.time() < float(sys.argv[2]): pass\n"
        "s = JobStore(sys.argv[1]); s.add_job('m', {'prompt': 'p'}); s.close()"
    )
    at = str(time.time() + 1.5)
    children = [
        subprocess.Popen([sys.executable, "-c", code, str(path), at], stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    errors = [child.communicate(timeout=60)[1].decode() for child in children]
    assert [child.returncode for child in children] == [0] * 6, errors
    store = JobStore(path)
    assert store.schema_version == len(MIGRATIONS)
    assert len(store.jobs()) == 6
    store.close()


def test_concurrent_writers_wait_their_turn_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    JobStore(path).close()
    failures: list[BaseException] = []

    def enqueue_many() -> None:
        store = JobStore(path)
        try:
            for i in range(40):
                with store.transaction():  # read-then-write, as enqueue does
                    store.add_job(FLUX, {"prompt": f"p{i}"})
                    store.add_job(FLUX, {"prompt": f"q{i}"})
        except BaseException as exc:
            failures.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=enqueue_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    store = JobStore(path)
    assert len(store.jobs()) == 4 * 80
    store.close()


def test_process_ids_name_live_and_dead_processes() -> None:
    assert process_alive(this_process())
    assert not process_alive(dead_process_id())
    assert not process_alive(None)
    assert not process_alive("garbage")
