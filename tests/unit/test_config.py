"""Settings: config file < environment < flags, and clear words when a file is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from krea_tui.config import ConfigError, Settings, load_settings


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config.toml",
        'base_url = "http://file"\ndata_dir = "/from/file"\noutput_dir = "/out/file"\n'
        'token = "file-token"\nmax_in_flight = 3\n',
    )
    env = {
        "KREA_API_BASE_URL": "http://env",
        "KREA_TUI_DATA_DIR": "/from/env",
        "KREA_API_TOKEN": "env-token",
    }
    settings, warnings = load_settings(
        config_path=config, env=env, overrides={"data_dir": Path("/from/flag"), "base_url": None}
    )
    assert warnings == []
    assert settings.data_dir == Path("/from/flag")  # flag > env > file
    assert settings.base_url == "http://env"  # env > file; a flag left unset changes nothing
    assert settings.output_dir == Path("/out/file")  # file > default
    assert settings.token == "env-token"
    assert settings.max_in_flight == 3
    assert settings.max_posts == Settings().max_posts  # default


def test_the_config_path_comes_from_the_environment_when_not_given(tmp_path: Path) -> None:
    config = write(tmp_path / "elsewhere.toml", "max_posts = 2\n")
    settings, _ = load_settings(env={"KREA_TUI_CONFIG": str(config)})
    assert settings.max_posts == 2


def test_a_missing_file_means_defaults(tmp_path: Path) -> None:
    settings, warnings = load_settings(config_path=tmp_path / "none.toml", env={})
    assert warnings == []
    assert settings == Settings(data_dir=settings.data_dir, output_dir=settings.output_dir)
    assert settings.token is None


def test_unknown_keys_are_warned_about_and_the_rest_is_read(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "max_posts = 2\nmax_inflight = 9\n")
    settings, warnings = load_settings(config_path=config, env={})
    assert settings.max_posts == 2
    (warning,) = warnings
    assert str(config) in warning and "max_inflight" in warning


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('max_in_flight = "eight"', "max_in_flight must be a int"),
        ("max_in_flight = true", "max_in_flight must be a int"),
        ("min_interval = false", "min_interval must be a float"),
        ("auto_download = 1", "auto_download must be a bool"),
        ("data_dir = 5", "data_dir must be a Path"),
        ("max_posts = 0", "max_posts must be at least 1"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_file_and_the_key(
    tmp_path: Path, line: str, words: str
) -> None:
    config = write(tmp_path / "config.toml", line + "\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(config_path=config, env={})
    assert str(config) in str(raised.value)
    assert words in str(raised.value)


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "max_posts = = 2\n")
    with pytest.raises(ConfigError, match="not valid TOML") as raised:
        load_settings(config_path=config, env={})
    assert str(config) in str(raised.value)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_token_file_others_can_read_is_warned_about(tmp_path: Path) -> None:
    shared = write(tmp_path / "shared.toml", 'token = "secret-value"\n', mode=0o644)
    settings, warnings = load_settings(config_path=shared, env={})
    assert settings.token == "secret-value"
    (warning,) = warnings
    assert "readable by others" in warning and "chmod 600" in warning
    assert "secret-value" not in warning

    private = write(tmp_path / "private.toml", 'token = "secret-value"\n', mode=0o600)
    assert load_settings(config_path=private, env={})[1] == []
    no_token = write(tmp_path / "open.toml", "max_posts = 2\n", mode=0o644)
    assert load_settings(config_path=no_token, env={})[1] == []


def test_the_token_never_shows_in_the_settings_repr() -> None:
    assert "s3cret" not in repr(Settings(token="s3cret"))


def test_token_command_output_is_the_token_and_its_failure_hides_the_output(
    tmp_path: Path,
) -> None:
    assert Settings(token_command="echo  from-a-vault ").resolve_token() == "from-a-vault"
    assert Settings(token="direct", token_command="false").resolve_token() == "direct"
    with pytest.raises(ConfigError, match="token_command failed") as raised:
        Settings(token_command="sh -c 'echo leaked-secret; exit 3'").resolve_token()
    assert "leaked-secret" not in str(raised.value)


def test_demo_mode_keeps_its_own_history_and_results(tmp_path: Path) -> None:
    real = Settings(data_dir=tmp_path, output_dir=tmp_path / "out")
    demo = Settings(data_dir=tmp_path, output_dir=tmp_path / "out", demo=True)
    assert real.history_path != demo.history_path
    assert demo.history_path.parent == real.history_path.parent == tmp_path
    assert demo.results_dir == tmp_path / "out" / "demo"
    assert real.results_dir == tmp_path / "out"
