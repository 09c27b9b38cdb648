"""Several processes on one history, soaked: a TUI (an engine in the test's own process) that
pauses and resumes the queue at random moments, headless `krea-tui submit --wait` commands next
to it, some of them SIGKILLed (mostly in the middle of a POST) and some restarted with
`krea-tui wait <ids>` or a fresh engine on the same history, all against one simulator that
answers slowly now and then (after making the job, so a kill lands between the two) and loses a
few answers after making their job.

At the end, whatever the timing was:

1. the server made exactly as many jobs as the history knows remote ids, none known twice;
2. nothing was sent while the queue was paused, except POSTs claimed before the pause began;
3. every job is in its true final state (the server's own status for its remote id), or
   `unknown` only when its POST was cut off and the server never made its job;
4. every completed job has each of its results saved once, and nothing else is saved;
5. the history passes SQLite's integrity check.

Schedules come from `random.Random(seed)`: a failure names its seed and replays the same
schedule (not the same timing). CI runs 2 seeds of 2 rounds (about 30 s); the long version,
12 seeds of 6 rounds (several minutes):

    KREA_TUI_SOAK=full .venv/bin/python -m pytest -q -p no:cacheprovider \
        tests/reliability/test_several_processes_soak.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from random import Random
from typing import Any

import pytest

from krea_tui.core.engine import FOLLOW_INTERVAL
from krea_tui.core.processes import process_alive
from krea_tui.core.store import JobStore, StoredJob
from krea_tui.core.watcher import AMBIGUOUS
from krea_tui.sim.config import FaultConfig
from krea_tui.sim.jobs import JobRequest
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, SimFactory
from tests.integration.cli_support import ROOT, against, make_cli_env
from tests.integration.engine_support import FLUX, Harness, check_saved_files, running_engine
from tests.reliability.support import FULL, check_store_opens, scaled

POST = "POST /generate/image/{model}"
FINAL = ("completed", "failed", "cancelled")
# The CI seeds between them kill in the middle of a POST (its job made or not) and while a
# result is being saved, and restart with `wait`, a fresh engine, or nothing (the TUI takes
# over). The long version adds kills at random moments and of restarted processes.
SEEDS = [7100, 7105] if not FULL else list(range(7100, 7112))
ROUNDS = scaled(2, 6)
# Answers lost after the job was made. Switched off around each kill: two lost POSTs at once
# can honestly not be told apart (they stay `unknown`, flagged ambiguous), and this test wants
# every kill's job found again.
DROP = 0.03
FAULTS = {
    "slow_rate": 0.3,
    "slow_seconds": 1.0,
    "slow_after_handling": True,  # the job exists while its answer is held back
    "drop_after_create_rate": DROP,
    "groups": ("generate", "results"),
}
CONFIG = "min_interval = 0.1\nmax_interval = 0.3\nmax_posts = 1\nmax_in_flight = 6\n"
# Bounds on every wait: generous, as two cores are shared with another suite.
SETTLE = scaled(60, 150)  # the end state, after the last round
MATCHED = 30.0  # lost POSTs matched to their server jobs, claims of a dead process released
WAIT_TIMEOUT = 20.0  # `krea-tui wait --timeout`: a lost POST nobody made is looked for 2 min
MS = 0.001  # the history keeps times to the millisecond
MOMENTS = ("mid-post", "mid-post", "mid-save", "random")
Key = tuple[str, int]  # (prompt, seed): every request of the soak is unique by these


# -- the schedule --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """`krea-tui submit --wait --count N --seed S TAG` in a process of its own."""

    tag: str
    count: int
    seed: int


@dataclass(frozen=True)
class Enqueue:
    """The TUI queues `count` jobs."""

    tag: str
    count: int


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Kill:
    """SIGKILL the process of `tag` (None: the newest live restart) at a `moment`: `mid-post`
    (while a POST of its own is under way), `mid-save` (a job it asked for is completed, the
    TUI shows it so, and its result is not saved yet), or `random` (`delay` seconds after the
    kill's turn comes). The first two wait a few seconds at most for their moment. Then restart
    it with `wait` (for its jobs), an `engine` (a fresh one on the history), or `none`."""

    tag: str | None
    moment: str
    delay: float
    restart: str


@dataclass(frozen=True)
class Gap:
    seconds: float


Action = Launch | Enqueue | Pause | Kill | Gap


def plan(rng: Random, seed: int, number: int) -> list[Action]:
    """One round's actions, in order, drawn before anything runs: timing never shifts the
    draws, so a seed always means the same schedule."""
    launches = [
        Launch(f"s{seed} r{number} p{i}", rng.randint(2, 5), rng.randrange(1, 10**6))
        for i in range(rng.randint(1, 3))
    ]
    others: list[Action] = [Enqueue(f"s{seed} r{number} tui", rng.randint(2, 6))]
    others += [Pause(round(rng.uniform(0.2, 1.2), 2)) for _ in range(rng.randint(1, 2))]
    actions: list[Action] = [*launches, *others]
    rng.shuffle(actions)
    kills = [
        (launch, Kill(launch.tag, rng.choice(MOMENTS), round(rng.uniform(0, 0.6), 2),
                      rng.choice(("wait", "engine", "none"))))
        for launch in launches
        if rng.random() < 0.7
    ]  # fmt: skip
    if rng.random() < 0.3:  # now and then a restarted process dies too
        kills.append((None, Kill(None, "mid-post", 0.0, rng.choice(("engine", "none")))))
    for after, kill in kills:
        # Soon after its launch, while the process still has something to do.
        earliest = actions.index(after) + 1 if after is not None else 0
        actions.insert(min(len(actions), earliest + rng.randint(0, 1)), kill)
    timed: list[Action] = []
    for action in actions:
        timed += [Gap(round(rng.uniform(0, 0.4), 2)), action]
    return timed


# -- what the simulator saw ----------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """A POST that made a job: when it reached the simulator's state (its clock: time.time)."""

    at: float
    job_id: str
    key: Key


def record_arrivals(sim: RunningSim) -> list[Arrival]:
    """Every job the simulator makes, with the moment its POST reached the server."""
    arrivals: list[Arrival] = []
    create = sim.state.create

    def recording(token: str, request: JobRequest) -> dict[str, Any]:
        at = time.time()
        body = create(token, request)
        arrivals.append(Arrival(at, body["job_id"], (request.prompt, request.seed)))
        return body

    sim.state.create = recording  # type: ignore[method-assign]
    return arrivals


def created_by_posts(sim: RunningSim) -> int:
    """POSTs the simulator answered with a job, whether the answer arrived or was dropped."""
    outcomes = sim.stats()["requests"].get(POST, {})
    return sum(n for outcome, n in outcomes.items() if outcome in ("200", "dropped after 200"))


# -- the processes -------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    proc: asyncio.subprocess.Process
    log: Path
    kind: str  # submit | wait | engine
    tag: str | None = None
    killed: bool = False
    terminated: bool = False

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def claimed(self, claimed_by: str | None) -> bool:
        return bool(claimed_by) and str(claimed_by).startswith(f"{self.pid}:")

    def signal(self, number: int) -> None:
        """os.kill, not Popen.send_signal: that one polls first, and its waitpid can reap a
        child that has just exited before asyncio's watcher does, which then reports 255."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, number)


@dataclass(frozen=True)
class PauseWindow:
    start: float  # time.time() just after the pause was committed
    end: float  # just before the resume
    submitting: frozenset[str]  # local ids whose POST was claimed when the pause began
    made_before: int  # jobs the server had made at the pause
    made_after: int  # and at the resume


@dataclass(repr=False)
class Soak:
    seed: int
    sim: RunningSim
    tui: Harness
    env: dict[str, str]
    data: Path
    logs: Path
    arrivals: list[Arrival]
    procs: list[Proc] = field(default_factory=list)
    pauses: list[PauseWindow] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)  # tag -> jobs it asked for
    notes: list[str] = field(default_factory=list)
    _shown: dict[str, float] = field(default_factory=dict)  # local id -> first seen completed
    released_at: float = 0.0  # when the last kill's cut-off POST was released and matched

    def __repr__(self) -> str:  # pytest prints it with every failure: kept short
        return f"Soak(seed={self.seed}, {len(self.procs)} processes, {len(self.notes)} notes)"

    def __post_init__(self) -> None:
        self.db = self.data / "history.sqlite3"
        self.out = self.data / "out"
        self._read = sqlite3.connect(self.db, timeout=10, isolation_level=None)
        self._read.row_factory = sqlite3.Row

    # -- reading the history on a connection of our own ---------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._read.execute("SELECT * FROM jobs ORDER BY position")]

    def saved(self) -> Counter[str]:
        return Counter(r[0] for r in self._read.execute("SELECT local_id FROM files"))

    def sent_by(self, proc: Proc) -> str | None:
        """A job whose POST this process has under way (short id), if any."""
        row = self._read.execute(
            "SELECT local_id FROM jobs WHERE status = 'submitting' AND claimed_by LIKE ?",
            (f"{proc.pid}:%",),
        ).fetchone()
        return row[0][:8] if row else None

    def saving_for(self, proc: Proc) -> str | None:
        """A job this process asked for that has been shown completed (by the TUI) for longer
        than every process takes to follow the history, and whose result is still not saved
        (short id), if any: the process is saving it, and everyone else knows it is done."""
        now = time.monotonic()
        for local_id, urls in self._read.execute(
            "SELECT local_id, urls FROM jobs WHERE status = 'completed' AND owner LIKE ?"
            " AND (SELECT COUNT(*) FROM files WHERE files.local_id = jobs.local_id) <"
            " json_array_length(urls)",
            (f"{proc.pid}:%",),
        ):
            if urls == "[]" or not self.tui.log.saw(local_id, "completed"):
                continue
            since = self._shown.setdefault(local_id, now)
            if now - since > FOLLOW_INTERVAL + 0.2:
                return str(local_id[:8])
        return None

    def close(self) -> None:
        self._read.close()

    # -- conditions, each None when it holds, else why not ------------------------------------

    def lost_pending(self) -> str | None:
        """A server job nobody in the history has, other than one whose POST is still being
        answered to a live process (or one flagged ambiguous: it stays so, by design)."""
        rows = self.rows()
        adopted = {r["remote_id"] for r in rows if r["remote_id"]}
        by_key = {key_of(r): r for r in rows}
        for arrival in list(self.arrivals):
            if arrival.job_id in adopted:
                continue
            row = by_key.get(arrival.key)
            if (
                row is not None
                and row["status"] == "submitting"
                and process_alive(row["claimed_by"])
            ):
                continue  # its answer is on its way
            if row is not None and is_ambiguous(row):
                continue
            where = f"{row['local_id'][:8]} {row['status']}" if row else "no local job"
            return f"server job {arrival.job_id[:8]} of {arrival.key} not adopted ({where})"
        return None

    def dead_claims(self) -> str | None:
        for row in self.rows():
            if row["status"] == "submitting" and not process_alive(row["claimed_by"]):
                return f"{row['local_id'][:8]} still claimed by dead {row['claimed_by']}"
        return None

    def matched_after_kill(self) -> str | None:
        return self.dead_claims() or self.lost_pending()

    def ready_to_kill(self) -> str | None:
        """No lost answer is being matched, and no POST sent before the last kill's lost one
        was given up is still under way: if the next kill cut it off, the server job it made
        would fit the windows of both lost POSTs, and would honestly stay ambiguous."""
        for row in self.rows():
            sent = row["submitted_at"]
            if row["status"] != "submitting" or not sent:
                continue
            if datetime.fromisoformat(sent).timestamp() <= self.released_at:
                return f"{row['local_id'][:8]} sent before the last release, still unanswered"
        return self.lost_pending()

    def unsettled(self) -> str | None:
        saved = self.saved()
        rows = self.rows()
        asked = Counter(key_of(row)[0] for row in rows)
        for tag, count in self.expected.items():
            killed = any(p.tag == tag and p.killed for p in self.procs)
            if asked[tag] != count and not killed:  # a process just started: not queued yet
                return f"{tag!r} queued {asked[tag]} of its {count} jobs"
        for row in rows:
            status = row["status"]
            if status == "unknown" and not row["remote_id"]:
                continue  # judged by lost_pending: did the server make it?
            if status not in FINAL:
                return f"{row['local_id'][:8]} {key_of(row)} is {status}"
            urls = len(json.loads(row["urls"]))
            if status == "completed" and saved[row["local_id"]] < urls:
                return f"{row['local_id'][:8]} completed, {saved[row['local_id']]}/{urls} saved"
        return self.lost_pending()

    def uncounted(self) -> str | None:
        counted, made = created_by_posts(self.sim), len(self.arrivals)
        return None if counted == made else f"{counted} POSTs counted, {made} jobs made"

    async def until(self, what: str, probe: Callable[[], str | None], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (why := probe()) is not None:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"seed {self.seed}: {what} not within {timeout:g} s: {why}\n{self.describe()}"
                )
            await asyncio.sleep(0.05)

    # -- actions ---------------------------------------------------------------------------------

    async def spawn(self, kind: str, module: str, args: list[str], **extra: str) -> Proc:
        number = len(self.procs)
        log = self.logs / f"{number:02d}-{kind}.log"
        with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", module, *args, cwd=ROOT, env={**self.env, **extra},
                stdin=asyncio.subprocess.DEVNULL, stdout=handle, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        spawned = Proc(f"{kind}#{number}", proc, log, kind)
        self.procs.append(spawned)
        return spawned

    async def launch(self, action: Launch) -> None:
        args = ["submit", "--json", "--wait", "--count", str(action.count)]
        args += ["--seed", str(action.seed), action.tag]
        proc = await self.spawn("submit", "krea_tui", args)
        proc.tag = action.tag
        self.expected[action.tag] = action.count

    def enqueue(self, action: Enqueue) -> None:
        requests = [{"prompt": action.tag, "seed": 500 + i} for i in range(action.count)]
        self.tui.engine.enqueue(FLUX, requests)
        self.expected[action.tag] = action.count

    async def pause(self, action: Pause) -> None:
        self.tui.engine.pause()
        # The pause is committed: no claim can start from here on. Taken at once, on this
        # thread, so the TUI's own engine cannot move in between.
        start = time.time()
        submitting = frozenset(r["local_id"] for r in self.rows() if r["status"] == "submitting")
        made = len(self.arrivals)
        await asyncio.sleep(action.seconds)  # the pause's length, not a wait for something
        end = time.time()
        window = PauseWindow(start, end, submitting, made, len(self.arrivals))
        self.tui.engine.resume()
        self.pauses.append(window)

    async def kill(self, action: Kill) -> None:
        target = self._target(action)
        if target is None:
            self.notes.append(f"kill {action.tag or 'a restart'}: nothing alive to kill")
            return
        faults = self.sim.config.faults
        # Around a kill no other answer is lost: its POST, if the server made it, must be the
        # only server job nobody has, and so be found again for sure.
        faults.drop_after_create_rate = 0.0
        try:
            await self.until("lost answers matched before a kill", self.ready_to_kill, MATCHED)
            if action.moment == "mid-save":
                # Every result answers 3 s late until the kill: whatever the target saves next
                # is still being saved when its moment comes.
                faults.slow_rate, faults.slow_seconds, faults.groups = 1.0, 3.0, ("results",)
            try:
                landed = await self.moment(target, action)
            finally:
                faults.update({key: FAULTS[key] for key in ("slow_rate", "slow_seconds")})
                faults.groups = FAULTS["groups"]
            sending = self.sent_by(target)
            if not target.alive:
                self.notes.append(f"kill {target.name}: it had ended ({target.proc.returncode})")
                return
            target.signal(signal.SIGKILL)
            await asyncio.wait_for(target.proc.wait(), 10)  # reaped: its PID names nobody now
            target.killed = target.proc.returncode == -signal.SIGKILL
            await self.restart(target, action.restart)
            await self.until("the killed process's POST released and matched",
                             self.matched_after_kill, MATCHED)  # fmt: skip
            self.released_at = time.time()
        finally:
            faults.drop_after_create_rate = DROP
        if sending:  # did the server make the job of the POST the kill cut off?
            made = {a.key for a in self.arrivals}
            rows = {r["local_id"][:8]: key_of(r) for r in self.rows()}
            landed += f" (POST of {sending}: {'made' if rows[sending] in made else 'not made'})"
        self.notes.append(f"killed {target.name} {landed}, restart: {action.restart}")

    async def moment(self, target: Proc, action: Kill) -> str:
        """Wait for the kill's moment (a few seconds at most); what it turned out to be."""
        if action.moment == "random":
            await asyncio.sleep(action.delay)  # the kill moment itself
            return "random"
        probe = self.sent_by if action.moment == "mid-post" else self.saving_for
        deadline = time.monotonic() + 5.0
        while target.alive and time.monotonic() < deadline:
            if found := probe(target):
                return f"{action.moment} of {found}"
            await asyncio.sleep(0.005)
        return "late"

    def _target(self, action: Kill) -> Proc | None:
        if action.tag is not None:
            found = [p for p in self.procs if p.tag == action.tag]
            return found[0] if found and found[0].alive else None
        restarts = [p for p in self.procs if p.kind in ("wait", "engine") and p.alive]
        return restarts[-1] if restarts else None

    async def restart(self, killed: Proc, how: str) -> None:
        if how == "engine":
            # A fresh engine on the same history: it queues nothing, only resumes.
            args = [self.sim.base_url, str(self.data), "0"]
            await self.spawn(
                "engine", "tests.integration.engine_child", args,
                KREA_CHILD_FOREVER="1", KREA_CHILD_MAX_POSTS="1",
            )  # fmt: skip
        elif how == "wait" and killed.tag is not None:
            ids = [r["local_id"] for r in self.rows() if key_of(r)[0] == killed.tag]
            if ids:
                args = ["wait", "--json", "--timeout", str(WAIT_TIMEOUT), *ids]
                await self.spawn("wait", "krea_tui", args)
            else:
                self.notes.append(f"{killed.name} died before it queued anything")

    async def run(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Gap):
                await asyncio.sleep(action.seconds)
            elif isinstance(action, Launch):
                await self.launch(action)
            elif isinstance(action, Enqueue):
                self.enqueue(action)
            elif isinstance(action, Pause):
                await self.pause(action)
            else:
                await self.kill(action)

    async def stop_all(self) -> None:
        """End the processes still running (a `wait` for a POST nobody made looks for 2 min);
        SIGTERM lets them finish what they send, which is nothing by now."""
        for proc in self.procs:
            if proc.alive:
                proc.signal(signal.SIGTERM)
                proc.terminated = True
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.proc.wait(), 30)
            except TimeoutError:
                state = proc_state(proc.pid)
                # PYTHONFAULTHANDLER (set for every child): SIGABRT prints where it is stuck.
                proc.signal(signal.SIGABRT)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.proc.wait(), 10)
                proc.signal(signal.SIGKILL)
                await proc.proc.wait()
                stack = proc.log.read_text(errors="replace")[-6000:]
                raise AssertionError(
                    f"seed {self.seed}: {proc.name} (pid {proc.pid}, {state}) did not end within "
                    f"30 s of SIGTERM; where it was:\n{stack}\n{self.describe()}"
                ) from None

    def kill_all(self) -> None:
        for proc in self.procs:
            proc.signal(signal.SIGKILL)

    # -- reporting -------------------------------------------------------------------------------

    def describe(self) -> str:
        lines = ["processes:"]
        for p in self.procs:
            state = "running" if p.alive else f"rc {p.proc.returncode}"
            lines.append(f"  {p.name} pid {p.pid} {p.tag or ''} {state}")
        lines.append("jobs:")
        for r in self.rows():
            lines.append(
                f"  {r['local_id'][:8]} {key_of(r)} {r['status']} remote "
                f"{(r['remote_id'] or '-')[:8]} claimed by {r['claimed_by']} "
                f"error {r['error_message']!r}"
            )
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def proc_state(pid: int) -> str:
    """The process's state line from /proc (running, sleeping, zombie...)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "gone"
    return next((line for line in status.splitlines() if line.startswith("State:")), "?")


def key_of(row: dict[str, Any] | StoredJob) -> Key:
    request = json.loads(row["request"]) if isinstance(row, dict) else dict(row.request)
    return str(request.get("prompt", "")), int(request.get("seed", -1))


def is_ambiguous(row: dict[str, Any]) -> bool:
    return row["status"] == "unknown" and AMBIGUOUS in (row["error_message"] or "")


# -- the test ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
async def test_processes_sharing_a_history_pause_die_and_lose_nothing(
    make_sim: SimFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture, seed: int
) -> None:
    caplog.set_level(logging.INFO, logger="krea_tui")  # the TUI's log, shown on a failure
    began = time.monotonic()
    rng = Random(seed)
    sim = make_sim(
        concurrency=4, backlog=16, fail_rate=0.1, system_cancel_rate=0.05, seed=seed,
        faults=FaultConfig(**FAULTS),
    )  # fmt: skip
    arrivals = record_arrivals(sim)
    data, logs = tmp_path / "data", tmp_path / "logs"
    logs.mkdir()
    cli_env = make_cli_env(tmp_path)
    Path(cli_env["KREA_TUI_CONFIG"]).write_text(CONFIG, encoding="utf-8")
    env = {
        **cli_env,
        **against(sim),
        "KREA_TUI_DATA_DIR": str(data),
        "KREA_TUI_OUTPUT_DIR": str(data / "out"),  # one output folder for every process
        "PYTHONFAULTHANDLER": "1",  # a child stuck at the end is made to say where (SIGABRT)
    }
    schedule = [plan(rng, seed, number) for number in range(ROUNDS)]
    async with running_engine(sim, data, max_posts=2, max_in_flight=6) as tui:
        soak = Soak(seed, sim, tui, env, data, logs, arrivals)
        try:
            for actions in schedule:
                await soak.run(actions)
            await soak.until("every job to end in its true state", soak.unsettled, SETTLE)
            await soak.stop_all()
            # The server counts a request once its answer is sent: a late one to a killed
            # process may still be on its way.
            await soak.until("the simulator's request counts", soak.uncounted, 10)
            # Nothing moved while the others ended.
            assert soak.unsettled() is None, soak.describe()
        except BaseException:
            soak.kill_all()
            raise
        finally:
            description = soak.describe()
            soak.close()
    print(f"seed {seed}: {time.monotonic() - began:.1f} s\n{description}")
    check_end_state(soak)


def check_end_state(soak: Soak) -> None:
    sim, seed = soak.sim, soak.seed
    store = JobStore(soak.db)
    try:
        jobs = store.jobs()
        claims = {job.local_id: [] for job in jobs}
        connection = sqlite3.connect(soak.db)
        try:
            for local_id, at in connection.execute(
                "SELECT local_id, at FROM timeline WHERE status = 'submitting' ORDER BY rowid"
            ):
                claims[local_id].append(datetime.fromisoformat(at).timestamp())
            claimed_by = dict(connection.execute("SELECT local_id, claimed_by FROM jobs"))
        finally:
            connection.close()
    finally:
        store.close()
    by_key = {key_of(job): job for job in jobs}
    on_sim = {arrival.job_id: arrival for arrival in soak.arrivals}
    where = f"seed {seed}"

    # Every process asked for its jobs in one transaction: all of them, or (killed first) none.
    asked = Counter(key[0] for key in by_key)
    assert len(by_key) == len(jobs), f"{where}: two jobs share a request"
    for tag, count in soak.expected.items():
        killed = any(p.tag == tag and p.killed for p in soak.procs)
        assert asked[tag] == count or (killed and asked[tag] == 0), (
            f"{where}: {tag!r} queued {asked[tag]} of its {count} jobs"
        )

    # 1. The server made exactly the jobs the history knows, each known once.
    assert created_by_posts(sim) == len(on_sim), f"{where}: POST count and jobs made differ"
    assert len({a.key for a in soak.arrivals}) == len(on_sim), f"{where}: a request sent twice"
    remote_ids = Counter(job.remote_id for job in jobs if job.remote_id)
    shared = [remote_id for remote_id, n in remote_ids.items() if n > 1]
    assert not shared, f"{where}: remote ids shared by two local jobs: {shared}"
    assert set(remote_ids) <= set(on_sim), f"{where}: remote ids the server never made"
    unadopted = sorted(set(on_sim) - set(remote_ids))
    ambiguous = [by_key.get(on_sim[job_id].key) for job_id in unadopted]
    if unadopted:
        print(f"{where}: server jobs left unmatched as ambiguous: {unadopted}")
    for job_id, job in zip(unadopted, ambiguous, strict=True):
        assert job is not None and job.status == "unknown", f"{where}: {job_id} not adopted"
        assert AMBIGUOUS in (job.error_message or ""), f"{where}: {job_id} lost, not flagged"
    if not FULL:
        assert not unadopted, f"{where}: the CI seeds must leave nothing ambiguous"
    assert len(remote_ids) == created_by_posts(sim) - len(unadopted)

    # 2. Nothing was sent while the queue was paused, but POSTs claimed before it.
    for window in soak.pauses:
        late_claims = [
            (local_id[:8], at)
            for local_id, times in claims.items()
            for at in times
            # The history keeps times to the millisecond, cut down: `at` is up to 1 ms early.
            if window.start < at and at + MS < window.end
        ]
        assert not late_claims, f"{where}: claimed while paused: {late_claims} in {window}"
        during = [a for a in soak.arrivals if window.start < a.at < window.end]
        for arrival in during:
            job = by_key[arrival.key]
            before = [at for at in claims[job.local_id] if at <= arrival.at]
            assert before and before[-1] < window.start, f"{where}: {job.short_id} sent paused"
            assert job.local_id in window.submitting, f"{where}: {job.short_id} not in flight"
        assert len(during) <= len(window.submitting), f"{where}: more POSTs than were claimed"

    # 3. Every job in its true final state.
    killed = [p for p in soak.procs if p.killed]
    for job in jobs:
        if job.remote_id is not None:
            truth = sim.state.get(TOKEN_A, job.remote_id)
            assert truth is not None, f"{where}: {job.remote_id} is not on the server"
            assert job.status == truth["status"] and job.status in FINAL, (
                f"{where}: {job.short_id} is {job.status}, the server says {truth['status']}"
            )
            assert on_sim[job.remote_id].key == key_of(job), (
                f"{where}: {job.short_id} adopted the server job of another request"
            )
            continue
        assert job.status == "unknown", f"{where}: {job.short_id} ended {job.status} unsent"
        assert claims[job.local_id], f"{where}: {job.short_id} unknown but never claimed"
        if AMBIGUOUS in (job.error_message or ""):
            continue  # checked above, with the server job it may be
        assert key_of(job) not in {a.key for a in soak.arrivals}, (
            f"{where}: {job.short_id} is unknown, yet the server made its job"
        )
        assert any(p.claimed(claimed_by[job.local_id]) for p in killed), (
            f"{where}: {job.short_id} unknown, but its sender was not killed"
        )

    # 4. Each result saved once, where it belongs.
    completed = [job for job in jobs if job.status == "completed"]
    for job in completed:
        assert len(job.files) == len(job.urls), f"{where}: {job.short_id} not saved"
        check_saved_files(job, soak.out)
    pictures = sorted(soak.out.rglob("*.png"))
    recorded = {Path(name).resolve() for job in completed for name in job.files}
    assert len(pictures) == sum(len(job.urls) for job in completed) == len(recorded), (
        f"{where}: {len(pictures)} pictures saved for {len(recorded)} results"
    )
    assert {p.resolve() for p in pictures} == recorded

    # 5. The history is sound, and every process ended as it should.
    check_store_opens(soak.db)
    for proc in soak.procs:
        text = proc.log.read_text(errors="replace")
        assert "Traceback" not in text, f"{where}: {proc.name} crashed:\n{text[-3000:]}"
        code = proc.proc.returncode
        if proc.killed:
            continue
        # 0 done, 1 a job failed or was cancelled (or `wait` timed out on a lost POST), 4 it
        # saw the pause with jobs still held, 6 a POST of its own is unknown. Stopped by us at
        # the end: 130, or SIGTERM's own end when it came as the process was exiting anyway
        # (its handler gone with its event loop), and always for an engine_child (none).
        allowed = {0, 1, 4, 6} if proc.kind != "engine" else set()
        if proc.terminated:
            allowed |= {130, -signal.SIGTERM} if proc.kind != "engine" else {-signal.SIGTERM}
        assert code in allowed, f"{where}: {proc.name} ended {code}:\n{text[-2000:]}"
    summary = Counter(job.status for job in jobs)
    kills = [n for n in soak.notes if n.startswith("killed")]
    print(
        f"{where}: {len(jobs)} jobs {dict(summary)}, {len(on_sim)} made by the server, "
        f"{len(soak.pauses)} pauses (jobs made during each / POSTs in flight at its start: "
        f"{[(w.made_after - w.made_before, len(w.submitting)) for w in soak.pauses]}), "
        f"{len(kills)} kills "
        f"({sum('mid-post' in n for n in kills)} mid-POST, "
        f"{sum('mid-save' in n for n in kills)} mid-save), "
        f"{len(soak.procs)} processes, codes {[p.proc.returncode for p in soak.procs]}"
    )


# -- the soak's finding, pinned ------------------------------------------------------------------


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
async def test_a_result_left_unsaved_by_an_owner_that_polled_for_everyone_is_saved(
    make_sim: SimFactory, tmp_path: Path, how: signal.Signals
) -> None:
    """The soak's mid-save kill, at the moment no other process would look again: the headless
    submit polls for everyone (it holds the watcher lease), its job completes, the TUI shows it
    so, and the submit dies (or is stopped: SIGTERM cancels its downloads too) while saving the
    result. Nothing is active any more, so nobody takes the lease over; the TUI must still save
    the result, as it would any result of a process that has ended."""
    # Every result answers a minute late until the kill: the submit is still saving when it
    # dies, and the TUI's own download later is not slowed.
    faults = FaultConfig(slow_rate=1.0, slow_seconds=60.0, groups=("results",))
    # Its job runs about 1.5 s: it ends after the TUI has started, so the TUI sees it end.
    sim = make_sim(faults=faults, speed=5)
    data = tmp_path / "data"
    env = {
        **make_cli_env(tmp_path),
        **against(sim),
        "KREA_TUI_DATA_DIR": str(data),
        "KREA_TUI_OUTPUT_DIR": str(data / "out"),
    }
    async with running_engine(sim, data, start=False) as tui:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "krea_tui", "submit", "--wait", "--count", "1", "lease holder",
            cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            # The TUI starts once the submit polls for everyone: it only follows the history.
            deadline = time.monotonic() + 20
            while not str(tui.store.queue_state().watcher).startswith(f"{child.pid}:"):
                assert time.monotonic() < deadline, "the submit never polled for everyone"
                await asyncio.sleep(0.01)
            await tui.engine.start()
            (job,) = tui.store.jobs()
            await tui.log.wait_for(
                lambda: tui.log.saw(job.local_id, "completed"), 20, "the TUI to show it completed"
            )
            assert not tui.job(job.local_id).files, "saved before the kill: nothing tested"
            child.send_signal(how)
            await asyncio.wait_for(child.wait(), 30)
            faults.slow_rate = 0.0
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        # A few orphan checks and one late download later, at the most.
        await tui.wait_settled([job.local_id], timeout=30)
        check_saved_files(tui.job(job.local_id), tui.output_dir)
    assert len(list((data / "out").rglob("*.png"))) == 1
