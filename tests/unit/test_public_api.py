"""krea-tui uses Textual through its public API only: a private member of a Textual class read,
called or overridden breaks on the next release (the reason Textual was once pinned)."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

from textual.dom import DOMNode

ROOT = Path(__file__).resolve().parents[2] / "krea_tui"
PRIVATE = re.compile(r"(?:def |self\.)(_[a-z]\w*)")
# A private attribute read on something other than `self`: app._driver, table._data, ...
FOREIGN = re.compile(r"\b(?!self\b)[a-z_]\w*\.(_[a-z]\w*)\b")


def _textual_classes() -> list[type[DOMNode]]:
    found: list[type[DOMNode]] = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
        module = importlib.import_module(
            ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        )
        for value in vars(module).values():
            is_ours = inspect.isclass(value) and value.__module__ == module.__name__
            if is_ours and issubclass(value, DOMNode):
                found.append(value)
    return found


def test_no_class_of_ours_defines_a_private_name_a_textual_base_class_uses() -> None:
    clashes: list[str] = []
    for cls in _textual_classes():
        ours = set(PRIVATE.findall(inspect.getsource(cls)))
        for base in cls.__mro__[1:]:
            if not base.__module__.startswith("textual"):
                continue
            theirs = set(PRIVATE.findall(inspect.getsource(base)))
            clashes += [f"{cls.__name__}.{name} ({base.__name__})" for name in ours & theirs]
    assert not clashes, clashes


def test_no_private_member_of_another_object_is_touched() -> None:
    import textual

    textual_names: set[str] = set()
    for path in Path(textual.__file__).parent.rglob("*.py"):
        textual_names |= set(PRIVATE.findall(path.read_text(encoding="utf-8")))
    uses: list[str] = []
    for path in sorted((ROOT / "tui").rglob("*.py")):  # core/ and sim/ never import textual
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            for name in FOREIGN.findall(code):
                if name in textual_names:
                    uses.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not uses, "\n".join(uses)
