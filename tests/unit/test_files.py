"""Result files: names that stay inside the output directory, no overwriting, atomic writes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from krea_tui.core.files import (
    DEFAULT_TEMPLATE,
    atomic_write,
    extension_of,
    free_path,
    render_name,
    replacing,
    result_path,
    safe_part,
    sweep_temp_files,
)

WHEN = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)


def inside(path: Path, directory: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve()) and ".." not in path.parts


@pytest.mark.parametrize(
    "hostile",
    ["../../etc/passwd", "/etc/passwd", "..", ".", "", "a/../../b", "~root", "x\x00y", "..\\.."],
)
def test_hostile_job_ids_stay_inside_the_output_dir(tmp_path: Path, hostile: str) -> None:
    path = result_path(tmp_path, DEFAULT_TEMPLATE, job_id=hostile, index=0, url="", when=WHEN)
    assert inside(path, tmp_path)
    assert path.name.endswith(".png")
    assert path.parent.name == "2026-03-01"


def test_templates_cannot_climb_out_either(tmp_path: Path) -> None:
    for template in ("../{job_id}.{ext}", "/etc/{job_id}", "{date}/../../{index}.png"):
        path = result_path(tmp_path, template, job_id="j", index=1, url="", when=WHEN)
        assert inside(path, tmp_path), template


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(job_id=st.text(), url=st.text(), model=st.text(), seed=st.text())
def test_no_input_escapes_the_output_dir(
    tmp_path: Path, job_id: str, url: str, model: str, seed: str
) -> None:
    template = "{model}/{date}-{time}/{short_id}-{job_id}-{seed}-{index}.{ext}"
    path = result_path(
        tmp_path, template, job_id=job_id, index=3, url=url, when=WHEN, model=model, seed=seed
    )
    assert inside(path, tmp_path)
    assert all(part not in ("", ".", "..") for part in path.relative_to(tmp_path).parts)


def test_safe_part_keeps_plain_names_and_never_gives_dots() -> None:
    assert safe_part("757a315b-b3ed-457b") == "757a315b-b3ed-457b"
    assert safe_part("a b/c") == "a_b_c"
    assert safe_part("..") == "x"
    assert safe_part("...", fallback="job") == "job"
    assert len(safe_part("y" * 500)) == 80


def test_extension_comes_from_the_url_path_when_known() -> None:
    assert extension_of("https://gen.krea.ai/images/abc.PNG?sig=1") == "png"
    assert extension_of("https://gen.krea.ai/videos/abc.mp4") == "mp4"
    assert extension_of("https://x/abc.exe") == "png"
    assert extension_of("https://x/a.png/../../b") == "png"
    assert extension_of("https://x/noext", default="jpg") == "jpg"


def test_a_bad_template_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="bad file-name template"):
        render_name("{nope}.png", {"job_id": "x"})
    with pytest.raises(ValueError, match="empty name"):
        render_name("/", {})


def test_free_path_never_returns_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    assert free_path(target) == target
    target.write_bytes(b"1")
    assert free_path(target) == tmp_path / "a-1.png"
    (tmp_path / "a-1.png").write_bytes(b"2")
    assert free_path(target) == tmp_path / "a-2.png"
    assert target.read_bytes() == b"1"


def test_atomic_write_creates_dirs_and_a_readable_file(tmp_path: Path) -> None:
    target = tmp_path / "new" / "dir" / "a.png"
    atomic_write(target, b"data")
    assert target.read_bytes() == b"data"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert os.listdir(target.parent) == ["a.png"]


def test_a_failed_write_leaves_neither_the_file_nor_a_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    with pytest.raises(TypeError):
        atomic_write(target, "not bytes")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        atomic_write(target, None)  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"


def finished_pid() -> int:
    """The PID of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sweep_removes_only_leftover_temp_files(tmp_path: Path) -> None:
    # Live writers: this process, and any other running krea-tui sharing the folder.
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        keep = [
            tmp_path / "a.png",
            tmp_path / "d" / "b.png.json",
            tmp_path / "notes.part",
            tmp_path / f".krea-tui-{os.getpid()}-ab12.part",
            tmp_path / "d" / f".krea-tui-{writer.pid}-cd34.part",
        ]
        drop = [
            tmp_path / ".krea-tui-x1.part",  # named before PIDs were: nobody's
            tmp_path / "d" / "e" / ".krea-tui-y2.part",
            tmp_path / f".krea-tui-{finished_pid()}-ef56.part",
        ]
        for path in keep + drop:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
        assert sweep_temp_files(tmp_path) == 3
        assert all(p.exists() for p in keep)
        assert not any(p.exists() for p in drop)
    finally:
        writer.kill()
        writer.wait()
    assert sweep_temp_files(tmp_path) == 1  # its writer is gone now
    assert sweep_temp_files(tmp_path / "missing") == 0


def test_a_write_in_progress_is_named_for_its_writer(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    with replacing(target) as out:
        out.write(b"half")
        (temp,) = tmp_path.glob(".krea-tui-*.part")
        assert temp.name.startswith(f".krea-tui-{os.getpid()}-")
        assert sweep_temp_files(tmp_path) == 0  # a second instance starting now keeps it
        assert not target.exists()
    assert target.read_bytes() == b"half"
    assert list(tmp_path.glob(".krea-tui-*.part")) == []
