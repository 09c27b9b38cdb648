"""Headless local inputs and `krea-tui assets`, as a user runs them, against the simulator:
`submit --param image_url=./photo.png` uploads first (progress on stderr) and reuses the upload
the next time; a batch file's paths are read from the batch file's folder; a bad path sends
nothing; `assets` lists and deletes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from PIL import Image

from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A
from tests.integration.cli_support import ROOT, Result, against, krea

KONTEXT = "bfl/flux-1-kontext-dev"


def png(path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (6, 4), "purple").save(out, format="PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return path


def krea_in(folder: Path, env: dict[str, str], *args: str) -> Result:
    """`krea-tui ARGS` started in `folder`, so relative paths are the user's."""
    done = subprocess.run(
        [sys.executable, "-m", "krea_tui", *args],
        cwd=folder,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def sim_assets(sim: RunningSim) -> list[str]:
    items, _ = sim.sim.assets.page(TOKEN_A, limit=1000, cursor_us=None)
    return [a.id for a in items]


def test_submit_uploads_a_local_file_once(
    sim: RunningSim, cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, **against(sim)}
    work = tmp_path / "work"
    photo = png(work / "photo.png")
    args = ("submit", "-m", KONTEXT, "the same at night", "--wait", "--json")
    first = krea_in(work, env, *args, "--param", "image_url=./photo.png")
    assert first.code == 0, first.err
    assert "uploading photo.png" in first.err
    (record,) = first.records
    assert record["status"] == "completed"
    assert record["request"]["image_url"] == str(photo)  # the history names the file
    assert len(sim_assets(sim)) == 1
    second = krea_in(work, env, *args, "--param", f"image_url={photo}", "--count", "2")
    assert second.code == 0, second.err
    assert "reusing" in second.err
    assert [r["status"] for r in second.records] == ["completed", "completed"]
    assert len(sim_assets(sim)) == 1


def test_a_bad_path_sends_nothing(sim: RunningSim, cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {**cli_env, **against(sim)}
    result = krea_in(
        tmp_path, env, "submit", "-m", KONTEXT, "x", "--param", "image_url=./nowhere.png"
    )
    assert result.code == 2
    assert "nowhere.png" in result.err and "no such file" in result.err
    assert sim.state.list(TOKEN_A, limit=10)[0] == []
    assert sim_assets(sim) == []


def test_batch_paths_are_read_from_the_batch_files_folder(
    sim: RunningSim, cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, **against(sim)}
    png(tmp_path / "jobs" / "in.png")
    batch = tmp_path / "jobs" / "night.toml"
    batch.write_text(
        f'[[jobs]]\nmodel = "{KONTEXT}"\nprompt = "one"\ncount = 2\nimage_url = "in.png"\n'
        f'[[jobs]]\nmodel = "{KONTEXT}"\nprompt = "two"\n[jobs.params]\nimage_url = "./in.png"\n',
        encoding="utf-8",
    )
    result = krea(env, "batch", str(batch), "--yes", "--wait", "--json")
    assert result.code == 0, result.err
    assert [r["status"] for r in result.records] == ["completed"] * 3
    assert len(sim_assets(sim)) == 1


def test_assets_lists_and_deletes(sim: RunningSim, cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {**cli_env, **against(sim)}
    photo = png(tmp_path / "photo.png")
    sent = krea(env, "submit", "-m", KONTEXT, "x", "--param", f"image_url={photo}")
    assert sent.code == 0, sent.err
    (asset_id,) = sim_assets(sim)
    listed = krea(env, "assets")
    assert listed.code == 0, listed.err
    assert asset_id in listed.out and "photo.png" in listed.out
    as_json = krea(env, "assets", "list", "--json")
    assert [r["id"] for r in as_json.records] == [asset_id]
    deleted = krea(env, "assets", "delete", asset_id)
    assert deleted.code == 0, deleted.err
    assert sim_assets(sim) == []
    again = krea(env, "assets", "delete", asset_id)
    assert again.code == 1 and asset_id in again.err
