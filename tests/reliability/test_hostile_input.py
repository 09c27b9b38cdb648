"""Hostile input from the user's side: config and preset files, form values, command lines and
the ids and URLs result names are made from. Each gets a clear error naming what is wrong, never
a traceback, and nothing it touches is lost or overwritten.

Long version: `KREA_TUI_SOAK=full .venv/bin/python -m pytest tests/reliability`.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from krea_tui.config import _FILE_KEYS, ConfigError, load_settings, read_config_file
from krea_tui.core.api import KreaClient, RequestBudget
from krea_tui.core.catalog import bundled_catalog
from krea_tui.core.files import free_path, render_name, result_path
from krea_tui.presets import load_presets
from krea_tui.runtime import engine_config
from tests.reliability.support import scaled

FUZZ = settings(
    deadline=None,
    max_examples=scaled(120, 2000),
    derandomize=True,  # CI replays the same examples every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
FEW = settings(FUZZ, max_examples=scaled(40, 500))


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A fresh directory per example (pytest's tmp_path is one per test, not per example)."""
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


# -- TOML files ----------------------------------------------------------------------------------

toml_scalars = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["~nosuchuser-krea/x", "http://[::1", "https://exa\tmple", "a\x00b", "{x}"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),  # inf and nan included: TOML has them
    st.booleans(),
    st.datetimes(timezones=st.just(UTC)),
)
toml_values = st.recursive(
    toml_scalars,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3)
    ),
    max_leaves=8,
)
config_docs = st.dictionaries(
    st.sampled_from(sorted(_FILE_KEYS)) | st.text(max_size=10), toml_values, max_size=6
)
raw_files = st.one_of(
    st.binary(max_size=60),  # not UTF-8, not TOML
    st.text(max_size=60).map(str.encode),
    st.just(b'token = "abc\n'),
    st.just(b"\xff\xfe min_interval = 1"),
)


def write(path: Path, content: dict[str, Any] | bytes) -> None:
    path.write_bytes(content if isinstance(content, bytes) else tomli_w.dumps(content).encode())


@FUZZ
@given(config_docs | raw_files)
def test_any_config_file_gives_settings_or_a_config_error_naming_the_file(
    content: dict[str, Any] | bytes,
) -> None:
    with scratch() as home:
        path = home / "config.toml"
        write(path, content)
        try:
            values, warnings = read_config_file(path)
            settings_, _ = load_settings(config_path=path, env={})
        except ConfigError as exc:
            assert str(path) in str(exc)
            return
        for key in content if isinstance(content, dict) else ():
            if key in _FILE_KEYS and key not in values:  # refused: said where and which
                assert any(str(path) in w and key in w for w in warnings), (key, warnings)
        # What was accepted can be used: the engine and the client take it without a crash.
        engine_config(settings_)
        budget = settings_.request_budget
        RequestBudget(budget, burst=max(1, int(budget * 2)))
        KreaClient("t", base_url=settings_.base_url)
        for number in (settings_.min_interval, settings_.max_interval, budget):
            assert math.isfinite(number) and number > 0


preset_entries = st.dictionaries(
    st.sampled_from(["model", "params", "prompt_template", "note"]) | st.text(max_size=6),
    toml_values | st.just("bfl/flux-1-dev"),
    max_size=4,
)
preset_docs = st.fixed_dictionaries(
    {}, optional={"presets": st.dictionaries(st.text(max_size=8), preset_entries) | toml_values}
)


@FUZZ
@given(preset_docs | raw_files)
def test_any_presets_file_gives_presets_or_a_config_error_naming_the_file(
    content: dict[str, Any] | bytes,
) -> None:
    with scratch() as home:
        path = home / "presets.toml"
        write(path, content)
        try:
            presets = load_presets(path)
        except ConfigError as exc:
            assert str(path) in str(exc)
            return
        for preset in presets.values():
            assert isinstance(preset.model, str)
            assert isinstance(preset.params, dict)
            preset.request("a prompt", {})  # usable as it is


def test_a_file_that_cannot_be_read_is_a_config_error(tmp_path: Path) -> None:
    for reader in (read_config_file, load_presets):
        with pytest.raises(ConfigError, match=str(tmp_path)):
            reader(tmp_path)  # a directory where the file should be


# -- form values ---------------------------------------------------------------------------------

