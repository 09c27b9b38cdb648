"""The headless commands as a user runs them: `python -m krea_tui ...` in a process of its own,
with its history and results in tmp_path, against the built-in demo or a simulator started here
(a `--demo` simulator dies with its process, so `cancel`/`wait`/`download` use `--base-url`)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from krea_tui.core.metadata import request_from_png
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, SimFactory
from tests.integration.cli_support import ROOT, Result, against, krea
from tests.integration.engine_support import sim_jobs, sim_prompt

LONG_QUEUED = [30.0, 0.0, 0.0, 0.0, 0.0]


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


@pytest.mark.parametrize("prompt", ["", "   "], ids=["empty", "blank"])
def test_empty_or_blank_prompt_exits_2_naming_the_prompt_and_sends_nothing(
    cli_env: dict[str, str], sim: RunningSim, prompt: str
) -> None:
    result = krea(cli_env, "submit", "--wait", "--json", prompt, **against(sim))
    assert result.code == 2, result.err
    assert "prompt: required" in result.err
    assert result.out == ""
    assert sim_jobs(sim) == []
    assert "POST /generate/image/{model}" not in sim.stats()["requests"]
    listed = krea(cli_env, "jobs", "--json")
    assert listed.code == 0 and listed.records == []


def test_blank_prompt_in_a_batch_file_names_the_job_and_sends_nothing(
    cli_env: dict[str, str], sim: RunningSim, tmp_path: Path
) -> None:
    batch = tmp_path / "jobs.toml"
    batch.write_text('[[jobs]]\nprompt = "fine"\n\n[[jobs]]\nprompt = " \\t "\n')
    result = krea(cli_env, "batch", "--yes", str(batch), **against(sim))
    assert result.code == 2, result.err
    assert "job 2" in result.err and "prompt: required" in result.err
    assert sim_jobs(sim) == []


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
    result = krea(cli_env, "batch", "--demo", "--yes", "--wait", "--json", str(batch))
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
    result = krea(
        cli_env, "batch", "-y", "--wait", "--json", "--steps", "8", str(batch), **against(sim)
    )
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
    result = krea(cli_env, "batch", "--yes", "--json", str(batch), **against(sim))
    assert result.code == 2
    assert "job 2" in result.err and "steps" in result.err
    assert sim_jobs(sim) == []


def krea_on_a_terminal(env: dict[str, str], *args: str, answer: str) -> Result:
    """`krea-tui ARGS` with a terminal for stdin, typing `answer` to its question."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "krea_tui", *args],
            cwd=ROOT,
            env=env,
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(leader, answer.encode())
        out, err = process.communicate(timeout=60)
    finally:
        os.close(follower)
        os.close(leader)
    return Result(process.returncode, out, err)


def test_batch_skips_comments_and_blank_lines(
    cli_env: dict[str, str], sim: RunningSim, tmp_path: Path
) -> None:
    batch = tmp_path / "prompts.txt"
    batch.write_text("# comment?\na fox\n\n   # indented note\n\t\na heron # not a comment\n")
    result = krea(cli_env, "batch", "--yes", "--wait", "--json", str(batch), **against(sim))
    assert result.code == 0, result.err
    assert [r["request"]["prompt"] for r in result.records] == [
        "a fox",
        "a heron # not a comment",
    ]
    assert sorted(sim_prompt(sim, j["job_id"]) for j in sim_jobs(sim)) == [
        "a fox",
        "a heron # not a comment",
    ]


def test_batch_of_only_comments_has_no_jobs(
    cli_env: dict[str, str], sim: RunningSim, tmp_path: Path
) -> None:
    batch = tmp_path / "prompts.txt"
    batch.write_text("# nothing here yet\n\n")
    result = krea(cli_env, "batch", "--yes", str(batch), **against(sim))
    assert result.code == 2
    assert "no jobs" in result.err
    assert sim_jobs(sim) == []


def test_batch_says_what_it_sends_and_its_cost_first(
    cli_env: dict[str, str], sim: RunningSim, tmp_path: Path
) -> None:
    batch = tmp_path / "jobs.toml"
    batch.write_text(
        '[[jobs]]\nprompt = "a {red|blue} car"\ncount = 2\n\n'
        '[[jobs]]\nmodel = "google/imagen-4"\nprompt = "a heron"\n',
        encoding="utf-8",
    )
    result = krea(cli_env, "batch", "-y", "--json", str(batch), **against(sim))
    assert result.code == 0, result.err
    assert len(result.records) == 5
    assert "5 jobs" in result.err
    assert "4 × bfl/flux-1-dev: est. 4 × $0.007 = $0.028" in result.err
    assert "1 × google/imagen-4: est. 1 × $0.042 = $0.042" in result.err
    assert "est. $0.070" in result.err
    assert "[y/N]" not in result.err  # --yes: no question


