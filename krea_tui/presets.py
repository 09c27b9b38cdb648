"""Named presets (model + parameters + an optional prompt template) in one `presets.toml`.

```toml
[presets.portrait]
model = "bfl/flux-1-dev"
prompt_template = "{prompt}, studio portrait, soft light"

[presets.portrait.params]
width = 768
height = 1024
steps = 30
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from krea_tui.config import APP_NAME, ConfigError, read_for_update, write_toml


def default_presets_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "presets.toml"


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    model: str
    params: Mapping[str, Any] = field(default_factory=dict)
    prompt_template: str | None = None

    def request(self, prompt: str | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The request body: preset parameters, then the prompt through the template, then
        the caller's own values on top."""
        body = dict(self.params)
        if prompt is not None:
            template = self.prompt_template or "{prompt}"
            body["prompt"] = template.replace("{prompt}", prompt)
        body.update(overrides)
        return body


def load_presets(path: Path | None = None) -> dict[str, Preset]:
    path = path or default_presets_path()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    presets: dict[str, Preset] = {}
    table = data.get("presets", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [presets] must be a table")
    for name, entry in table.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
            raise ConfigError(f"{path}: presets.{name} needs a `model` string")
        params = entry.get("params", {})
        if not isinstance(params, dict):
            raise ConfigError(f"{path}: presets.{name}.params must be a table")
        template = entry.get("prompt_template")
        if template is not None and not isinstance(template, str):
            raise ConfigError(f"{path}: presets.{name}.prompt_template must be a string")
        presets[name] = Preset(name, entry["model"], params, template)
    return presets


def preset_table(preset: Preset) -> dict[str, Any]:
    table: dict[str, Any] = {"model": preset.model}
    if preset.prompt_template:
        table["prompt_template"] = preset.prompt_template
    if preset.params:
        table["params"] = dict(preset.params)
    return table


def save_preset(preset: Preset, path: Path | None = None) -> Path:
    """Add or replace one preset, keeping the others; atomic, and a file that does not parse is
    never overwritten."""
    path = path or default_presets_path()
    data = read_for_update(path)
    presets = data.setdefault("presets", {})
    if not isinstance(presets, dict):
        raise ConfigError(f"{path}: [presets] must be a table")
    presets[preset.name] = preset_table(preset)
    write_toml(path, data)
    return path
