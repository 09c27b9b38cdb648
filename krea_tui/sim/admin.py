"""The admin endpoint under /_sim/: stats, faults, modes and timelines for tests and benchmarks.

Only mounted when SimConfig.admin_enabled; otherwise these paths are plain 404s. No auth: the
simulator binds loopback and the switch is off by default.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from krea_tui.sim.config import PAYMENT_MODES, RetiredModel

if TYPE_CHECKING:
    from krea_tui.sim.app import Simulator

# Settings that may change while running; each with the type it is coerced to.
_RUNTIME_SETTINGS: dict[str, type] = {
    "speed": float,
    "concurrency": int,
    "backlog": int,
    "fail_rate": float,
    "system_cancel_rate": float,
    "webhook_duplicates": bool,
    "webhook_retries": int,
    "previews": bool,
    "validation_status": int,
    "cancel_conflict_status": int,
    "cursor_key": str,
    "jitter": float,
    "default_seconds": float,
}


def _is_date(value: object) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def _body(request: Request) -> dict[str, Any]:
    data = json.loads(await request.body() or b"{}")
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def routes(sim: Simulator) -> list[Route]:
    """The admin routes bound to one simulator."""

    def snapshot() -> dict[str, Any]:
        out = sim.stats.snapshot()
        out["jobs"] = sim.state.status_counts()
        out["webhooks"] = sim.webhooks.summary()
        out["balance_usd"] = sim.state.balance_usd
        out["charged_usd"] = round(sim.state.charged_usd, 6)
        out["faults"] = sim.config.faults.as_dict()
        out["mode"] = {
            "payment": sim.config.payment_mode,
            "retired": sorted(sim.config.retired),
            "deprecated": dict(sim.config.deprecated),
        }
        out["config"] = {key: getattr(sim.config, key) for key in _RUNTIME_SETTINGS}
        return out

    async def stats(request: Request) -> Response:
        return JSONResponse(snapshot())

    async def faults(request: Request) -> Response:
        try:
            sim.config.faults.update(await _body(request))
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        return JSONResponse(sim.config.faults.as_dict())

    async def mode(request: Request) -> Response:
        try:
            data = await _body(request)
        except ValueError as exc:
            return _bad(str(exc))
        if "payment" in data:
            if data["payment"] not in PAYMENT_MODES:
                return _bad(f"payment must be one of {', '.join(PAYMENT_MODES)}")
            sim.config.payment_mode = data["payment"]
        if "balance_usd" in data:
            value = data["balance_usd"]
            if value is not None and not isinstance(value, int | float):
                return _bad("balance_usd must be a number or null")
            sim.state.balance_usd = None if value is None else float(value)
        if "retired" in data:
            retired: dict[str, RetiredModel] = {}
            for item in data["retired"]:
                if isinstance(item, str):
                    known = sim.config.retired.get(item)
                    retired[item] = known or RetiredModel(path=item)
                elif isinstance(item, dict) and isinstance(item.get("path"), str):
                    fields = {k: item[k] for k in RetiredModel.__dataclass_fields__ if k in item}
                    retired[item["path"]] = RetiredModel(**fields)
                else:
                    return _bad("retired items are model paths or {path, ...} objects")
            sim.config.retired = retired
        if "deprecated" in data:
            deprecated = data["deprecated"]
            if not isinstance(deprecated, dict) or not all(
                _is_date(v) for v in deprecated.values()
            ):
                return _bad("deprecated maps model paths to sunset dates (YYYY-MM-DD)")
            sim.config.deprecated = {str(k): str(v) for k, v in data["deprecated"].items()}
        return JSONResponse(snapshot()["mode"])

    async def config(request: Request) -> Response:
        try:
            data = await _body(request)
            for key, value in data.items():
                kind = _RUNTIME_SETTINGS.get(key)
                if kind is None:
                    raise ValueError(f"unknown or fixed setting: {key}")
                if kind is bool and not isinstance(value, bool):
                    raise ValueError(f"{key} must be true or false")
                if key == "cursor_key" and value not in ("next_cursor", "nextCursor"):
                    raise ValueError("cursor_key must be next_cursor or nextCursor")
                setattr(sim.config, key, kind(value))
            sim.config.__post_init__()  # re-check ranges
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        sim.wake()  # a bigger concurrency may start backlogged jobs now
        return JSONResponse(snapshot()["config"])

    async def outcomes(request: Request) -> Response:
        try:
            data = await _body(request)
            sim.state.force_outcomes(data.get("outcomes", []))
        except (ValueError, TypeError, KeyError) as exc:
            return _bad(str(exc))
        return JSONResponse({"queued": len(data.get("outcomes", []))})

    async def reset(request: Request) -> Response:
        sim.reset()
        return JSONResponse({"reset": True})

    async def timeline(request: Request) -> Response:
        found = sim.state.timeline(request.path_params["job_id"])
        if found is None:
            return JSONResponse({"error": "Job not found."}, status_code=404)
        return JSONResponse(found)

    async def webhooks(request: Request) -> Response:
        return JSONResponse({"deliveries": sim.webhooks.entries(), "pending": sim.webhooks.pending})

    return [
        Route("/_sim/stats", stats, methods=["GET"]),
        Route("/_sim/faults", faults, methods=["POST"]),
        Route("/_sim/mode", mode, methods=["POST"]),
        Route("/_sim/config", config, methods=["POST"]),
        Route("/_sim/outcomes", outcomes, methods=["POST"]),
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/jobs/{job_id}/timeline", timeline, methods=["GET"]),
        Route("/_sim/webhooks", webhooks, methods=["GET"]),
    ]
