"""`krea-tui enhance`: the price first, then one enhance job per picture, saved like any result."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from krea_tui.sim.server import RunningSim
from tests.integration.cli_support import against, krea


def generated(env: dict[str, str], sim: RunningSim, *extra: str) -> list[dict]:
    result = krea(
        env, "submit", "--width", "512", "--height", "768", "--wait", "--json", *extra,
        "a lighthouse", **against(sim),
    )  # fmt: skip
    assert result.code == 0, result.err
    return result.records


def test_enhance_prints_the_price_sends_and_saves_the_bigger_picture(
    cli_env: dict[str, str], sim: RunningSim
) -> None:
    (source,) = generated(cli_env, sim)
    result = krea(
        cli_env, "enhance", source["id"][:8], "--scale", "2", "--yes", "--wait", "--json",
        **against(sim),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "est. 1 × $0.10 = $0.100" in result.err
    assert "512×768 → 1024×1536" in result.err
    (record,) = result.records
    assert record["model"] == "enhance/topaz/standard-enhance"
    assert record["status"] == "completed"
    assert record["request"]["image_url"] == source["urls"][0]
    assert (record["request"]["width"], record["request"]["height"]) == (1024, 1536)
    assert record["parent"] == source["local_id"]  # lineage: the job it was made from
    (saved,) = record["files"]
    with Image.open(Path(saved)) as picture:
        assert (picture.format, picture.size) == ("JPEG", (1024, 1536))


def test_several_pictures_and_a_url_make_one_batch_at_the_model_s_price(
    cli_env: dict[str, str], sim: RunningSim
) -> None:
    first, second = generated(cli_env, sim, "-n", "2")
    result = krea(
        cli_env, "enhance", first["local_id"], second["urls"][0], "-m", "generative-enhance",
        "--scale", "1.5", "--param", "output_format=png", "--yes", "--json", **against(sim),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "est. 2 × $0.27 = $0.540" in result.err
    records = result.records
    assert [r["model"] for r in records] == ["enhance/topaz/generative-enhance"] * 2
    assert {r["batch"] for r in records} != {None} and len({r["batch"] for r in records}) == 1
    assert [r["request"]["output_format"] for r in records] == ["png", "png"]
    assert [r["request"]["width"] for r in records] == [768, 768]
    assert [r["parent"] for r in records] == [first["local_id"], None]  # a bare URL has none


def test_nothing_is_sent_without_a_yes(cli_env: dict[str, str], sim: RunningSim) -> None:
    (source,) = generated(cli_env, sim)
    before = sim.sim.state.job_count
    result = krea(cli_env, "enhance", source["id"], **against(sim))
    assert result.code == 2
    assert "est. 1 × $0.10 = $0.100" in result.err
    assert "nothing sent" in result.err and "--yes" in result.err
    assert sim.sim.state.job_count == before


def test_what_cannot_be_enhanced_is_said_before_anything_is_sent(
    cli_env: dict[str, str], sim: RunningSim
) -> None:
    (source,) = generated(cli_env, sim)
    not_upscaler = krea(cli_env, "enhance", source["id"], "-m", "bfl/flux-1-dev", "--yes",
                        **against(sim))  # fmt: skip
    assert not_upscaler.code == 2
    assert "not an upscaler" in not_upscaler.err
    too_small = krea(cli_env, "enhance", source["id"], "--scale", "0.5", "--yes", **against(sim))
    assert too_small.code == 2 and "scale" in too_small.err
    unknown = krea(cli_env, "enhance", "zzzz", "--yes", **against(sim))
    assert unknown.code == 2 and "no job" in unknown.err
