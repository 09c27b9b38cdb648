"""The real `krea-tui --demo` in a real terminal emulator on a virtual X display.

Xvfb is the display, xdotool types (through XTEST, which xterm accepts unlike sent events),
ImageMagick's `import -window root` takes the screenshot. Nothing here reads the terminal's
text: whether the app is up is told by its files, and whether the picture is right by its
pixels, compared with the saved result scaled to the box it occupies.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from PIL import Image, ImageChops, ImageFilter, ImageStat

T = TypeVar("T")

SCREEN = (1280, 900)
DEADLINE = 40.0
# The route the app is to take instead of its own choice (`halfcell` shows that the picture
# checks fail on half-cell blocks); the app's own KREA_TUI_ variables are not passed on.
ROUTE_OVERRIDE = "KREA_TUI_TEST_IMAGES"


def missing_tools(*tools: str) -> list[str]:
    return [tool for tool in tools if shutil.which(tool) is None]


def wait_until(check: Callable[[], T | None], what: str, deadline: float = DEADLINE) -> T:
    end = time.monotonic() + deadline
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@contextlib.contextmanager
def virtual_display(tmp_path: Path) -> Iterator[str]:
    """An Xvfb display of our own: -displayfd tells which number it took, so two runs never
    collide on a guessed one."""
    read_fd, write_fd = os.pipe()
    log = (tmp_path / "xvfb.log").open("wb")
    server = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            f"{SCREEN[0]}x{SCREEN[1]}x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_fd,),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    os.close(write_fd)
    try:
        number = b""
        end = time.monotonic() + 15
        while not number.endswith(b"\n"):
            if time.monotonic() > end or server.poll() is not None:
                raise RuntimeError("Xvfb did not start: " + (tmp_path / "xvfb.log").read_text())
            chunk = os.read(read_fd, 16)
            if not chunk:
                raise RuntimeError("Xvfb did not start: " + (tmp_path / "xvfb.log").read_text())
            number += chunk
        display = f":{number.decode().strip()}"
        # Ready by its own word; a client's first connection proves it.
        env = {**os.environ, "DISPLAY": display}

        def answers() -> bool:
            done = subprocess.run(
                ["xdotool", "getdisplaygeometry"], env=env, capture_output=True, timeout=10
            )
            return done.returncode == 0

        wait_until(answers, f"the X server on {display} to take clients", deadline=15)
        yield display
    finally:
        os.close(read_fd)
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@dataclass
class DemoRun:
    display: str
    tmp_path: Path
    terminal: subprocess.Popen[bytes]

    @property
    def results(self) -> list[Path]:
        return sorted((self.tmp_path / "out").rglob("*.png"))

    def x(self, *args: str) -> str:
        done = subprocess.run(
            ["xdotool", *args],
            env={**os.environ, "DISPLAY": self.display},
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.stdout

    def window(self, window_class: str) -> tuple[int, int, int, int]:
        """(x, y, width, height) of the terminal's window, once it is mapped."""

        def geometry() -> tuple[int, int, int, int] | None:
            if self.terminal.poll() is not None:
                log = (self.tmp_path / "terminal.log").read_text(errors="replace")
                raise AssertionError(f"{window_class} exited before its window showed:\n{log}")
            found = self.x("search", "--onlyvisible", "--class", window_class).split()
            if not found:
                return None
            shell = self.x("getwindowgeometry", "--shell", found[0])
            values = dict(line.split("=", 1) for line in shell.splitlines() if "=" in line)
            try:
                return tuple(int(values[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))  # type: ignore[return-value]
            except (KeyError, ValueError):
                return None

        return wait_until(geometry, f"a {window_class} window")

    def focus(self) -> None:
        # No window manager: the keyboard follows the pointer, so put the pointer on it.
        self.x("mousemove", str(SCREEN[0] // 4), str(SCREEN[1] // 4))

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.x("key", "--clearmodifiers", key)

    def text(self, text: str) -> None:
        self.x("type", "--delay", "20", text)

    def screenshot(self, name: str) -> Image.Image:
        path = self.tmp_path / f"{name}.png"
        subprocess.run(
            ["import", "-display", self.display, "-window", "root", str(path)],
            check=True,
            capture_output=True,
            timeout=20,
        )
        with Image.open(path) as shot:
            return shot.convert("RGB")


def demo_env(tmp_path: Path, display: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KREA_TUI_", "TMUX", "KITTY_", "TERM"))
    }
    override = os.environ.get(ROUTE_OVERRIDE)
    if override:
        env["KREA_TUI_IMAGES"] = override
    env.update(
        DISPLAY=display,
        HOME=str(tmp_path / "home"),
        KREA_TUI_CONFIG=str(tmp_path / "config" / "config.toml"),
        KREA_TUI_DATA_DIR=str(tmp_path / "data"),
        KREA_TUI_OUTPUT_DIR=str(tmp_path / "out"),
        KREA_TUI_DEMO_SPEED="10",
        COLORTERM="truecolor",
        LIBGL_ALWAYS_SOFTWARE="1",  # kitty draws with OpenGL: Mesa's software renderer here
    )
    (tmp_path / "home").mkdir(exist_ok=True)
    return env


def app_command() -> list[str]:
    # Textual draws on stderr, so neither stream can be redirected; the app logs to a file.
    return [sys.executable, "-m", "krea_tui.cli", "--demo"]


@contextlib.contextmanager
def demo_in(terminal: list[str], tmp_path: Path, display: str) -> Iterator[DemoRun]:
    log = (tmp_path / "terminal.log").open("wb")
    proc = subprocess.Popen(
        [*terminal, *app_command()],
        env=demo_env(tmp_path, display),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    run = DemoRun(display, tmp_path, proc)
    try:
        yield run
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


def picture_box(shot: Image.Image, area: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The bounding box of what differs from the background inside `area` (the background is
    the colour of the area's top-left pixel: the picture is centred, so that is not it)."""
    region = shot.crop(area)
    background = Image.new("RGB", region.size, region.getpixel((0, 0)))  # type: ignore[arg-type]
    diff = ImageChops.difference(region, background).convert("L").point(lambda v: 255 * (v > 24))
    box = diff.getbbox()
    if box is None:
        return (0, 0, 0, 0)
    return (box[0] + area[0], box[1] + area[1], box[2] + area[0], box[3] + area[1])


def _highpass(image: Image.Image, radius: float) -> list[int]:
    grey = image.convert("L")
    blurred = grey.filter(ImageFilter.GaussianBlur(radius))
    return [a - b for a, b in zip(grey.tobytes(), blurred.tobytes(), strict=True)]


def _correlation(a: list[int], b: list[int]) -> float:
    n = len(a)
    mean_a, mean_b = sum(a) / n, sum(b) / n
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    var_a = sum((x - mean_a) ** 2 for x in a)
    var_b = sum((y - mean_b) ** 2 for y in b)
    return cov / ((var_a * var_b) ** 0.5 or 1.0)


@dataclass(frozen=True)
class Likeness:
    colour_error: float  # mean absolute difference per channel, 0..255
    detail: float  # correlation of the fine detail (high-pass), -1..1


def likeness(shown: Image.Image, source: Image.Image) -> Likeness:
    """The picture as shown against the source scaled to the same box.

    Half-cell blocks keep the colours of a smooth picture (the demo's are smooth), so colour
    alone would pass them; what they lose is the detail finer than a block, which is what the
    high-pass correlation measures (a real-pixel Sixel picture ~0.6, its half-cells ~0.2).
    """
    reference = source.convert("RGB").resize(shown.size, Image.Resampling.LANCZOS)
    colour = sum(ImageStat.Stat(ImageChops.difference(shown, reference)).mean) / 3
    return Likeness(colour, _correlation(_highpass(shown, 2), _highpass(reference, 2)))


def find_picture(
    shot: Image.Image,
    area: tuple[int, int, int, int],
    source: Image.Image,
    cells: tuple[int, int],
    cell: tuple[int, int],
) -> tuple[tuple[int, int, int, int], float]:
    """Where in `area` (whose corner is a cell's) `source` is shown on cols×rows cells: the
    cell-aligned box of least colour difference, and that difference (0..255).

    Pictures sit on whole cells, so only cell positions are tried, each cell shrunk to 2×2
    pixels: hundreds of positions in a fraction of a second, whatever draws the picture."""
    cell_w, cell_h = cell
    cols, rows = (area[2] - area[0]) // cell_w, (area[3] - area[1]) // cell_h
    small = shot.crop((area[0], area[1], area[0] + cols * cell_w, area[1] + rows * cell_h))
    small = small.resize((cols * 2, rows * 2), Image.Resampling.BOX)
    reference = source.convert("RGB").resize((cells[0] * 2, cells[1] * 2), Image.Resampling.BOX)
    best = (float("inf"), 0, 0)
    for y in range(rows - cells[1] + 1):
        for x in range(cols - cells[0] + 1):
            part = small.crop((2 * x, 2 * y, 2 * (x + cells[0]), 2 * (y + cells[1])))
            error = sum(ImageStat.Stat(ImageChops.difference(part, reference)).mean) / 3
            if error < best[0]:
                best = (error, x, y)
    error, x, y = best
    left, top = area[0] + x * cell_w, area[1] + y * cell_h
    return (left, top, left + cells[0] * cell_w, top + cells[1] * cell_h), error


def halfcell_look(source: Image.Image, size: tuple[int, int], cols: int, rows: int) -> Image.Image:
    """What half-cell blocks of `source` at cols×rows cells look like in a `size` box."""
    blocks = source.convert("RGB").resize((cols, rows * 2), Image.Resampling.BILINEAR)
    return blocks.resize(size, Image.Resampling.NEAREST)
