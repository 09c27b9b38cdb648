"""`krea-tui doctor` for real: inside a tmux left at its defaults, and against the simulator."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import TOKEN_A, SimFactory

KREA_TUI = [sys.executable, "-m", "krea_tui.cli"]


def doctor(tmp_path: Path, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("KREA_API_TOKEN", "TMUX")}
    env["KREA_TUI_CONFIG"] = str(tmp_path / "config.toml")
    env["KREA_TUI_DATA_DIR"] = str(tmp_path / "data")
    if token:
        env["KREA_API_TOKEN"] = token
    return subprocess.run(
        [*KREA_TUI, "doctor", *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_doctor_inside_a_default_tmux_explains_the_missing_truecolor(tmp_path: Path) -> None:
    socket = f"krea-doctor-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "doctor.txt"
    command = " ".join(
        [
            "env -u COLORTERM",
            f"KREA_TUI_CONFIG={shlex.quote(str(tmp_path / 'config.toml'))}",
            *map(shlex.quote, KREA_TUI),
            "doctor --demo",
            f"> {shlex.quote(str(out))} 2>&1; echo done >> {shlex.quote(str(out))}",
        ]
    )
    # -f /dev/null: tmux as installed, without anyone's tmux.conf.
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    subprocess.run([*tmux, "new-session", "-d", "-x", "100", "-y", "40", command], check=True)
    try:
        deadline = time.monotonic() + 60
        while not (out.exists() and out.read_text().rstrip().endswith("done")):
            assert time.monotonic() < deadline, "doctor did not finish inside tmux"
            time.sleep(0.1)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    text = out.read_text()
    assert "WARN  tmux" in text and "not passing truecolor" in text
    assert "terminal-features" in text and "RGB" in text
    # Nothing is attached to this tmux, so copies stay in its paste buffer; tmux's default
    # set-clipboard (external) is no problem, and nothing says it is.
    assert "into its paste buffer" in text and "no terminal is attached" in text
    assert "set-clipboard" not in text and "ok    clipboard" not in text


def test_doctor_reaches_the_api_and_never_prints_the_token(
    tmp_path: Path, make_sim: SimFactory
) -> None:
    sim = make_sim()
    good = doctor(tmp_path, "--base-url", sim.base_url, token=TOKEN_A)
    assert "answered and took the token" in good.stdout, good.stdout
    assert TOKEN_A not in good.stdout + good.stderr
    assert "test-secret-a" not in good.stdout + good.stderr

    wrong = "ffffffff-ffff-4fff-8fff-ffffffffffff:wrong-secret"
    bad = doctor(tmp_path, "--base-url", sim.base_url, token=wrong)
    assert bad.returncode == 1
    assert "refused the token (401)" in bad.stdout
    assert "wrong-secret" not in bad.stdout + bad.stderr
