"""Named presets (model + parameters + an optional prompt template) in one `presets.toml`.

```toml
[defaults]                       # the preset a fresh form starts from, per model
"bfl/flux-1-dev" = "portrait"

[presets.portrait]
model = "bfl/flux-1-dev"
prompt_template = "{prompt}, studio portrait, soft light"
note = "any other key is kept as it is"

[presets.portrait.params]
width = 768
height = 1024
steps = 30
```

Every change is a read-modify-write of the whole file through `config.read_for_update`, so
keys we do not know survive, a file that does not parse is never overwritten, and the write is
atomic. TOML comments are not kept: tomli-w writes values only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from krea_tui.config import APP_NAME, ConfigError, read_for_update, read_toml, write_toml

if TYPE_CHECKING:
    from krea_tui.core.catalog import Catalog

_KNOWN_KEYS = ("model", "params", "prompt_template")
# Names appear in key lists and file names; keep them to what reads well in both.
_NAME = re.compile(r"[\w][\w .+-]{0,63}")
MAX_NAME = 64


def default_presets_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "presets.toml"


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    model: str
    params: Mapping[str, Any] = field(default_factory=dict)
    prompt_template: str | None = None
    # Keys of the preset's table we do not use (a note, a future field): written back untouched.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def apply_template(self, prompt: str) -> str:
        if not self.prompt_template:
            return prompt
        if "{prompt}" not in self.prompt_template:
            return f"{prompt}{self.prompt_template}" if prompt else self.prompt_template
        return self.prompt_template.replace("{prompt}", prompt)

    def request(self, prompt: str | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The request body: preset parameters, then the prompt through the template, then
        the caller's own values on top."""
        body = dict(self.params)
        if prompt is not None:
            body["prompt"] = self.apply_template(prompt)
        body.update(overrides)
        return body


@dataclass(frozen=True, slots=True)
class Fitted:
    """What of a preset a model takes, and what it dropped with the reason for each."""

    params: dict[str, Any]
    dropped: dict[str, str]


def check_name(name: str) -> str | None:
    """What is wrong with a preset name, in words, or None."""
    if not _NAME.fullmatch(name):
        return "a name is 1–64 letters, digits, spaces or . + - _ (starting with a letter or digit)"
    return None


