"""Secrets: the API token, even when a broken server or proxy echoes it back in every answer,
is found nowhere it could leak from: the log file, exception messages and reprs, a screenshot
of the TUI, the SQLite history (raw bytes, WAL included), presets, the saved pictures' metadata
and sidecars. The config file holding it is private, TLS verification stays on, and the webhook
receiver takes only what it should.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from krea_tui.config import Settings, load_settings, write_toml
from krea_tui.core import webhooks as webhooks_module
from krea_tui.core.api import KreaClient
from krea_tui.core.errors import KreaError
from krea_tui.core.status import FINAL
from krea_tui.core.webhooks import WebhookReceiver
from krea_tui.presets import Preset, save_preset
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, SimFactory
from tests.integration.engine_support import FLUX, requests_for, running_engine

SECRET = TOKEN_A.split(":")[1]  # the part that matters; the key id alone is not a credential


def leaks(text: str | bytes) -> bool:
    data = text.encode() if isinstance(text, str) else text
    return SECRET.encode() in data


def echo_token(sim: RunningSim) -> None:
    """Make the simulator echo the caller's token in every JSON answer, as a broken server or
    a debugging proxy might: inside every job object, failed jobs' messages, and error bodies."""
    inner = sim.sim.asgi.app

    def poison(value: Any, token: str) -> Any:
        if isinstance(value, dict):
            out = {k: poison(v, token) for k, v in value.items()}
            if "job_id" in out:
                out["note"] = f"requested with Bearer {token}"
                if out.get("status") == "failed":
                    out["error"] = {"code": "x", "message": f"refused for {token}"}
            if isinstance(out.get("error"), str):
                out["error"] += f" (token {token})"
            return out
        if isinstance(value, list):
            return [poison(v, token) for v in value]
        return value

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/results/", "/_sim/")):
            await inner(scope, receive, send)
            return
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").decode().partition(" ")[2]
        start: dict[str, Any] = {}
        body = bytearray()

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                body.extend(message.get("body", b""))

        await inner(scope, receive, capture)
        try:
            data = json.dumps(poison(json.loads(body), token)).encode()
        except ValueError:
            data = bytes(body)
        kept = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        kept.append((b"content-length", str(len(data)).encode()))
        await send({**start, "headers": kept})
        await send({"type": "http.response.body", "body": data})

    sim.sim.asgi.app = app


