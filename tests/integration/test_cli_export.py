"""`krea-tui export`, as a user runs it: the results the filter chooses are copied with their
sidecars, carrying the rating and pick; a second export never overwrites the first (names
get a suffix); `--sheet` writes one contact sheet PNG labelled with what differs. It reads
the history only: no token, no network."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from krea_tui.core import ratings
from krea_tui.core.metadata import request_from_png
from krea_tui.core.store import JobStore
from krea_tui.showcase import fill
from tests.integration.cli_support import krea


def history(tmp_path: Path) -> list[str]:
    """The showcase's 20 jobs (8 done, with pictures); three picked, one rejected. Returns
    the picked ids."""
    store = JobStore(tmp_path / "data" / "history.sqlite3")
    try:
        fill(store, tmp_path / "out")
        done = [job for job in store.jobs() if job.files]
        picked = [job.local_id for job in done[:3]]
        ratings.set_pick(store, picked, ratings.PICK)
        ratings.rate(store, picked[:1], 5)
        ratings.set_pick(store, [done[3].local_id], ratings.REJECT)
        for job in done:  # as the downloader leaves them
            path = Path(job.files[0])
            document = {"model": job.model, "request": dict(job.request), "job_id": job.remote_id}
            path.with_name(path.name + ".json").write_text(json.dumps(document))
    finally:
        store.close()
    return picked


def test_export_copies_the_picks_with_sidecars_and_never_overwrites(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    picked = history(tmp_path)
    target = tmp_path / "keepers"
    result = krea(cli_env, "export", "--filter", "is:pick", str(target))
    assert result.code == 0, result.err
    pictures = sorted(target.glob("*.png"))
    assert len(pictures) == 3
    assert "3 results of 3 jobs" in result.out
    by_id = {}
    for picture in pictures:
        document = request_from_png(picture.read_bytes())
        assert document is not None and document["pick"] == "pick"
        sidecar = json.loads(picture.with_name(picture.name + ".json").read_text())
        assert sidecar["pick"] == "pick" and "request" in sidecar
        by_id[sidecar["job_id"]] = sidecar
    assert len(by_id) == 3
    assert sorted(d["rating"] for d in by_id.values() if d["rating"] is not None) == [5]

    again = krea(cli_env, "export", "--filter", "is:pick", str(target))
    assert again.code == 0, again.err
    assert len(list(target.glob("*.png"))) == 6  # the first three untouched, three new names
    assert len(list(target.glob("*-1.png"))) == 3
    assert len(list(target.glob("*.png.json"))) == 6
    assert len(picked) == 3


def test_export_writes_one_contact_sheet_labelled_with_what_differs(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    history(tmp_path)
    target = tmp_path / "sheet"
    result = krea(cli_env, "export", "--filter", "-is:reject status:done", "--sheet", str(target))
    assert result.code == 0, result.err
    sheets = list(target.glob("contact-sheet*.png"))
    assert len(sheets) == 1
    with Image.open(sheets[0]) as sheet:
        width, height = sheet.size
    assert width >= 3 * 200 and height >= 2 * 200  # 7 pictures: a grid, not a strip
    assert "seed" in result.out  # the labels say what differs: the seed, the prompt


def test_export_of_nothing_and_a_bad_filter(cli_env: dict[str, str], tmp_path: Path) -> None:
    history(tmp_path)
    none = krea(cli_env, "export", "--filter", "rating:3", str(tmp_path / "none"))
    assert none.code == 0 and "nothing to export" in none.err.lower()
    bad = krea(cli_env, "export", "--filter", "rating:x", str(tmp_path / "bad"))
    assert bad.code == 2 and "rating:x" in bad.err