CATALOG = bundled_catalog()
MODELS = [model.path for model in CATALOG.models()]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def form(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    model = draw(st.sampled_from(MODELS))
    names = [field.name for field in CATALOG.fields(model)]
    keys = st.sampled_from(names) | st.text(max_size=10) if names else st.text(max_size=10)
    return model, draw(st.dictionaries(keys, json_values, max_size=6))


@FUZZ
@given(form())
def test_validation_never_raises_and_names_each_problem(case: tuple[str, dict[str, Any]]) -> None:
    model, params = case
    problems = CATALOG.validate(model, params)
    for problem in problems:
        assert isinstance(problem.field, str) and problem.message.strip()
    CATALOG.estimate_cost(model, params)  # the form shows it next to the problems


def test_a_superscript_digit_as_a_field_name_is_reported_not_raised() -> None:
    # `krea-tui submit -p ²=1 x` reaches this with a traceback.
    (problem,) = CATALOG.validate("bfl/flux-1-dev", {"prompt": "x", "²": 1})
    assert "unknown field" in problem.message


# -- command lines -------------------------------------------------------------------------------

FLAGS = [
    "--demo", "--base-url", "--config", "--data-dir", "--output-dir", "-m", "--model", "--preset",
    "-p", "--param", "--width", "--height", "--steps", "--seed", "-n", "--count", "--wait",
    "--json", "--timeout", "--status", "--limit", "--port", "--speed", "--fail-rate", "--help",
    "--version", "--",
]  # fmt: skip
COMMANDS = ["submit", "batch", "jobs", "wait", "download", "cancel", "import", "sim", "doctor"]
words = st.one_of(
    st.sampled_from(FLAGS + COMMANDS),
    st.sampled_from(["-1", "0", "1e9", "nan", "x=1", "=", "steps=NaN", "http://[::1", "\x00"]),
    st.text(max_size=12),
)


@FEW
@given(st.lists(words, max_size=7))
def test_any_command_line_is_an_exit_code_never_a_traceback(argv: list[str]) -> None:
    from krea_tui import cli

    async def no_server(*args: Any, **kwargs: Any) -> None:
        return None

    if "--demo" in argv:
        return  # the demo simulator runs real jobs; its flags are parsed like the others
    with scratch() as home:
        env = {
            "KREA_TUI_CONFIG": str(home / "config.toml"),
            "KREA_TUI_DATA_DIR": str(home / "data"),
            "KREA_TUI_OUTPUT_DIR": str(home / "out"),
            "HOME": str(home),
        }
        out, err = io.StringIO(), io.StringIO()
        with (
            mock.patch.dict(os.environ, env),
            mock.patch.dict(os.environ, {"KREA_API_TOKEN": ""}),  # nothing can reach a network
            mock.patch.object(cli, "run_tui", lambda *args: 0),  # would take the terminal
            mock.patch("krea_tui.sim.server.serve", no_server),  # would serve forever
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                code = cli.main(argv)
            except SystemExit as exc:  # argparse: --help, --version, usage errors
                code = exc.code
        assert code in (0, 1, 2, 3, 4), (argv, code, err.getvalue())
        assert "Traceback" not in err.getvalue()
        if code == 2:
            assert err.getvalue().strip(), "a usage error says what is wrong"


def test_an_unusable_base_url_flag_is_a_clear_error(tmp_path: Path) -> None:
    from krea_tui import cli

    env = {"KREA_API_TOKEN": "t", "KREA_TUI_CONFIG": str(tmp_path / "c.toml")}
    err = io.StringIO()
    with mock.patch.dict(os.environ, env), contextlib.redirect_stderr(err):
        code = cli.main(["submit", "--data-dir", str(tmp_path), "--base-url", "http://[::1", "x"])
    assert code in (2, 3) and "base" in err.getvalue()


# -- file names from ids and URLs ----------------------------------------------------------------

TEMPLATES = [
    "{date}/{job_id}-{index}.{ext}",
    "{model}/{seed}/{short_id}.{ext}",
    "../{job_id}/../../{index}",
    "/{date}/{time}/{job_id}",
    "{job_id}{job_id}{job_id}{job_id}.{ext}",
]
hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["..", ".", "/", "../../etc/passwd", "a/../../b", "~", "\x00", "CON", " "]),
)


@FUZZ
@given(
    template=st.sampled_from(TEMPLATES),
    job_id=hostile_text.filter(bool),
    url=hostile_text.map(lambda t: f"https://cdn.test/{t}"),
    model=hostile_text,
    seed=hostile_text | st.integers(),
    index=st.integers(min_value=0, max_value=10**6),
)
def test_result_names_stay_inside_the_output_dir_and_never_replace_a_file(
    template: str, job_id: str, url: str, model: str, seed: object, index: int
) -> None:
    with scratch() as out:
        path = result_path(
            out, template, job_id=job_id, index=index, url=url, when=datetime.now(UTC),
            model=model, seed=seed,
        )  # fmt: skip
        assert path.resolve().is_relative_to(out.resolve()), path
        assert all(part not in ("", ".", "..") for part in path.relative_to(out).parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"first")
        other = free_path(path)
        assert other != path and not other.exists()
        assert other.parent == path.parent
        assert path.read_bytes() == b"first"


@FUZZ
@given(st.text(max_size=40))
def test_any_template_renders_inside_or_is_refused_with_a_value_error(template: str) -> None:
    values = {"job_id": "../x", "index": "0", "ext": "png", "date": "d"}
    try:
        name = render_name(template, values)
    except ValueError as exc:
        assert template[:10] in str(exc) or str(exc)
        return
    assert not name.is_absolute() and ".." not in name.parts