def _parse(path: Path, data: Mapping[str, Any]) -> dict[str, Preset]:
    table = data.get("presets", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [presets] must be a table")
    presets: dict[str, Preset] = {}
    for name, entry in table.items():
        where = f"{path}: presets.{name}"
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
            raise ConfigError(f"{where} needs a `model` string")
        params = entry.get("params", {})
        if not isinstance(params, dict):
            raise ConfigError(f"{where}.params must be a table")
        template = entry.get("prompt_template")
        if template is not None and not isinstance(template, str):
            raise ConfigError(f"{where}.prompt_template must be a string")
        extra = {k: v for k, v in entry.items() if k not in _KNOWN_KEYS}
        presets[name] = Preset(name, entry["model"], params, template, extra)
    return presets


def load_presets(path: Path | None = None) -> dict[str, Preset]:
    path = path or default_presets_path()
    return _parse(path, read_toml(path))


def load_defaults(path: Path | None = None) -> dict[str, str]:
    """model path -> name of its default preset (names of presets that exist only)."""
    path = path or default_presets_path()
    data = read_toml(path)
    table = data.get("defaults", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [defaults] must be a table of model = preset name")
    known = _parse(path, data)
    return {m: n for m, n in table.items() if isinstance(n, str) and n in known}


def default_for(model: str, path: Path | None = None) -> Preset | None:
    name = load_defaults(path).get(model)
    return load_presets(path).get(name) if name else None


def preset_table(preset: Preset) -> dict[str, Any]:
    table: dict[str, Any] = {"model": preset.model, **preset.extra}
    if preset.prompt_template:
        table["prompt_template"] = preset.prompt_template
    if preset.params:
        table["params"] = dict(preset.params)
    return table


def _update(path: Path | None, change: Callable[[dict[str, Any], dict[str, Any]], None]) -> Path:
    """Read the whole file, let `change` edit it, write it back atomically."""
    path = path or default_presets_path()
    data = read_for_update(path)
    presets = data.setdefault("presets", {})
    if not isinstance(presets, dict):
        raise ConfigError(f"{path}: [presets] must be a table")
    _parse(path, data)  # never rewrite a file whose presets we could not read back
    change(data, presets)
    if isinstance(data.get("defaults"), dict) and not data["defaults"]:
        del data["defaults"]
    write_toml(path, data)
    return path


def save_preset(preset: Preset, path: Path | None = None, *, overwrite: bool = True) -> Path:
    """Add or replace one preset, keeping the others."""
    problem = check_name(preset.name)
    if problem:
        raise ConfigError(f"preset name {preset.name!r}: {problem}")

    def change(_: dict[str, Any], presets: dict[str, Any]) -> None:
        if not overwrite and preset.name in presets:
            raise ConfigError(f"a preset named {preset.name!r} exists already")
        presets[preset.name] = preset_table(preset)

    return _update(path, change)


def _defaults(path: Path | None, data: dict[str, Any]) -> dict[str, Any]:
    table = data.setdefault("defaults", {})
    if not isinstance(table, dict):
        where = path or default_presets_path()
        raise ConfigError(f"{where}: [defaults] must be a table of model = preset name")
    return table


def rename_preset(old: str, new: str, path: Path | None = None) -> Path:
    problem = check_name(new)
    if problem:
        raise ConfigError(f"preset name {new!r}: {problem}")

    def change(data: dict[str, Any], presets: dict[str, Any]) -> None:
        if old not in presets:
            raise ConfigError(f"no preset named {old!r}")
        if new in presets and new != old:
            raise ConfigError(f"a preset named {new!r} exists already")
        # Rebuild in order so the renamed preset keeps its place in the file.
        renamed = {(new if k == old else k): v for k, v in presets.items()}
        presets.clear()
        presets.update(renamed)
        defaults = _defaults(path, data)
        for model, name in list(defaults.items()):
            if name == old:
                defaults[model] = new

    return _update(path, change)


def duplicate_preset(name: str, copy_name: str, path: Path | None = None) -> Path:
    problem = check_name(copy_name)
    if problem:
        raise ConfigError(f"preset name {copy_name!r}: {problem}")

    def change(_: dict[str, Any], presets: dict[str, Any]) -> None:
        if name not in presets:
            raise ConfigError(f"no preset named {name!r}")
        if copy_name in presets:
            raise ConfigError(f"a preset named {copy_name!r} exists already")
        presets[copy_name] = presets[name]

    return _update(path, change)


def delete_preset(name: str, path: Path | None = None) -> Path:
    def change(data: dict[str, Any], presets: dict[str, Any]) -> None:
        if presets.pop(name, None) is None:
            raise ConfigError(f"no preset named {name!r}")
        defaults = _defaults(path, data)
        for model, default in list(defaults.items()):
            if default == name:
                del defaults[model]

    return _update(path, change)


def set_default(model: str, name: str | None, path: Path | None = None) -> Path:
    """Make `name` the preset a fresh form for `model` starts from (None: no default)."""

    def change(data: dict[str, Any], presets: dict[str, Any]) -> None:
        defaults = _defaults(path, data)
        if name is None:
            defaults.pop(model, None)
            return
        if name not in presets:
            raise ConfigError(f"no preset named {name!r}")
        defaults[model] = name

    return _update(path, change)


def free_name(name: str, taken: Mapping[str, object] | set[str]) -> str:
    """`name`, or `name-2`, `name-3`… if it is taken."""
    if name not in taken:
        return name
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = name[: MAX_NAME - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def export_preset(preset: Preset, destination: Path) -> Path:
    """Write one preset to its own file (the same layout, so `import_presets` reads it).
    An existing file is never replaced."""
    if destination.exists():
        raise ConfigError(f"{destination} exists already; choose another file name")
    write_toml(destination, {"presets": {preset.name: preset_table(preset)}})
    return destination


def import_presets(source: Path, path: Path | None = None) -> list[str]:
    """Add every preset of `source` under a free name; returns the names they got."""
    incoming = load_presets(source)
    if not incoming:
        raise ConfigError(f"{source}: no [presets.NAME] table in it")
    for name in incoming:
        problem = check_name(name)
        if problem:
            raise ConfigError(f"{source}: preset name {name!r}: {problem}")
    added: list[str] = []

    def change(_: dict[str, Any], presets: dict[str, Any]) -> None:
        for name, preset in incoming.items():
            taken = free_name(name, presets)
            presets[taken] = preset_table(preset)
            added.append(taken)

    _update(path, change)
    return added


def fit_to_model(preset: Preset, catalog: Catalog) -> Fitted:
    """The preset's parameters its model still takes today. A value the catalogue has come to
    refuse (a retired field, a narrower range) is dropped with the reason, so a stale preset
    loads what it can instead of failing as a whole."""
    model = catalog.get(preset.model)
    params: dict[str, Any] = {}
    dropped: dict[str, str] = {}
    for name, value in preset.params.items():
        if name == "prompt":
            dropped[name] = "the prompt belongs to the job, not the preset"
        elif model.field(name) is None:
            dropped[name] = f"{model.path} has no such field"
        else:
            params[name] = value
    from krea_tui.core.assets import validation_body  # a local file stands for its upload

    for problem in catalog.validate(model.path, validation_body(model, params)):
        root = problem.field.split(".", 1)[0]
        if root in params:
            dropped[root] = problem.message
            del params[root]
    return Fitted(params, dropped)
