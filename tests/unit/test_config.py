"""Settings: config file < environment < flags, and clear words when a file is wrong."""

from __future__ import annotations

import os
import stat
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from krea_tui.config import (
    ConfigError,
    Settings,
    load_settings,
    read_config_file,
    save_token,
    write_toml,
)
from krea_tui.core.files import DEFAULT_TEMPLATE

PROPERTY = hypothesis.settings(max_examples=50, deadline=None, derandomize=True)
DEFAULTS = Settings()


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
    assert settings == Settings(config_path=tmp_path / "none.toml")
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
        ('max_in_flight = "eight"', "max_in_flight must be a whole number"),
        ("max_in_flight = true", "max_in_flight must be a whole number"),
        ("max_in_flight = 2.5", "max_in_flight must be a whole number"),
        ("min_interval = false", "min_interval must be a number"),
        ("auto_download = 1", "auto_download must be true or false"),
        ("data_dir = 5", "data_dir must be a path"),
        ("max_posts = 0", "max_posts must be more than 0"),
        ('image_protocol = "ascii"', "image_protocol must be auto, kitty, sixel or halfcell"),
        ("keymap = {new-job = 1}", "keymap maps binding ids to key names"),
        ('keymap = "a"', "keymap must be a table"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_file_and_the_key(
    tmp_path: Path, line: str, words: str
) -> None:
    # A bad value is a warning and that key's default: one typo must not lock the user out.
    config = write(tmp_path / "config.toml", f'{line}\ntheme = "nord"\n')
    settings, warnings = load_settings(config_path=config, env={})
    (warning,) = warnings
    assert str(config) in warning
    assert words in warning
    assert "using the default" in warning
    key = line.split()[0]
    assert getattr(settings, key) == getattr(DEFAULTS, key)
    assert settings.theme == "nord"  # the rest of the file is still read


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
    assert str(shared) in warning
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


# --- a config file written by the app reads back the same ---

_TEMPLATES = [
    DEFAULT_TEMPLATE,
    "{model}/{seed}-{index}.{ext}",
    "{short_id}_{time}.{ext}",
    "flat-{job_id}-{index}.{ext}",
    "{date}/{model}/{time}-{index}.{ext}",
]
_counts = st.integers(min_value=1, max_value=2**63 - 1)
_seconds = st.floats(min_value=0, exclude_min=True, allow_nan=False, allow_infinity=False)
_paths = st.lists(st.from_regex(r"[A-Za-z0-9_. -]{1,12}", fullmatch=True), min_size=1).map(
    lambda parts: "/" + "/".join(parts)
)
file_values = st.fixed_dictionaries(
    {},
    optional={
        "base_url": st.builds(
            lambda scheme, host, port: f"{scheme}{host}{port}",
            st.sampled_from(["https://", "http://"]),
            st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){0,2}", fullmatch=True),
            st.sampled_from(["", ":8080", ":443"]),
        ),
        "token": st.text(min_size=1),
        "token_command": st.text(),
        "data_dir": _paths,
        "output_dir": _paths,
        "name_template": st.sampled_from(_TEMPLATES),
        "max_in_flight": _counts,
        "max_posts": _counts,
        "min_interval": _seconds,
        "max_interval": _seconds,
        "request_budget": _seconds,
        "auto_download": st.booleans(),
        "webhook_url": st.text(),
        "webhook_listen": st.text(),
        "image_protocol": st.sampled_from(["auto", "kitty", "sixel", "halfcell"]),
        "keymap": st.dictionaries(st.text(), st.text(), max_size=5),
        "theme": st.text(),
    },
)


@PROPERTY
@given(values=file_values)
def test_every_setting_written_to_the_file_reads_back_the_same(values: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        write_toml(config, values, mode=0o600)  # 0600: a token in it is no warning
        settings, warnings = load_settings(config_path=config, env={})
    assert warnings == []
    for key, value in values.items():
        expected = Path(value) if key in ("data_dir", "output_dir") else value
        assert getattr(settings, key) == expected, key
    for key in Settings.__dataclass_fields__:
        if key not in values and key not in ("data_dir", "output_dir", "config_path"):
            assert getattr(settings, key) == getattr(DEFAULTS, key), key


# --- files that are wrong ---


def test_a_near_miss_key_gets_a_suggestion_and_a_far_one_does_not(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", 'outptu_dir = "/x"\nzzz = 1\n')
    settings, warnings = load_settings(config_path=config, env={})
    near, far = warnings
    assert str(config) in near and "'outptu_dir'" in near
    assert "did you mean 'output_dir'?" in near
    assert str(config) in far and "'zzz'" in far and "did you mean" not in far
    assert settings.output_dir == DEFAULTS.output_dir


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('name_template = "{nope}"', "name_template"),
        ('name_template = "{"', "name_template"),
        ('name_template = ""', "name_template"),
        ('base_url = "ftp://x"', "base_url"),
        ("max_in_flight = 0", "max_in_flight"),
        ("min_interval = -1", "min_interval"),
        ("request_budget = -0.5", "request_budget"),
    ],
)
def test_a_bad_value_is_a_warning_naming_the_key_and_the_default_is_used(
    tmp_path: Path, line: str, key: str
) -> None:
    config = write(tmp_path / "config.toml", f"{line}\nmax_posts = 3\n")
    settings, warnings = load_settings(config_path=config, env={})
    (warning,) = warnings
    assert str(config) in warning
    assert f"{key} " in warning
    assert "using the default" in warning
    assert getattr(settings, key) == getattr(DEFAULTS, key)
    assert settings.max_posts == 3


