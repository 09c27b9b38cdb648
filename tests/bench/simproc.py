"""The simulator in a process of its own, as `krea-tui sim` runs it.

Benchmarks do not serve the simulator from a thread of the measuring process: the server's
Python work would then share one GIL with the client being measured and bend its timings.
Counts come from the simulator's admin endpoint (`/_sim/stats`), as the server saw them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

TOKEN = "00000000-0000-4000-8000-0000000bench:bench-secret"


@dataclass
class SimProcess:
    base_url: str
    token: str
    process: subprocess.Popen[str]

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.base_url}/_sim", trust_env=False, timeout=30)

    def stats(self) -> dict[str, Any]:
        with self.admin() as admin:
            return admin.get("/stats").json()

    def api_requests(self) -> dict[str, int]:
        """Requests served per endpoint (every answer status), admin calls left out."""
        counts: dict[str, int] = {}
        for label, outcomes in self.stats()["requests"].items():
            if "/_sim/" not in label:
                counts[label] = sum(outcomes.values())
        return counts


@contextmanager
def sim_process(**options: Any) -> Iterator[SimProcess]:
    """Start `krea-tui sim` on a free loopback port with `options` as flags; stop it after."""
    args = [sys.executable, "-m", "krea_tui.sim", "--port", "0", "--token", TOKEN, "--admin"]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is not False and value is not None:
            args += [flag, str(value)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        assert process.stdout is not None
        base_url = ""
        for line in process.stdout:
            if line.startswith("base url:"):
                base_url = line.split(":", 1)[1].strip()
                break
        if not base_url:
            raise RuntimeError(f"the simulator did not start: {' '.join(args)}")
        yield SimProcess(base_url, TOKEN, process)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
