"""A data folder krea-tui cannot write (a read-only mount, a backup, a path through a file):
commands that must write say so in a sentence and exit 3; `jobs` still reads the history."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli_support import krea


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a folder, the same folder mounted read-only): a read-only mount, as root sees one."""
    source, view = tmp_path / "source", tmp_path / "view"
    source.mkdir()
    view.mkdir()
    bind = subprocess.run(["mount", "--bind", str(source), str(view)], capture_output=True)
    if bind.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bind.stderr.decode().strip()}")
    try:
        remount = subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], capture_output=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {remount.stderr.decode().strip()}")
        yield source, view
    finally:
        subprocess.run(["umount", str(view)], check=False)


def test_a_read_only_history_is_read_and_writes_are_refused_in_a_sentence(
    read_only: tuple[Path, Path], cli_env: dict[str, str]
) -> None:
    source, view = read_only
    made = krea(cli_env, "submit", "--demo", "--wait", "a fox", KREA_TUI_DATA_DIR=str(source))
    assert made.code == 0, made.err
    listed = krea(cli_env, "jobs", "--demo", KREA_TUI_DATA_DIR=str(view))
    assert listed.code == 0, listed.err
    assert "a fox" in listed.out and "completed" in listed.out
    assert "Traceback" not in listed.err
    refused = krea(cli_env, "submit", "--demo", "a cat", KREA_TUI_DATA_DIR=str(view))
    assert refused.code == 3
    assert "Traceback" not in refused.err
    assert "read-only" in refused.err and "KREA_TUI_DATA_DIR" in refused.err


def test_a_data_folder_that_cannot_exist_is_a_sentence_not_a_traceback(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for args in (("submit", "--demo", "a fox"), ("jobs", "--demo")):
        result = krea(cli_env, *args, KREA_TUI_DATA_DIR=str(blocker / "data"))
        assert "Traceback" not in result.err, result.err
        assert result.code in (0, 3)
        if args[0] == "submit":
            assert result.code == 3 and "cannot" in result.err and str(blocker) in result.err