@pytest.mark.parametrize("template", ["{date.year}/{index}.{ext}", "{date[x]}.{ext}"])
def test_a_template_using_a_field_attribute_is_a_warning(tmp_path: Path, template: str) -> None:
    config = write(tmp_path / "config.toml", f'name_template = "{template}"\n')
    settings, warnings = load_settings(config_path=config, env={})
    (warning,) = warnings
    assert "name_template" in warning
    assert settings.name_template == DEFAULTS.name_template


@pytest.mark.parametrize("line", ["request_budget = inf", "min_interval = nan"])
def test_a_number_that_is_not_finite_is_a_warning(tmp_path: Path, line: str) -> None:
    config = write(tmp_path / "config.toml", line + "\n")
    settings, warnings = load_settings(config_path=config, env={})
    key = line.split()[0]
    (warning,) = warnings
    assert key in warning
    assert getattr(settings, key) == getattr(DEFAULTS, key)


def test_a_home_directory_that_does_not_exist_is_a_warning(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", 'data_dir = "~no-such-user-krea/x"\n')
    settings, warnings = load_settings(config_path=config, env={})
    (warning,) = warnings
    assert "data_dir" in warning
    assert settings.data_dir == DEFAULTS.data_dir


def _reads_or_refuses(config: Path) -> None:
    try:
        values, warnings = read_config_file(config)
    except ConfigError as exc:
        assert str(config) in str(exc)
        return
    assert isinstance(values, dict) and set(values) <= set(Settings.__dataclass_fields__)
    assert all(isinstance(w, str) for w in warnings)


# Valid TOML with the keys the app reads holding values of every kind.
_SOME_KEYS = [
    "base_url",
    "max_posts",
    "min_interval",
    "keymap",
    "name_template",
    "data_dir",
    "auto_download",
    "image_protocol",
    "token",
    "max_inflght",
]
_SOME_VALUES = [
    '"x"',
    "0",
    "-1",
    "2.5",
    "true",
    "[1]",
    "{a = 1}",
    '{a = "b"}',
    '"{date}.{ext}"',
    '"{"',
    '"~/x"',
    "1979-05-27",
    '"kitty"',
]
_CONFIG_LINES = st.lists(
    st.tuples(st.sampled_from(_SOME_KEYS), st.sampled_from(_SOME_VALUES)),
    max_size=6,
    unique_by=lambda kv: kv[0],
).map(lambda pairs: "".join(f"{key} = {value}\n" for key, value in pairs))


@PROPERTY
@given(text=st.text() | _CONFIG_LINES)
def test_any_text_as_config_reads_or_is_a_config_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_bytes(text.encode("utf-8"))
        config.chmod(0o600)
        _reads_or_refuses(config)


@PROPERTY
@given(data=st.binary())
def test_any_bytes_as_config_read_or_are_a_config_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_bytes(data)
        _reads_or_refuses(config)


# --- the token file ---


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_save_token_makes_the_file_private_and_keeps_the_rest(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config.toml", 'max_posts = 2\n\n[keymap]\nnew-job = "a"\n', mode=0o644
    )
    save_token(config, "tok-123")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    settings, warnings = load_settings(config_path=config, env={})
    assert warnings == []
    assert settings.token == "tok-123"
    assert settings.max_posts == 2
    assert settings.keymap == {"new-job": "a"}

    fresh = tmp_path / "new" / "dir" / "config.toml"
    save_token(fresh, "tok-456")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert tomllib.loads(fresh.read_text(encoding="utf-8")) == {"token": "tok-456"}
    assert [p.name for p in fresh.parent.iterdir()] == ["config.toml"]  # no temp file left


def test_save_token_never_overwrites_a_file_that_does_not_parse(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "max_posts = = 2\n[keymap\n")
    before = config.read_bytes()
    with pytest.raises(ConfigError) as raised:
        save_token(config, "tok-secret")
    assert str(config) in str(raised.value)
    assert "tok-secret" not in str(raised.value)
    assert config.read_bytes() == before


# --- where the presets live ---


def test_presets_live_next_to_the_config_file_in_use(tmp_path: Path) -> None:
    config = tmp_path / "c" / "config.toml"
    settings, _ = load_settings(config_path=config, env={})
    assert settings.presets_path == tmp_path / "c" / "presets.toml"
    via_env, _ = load_settings(env={"KREA_TUI_CONFIG": str(tmp_path / "e" / "k.toml")})
    assert via_env.presets_path == tmp_path / "e" / "presets.toml"


def test_a_save_removes_what_a_killed_save_left_in_the_config_folder(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    leftover = tmp_path / ".krea-tui-x1y2.part"  # a kill between temp file and rename
    leftover.write_bytes(b'token = "half')
    save_token(config, "krea-secret")
    assert not leftover.exists()
    settings, _ = load_settings(config_path=config, env={})
    assert settings.token == "krea-secret"