@contextmanager
def debug_log(path: Path) -> Iterator[None]:
    """Everything every library logs, at DEBUG, to `path` (stricter than the app's INFO)."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def leaking_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file() and leaks(p.read_bytes())]


async def test_an_echoed_token_reaches_no_file_log_event_or_error(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim(fail_rate=0.3, seed=5)
    echo_token(sim)
    log_file = tmp_path / "krea-tui.log"
    seen: list[str] = []
    with debug_log(log_file):
        async with running_engine(sim, tmp_path, preview_dir=tmp_path / "previews") as h:
            jobs = h.engine.enqueue(FLUX, requests_for(6))
            refused = h.engine.enqueue(FLUX, [{"prompt": "x", "steps": 10_000}])  # a 400
            ids = [job.local_id for job in jobs + refused]
            await h.wait_settled(ids, timeout=20)
            assert h.job(refused[0].local_id).error_message  # the server's words, kept...
            done = next(i for i in ids if h.job(i).status == "completed")
            result = await h.engine.cancel(done)  # ...and a refusal shown to the user (409)
            seen.append(result.message)
            assert any(h.job(i).status == "failed" for i in ids[:-1]), "no failed job to echo"
            with pytest.raises(KreaError) as info:
                await h.client.get_job("no-such-job")  # a 404 that echoes
            seen += [str(info.value), repr(info.value), repr(h.client), repr(h.engine.config)]
            seen += [repr(event) for event in h.log.events]
            seen += [repr(h.job(i)) for i in ids]
            request = dict(h.job(done).request)
            # The history, with its WAL, while the engine still has it open...
            assert not leaking_files(tmp_path), "the token is in the history or a result"
    save_preset(Preset("p", FLUX, request), tmp_path / "presets.toml")
    assert log_file.read_text(), "nothing was logged: the check would prove nothing"
    assert [text for text in seen if leaks(text)] == []
    # ...and after: the log, results, sidecars, previews, presets.
    assert leaking_files(tmp_path) == []
    assert any(p.suffix == ".png" for p in (tmp_path / "out").rglob("*"))


async def test_a_screenshot_of_the_app_shows_no_token(make_sim: SimFactory, tmp_path: Path) -> None:
    from krea_tui.tui.app import KreaApp

    sim = make_sim(fail_rate=1.0)  # the detail pane shows the (echoed) failure message
    echo_token(sim)
    settings = Settings(
        base_url=sim.base_url,
        token=TOKEN_A,
        data_dir=tmp_path / "data",
        output_dir=tmp_path / "out",
        min_interval=0.1,
        max_interval=0.2,
    )
    app = KreaApp(settings, image_protocol="halfcell")
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if app.ready:
                break
        app.submit(FLUX, requests_for(2))
        for _ in range(200):
            await pilot.pause(0.05)
            if all(job.status in FINAL for job in app.store.jobs()):
                break
        await pilot.pause(0.2)  # 160 columns: the detail pane shows the server's error text
        screen = app.export_screenshot()
        shown = [job.error_message or "" for job in app.store.jobs()]
    # The echoed failure text was kept (without the token) and is on the screen.
    assert all("refused for [redacted]" in text for text in shown), shown
    assert "refused for" in screen.replace("&#160;", " ")
    assert not leaks(screen)
    assert not leaks(repr(settings)) and not leaks(str(settings))


def test_a_config_file_holding_the_token_is_private_whoever_writes_it(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    write_toml(config, {"token": TOKEN_A, "theme": "nord"})  # a writer that forgot the mode
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    settings, warnings = load_settings(config_path=config, env={})
    assert settings.token == TOKEN_A and warnings == []
    assert not leaks(repr(settings))


async def test_tls_verification_stays_on() -> None:
    async with KreaClient(TOKEN_A) as client:  # the real API's https URL; nothing is sent
        transport = client._http._transport
        context = transport._pool._ssl_context  # type: ignore[attr-defined]
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        assert not leaks(repr(client))


# -- the webhook receiver: what test_webhooks_receiver.py does not cover already ----------------


async def test_a_delivery_trickled_too_slowly_is_dropped_and_the_engine_carries_on(
    sim: RunningSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks_module, "READ_TIMEOUT", 0.3)
    async with (
        running_engine(sim, tmp_path) as h,
        WebhookReceiver(h.engine, path="/hook") as hooks,
    ):
        (job,) = h.engine.enqueue(FLUX, requests_for(1))
        reader, writer = await asyncio.open_connection("127.0.0.1", hooks.port)
        writer.write(b"POST /hook HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(200), 5)  # never sends the other 99 bytes
        writer.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer
        await h.wait_settled([job.local_id])  # polling finished the job regardless


async def test_a_late_delivery_for_a_finished_job_changes_nothing(
    sim: RunningSim, tmp_path: Path
) -> None:
    async with (
        running_engine(sim, tmp_path) as h,
        WebhookReceiver(h.engine, path="/hook") as hooks,
    ):
        (job,) = h.engine.enqueue(FLUX, requests_for(1))
        await h.wait_settled([job.local_id])
        before = h.job(job.local_id)
        forged = {"job_id": before.remote_id, "status": "failed", "result": {"urls": []}}
        async with httpx.AsyncClient(trust_env=False) as raw:
            answer = await raw.post(hooks.local_url, json=forged)
        assert answer.status_code == 200  # ours, so acknowledged: Krea must not retry
        after = h.job(job.local_id)
        assert (after.status, after.urls, after.files) == (
            before.status,
            before.urls,
            before.files,
        )


async def test_doctor_says_nothing_of_an_echoed_token(make_sim: SimFactory) -> None:
    doctor = pytest.importorskip("krea_tui.doctor")  # `krea-tui doctor` is being written
    sim = make_sim()
    echo_token(sim)
    wrong = TOKEN_A.replace("test-secret-a", "test-secret-z")
    cases = {
        "answered and took the token": Settings(base_url=sim.base_url, token=TOKEN_A),
        "refused the token": Settings(base_url=sim.base_url, token=wrong),
        # A 404 whose body echoes the token, printed as the reason the API was not reached.
        "unreachable": Settings(base_url=f"{sim.base_url}/elsewhere", token=TOKEN_A),
    }
    for expected, settings in cases.items():
        text = doctor.report(await doctor.check_api(settings))
        assert expected in text, text
        assert not leaks(text) and "test-secret-z" not in text, text
