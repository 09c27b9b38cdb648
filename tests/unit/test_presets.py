"""Presets: what is saved loads back the same, every edit keeps the rest of the file, and a file
we cannot read is reported by name and never overwritten."""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krea_tui.config import ConfigError
from krea_tui.core.catalog import bundled_catalog
from krea_tui.presets import (
    Preset,
    check_name,
    default_for,
    delete_preset,
    duplicate_preset,
    export_preset,
    fit_to_model,
    import_presets,
    load_defaults,
    load_presets,
    rename_preset,
    save_preset,
    set_default,
)

FLUX = "bfl/flux-1-dev"

# --- strategies ---

names = st.from_regex(r"[\w][\w .+-]{0,63}", fullmatch=True).filter(lambda n: check_name(n) is None)
scalars = (
    st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.text()
)
values = scalars | st.lists(scalars, max_size=4)
params_tables = st.dictionaries(st.text(max_size=12), values, max_size=5)
extras = st.dictionaries(
    st.text(max_size=12).filter(lambda k: k not in ("model", "params", "prompt_template")),
    values,
    max_size=3,
)
# An empty template is stored as no template (both leave the prompt alone): generate real ones.
templates = st.none() | st.text(min_size=1)
presets_strategy = st.builds(
    Preset,
    name=names,
    model=st.text(),
    params=params_tables,
    prompt_template=templates,
    extra=extras,
)

# Hand-written presets.toml files: mostly valid TOML, with the tables and keys the app reads
# holding values of every kind, right or wrong.
_HEADERS = ["[presets.a]", "[presets.b]", "[presets.a.params]", "[presets]", "[defaults]", "[x]"]
_KEYS = ["params", "prompt_template", "note", "presets", "defaults", f'"{FLUX}"', "a"]
_VALUES = [
    '"m"',
    f'"{FLUX}"',
    '"a"',
    '"{prompt}!"',
    "5",
    "true",
    '[1, "a"]',
    "{}",
    "{steps = 30}",
    '{a = {model = "m"}}',
    "1979-05-27T07:32:00Z",
]
_lines = st.dictionaries(st.sampled_from(_KEYS), st.sampled_from(_VALUES), max_size=4).map(
    lambda table: "".join(f"{key} = {value}\n" for key, value in table.items())
)
# A preset table mostly starts with its model, so many files do load.
_model_line = st.sampled_from(
    ['model = "m"\n', 'model = "m"\n', f'model = "{FLUX}"\n', "model = 5\n", ""]
)
_tables = st.lists(
    st.tuples(st.sampled_from(_HEADERS), _model_line, _lines), max_size=5, unique_by=lambda t: t[0]
)


def _document(parts: tuple[str, list[tuple[str, str, str]]]) -> str:
    top, tables = parts
    # Only a preset's own table ([presets.NAME]) gets the model line.
    return top + "".join(
        f"{header}\n{model if header.count('.') == 1 else ''}{body}"
        for header, model, body in tables
    )


toml_like = st.tuples(_lines, _tables).map(_document)


