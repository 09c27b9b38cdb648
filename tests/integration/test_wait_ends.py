"""`--wait` always ends, and its exit code says how: a job whose POST may or may not have made
a job on the server (`unknown`, no longer looked for) ends the wait with exit 6 and its id,
instead of hanging a script or a cron job for ever."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from krea_tui import headless
from krea_tui.cli import build_parser
from krea_tui.core import watcher
from krea_tui.sim.config import FaultConfig
from tests.conftest import TOKEN_A, SimFactory
from tests.tui.conftest import settings_in


def test_wait_ends_with_exit_6_and_the_ids_when_only_unknown_jobs_are_left(
    make_sim: SimFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(watcher, "UNKNOWN_GIVE_UP", timedelta(seconds=0.5))
    monkeypatch.setattr(headless, "UNKNOWN_GIVE_UP", timedelta(seconds=0.5))
    monkeypatch.setattr(headless, "WAIT_RECHECK", 0.2)
    # Every POST's connection drops: nobody can tell whether the server made the job.
    sim = make_sim(faults=FaultConfig(drop_rate=1.0, groups=("generate",)))
    settings = replace(
        settings_in(tmp_path, demo=False, poll=0.1), base_url=sim.base_url, token=TOKEN_A
    )
    args = build_parser().parse_args(["submit", "--wait", "--timeout", "60", "a fox"])
    code = headless.run(args, settings)
    err = capsys.readouterr().err
    assert code == headless.EXIT_UNKNOWN, err
    assert "may or may not exist on the server" in err
    assert "timed out" not in err
