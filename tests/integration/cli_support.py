"""Running the headless commands as a user does, for the integration tests: `python -m
krea_tui ...` in a process of its own, with everything it keeps in the test's tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


def make_cli_env(tmp_path: Path) -> dict[str, str]:
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
