"""Write the README's screenshots to screenshots/*.svg.

    .venv/bin/python scripts/screenshots.py

Each picture is the real app, driven by key presses, over the fixed demo history of
`krea_tui.showcase` (pictures drawn by the simulator's generator, a fixed clock, fixed ids and
seeds), so the same command always writes the same files. `--check` compares instead of
writing and exits 1 when a screenshot no longer matches the app. Names (`gallery`,
`keepers-sheet`, …) limit either to those screenshots.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from krea_tui.config import Settings
from krea_tui.showcase import NOW, settle, static_runtime_factory
from krea_tui.tui.app import KreaApp

OUT = Path(__file__).resolve().parent.parent / "screenshots"
SIZE = (120, 36)
Steps = Callable[[Pilot[None]], Awaitable[None]]


async def busy_queue(pilot: Pilot[None]) -> None:
    await pilot.press("down", "down", "down")  # a sampling job: progress and timeline


async def compose(pilot: Pilot[None]) -> None:
    await pilot.press("n")
    await settle(pilot)
    await pilot.press(*"a lighthouse at dusk, {oil painting|watercolour}")
    form = pilot.app.screen
    form.query_one("#count").value = "2"  # type: ignore[attr-defined]
    form.query_one("#field-steps").value = "30"  # type: ignore[attr-defined]


async def viewer(pilot: Pilot[None]) -> None:
    await pilot.press("enter")  # the newest job, a finished sweep result


async def help_screen(pilot: Pilot[None]) -> None:
    await pilot.press("f1")


async def filtered_and_marked(pilot: Pilot[None]) -> None:
    await pilot.press("slash", *"lighthouse", "enter")
    await settle(pilot)
    await pilot.press("g", "space", "space", "down")  # mark the first two, cursor on the third


async def contact_sheet(pilot: Pilot[None]) -> None:
    await pilot.press("b")  # the cursor's batch: a 3×3 steps × guidance sweep


async def triage(pilot: Pilot[None]) -> None:
    await pilot.press("t")


async def rate_sweep(pilot: Pilot[None]) -> None:
    """The sweep's contact sheet, judged with one hand: each key rates, picks or rejects the
    picture under the cursor and moves on; `left` steps back to pick one just rated."""
    await pilot.press("b")
    await settle(pilot)
    await pilot.press("5", "left", "p", "4", "x", "3", "5", "left", "p", "2", "4")


async def compare(pilot: Pilot[None]) -> None:
    await rate_sweep(pilot)
    await settle(pilot)
    await pilot.press("a")  # A/B over the batch: the first two, and what differs


async def rated_filter(pilot: Pilot[None]) -> None:
    await rate_sweep(pilot)
    await pilot.press("escape")
    await settle(pilot)
    # The two oldest jobs rated in the table (`*` then the stars; each moves on to the next
    # row), the detail pane hidden so the Rate column has room, then the keepers filtered.
    await pilot.press("home", "asterisk", "4", "asterisk", "5", "d")
    await settle(pilot)
    await pilot.press("slash", *"rating:>=4", "enter")


async def gallery(pilot: Pilot[None]) -> None:
    await rate_sweep(pilot)
    await pilot.press("escape")
    await settle(pilot)
    await pilot.press("ctrl+g")


SCENES: dict[str, Steps] = {
    "main": busy_queue,
    "compose": compose,
    "viewer": viewer,
    "help": help_screen,
    "filtered": filtered_and_marked,
    "contact-sheet": contact_sheet,
    "triage": triage,
    "keepers-sheet": rate_sweep,
    "keepers-compare": compare,
    "keepers-filter": rated_filter,
    "gallery": gallery,
}


async def shoot(name: str, steps: Steps) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root / "data", output_dir=root / "out", demo=True)
        app = KreaApp(
            settings,
            image_protocol="halfcell",
            runtime_factory=static_runtime_factory(root, 36, sweep=True),
            clock=lambda: NOW,
        )
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await steps(pilot)
            await settle(pilot)
            return app.export_screenshot(title=f"krea-tui · {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("names", nargs="*", help=f"only these: {', '.join(SCENES)} (all)")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(SCENES))
    if unknown:
        parser.error(f"no such screenshot: {', '.join(unknown)}")
    OUT.mkdir(exist_ok=True)
    stale = []
    for name, steps in SCENES.items():
        if args.names and name not in args.names:
            continue
        svg = asyncio.run(shoot(name, steps))
        path = OUT / f"{name}.svg"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != svg:
                stale.append(path.name)
        else:
            path.write_text(svg, encoding="utf-8")
            print(f"wrote {path.relative_to(OUT.parent)}")
    if stale:
        print("out of date: " + ", ".join(stale) + " (run scripts/screenshots.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
