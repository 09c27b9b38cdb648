"""Write krea_tui/core/placeholder_marks.py: the diacritics that number the rows and columns of
kitty's Unicode placeholders.

The list is defined by a rule over the Unicode Character Database: the characters of Unicode
6.0.0 with combining class 230 (drawn above) that have no decomposition mapping and appear in
no canonical decomposition, in code point order. Index n stands for row or column n. The rule
is applied here to the UCD files that Debian's `unicode-data` package installs:

    apt-get install -y unicode-data
    .venv/bin/python scripts/placeholder_marks.py [UCD_DIR]

`--check` compares with the committed module instead of writing it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "krea_tui" / "core" / "placeholder_marks.py"
UNICODE_VERSION = (6, 0)


def ages(path: Path) -> dict[int, tuple[int, ...]]:
    found: dict[int, tuple[int, ...]] = {}
    for line in path.read_text().splitlines():
        data = line.split("#", 1)[0].strip()
        if not data:
            continue
        span, version = (part.strip() for part in data.split(";"))
        first, _, last = span.partition("..")
        for cp in range(int(first, 16), int(last or first, 16) + 1):
            found[cp] = tuple(int(n) for n in version.split("."))
    return found


def marks(ucd: Path) -> list[int]:
    age = ages(ucd / "DerivedAge.txt")
    combining: dict[int, int] = {}
    decomposition: dict[int, str] = {}
    for line in (ucd / "UnicodeData.txt").read_text().splitlines():
        fields = line.split(";")
        cp = int(fields[0], 16)
        combining[cp] = int(fields[3])
        decomposition[cp] = fields[5]
    in_canonical = {
        int(part, 16)
        for mapping in decomposition.values()
        if mapping and not mapping.startswith("<")  # "<compat> …" and the like are not canonical
        for part in mapping.split()
    }
    return [
        cp
        for cp in sorted(combining)
        if combining[cp] == 230
        and not decomposition[cp]
        and cp not in in_canonical
        and age.get(cp, (99,)) <= UNICODE_VERSION
    ]


def module_text(found: list[int]) -> str:
    rows = [
        "    " + " ".join(f"0x{cp:05X}," for cp in found[i : i + 10])
        for i in range(0, len(found), 10)
    ]
    return (
        '"""Row and column numbers of kitty\'s Unicode placeholders, as combining marks.\n\n'
        "Written by scripts/placeholder_marks.py from the Unicode Character Database (the rule\n"
        'is in that script); do not edit by hand."""\n\n'
        "# fmt: off\nMARKS: tuple[int, ...] = (\n" + "\n".join(rows) + "\n)\n# fmt: on\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ucd", nargs="?", default="/usr/share/unicode", type=Path)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = module_text(marks(args.ucd))
    if args.check:
        if OUT.read_text() != text:
            print(f"{OUT} does not match the rule applied to {args.ucd}", file=sys.stderr)
            return 1
        print("placeholder marks match")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
