"""Regenerate krea_tui/core/catalog.json from Krea's OpenAPI snapshot plus the overlays.

Usage: python scripts/gen_catalog.py [SNAPSHOT.json] [--check] [--output PATH]

`--check` writes nothing and exits 1 when the committed file differs from what this script
would generate, so CI notices a snapshot or overlay change that was not regenerated.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from krea_tui.core.catalog_build import apply_overlays, build_catalog, dumps_catalog

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SNAPSHOT = ROOT.parent / "shared" / "krea" / "openapi-snapshot-spring2026.json"
DEFAULT_OUTPUT = ROOT / "krea_tui" / "core" / "catalog.json"


def generate(snapshot: Path) -> str:
    spec = json.loads(snapshot.read_text(encoding="utf-8"))
    return dumps_catalog(apply_overlays(build_catalog(spec)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", nargs="?", type=Path, default=DEFAULT_SNAPSHOT)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the output file is out of date"
    )
    args = parser.parse_args(argv)
    text = generate(args.snapshot)
    if args.check:
        try:
            current = args.output.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != text:
            print(f"{args.output} is out of date; run scripts/gen_catalog.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    models = json.loads(text)["models"]
    print(f"wrote {args.output} ({len(models)} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
