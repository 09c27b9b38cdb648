"""Figure 3: start-up. `krea-tui --help` as a user runs it (the console script, a fresh
process each time), and the first frame of `krea-tui --demo`: the real entry point in a child
process whose App.run renders headless (app_child.py), timed from the spawn."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import Figure, repeated
from tests.bench.table import spawn_app


def help_command() -> list[str]:
    script = Path(sys.executable).with_name("krea-tui")
    if script.exists():
        return [str(script), "--help"]
    found = shutil.which("krea-tui")
    return [found, "--help"] if found else [sys.executable, "-m", "krea_tui", "--help"]


def figures(quick: bool) -> list[Figure]:
    command = help_command()
    helps: list[float] = []
    for _ in range(3 if quick else 7):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        helps.append(time.perf_counter() - start)
    demo: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="krea-bench-") as name:
        tmp = Path(name)
        cli = ["--demo", "--data-dir", str(tmp / "data"), "--output-dir", str(tmp / "out")]
        for _ in range(2 if quick else 5):
            demo.append(spawn_app(tmp, 0, 0.0, *cli))
    return [
        repeated(
            "startup.help",
            helps,
            "s",
            0.3,
            note="`krea-tui --help`, the console script, a fresh process each run",
        ),
        repeated(
            "startup.demo_first_frame",
            [run["first_frame"] for run in demo],
            "s",
            1.0,
            note="spawn of `krea-tui --demo` to its first rendered frame (headless App.run "
            "via the real cli.main)",
            extra={
                "ready_frame_s": sorted(run["history_frame"] for run in demo)[len(demo) // 2],
                "python_start_s": sorted(run["python_start"] for run in demo)[len(demo) // 2],
                "app_run_called_s": sorted(run["run_called"] for run in demo)[len(demo) // 2],
            },
        ),
    ]