def test_batch_without_yes_and_without_a_terminal_refuses_and_sends_nothing(
    cli_env: dict[str, str], sim: RunningSim, tmp_path: Path
) -> None:
    batch = tmp_path / "prompts.txt"
    batch.write_text("a fox\na heron\n")
    result = krea(cli_env, "batch", "--wait", str(batch), **against(sim))
    assert result.code == 2
    assert "--yes" in result.err
    assert "2 jobs" in result.err  # what would have been sent is still shown
    assert result.out == ""
    assert sim_jobs(sim) == []
    assert krea(cli_env, "jobs", "--json", **against(sim)).records == []


@pytest.mark.parametrize("answer", ["n\n", "\n", "yes please\n"], ids=["n", "enter", "other"])
def test_batch_on_a_terminal_sends_nothing_unless_told_yes(
    cli_env: dict[str, str], sim: RunningSim, tmp_path: Path, answer: str
) -> None:
    batch = tmp_path / "prompts.txt"
    batch.write_text("a fox\na heron\n")
    env = {**cli_env, **against(sim)}
    result = krea_on_a_terminal(env, "batch", "--json", str(batch), answer=answer)
    assert "Send 2 jobs (est. $0.014)? [y/N]" in result.err
    assert result.code == 0, result.err
    assert "nothing sent" in result.err
    assert result.out == ""
    assert sim_jobs(sim) == []
    assert krea(env, "jobs", "--json").records == []


@pytest.mark.parametrize("answer", ["y\n", "YES\n"])
def test_batch_on_a_terminal_sends_after_yes(
    cli_env: dict[str, str], sim: RunningSim, tmp_path: Path, answer: str
) -> None:
    batch = tmp_path / "prompts.txt"
    batch.write_text("a fox\na heron\n")
    env = {**cli_env, **against(sim)}
    result = krea_on_a_terminal(env, "batch", "--wait", "--json", str(batch), answer=answer)
    assert "Send 2 jobs (est. $0.014)? [y/N]" in result.err
    assert result.code == 0, result.err
    assert [r["request"]["prompt"] for r in result.records] == ["a fox", "a heron"]
    assert len(sim_jobs(sim)) == 2


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


def test_unknown_status_exits_2_with_the_valid_names(cli_env: dict[str, str]) -> None:
    for history in ("none yet", "one job"):
        if history == "one job":
            made = krea(cli_env, "submit", "--demo", "--wait", "x")
            assert made.code == 0, made.err
        result = krea(cli_env, "jobs", "--demo", "--status", "done,bogus")
        assert result.code == 2, (history, result.err)
        assert result.out == ""
        assert "'bogus'" in result.err
        # the server's statuses, the local ones and the groups of the filter language
        for name in ("queued", "intermediate-complete", "completed", "held", "unknown", "active"):
            assert name in result.err


def test_status_names_and_groups_filter_the_list(cli_env: dict[str, str], sim: RunningSim) -> None:
    env = {**cli_env, **against(sim)}
    (done,) = krea(env, "submit", "--wait", "--json", "quick").records
    sim.state.force_outcomes([{"durations": LONG_QUEUED}])
    (queued,) = krea(env, "submit", "--json", "slow").records
    assert (done["status"], queued["status"]) == ("completed", "queued")
    for wanted, found in (
        ("completed", [done]),
        ("done", [done]),  # a group of the queue view's filter language
        ("FAILED, done", [done]),
        ("active", [queued]),  # everything not ended
        ("queued,done", [done, queued]),
        ("failed,held", []),
        (",", [done, queued]),  # no name at all: no filter
    ):
        listed = krea(env, "jobs", "--json", "--status", wanted)
        assert listed.code == 0, (wanted, listed.err)
        assert [r["id"] for r in listed.records] == [j["id"] for j in found], wanted


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


# -- what `jobs` shows ---------------------------------------------------------------------------


def test_jobs_names_its_times_age_and_ran_and_ran_leaves_out_time_held_here(
    cli_env: dict[str, str],
) -> None:
    import sqlite3
    from datetime import datetime, timedelta

    submitted = krea(cli_env, "submit", "--demo", "--wait", "--json", "a fox")
    assert submitted.code == 0, submitted.err
    (record,) = submitted.records
    # As if the job had waited two hours in the local queue before it was sent.
    history = sqlite3.connect(Path(cli_env["KREA_TUI_DATA_DIR"]) / "demo-history.sqlite3")
    with history:
        (created,) = history.execute("SELECT created_at FROM jobs").fetchone()
        earlier = datetime.fromisoformat(created) - timedelta(hours=2)
        history.execute("UPDATE jobs SET created_at = ?", (earlier.isoformat(),))
    history.close()

    listed = krea(cli_env, "jobs", "--demo")
    assert listed.code == 0, listed.err
    header, row = listed.out.splitlines()
    assert header.split()[:6] == ["ID", "Status", "Model", "Age", "Ran", "Prompt"]
    assert "Time" not in header
    short_id, status, _model, age, ran, *_rest = row.split()
    assert (short_id, status) == (record["id"][:8], "completed")
    assert age == "2h"  # since it was asked for
    assert ran.endswith("s") and int(ran[:-1]) < 60  # the demo's seconds on the server
    # Columns line up under their names.
    assert row[header.index("Age") :].lstrip().startswith(age)
    assert row[header.index("Ran") :].lstrip().startswith(ran)
