"""Saved views of the job table (a filter, a sort, grouping) in `views.toml` by the config,
and the table's own layout whatever the view (columns hidden, newest first).

```toml
[views.failed-flux]
filter = "status:failed model:flux"
sort = "time"        # created | status | time | cost | prompt | model | seed | size | id
reverse = true
group = false

[table]
hidden_columns = ["seed"]   # of: model progress age time cost seed size
newest_first = true
```

Writes are read-modify-write through `config.read_for_update` and `config.write_toml`: keys we
do not know survive, the write is atomic, and a file that does not parse is never overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from krea_tui.config import ConfigError, config_file, read_for_update, read_toml, write_toml

_NAME = re.compile(r"[\w][\w .+-]{0,39}")


def views_path(config_path: Path | None = None) -> Path:
    """Next to the config file in use (so --config and KREA_TUI_CONFIG move both)."""
    return config_file(config_path).parent / "views.toml"


@dataclass(frozen=True, slots=True)
class SavedView:
    name: str
    filter: str = ""
    sort: str = "created"
    reverse: bool = False
    group: bool = False

    def as_toml(self) -> dict[str, Any]:
        return {
            "filter": self.filter,
            "sort": self.sort,
            "reverse": self.reverse,
            "group": self.group,
        }


def check_name(name: str) -> str | None:
    if not _NAME.fullmatch(name):
        return "a view name is 1–40 letters, digits, spaces or . + - _"
    return None


def load_views(path: Path) -> dict[str, SavedView]:
    """Views by name; a missing file has none. A file that does not parse raises ConfigError."""
    data = read_toml(path)
    table = data.get("views", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [views] must be a table")
    views: dict[str, SavedView] = {}
    for name, entry in table.items():
        if not isinstance(entry, dict):
            continue  # not ours to judge: kept on write, ignored here
        views[name] = SavedView(
            name=name,
            filter=str(entry.get("filter", "")),
            sort=str(entry.get("sort", "created")),
            reverse=bool(entry.get("reverse", False)),
            group=bool(entry.get("group", False)),
        )
    return views


def save_view(path: Path, view: SavedView) -> None:
    problem = check_name(view.name)
    if problem:
        raise ConfigError(problem)
    data = read_for_update(path)
    table = data.setdefault("views", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [views] must be a table; fix it before saving")
    previous = table.get(view.name)
    extra = previous if isinstance(previous, dict) else {}
    table[view.name] = {**extra, **view.as_toml()}
    write_toml(path, data)


@dataclass(frozen=True, slots=True)
class TableLayout:
    """What the user chose for the table at every start: columns hidden (the others show as
    the width allows) and whether the newest jobs come first."""

    hidden: frozenset[str] = frozenset()
    newest_first: bool = False


def load_table_layout(path: Path) -> TableLayout:
    """The [table] choices; none made yet (or no file) is the default. A file that does not
    parse raises ConfigError; a value of the wrong type is ignored, as a key we do not know."""
    table = read_toml(path).get("table", {})
    if not isinstance(table, dict):
        return TableLayout()
    hidden = table.get("hidden_columns", [])
    names = hidden if isinstance(hidden, list) else []
    return TableLayout(
        frozenset(name for name in names if isinstance(name, str)),
        table.get("newest_first") is True,
    )


def save_table_layout(path: Path, layout: TableLayout) -> None:
    data = read_for_update(path)
    table = data.setdefault("table", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [table] must be a table; fix it before saving")
    table["hidden_columns"] = sorted(layout.hidden)
    table["newest_first"] = layout.newest_first
    write_toml(path, data)


def delete_view(path: Path, name: str) -> bool:
    data = read_for_update(path)
    table = data.get("views")
    if not isinstance(table, dict) or name not in table:
        return False
    del table[name]
    write_toml(path, data)
    return True
