"""The core and the simulator run on a server with no UI: they never import textual or rich.

httpx imports rich for its optional command-line tool when rich happens to be installed, so
"rich is in sys.modules" alone proves nothing about our code. The proof is stronger: with textual
and rich made unimportable, every module of the package still imports.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import importlib, importlib.abc, pkgutil, sys

BLOCK = {block!r}

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCK:
            raise ImportError(f"{{name}} is blocked for this probe")
        return None

sys.meta_path.insert(0, Blocker())
import {package} as root
for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
    importlib.import_module(info.name)
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] == "textual")))
"""


def probe(package: str, block: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE.format(package=package, block=block)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("package", ["krea_tui.core", "krea_tui.sim"])
def test_package_loads_no_textual_module(package: str) -> None:
    result = probe(package, block=())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{package} imports {result.stdout.strip()}"


@pytest.mark.parametrize("package", ["krea_tui.core", "krea_tui.sim"])
def test_package_imports_with_textual_and_rich_unavailable(package: str) -> None:
    result = probe(package, block=("textual", "rich"))
    assert result.returncode == 0, result.stderr


def test_probe_detects_a_ui_import() -> None:
    # Guards the guard: the same probe on a package that needs rich must fail.
    result = probe("textual.widgets", block=("rich",))
    assert result.returncode != 0
    assert "blocked" in result.stderr
