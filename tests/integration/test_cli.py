"""The headless commands as a user runs them: `python -m krea_tui ...` in a process of its own,
with its history and results in tmp_path, against the built-in demo or a simulator started here
(a `--demo` simulator dies with its process, so `cancel`/`wait`/`download` use `--base-url`)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from krea_tui.core.metadata import request_from_png
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, SimFactory
from tests.integration.engine_support import sim_jobs, sim_prompt

ROOT = Path(__file__).resolve().parents[2]
LONG_QUEUED = [30.0, 0.0, 0.0, 0.0, 0.0]


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """An environment that keeps everything in tmp_path and knows no token. Its config file
    only makes the engine look at jobs more often than the 2 s a real account wants."""
    config = tmp_path / "config.toml"
    config.write_text("min_interval = 0.1\nmax_interval = 0.3\n", encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KREA_", "XDG_")) and key not in ("HTTP_PROXY", "HTTPS_PROXY")
    }
    env.update(
        {
            "KREA_TUI_DATA_DIR": str(tmp_path / "data"),
            "KREA_TUI_OUTPUT_DIR": str(tmp_path / "out"),
            "KREA_TUI_CONFIG": str(config),
            "KREA_TUI_DEMO_SPEED": "20",
            "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
            "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        }
    )
    return env


def krea(env: dict[str, str], *args: str, timeout: float = 60, **extra: str) -> Result:
    done = subprocess.run(
        [sys.executable, "-m", "krea_tui", *args],
        cwd=ROOT,
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def against(sim: RunningSim) -> dict[str, str]:
    return {"KREA_API_TOKEN": TOKEN_A, "KREA_API_BASE_URL": sim.base_url}


def check_record_files(record: dict[str, Any]) -> None:
    assert record["status"] == "completed"
    assert record["files"], record
    for name in record["files"]:
        path = Path(name)
        assert path.is_file()
        document = request_from_png(path.read_bytes())
        assert document is not None
        assert document["model"] == record["model"]
        assert document["request"] == record["request"]
        assert path.with_name(path.name + ".json").is_file()


# -- the definition of done ----------------------------------------------------------------------


def test_demo_submit_waits_and_prints_records_of_saved_files(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    result = krea(cli_env, "submit", "--demo", "--count", "5", "--wait", "--json", "a red car")
    assert result.code == 0, result.err
    assert result.err == ""  # no progress on stderr when it is not a terminal
    records = result.records
    assert len(records) == 5
    assert len({r["id"] for r in records}) == 5
    assert len({r["request"]["seed"] for r in records}) == 5  # random seed per image
    for record in records:
        assert record["request"]["prompt"] == "a red car"
        check_record_files(record)
        assert Path(record["files"][0]).is_relative_to(tmp_path / "out")

    listed = krea(cli_env, "jobs", "--demo", "--json")
    assert listed.code == 0, listed.err
    assert {r["id"] for r in listed.records} == {r["id"] for r in records}
    text = krea(cli_env, "jobs", "--demo")
    assert all(r["id"][:8] in text.out for r in records)
    # Demo jobs live in a history of their own: the real one is still empty.
    real = krea(cli_env, "jobs", "--json")
    assert real.code == 0 and real.records == []


def test_demo_flag_before_the_command_counts_too(cli_env: dict[str, str]) -> None:
    # `krea-tui --demo jobs` once listed the real history: the subcommand's defaults won.
    submitted = krea(cli_env, "--demo", "submit", "--wait", "--json", "x")  # no token needed
    assert submitted.code == 0, submitted.err
    listed = krea(cli_env, "--demo", "jobs", "--json")
    assert [r["id"] for r in listed.records] == [r["id"] for r in submitted.records]


# -- refusals and exit codes ---------------------------------------------------------------------


def test_invalid_request_exits_2_naming_the_field_and_sends_nothing(
    cli_env: dict[str, str], sim: RunningSim, tmp_path: Path
) -> None:
    flag_dir = tmp_path / "flag-data"
    result = krea(
        cli_env, "submit", "--data-dir", str(flag_dir), "--steps", "0", "x", **against(sim)
    )
    assert result.code == 2
    assert "steps" in result.err
    assert result.out == ""
    assert sim_jobs(sim) == []
    assert "POST /generate/image/{model}" not in sim.stats()["requests"]
    # --data-dir beats KREA_TUI_DATA_DIR: the history was opened there, and holds nothing.
    assert (flag_dir / "history.sqlite3").exists()
    assert not (tmp_path / "data" / "history.sqlite3").exists()
    listed = krea(cli_env, "jobs", "--data-dir", str(flag_dir), "--json")
    assert listed.code == 0 and listed.records == []


def test_missing_token_exits_3_and_says_what_to_do(cli_env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    result = krea(cli_env, "submit", "a prompt", KREA_TUI_CONFIG=str(empty))
    assert result.code == 3
    assert "KREA_API_TOKEN" in result.err
    assert "--demo" in result.err
    assert result.out == ""


def test_stopped_queue_exits_4_with_the_reason(
    cli_env: dict[str, str], make_sim: SimFactory
) -> None:
    sim = make_sim(payment_mode="exhausted")
    result = krea(cli_env, "submit", "--wait", "--json", "x", **against(sim))
    assert result.code == 4, result.err
    assert "balance" in result.err
    (record,) = result.records
    assert record["status"] == "held"  # kept for later, not thrown away
    assert sim_jobs(sim) == []


def test_failed_job_exits_1(cli_env: dict[str, str], sim: RunningSim) -> None:
    sim.state.force_outcomes([{"status": "failed", "code": "provider_error"}])
    result = krea(cli_env, "submit", "--wait", "--json", "x", **against(sim))
    assert result.code == 1, result.err
    (record,) = result.records
    assert record["status"] == "failed"
    assert record["error_code"] == "provider_error"
    assert record["files"] == []


# -- batch files ---------------------------------------------------------------------------------


def test_batch_from_toml_expands_counts_alternatives_and_params(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    batch = tmp_path / "jobs.toml"
    batch.write_text(
        """
