"""`krea-tui styles` and `krea-tui train-style`, as a user runs them, against the simulator: a
folder of local pictures is uploaded once each, the price in steps is said first, the training
is a job in the history like any other, `--wait` prints the new style's id, and the next
generation uses it; styles list with filters, and share with the workspace."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from krea_tui.sim.jobs import LORA_TRAINING
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, TOKEN_B
from tests.integration.cli_support import against, krea
from tests.integration.test_cli_assets import krea_in, sim_assets


def pictures(folder: Path, count: int = 8) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        out = io.BytesIO()
        Image.new("RGB", (8, 8), (index * 30, 90, 200 - index * 20)).save(out, format="PNG")
        (folder / f"p{index}.png").write_bytes(out.getvalue())
    (folder / "notes.txt").write_text("not a picture", encoding="utf-8")
    return folder


def training_jobs(sim: RunningSim) -> list[dict[str, object]]:
    return [job.request.params for job, _status in sim.sim.state.jobs_of_type(LORA_TRAINING)]


def test_train_a_style_from_a_folder_and_use_it(
    sim: RunningSim, cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, **against(sim)}
    pictures(tmp_path / "work" / "pics")
    trained = krea_in(
        tmp_path / "work", env, "train-style", "inkwash", "./pics", "--trigger", "inkw",
        "--type", "Style", "--steps", "10", "--yes", "--wait",
    )  # fmt: skip
    assert trained.code == 0, trained.err
    assert "8 pictures" in trained.err and "10 steps" in trained.err and "CU" in trained.err
    assert trained.err.count("uploaded p") == 8
    style_id = trained.out.strip()
    assert style_id and "\n" not in style_id
    assert len(sim_assets(sim)) == 8
    (params,) = training_jobs(sim)
    assert params["name"] == "inkwash" and params["trigger_word"] == "inkw"
    assert params["model"] == "flux_dev" and params["type"] == "Style"
    assert len(params["urls"]) == 8  # type: ignore[arg-type]
    # The training is a job of the history like any other.
    history = krea(env, "jobs", "--json")
    (job,) = [r for r in history.records if r["model"] == "styles/train"]
    assert job["status"] == "completed"
    # ... and the style is the next generation's.
    styles = json.dumps([{"id": style_id, "strength": 0.8}])
    used = krea(env, "submit", "a lighthouse", "--param", f"styles={styles}", "--wait", "--json")
    assert used.code == 0, used.err
    assert used.records[0]["status"] == "completed"
    # The same again uploads nothing new.
    again = krea_in(
        tmp_path / "work", env, "train-style", "inkwash 2", "./pics", "--steps", "5", "--yes"
    )
    assert again.code == 0, again.err
    assert "reusing" in again.err and len(sim_assets(sim)) == 8


def test_train_style_asks_first_and_checks_the_folder(
    sim: RunningSim, cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, **against(sim)}
    pictures(tmp_path / "pics", 3)
    unasked = krea(env, "train-style", "x", str(tmp_path / "pics"))
    assert unasked.code == 2 and "--yes" in unasked.err
    empty = tmp_path / "empty"
    empty.mkdir()
    none = krea(env, "train-style", "x", str(empty), "--yes")
    assert none.code == 2 and "no pictures" in none.err
    bad = krea(env, "train-style", "x", str(tmp_path / "pics"), "--model", "qwen", "--type",
               "Default", "--yes")  # fmt: skip
    assert bad.code == 2 and "type" in bad.err
    assert sim_assets(sim) == [] and training_jobs(sim) == []


def test_styles_lists_filters_and_shares(
    sim: RunningSim, cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, **against(sim)}
    every = krea(env, "styles", "--json")
    assert every.code == 0, every.err
    assert len(every.records) >= 6
    assert {"id", "title", "whose", "models", "cover_url"} <= set(every.records[0])
    krea_own = krea(env, "styles", "--krea", "--json").records
    assert krea_own and all(r["whose"] == "Krea" for r in krea_own)
    text = krea(env, "styles", "--community")
    assert text.code == 0 and "Risograph" in text.out and "flux_dev" in text.out
    assert krea(env, "styles", "--mine", "--json").records == []

    pictures(tmp_path / "pics", 3)
    trained = krea(env, "train-style", "mine", str(tmp_path / "pics"), "--steps", "5", "--yes",
                   "--wait")  # fmt: skip
    style_id = trained.out.strip()
    (mine,) = krea(env, "styles", "--mine", "--json").records
    assert mine["id"] == style_id and mine["whose"] == "mine"
    other = {**env, "KREA_API_TOKEN": TOKEN_B}
    assert krea(other, "styles", "--shared", "--json").records == []

    shared = krea(env, "styles", "share", style_id)
    assert shared.code == 0, shared.err
    assert "Simulator workspace" in shared.out
    (seen,) = krea(other, "styles", "--shared", "--json").records
    assert seen["id"] == style_id and seen["whose"] != "mine"
    refused = krea(other, "styles", "share", style_id)
    assert refused.code != 0 and "do not own" in refused.err
    unknown = krea(env, "styles", "share", "nope")
    assert unknown.code != 0 and "not found" in unknown.err.lower()
    assert krea(env, "styles", "unshare", style_id).code == 0
    assert krea(other, "styles", "--shared", "--json").records == []
    assert TOKEN_A  # both tokens are the simulator's


def test_an_unknown_style_fails_the_job_with_the_servers_words(
    sim: RunningSim, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, **against(sim)}
    styles = json.dumps([{"id": "no-such-style", "strength": 1}])
    result = krea(env, "submit", "a fox", "--param", f"styles={styles}", "--wait", "--json")
    (record,) = result.records
    assert record["status"] == "failed"
    assert "no-such-style" in record["error"] and "access" in record["error"]
