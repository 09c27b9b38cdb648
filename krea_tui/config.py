"""Where things live and how the app is set up: paths, token, and engine settings.

Precedence: command-line flags > environment variables > config.toml > defaults. The token is
never part of a repr, a log line or an error message.
"""

from __future__ import annotations

import difflib
import math
import os
import shlex
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

APP_NAME = "krea-tui"
ENV_TOKEN = "KREA_API_TOKEN"
ENV_CONFIG = "KREA_TUI_CONFIG"
ENV_DATA_DIR = "KREA_TUI_DATA_DIR"
ENV_OUTPUT_DIR = "KREA_TUI_OUTPUT_DIR"
ENV_BASE_URL = "KREA_API_BASE_URL"
# Loopback: a public webhook_url reaches it through the user's own tunnel or reverse proxy.
DEFAULT_WEBHOOK_LISTEN = "127.0.0.1:8788"


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file, key and problem."""


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def default_output_dir() -> Path:
    return Path(platformdirs.user_pictures_dir()) / APP_NAME


@dataclass(slots=True)
class Settings:
    base_url: str = "https://api.krea.ai"
    token: str | None = field(default=None, repr=False)
    token_command: str | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    output_dir: Path = field(default_factory=default_output_dir)
    name_template: str = "{date}/{job_id}-{index}.{ext}"
    max_in_flight: int = 8
    max_posts: int = 4
    min_interval: float = 2.0
    max_interval: float = 5.0
    request_budget: float = 10.0  # API requests per second at most, on average
    # Hard spend limits in USD (the catalogue's prices), checked before each POST; None: none.
    # The day is the local one (since local midnight); a batch is one batch id.
    max_spend_per_day: float | None = None
    max_spend_per_batch: float | None = None
    auto_download: bool = True
    # Zero Data Retention (enterprise): every generation carries X-Api-Zero-Data-Retention, and
    # local input files go inline as data: URIs instead of being uploaded as assets.
    zero_data_retention: bool = False
    webhook_url: str | None = None
    # host:port the webhook receiver listens on; None with webhook_url set: DEFAULT_WEBHOOK_LISTEN
    webhook_listen: str | None = None
    image_protocol: str = "auto"  # auto | kitty | sixel | halfcell
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys
    theme: str = "textual-dark"  # any Textual theme name; an unknown one warns and is ignored
    # When a job or a whole batch ends: a toast, the terminal bell, a desktop notification
    # (OSC 9 and OSC 777; inside tmux they need `set -g allow-passthrough on`).
    notify_toast: bool = True
    notify_bell: bool = False
    notify_desktop: bool = False
    demo: bool = False
    config_path: Path | None = None  # the file these settings came from; set by load_settings

    @property
    def presets_path(self) -> Path:
        """presets.toml sits next to the config file in use, so `--config` moves both."""
        if self.config_path is None:
            from krea_tui.presets import default_presets_path

            return default_presets_path()
        return self.config_path.parent / "presets.toml"

    @property
    def catalog_cache_dir(self) -> Path:
        return self.data_dir / ("demo-cache" if self.demo else "cache")

    @property
    def log_path(self) -> Path:
        return self.data_dir / "krea-tui.log"

    @property
    def history_path(self) -> Path:
        # Demo jobs live in a history of their own, never mixed with real ones.
        name = "demo-history.sqlite3" if self.demo else "history.sqlite3"
        return self.data_dir / name

    @property
    def results_dir(self) -> Path:
        return self.output_dir / "demo" if self.demo else self.output_dir

    def resolve_token(self) -> str | None:
        """The token from the settings, or printed by `token_command` (a password manager)."""
        if self.token:
            return self.token
        if not self.token_command:
            return None
        try:
            result = subprocess.run(
                shlex.split(self.token_command),
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            # Not the command's output: it may hold the secret.
            raise ConfigError(f"token_command failed: {type(exc).__name__}") from None
        token = result.stdout.strip()
        return token or None


_FILE_KEYS = {
    "base_url": str,
    "token": str,
    "token_command": str,
    "data_dir": Path,
    "output_dir": Path,
    "name_template": str,
    "max_in_flight": int,
    "max_posts": int,
    "min_interval": float,
    "max_interval": float,
    "request_budget": float,
    "max_spend_per_day": float,
    "max_spend_per_batch": float,
    "auto_download": bool,
    "zero_data_retention": bool,
    "webhook_url": str,
    "webhook_listen": str,
    "image_protocol": str,
    "keymap": dict,
    "theme": str,
    "notify_toast": bool,
    "notify_bell": bool,
    "notify_desktop": bool,
}


_KIND_WORDS = {
    str: "a string",
    Path: "a path (string)",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    dict: "a table",
}


def expand_path(text: str, where: str) -> Path:
    try:
        return Path(text).expanduser()
    except RuntimeError:  # "~nobody/x": no such user's home
        raise ConfigError(f"{where}: cannot find the home folder in {text!r}") from None


def _check_value(key: str, value: Any) -> str | None:
    """What is wrong with a well-typed value, in words, or None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        # nan passes `<= 0`; inf would overflow the request budget or sleep forever.
        if not math.isfinite(value):
            return "must be a finite number"
        if value <= 0:
            return "must be more than 0"
    if isinstance(value, str | Path) and "\x00" in str(value):
        return "must not contain a NUL character"
    if key == "image_protocol" and value not in ("auto", "kitty", "sixel", "halfcell"):
        return "must be auto, kitty, sixel or halfcell"
    if key == "base_url":
        return _base_url_problem(str(value))
    if key == "name_template":
        from krea_tui.core.files import check_name_template

        return check_name_template(str(value))
    if key == "keymap" and not all(isinstance(v, str) for v in value.values()):
        return 'maps binding ids to key names (strings), e.g. new-job = "a"'
    return None


