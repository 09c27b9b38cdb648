"""Where things live and how the app is set up: paths, token, and engine settings.

Precedence: command-line flags > environment variables > config.toml > defaults. The token is
never part of a repr, a log line or an error message.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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
    auto_download: bool = True
    webhook_url: str | None = None
    # host:port the webhook receiver listens on; None with webhook_url set: DEFAULT_WEBHOOK_LISTEN
    webhook_listen: str | None = None
    image_protocol: str = "auto"  # auto | kitty | sixel | halfcell
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys
    demo: bool = False

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
    "auto_download": bool,
    "webhook_url": str,
    "webhook_listen": str,
    "image_protocol": str,
    "keymap": dict,
}


def _coerce(path: Path, key: str, value: Any) -> Any:
    kind = _FILE_KEYS[key]
    if kind is Path and isinstance(value, str):
        return Path(value).expanduser()
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ConfigError(f"{path}: {key} must be at least 1 (got {value})")
        return value
    if kind is dict and isinstance(value, dict):
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise ConfigError(f"{path}: [{key}] maps binding ids to key names (strings)")
        return dict(value)
    if key == "image_protocol" and value not in ("auto", "kitty", "sixel", "halfcell"):
        raise ConfigError(f"{path}: image_protocol must be auto, kitty, sixel or halfcell")
    # bool is an int to Python: `max_in_flight = true` must be refused, not read as 1.
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise ConfigError(f"{path}: {key} must be a {kind.__name__} (got {type(value).__name__})")


def read_config_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Known keys from a config file and warnings about the rest. A missing file is empty."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}, []
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in data.items():
        if key not in _FILE_KEYS:
            warnings.append(f"{path}: unknown key {key!r} ignored")
            continue
        values[key] = _coerce(path, key, value)
    if "token" in values and os.name == "posix" and path.stat().st_mode & 0o077:
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
        values["data_dir"] = Path(env[ENV_DATA_DIR]).expanduser()
    if env.get(ENV_OUTPUT_DIR):
        values["output_dir"] = Path(env[ENV_OUTPUT_DIR]).expanduser()
    if env.get(ENV_BASE_URL):
        values["base_url"] = env[ENV_BASE_URL]
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return replace(Settings(), **values), warnings


def read_for_update(path: Path) -> dict[str, Any]:
    """A TOML file's contents before changing part of it; a missing file is empty. A file that
    does not parse raises: we never overwrite what we cannot read."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix it before saving") from None


def write_toml(path: Path, data: dict[str, Any], *, mode: int = 0o644) -> None:
    import tomli_w

    from krea_tui.core.files import atomic_write

    atomic_write(path, tomli_w.dumps(data).encode("utf-8"), mode=mode)


def save_token(path: Path, token: str) -> None:
    """Store the token in the config file, keeping every other setting; the file is 0600."""
    data = read_for_update(path)
    data["token"] = token
    write_toml(path, data, mode=0o600)
