"""Fixtures of the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli_support import make_cli_env


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """An environment that keeps everything in tmp_path and knows no token."""
    return make_cli_env(tmp_path)
