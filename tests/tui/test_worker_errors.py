"""A worker that fails anywhere in the app becomes a toast naming the failure; the app runs on."""

from __future__ import annotations

import ast
import contextlib
import importlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.message_pump import MessagePump
from textual.widgets import Static

import krea_tui.tui
from krea_tui.tui.app import KreaApp
from krea_tui.tui.images import SCALED
from krea_tui.tui.screens.contact_sheet import ContactSheet
from krea_tui.tui.screens.modals import MessageModal
from krea_tui.tui.worker_errors import ReportsWorkerFailures
from tests.tui.conftest import settings_in, settle, until
from tests.tui.test_contact_sheet import BATCH, sweep_app


def toasts(app: object) -> str:
    return " ".join(str(toast.render()) for toast in app.screen.query("Toast"))  # type: ignore[attr-defined]


async def test_a_failing_picture_worker_is_reported_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(SCALED, "load", explode)
    app = sweep_app(tmp_path)
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        await settle(pilot)
        app.open_contact_sheet(BATCH)
        await until(pilot, lambda: "decoder exploded" in toasts(app), "the toast", deadline=10)
        assert app.is_running
        assert isinstance(app.screen, ContactSheet)


async def test_an_engine_that_stops_with_an_error_is_a_modal_with_the_reason(
    tmp_path: Path,
) -> None:
    @contextlib.asynccontextmanager
    async def broken_runtime(_settings: object) -> AsyncIterator[None]:
        raise RuntimeError("disk on fire")
        yield

    app = KreaApp(settings_in(tmp_path), runtime_factory=broken_runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, MessageModal), "the modal", deadline=10)
        said = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "the job engine stopped: disk on fire" in said
        assert app.is_running


def worker_starts(tree: ast.AST) -> Iterator[tuple[ast.ClassDef | None, ast.expr]]:
    """Every `@work` / `@work(...)` and `….run_worker(...)` call, with its class."""

    def visit(node: ast.AST, owner: ast.ClassDef | None) -> Iterator[tuple[Any, ast.expr]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                yield from visit(child, child)
                continue
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in child.decorator_list:
                    target = decorator.func if isinstance(decorator, ast.Call) else decorator
                    if isinstance(target, ast.Name) and target.id == "work":
                        yield owner, decorator
            elif (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == "run_worker"
            ):
                yield owner, child
            yield from visit(child, owner)

    yield from visit(tree, None)


def test_every_worker_keeps_the_app_running_and_reports_its_failure() -> None:
    package = Path(krea_tui.tui.__file__).parent
    found = 0
    for path in sorted(package.rglob("*.py")):
        module_name = ".".join(path.relative_to(package.parent.parent).with_suffix("").parts)
        for owner, start in worker_starts(ast.parse(path.read_text())):
            found += 1
            where = f"{module_name}:{start.lineno}"
            keywords = (
                {k.arg: k.value for k in start.keywords} if isinstance(start, ast.Call) else {}
            )
            flag = keywords.get("exit_on_error")
            assert isinstance(flag, ast.Constant) and flag.value is False, (
                f"{where}: a worker without exit_on_error=False ends the app when it fails"
            )
            cls = getattr(importlib.import_module(module_name), owner.name) if owner else None
            if isinstance(cls, type) and issubclass(cls, MessagePump):
                assert issubclass(cls, ReportsWorkerFailures), (
                    f"{where}: {cls.__name__} runs workers but does not pass their failures on"
                )
    assert found >= 6