[[jobs]]
prompt = "a {red|blue} car"
seed = 10

[[jobs]]
prompt = "a lighthouse"
count = 2
[jobs.params]
steps = 12
""",
        encoding="utf-8",
    )
    result = krea(cli_env, "batch", "--demo", "--wait", "--json", str(batch))
    assert result.code == 0, result.err
    records = result.records
    assert len(records) == 4
    assert len({r["batch"] for r in records}) == 1 and records[0]["batch"]
    requests = [r["request"] for r in records]
    assert {(r["prompt"], r["seed"]) for r in requests[:2]} == {
        ("a red car", 10),
        ("a blue car", 10),
    }
    assert [r["prompt"] for r in requests[2:]] == ["a lighthouse"] * 2
    assert all(r["steps"] == 12 for r in requests[2:])
    for record in records:
        check_record_files(record)


def test_batch_from_a_text_file_sends_one_job_per_line(
    cli_env: dict[str, str], sim: RunningSim, tmp_path: Path
) -> None:
    batch = tmp_path / "prompts.txt"
    batch.write_text("a fox\n\n  a heron  \na moth\n", encoding="utf-8")
    result = krea(cli_env, "batch", "--wait", "--json", "--steps", "8", str(batch), **against(sim))
    assert result.code == 0, result.err
    assert [r["request"]["prompt"] for r in result.records] == ["a fox", "a heron", "a moth"]
    assert all(r["request"]["steps"] == 8 for r in result.records)
    assert sorted(sim_prompt(sim, j["job_id"]) for j in sim_jobs(sim)) == [
        "a fox",
        "a heron",
        "a moth",
    ]


def test_batch_with_an_invalid_entry_sends_nothing(
    cli_env: dict[str, str], sim: RunningSim, tmp_path: Path
) -> None:
    batch = tmp_path / "jobs.toml"
    batch.write_text('[[jobs]]\nprompt = "fine"\n\n[[jobs]]\nprompt = "bad"\nsteps = 0\n')
    result = krea(cli_env, "batch", "--json", str(batch), **against(sim))
    assert result.code == 2
    assert "job 2" in result.err and "steps" in result.err
    assert sim_jobs(sim) == []


# -- commands on jobs already in the history -----------------------------------------------------


def test_cancel_wait_and_download_find_jobs_by_id_prefix(
    cli_env: dict[str, str], sim: RunningSim
) -> None:
    env = {**cli_env, **against(sim)}
    sim.state.force_outcomes([{"durations": LONG_QUEUED}])
    (slow,) = krea(env, "submit", "--json", "slow").records
    (quick,) = krea(env, "submit", "--json", "quick").records
    assert slow["status"] == "queued" and slow["id"]

    cancelled = krea(env, "cancel", slow["id"][:8])
    assert cancelled.code == 0, cancelled.err
    assert "cancelled" in cancelled.out
    assert sim.state.get(TOKEN_A, slow["id"])["status"] == "cancelled"

    waited = krea(env, "wait", "--json", quick["id"][:6])
    assert waited.code == 0, waited.err
    (record,) = waited.records
    check_record_files(record)

    saved = Path(record["files"][0])
    saved.unlink()
    downloaded = krea(env, "download", "--json", quick["local_id"][:10])
    assert downloaded.code == 0, downloaded.err
    (again,) = downloaded.records
    check_record_files(again)

    refused = krea(env, "cancel", quick["id"][:8])
    assert refused.code == 1
    assert "already completed" in refused.out

    not_done = krea(env, "download", slow["id"][:8])
    assert not_done.code == 2 and "only completed jobs" in not_done.err
    unknown = krea(env, "wait", "ffffffffffff")
    assert unknown.code == 2 and "no job in the history matches" in unknown.err

    listed = krea(env, "jobs", "--json", "--status", "cancelled")
    assert [r["id"] for r in listed.records] == [slow["id"]]


def test_progress_goes_to_stderr_only_on_a_terminal(
    cli_env: dict[str, str], sim: RunningSim
) -> None:
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "krea_tui", "submit", "--wait", "--json", "-n", "2", "x"],
            cwd=ROOT,
            env={**cli_env, **against(sim)},
            stdout=subprocess.PIPE,
            stderr=follower,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=60,
        )
        os.close(follower)
        follower = -1
        progress = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            progress += chunk
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert done.returncode == 0
    assert "2/2" in progress.decode()
    assert len([json.loads(line) for line in done.stdout.splitlines()]) == 2


def test_import_brings_in_jobs_made_elsewhere_once(
    cli_env: dict[str, str], sim: RunningSim
) -> None:
    for n in range(2):
        made = krea(
            cli_env,
            "submit",
            "--json",
            f"made elsewhere {n}",
            **against(sim),
            KREA_TUI_DATA_DIR=str(Path(cli_env["KREA_TUI_DATA_DIR"]) / "other"),
        )
        assert made.code == 0, made.err
    first = krea(cli_env, "import", "--json", **against(sim))
    assert first.code == 0, first.err
    assert len(first.records) == 2
    assert all(r["model"].startswith("imported:") for r in first.records)
    again = krea(cli_env, "import", "--json", **against(sim))
    assert again.code == 0 and again.records == []
    listed = krea(cli_env, "jobs", "--json", **against(sim))
    assert {r["id"] for r in listed.records} == {r["id"] for r in first.records}