# --- helpers ---


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def portrait(name: str = "portrait", model: str = FLUX, **params: Any) -> Preset:
    return Preset(
        name,
        model,
        params or {"width": 768, "height": 1024},
        "{prompt}, studio portrait",
        {"note": "any other key is kept"},
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "presets.toml"


@pytest.fixture
def three(path: Path) -> Path:
    """A file with presets a, b, c (in that order) and b the default for FLUX."""
    for name in "abc":
        save_preset(portrait(name), path)
    set_default(FLUX, "b", path)
    return path


# --- round trip ---


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    presets=st.lists(presets_strategy, min_size=1, max_size=4, unique_by=lambda p: p.name),
    model=st.text(),
)
def test_every_preset_loads_back_as_saved_and_saving_one_keeps_the_others(
    presets: list[Preset], model: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "presets.toml"
        saved: dict[str, Preset] = {}
        for preset in presets:
            save_preset(preset, path)
            saved[preset.name] = preset
            loaded = load_presets(path)
            assert loaded == saved
            assert list(loaded) == list(saved)  # the order the user made them in
        # Replacing one changes that one only, in its place.
        changed = Preset(presets[0].name, model, {"steps": 1})
        save_preset(changed, path)
        assert load_presets(path) == {**saved, changed.name: changed}
        assert list(load_presets(path)) == list(saved)


def test_saving_without_overwrite_refuses_an_existing_name(three: Path) -> None:
    before = three.read_bytes()
    with pytest.raises(ConfigError, match="exists already"):
        save_preset(portrait("a", steps=5), three, overwrite=False)
    assert three.read_bytes() == before


@pytest.mark.parametrize("bad", ["", " lead", "-x", "a/b", "x" * 65, "tab\tin"])
def test_a_bad_name_is_refused_before_anything_is_written(path: Path, bad: str) -> None:
    assert check_name(bad) is not None
    with pytest.raises(ConfigError, match="preset name"):
        save_preset(portrait(bad), path)
    assert not path.exists()


def test_a_name_ending_in_a_newline_is_refused() -> None:
    assert check_name("portrait\n") is not None


# --- rename, duplicate, delete, defaults ---


def test_rename_keeps_the_place_in_the_file_and_moves_the_default(three: Path) -> None:
    rename_preset("b", "z", three)
    loaded = load_presets(three)
    assert list(loaded) == ["a", "z", "c"]
    assert loaded["z"] == portrait("z")
    assert load_defaults(three) == {FLUX: "z"}
    assert default_for(FLUX, three) == portrait("z")


def test_rename_onto_an_existing_name_refuses_and_changes_nothing(three: Path) -> None:
    before = three.read_bytes()
    with pytest.raises(ConfigError, match="exists already"):
        rename_preset("a", "c", three)
    assert three.read_bytes() == before


def test_rename_of_a_missing_preset_refuses_and_changes_nothing(three: Path) -> None:
    before = three.read_bytes()
    with pytest.raises(ConfigError, match="no preset named 'nope'"):
        rename_preset("nope", "new", three)
    assert three.read_bytes() == before


def test_duplicate_copies_everything_under_the_new_name(three: Path) -> None:
    duplicate_preset("a", "a copy", three)
    loaded = load_presets(three)
    assert list(loaded) == ["a", "b", "c", "a copy"]
    assert loaded["a copy"] == portrait("a copy")
    assert loaded["a"] == portrait("a")
    before = three.read_bytes()
    with pytest.raises(ConfigError, match="exists already"):
        duplicate_preset("a", "b", three)
    assert three.read_bytes() == before


def test_delete_removes_the_preset_and_a_default_pointing_to_it(three: Path) -> None:
    save_preset(portrait("other", model="m/other"), three)
    set_default("m/other", "other", three)
    delete_preset("b", three)
    assert list(load_presets(three)) == ["a", "c", "other"]
    assert default_for(FLUX, three) is None
    assert load_defaults(three) == {"m/other": "other"}  # another model's default stays
    with pytest.raises(ConfigError, match="no preset named 'b'"):
        delete_preset("b", three)


def test_set_default_and_unset(three: Path) -> None:
    set_default(FLUX, "c", three)
    assert default_for(FLUX, three) == portrait("c")
    set_default(FLUX, None, three)
    assert default_for(FLUX, three) is None
    assert load_defaults(three) == {}
    set_default(FLUX, None, three)  # unsetting twice is no error
    before = three.read_bytes()
    with pytest.raises(ConfigError, match="no preset named 'nope'"):
        set_default(FLUX, "nope", three)
    assert three.read_bytes() == before


def test_default_for_ignores_a_default_naming_no_preset(path: Path) -> None:
    write(path, f'[defaults]\n"{FLUX}" = "gone"\n"m/x" = 3\n\n[presets.a]\nmodel = "{FLUX}"\n')
    assert default_for(FLUX, path) is None
    assert default_for("m/x", path) is None
    assert default_for("m/none", path) is None
    assert load_defaults(path) == {}


def test_a_missing_file_has_no_presets(path: Path) -> None:
    assert load_presets(path) == {}
    assert default_for(FLUX, path) is None


def test_keys_the_app_does_not_know_survive_every_edit(path: Path) -> None:
    write(
        path,
        'future = {x = 1}\n\n[presets.a]\nmodel = "m"\nnote = "hand-written"\n'
        "[presets.a.params]\nsteps = 3\n",
    )
    save_preset(portrait("b"), path)
    rename_preset("a", "a2", path)
    set_default("m", "a2", path)
    loaded = load_presets(path)
    assert loaded["a2"] == Preset("a2", "m", {"steps": 3}, None, {"note": "hand-written"})
    assert tomllib.loads(path.read_text(encoding="utf-8"))["future"] == {"x": 1}


# --- export and import ---


def test_an_exported_preset_imports_back(tmp_path: Path, path: Path) -> None:
    out = export_preset(portrait("shared"), tmp_path / "out" / "shared.toml")
    assert import_presets(out, path) == ["shared"]
    assert load_presets(path) == {"shared": portrait("shared")}


def test_export_never_replaces_a_file(tmp_path: Path) -> None:
    target = write(tmp_path / "mine.toml", "precious = true\n")
    with pytest.raises(ConfigError, match="exists already") as raised:
        export_preset(portrait(), target)
    assert str(target) in str(raised.value)
    assert target.read_text(encoding="utf-8") == "precious = true\n"


def test_import_of_a_taken_name_gets_a_free_one(tmp_path: Path, three: Path) -> None:
    source = export_preset(portrait("a", steps=7), tmp_path / "a.toml")
    assert import_presets(source, three) == ["a-2"]
    assert import_presets(source, three) == ["a-3"]
    loaded = load_presets(three)
    assert list(loaded) == ["a", "b", "c", "a-2", "a-3"]
    assert loaded["a"] == portrait("a")  # the original is untouched
    assert loaded["a-2"] == portrait("a-2", steps=7)


def test_import_from_a_file_without_presets_refuses_naming_it(tmp_path: Path, three: Path) -> None:
    source = write(tmp_path / "empty.toml", "x = 1\n")
    before = three.read_bytes()
    with pytest.raises(ConfigError, match=r"no \[presets\.NAME\] table") as raised:
        import_presets(source, three)
    assert str(source) in str(raised.value)
    assert three.read_bytes() == before


# --- broken and hostile files ---

BROKEN = {
    "not TOML": '[presets.a\nmodel = "m"\n',
    "presets = 3": "presets = 3\n",
    "model not a string": "[presets.x]\nmodel = 5\n",
    "no model": '[presets.x]\nnote = "n"\n',
    "params not a table": '[presets.x]\nmodel = "m"\nparams = 3\n',
    "prompt_template not a string": '[presets.x]\nmodel = "m"\nprompt_template = 3\n',
    "preset not a table": 'presets = {x = "m"}\n',
}

Operation = Callable[[Path, Path], object]
OPERATIONS: dict[str, Operation] = {
    "load": lambda p, _: load_presets(p),
    "defaults": lambda p, _: default_for("m", p),
    "save": lambda p, _: save_preset(portrait("new"), p),
    "rename": lambda p, _: rename_preset("x", "y", p),
    "duplicate": lambda p, _: duplicate_preset("x", "y", p),
    "delete": lambda p, _: delete_preset("x", p),
    "set_default": lambda p, _: set_default("m", "x", p),
    "unset_default": lambda p, _: set_default("m", None, p),
    "import into": lambda p, good: import_presets(good, p),
    "import from": lambda p, good: import_presets(p, good),
}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("content", BROKEN.values(), ids=list(BROKEN))
def test_a_broken_file_is_named_and_never_overwritten(
    tmp_path: Path, content: str, operation: str
) -> None:
    broken = write(tmp_path / "presets.toml", content)
    good = tmp_path / "good.toml"
    save_preset(portrait("g"), good)
    good_before = good.read_bytes()
    with pytest.raises(ConfigError) as raised:
        OPERATIONS[operation](broken, good)
    assert str(broken) in str(raised.value)
    assert broken.read_text(encoding="utf-8") == content
    assert good.read_bytes() == good_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.toml", "presets.toml"]


@pytest.mark.parametrize("operation", ["rename", "delete", "set_default", "unset_default"])
def test_a_defaults_value_that_is_not_a_table_is_named_with_the_file(
    tmp_path: Path, operation: str
) -> None:
    content = 'defaults = 3\n\n[presets.x]\nmodel = "m"\n'
    broken = write(tmp_path / "presets.toml", content)
    with pytest.raises(ConfigError) as raised:
        OPERATIONS[operation](broken, tmp_path / "unused.toml")
    assert broken.read_text(encoding="utf-8") == content
    assert str(broken) in str(raised.value)


def test_a_file_that_is_not_utf8_is_a_config_error(path: Path) -> None:
    path.write_bytes(b'[presets.a]\nmodel = "\xff"\n')
    with pytest.raises(ConfigError) as raised:
        load_presets(path)
    assert str(path) in str(raised.value)


def test_a_file_with_a_bare_carriage_return_is_not_overwritten(path: Path) -> None:
    path.write_bytes(b'[presets.a]\rmodel = "m"\n')
    with pytest.raises(ConfigError):
        load_presets(path)  # holds today: the file does not parse
    with pytest.raises(ConfigError):
        save_preset(portrait("b"), path)
    assert path.read_bytes() == b'[presets.a]\rmodel = "m"\n'


def _loads_or_refuses(path: Path) -> dict[str, Preset] | None:
    try:
        loaded = load_presets(path)
    except ConfigError as exc:
        assert str(path) in str(exc)
        return None
    assert isinstance(loaded, dict)
    assert all(isinstance(p, Preset) and p.name == n for n, p in loaded.items())
    return loaded


@settings(max_examples=50, deadline=None, derandomize=True)
@given(text=st.text() | toml_like)
def test_any_text_loads_or_is_a_config_error_and_is_never_overwritten_when_broken(
    text: str,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "presets.toml"
        path.write_bytes(text.encode("utf-8"))
        loaded = _loads_or_refuses(path)
        if loaded is None:
            return
        try:
            save_preset(portrait("fresh-name"), path)
        except ConfigError:
            assert path.read_bytes() == text.encode("utf-8")
            return
        assert load_presets(path) == {**loaded, "fresh-name": portrait("fresh-name")}


@settings(max_examples=50, deadline=None, derandomize=True)
@given(text=toml_like)
def test_edits_of_a_hand_written_file_refuse_or_keep_what_was_there(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "presets.toml"
        path.write_bytes(text.encode("utf-8"))
        loaded = _loads_or_refuses(path)
        # What each edit does to {name: model} when it succeeds.
        expected = {n: p.model for n, p in (loaded or {}).items()}

        def renamed(names: dict[str, str]) -> dict[str, str]:
            return {("renamed" if n == "a" else n): m for n, m in names.items()}

        edits: list[tuple[Callable[[], object], Callable[[dict[str, str]], dict[str, str]]]] = [
            (lambda: set_default(FLUX, "a", path), dict),
            (lambda: rename_preset("a", "renamed", path), renamed),
            (
                lambda: delete_preset("b", path),
                lambda names: {n: m for n, m in names.items() if n != "b"},
            ),
        ]
        for edit, effect in edits:
            before = path.read_bytes()
            try:
                edit()
            except ConfigError:
                assert path.read_bytes() == before
                continue
            assert loaded is not None, "a file that did not load was rewritten"
            expected = effect(expected)
            assert {n: p.model for n, p in load_presets(path).items()} == expected


@settings(max_examples=50, deadline=None, derandomize=True)
@given(data=st.binary())
def test_any_bytes_load_or_are_a_config_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "presets.toml"
        path.write_bytes(data)
        _loads_or_refuses(path)


# --- atomic write ---


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    three: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = three.read_bytes()

    def refuse(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        save_preset(portrait("new"), three)
    monkeypatch.undo()
    assert three.read_bytes() == before
    assert [p.name for p in three.parent.iterdir()] == ["presets.toml"]
    assert list(load_presets(three)) == ["a", "b", "c"]


# --- fitting a preset to today's model ---


def test_fit_to_model_keeps_what_the_model_takes_and_says_why_the_rest_went() -> None:
    preset = Preset("stale", FLUX, {"steps": 999, "no_such_field": 1, "prompt": "x", "width": 768})
    fitted = fit_to_model(preset, bundled_catalog())
    assert fitted.params == {"width": 768}
    assert set(fitted.dropped) == {"steps", "no_such_field", "prompt"}
    assert "at most 100" in fitted.dropped["steps"]
    assert "999" in fitted.dropped["steps"]
    assert "no such field" in fitted.dropped["no_such_field"]
    assert FLUX in fitted.dropped["no_such_field"]
    assert "prompt" in fitted.dropped["prompt"]


def test_fit_to_model_keeps_a_preset_that_fits_whole() -> None:
    params = {"steps": 30, "width": 768, "height": 1024, "guidance_scale_flux": 3.5}
    fitted = fit_to_model(Preset("ok", FLUX, params), bundled_catalog())
    assert fitted.params == params
    assert fitted.dropped == {}


# --- the prompt template and the request body ---


def test_a_template_with_the_placeholder_puts_the_prompt_in_it() -> None:
    preset = Preset("p", FLUX, {}, "{prompt}, studio portrait, {prompt}")
    assert preset.apply_template("a cat") == "a cat, studio portrait, a cat"
    assert preset.apply_template("") == ", studio portrait, "


def test_a_template_without_the_placeholder_is_appended() -> None:
    preset = Preset("p", FLUX, {}, ", soft light")
    assert preset.apply_template("a cat") == "a cat, soft light"
    assert preset.apply_template("") == ", soft light"


def test_no_template_leaves_the_prompt_alone() -> None:
    assert Preset("p", FLUX).apply_template("a cat") == "a cat"
    assert Preset("p", FLUX, {}, "").apply_template("a cat") == "a cat"


def test_request_is_params_then_templated_prompt_then_overrides() -> None:
    preset = Preset("p", FLUX, {"steps": 30, "width": 768}, "{prompt}, film")
    assert preset.request("a cat", {"width": 1024}) == {
        "steps": 30,
        "width": 1024,
        "prompt": "a cat, film",
    }
    assert preset.request(None, {}) == {"steps": 30, "width": 768}
    assert preset.request("a cat", {"prompt": "mine"})["prompt"] == "mine"
    assert preset.params == {"steps": 30, "width": 768}  # the preset itself is not changed
