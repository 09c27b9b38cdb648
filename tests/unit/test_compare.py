"""A/B comparison without a screen: a batch narrowed down by pairs (the one kept stays in its
place, the next comes up in the loser's), and the difference between two requests."""

from __future__ import annotations

from krea_tui.core.compare import Duel, request_diff


def test_pairs_narrow_a_batch_down_to_one_kept_in_place() -> None:
    duel = Duel(["a", "b", "c", "d"])
    assert duel.pair == ("a", "b") and duel.left == 3
    assert duel.choose(1) == ("b", "a")  # the right one wins
    assert duel.pair == ("c", "b")  # the winner stays where it was; the next takes the loser's
    assert duel.choose(1) == ("b", "c")
    assert duel.pair == ("d", "b")
    duel.skip()  # neither: the next one instead of d (there is none left)
    assert duel.done and duel.pair is None and duel.kept == "b"


def test_one_picture_is_no_pair() -> None:
    duel = Duel(["a"])
    assert duel.done and duel.kept == "a"
    assert Duel([]).kept is None


def test_only_the_parameters_that_differ_are_listed() -> None:
    a = {"prompt": "fox", "seed": 1, "steps": 20, "guidance_scale_flux": 3.5}
    b = {"prompt": "fox", "seed": 2, "steps": 20, "width": 1024}
    diff = request_diff("bfl/flux-1-dev", a, "bfl/flux-1-dev", b)
    assert diff == [
        ("guidance_scale_flux", "3.5", "—"),
        ("seed", "1", "2"),
        ("width", "—", "1024"),
    ]
    assert request_diff("m/one", a, "m/two", a) == [("model", "m/one", "m/two")]