def _base_url_problem(url: str) -> str | None:
    if not url.startswith(("https://", "http://")):
        return "must start with https:// (or http:// for a local server)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if not parts.hostname or any(c.isspace() or not c.isprintable() for c in url):
        return "is not a URL (a host name, without spaces or control characters)"
    return None


def _coerce(path: Path, key: str, value: Any) -> Any:
    kind = _FILE_KEYS[key]
    # bool is an int to Python: `max_in_flight = true` must be refused, not read as 1.
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is Path and isinstance(value, str):
        coerced: Any = expand_path(value, f"{path}: {key}")
    elif kind is float and is_number:
        coerced = float(value)
    elif isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        coerced = value
    else:
        got = type(value).__name__
        raise ConfigError(f"{path}: {key} must be {_KIND_WORDS[kind]} (got {got} {value!r:.40})")
    problem = _check_value(key, coerced)
    if problem:
        raise ConfigError(f"{path}: {key} {problem} (got {value!r:.60})")
    return coerced


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; a missing file is empty. Read as bytes, as tomllib wants: text
    mode would turn a stray CR into a newline and accept a file that does not parse."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def read_config_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Known keys from a config file and warnings about the rest. A missing file is empty.

    A key with a bad value is left out with a warning, so the app starts on that key's default:
    a typo in one setting should not lock the user out. A file that does not parse raises,
    because nothing in it can be trusted, the token included.
    """
    data = read_toml(path)
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in data.items():
        if key not in _FILE_KEYS:
            hint = difflib.get_close_matches(key, _FILE_KEYS, n=1)
            also = f" (did you mean {hint[0]!r}?)" if hint else ""
            warnings.append(f"{path}: unknown key {key!r} ignored{also}")
            continue
        try:
            values[key] = _coerce(path, key, value)
        except ConfigError as exc:
            warnings.append(f"{exc}; using the default")
    if "token" in data and os.name == "posix" and path.stat().st_mode & 0o077:
        warnings.append(f"{path} holds the API token and is readable by others: chmod 600 it")
    return values, warnings


def config_file(config_path: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The config file in use: --config, else KREA_TUI_CONFIG, else the platform's config dir."""
    env = os.environ if env is None else env
    return config_path or Path(env.get(ENV_CONFIG) or default_config_path())


def load_settings(
    *,
    config_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Settings, list[str]]:
    env = os.environ if env is None else env
    path = config_file(config_path, env)
    values, warnings = read_config_file(path)
    if env.get(ENV_TOKEN):
        values["token"] = env[ENV_TOKEN]
    if env.get(ENV_DATA_DIR):
        values["data_dir"] = expand_path(env[ENV_DATA_DIR], ENV_DATA_DIR)
    if env.get(ENV_OUTPUT_DIR):
        values["output_dir"] = expand_path(env[ENV_OUTPUT_DIR], ENV_OUTPUT_DIR)
    if env.get(ENV_BASE_URL):
        values["base_url"] = env[ENV_BASE_URL]
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    # The file's base_url was checked above; one from the environment or a flag is checked here,
    # before an unusable one reaches the HTTP client as a traceback.
    problem = _base_url_problem(str(values["base_url"])) if "base_url" in values else None
    if problem:
        where = "--base-url" if (overrides or {}).get("base_url") else ENV_BASE_URL
        raise ConfigError(f"{where}: base_url {problem}")
    return replace(Settings(), config_path=path, **values), warnings


def read_for_update(path: Path) -> dict[str, Any]:
    """A TOML file's contents before changing part of it; a missing file is empty. A file that
    does not parse raises: we never overwrite what we cannot read."""
    try:
        return read_toml(path)
    except ConfigError as exc:
        raise ConfigError(f"{exc}; fix it before saving") from None


def write_toml(path: Path, data: dict[str, Any], *, mode: int = 0o644) -> None:
    import tomli_w

    if "token" in data:
        mode = 0o600  # whoever rewrites the config, a file holding the token stays private

    from krea_tui.core.files import atomic_write, sweep_temp_files

    atomic_write(path, tomli_w.dumps(data).encode("utf-8"), mode=mode)
    # A kill during an earlier save left its temp file here; nothing else would remove it.
    sweep_temp_files(path.parent, recursive=False)


def save_token(path: Path, token: str) -> None:
    """Store the token in the config file, keeping every other setting; the file is 0600."""
    data = read_for_update(path)
    data["token"] = token
    write_toml(path, data, mode=0o600)
