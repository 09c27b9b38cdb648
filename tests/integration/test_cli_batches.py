"""`submit --count N` makes a batch as N images from the compose form do, so the TUI groups,
announces and lays out a batch sent from a script the same way."""

from __future__ import annotations

import re

from tests.integration.cli_support import krea


def test_submit_of_several_images_makes_one_batch(cli_env: dict[str, str]) -> None:
    result = krea(cli_env, "submit", "--demo", "-n", "3", "--json", "x")
    assert result.code == 0, result.err
    batches = {record["batch"] for record in result.records}
    assert len(result.records) == 3 and len(batches) == 1
    (batch,) = batches
    assert batch and re.match(r"^b\d{8}-\d{6}-[0-9a-f]+$", batch)

    alone = krea(cli_env, "submit", "--demo", "--json", "y")
    assert alone.code == 0, alone.err
    assert [record["batch"] for record in alone.records] == [None]
