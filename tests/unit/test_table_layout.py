"""The table's own layout (hidden columns, newest first) kept in views.toml beside saved views."""

from __future__ import annotations

from pathlib import Path

import pytest

from krea_tui.config import ConfigError
from krea_tui.views import (
    SavedView,
    TableLayout,
    load_table_layout,
    load_views,
    save_table_layout,
    save_view,
)


def test_a_missing_file_is_the_default_layout(tmp_path: Path) -> None:
    assert load_table_layout(tmp_path / "views.toml") == TableLayout()


def test_the_layout_round_trips_and_leaves_saved_views_alone(tmp_path: Path) -> None:
    path = tmp_path / "views.toml"
    save_view(path, SavedView("failed", filter="status:failed"))
    layout = TableLayout(hidden=frozenset({"seed", "size"}), newest_first=True)
    save_table_layout(path, layout)
    assert load_table_layout(path) == layout
    assert load_views(path)["failed"].filter == "status:failed"


def test_values_of_the_wrong_type_are_ignored_and_unknown_keys_kept(tmp_path: Path) -> None:
    path = tmp_path / "views.toml"
    path.write_text('[table]\nhidden_columns = "seed"\nnewest_first = "yes"\nmine = 1\n')
    assert load_table_layout(path) == TableLayout()
    save_table_layout(path, TableLayout(newest_first=True))
    assert "mine = 1" in path.read_text()


def test_a_file_that_does_not_parse_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "views.toml"
    path.write_text("[table\n")
    with pytest.raises(ConfigError):
        load_table_layout(path)
    with pytest.raises(ConfigError):
        save_table_layout(path, TableLayout(newest_first=True))
    assert path.read_text() == "[table\n"
