"""Turn a validated generate body into what the simulator needs: size, seed, duration, price."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from krea_tui.core.catalog import ModelInfo
from krea_tui.sim.state import JobRequest

RESOLUTION_LONG_SIDE: dict[str, int] = {"1K": 1024, "2K": 2048, "4K": 4096}
DEFAULT_SIDE = 1024
MAX_SIDE = 8192
DEFAULT_SEED = 1337  # the default most model schemas document

# Rough durations for models whose spec gives no "Average Completion Time" (reference §4.4 and
# the CU tables: cheaper models are faster). Anything else takes SimConfig.default_seconds.
DURATION_HINTS: dict[str, float] = {
    "bfl/flux-1.1-pro": 10.0,
    "bfl/flux-1.1-pro-ultra": 15.0,
    "google/imagen-3": 12.0,
    "google/imagen-4": 12.0,
    "google/imagen-4-fast": 6.0,
    "google/imagen-4-ultra": 18.0,
    "google/nano-banana": 10.0,
    "google/nano-banana-2": 12.0,
    "google/nano-banana-pro": 25.0,
    "ideogram/ideogram-2-turbo": 8.0,
    "ideogram/ideogram-3": 15.0,
    "bytedance/seedream-4": 20.0,
    "bytedance/seedream-5-lite": 15.0,
    "krea/krea-2/medium": 12.0,
    "krea/krea-2/large": 20.0,
    "krea/krea-2/medium-turbo": 5.0,
}
DEFAULT_PRICE_USD = 0.01
# Krea's own hosted Flux jobs carry their own type; every other provider's are "externalImage".
FLUX_TYPE_MODELS = frozenset({"bfl/flux-1-dev", "bfl/flux-1-kontext-dev"})


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _field_default(model: ModelInfo, name: str) -> Any:
    spec = model.field(name)
    return spec.default if spec is not None else None


def _ratio(text: Any) -> float | None:
    if not isinstance(text, str) or ":" not in text:
        return None
    left, _, right = text.partition(":")
    try:
        w, h = float(left), float(right)
    except ValueError:
        return None
    return w / h if w > 0 and h > 0 else None


def _clamp(side: float) -> int:
    return max(16, min(MAX_SIDE, round(side)))


def output_size(model: ModelInfo, body: Mapping[str, Any]) -> tuple[int, int]:
    """Pixels of the result: width/height when given, else aspect ratio × resolution."""
    width = _number(body.get("width"))
    height = _number(body.get("height"))
    if width is not None and height is not None:
        return _clamp(width), _clamp(height)
    ratio = _ratio(body.get("aspect_ratio"))
    resolution = body.get("resolution") or _field_default(model, "resolution") or "1K"
    long_side = RESOLUTION_LONG_SIDE.get(str(resolution).upper(), DEFAULT_SIDE)
    if ratio is not None:
        if ratio >= 1:
            return _clamp(long_side), _clamp(long_side / ratio)
        return _clamp(long_side * ratio), _clamp(long_side)
    if width is not None:
        return _clamp(width), _clamp(width)
    if height is not None:
        return _clamp(height), _clamp(height)
    w = _number(_field_default(model, "width"))
    h = _number(_field_default(model, "height"))
    return _clamp(w or long_side), _clamp(h or w or long_side)


def seed_of(model: ModelInfo, body: Mapping[str, Any]) -> int:
    """The request's seed, else the schema's default: the same request always draws the same."""
    seed = _number(body.get("seed"))
    if seed is None:
        seed = _number(_field_default(model, "seed"))
    return int(seed if seed is not None else DEFAULT_SEED) & 0xFFFFFFFF


def price_of(model: ModelInfo, body: Mapping[str, Any]) -> float:
    if model.price_usd is None:
        return DEFAULT_PRICE_USD
    tiers = [usd for name, usd in model.price_usd_when.items() if body.get(name)]
    return max([model.price_usd, *tiers])


def seconds_of(model: ModelInfo, default_seconds: float) -> float:
    if model.avg_seconds:
        return float(model.avg_seconds)
    return DURATION_HINTS.get(model.path, default_seconds)


def job_request(
    model: ModelInfo,
    body: Mapping[str, Any],
    *,
    default_seconds: float,
    webhook_url: str | None,
    base_url: str,
) -> JobRequest:
    """`body` must already be normalised (aliases mapped) and valid for `model`."""
    width, height = output_size(model, body)
    prompt = body.get("prompt")
    return JobRequest(
        model=model.path,
        job_type="flux" if model.path in FLUX_TYPE_MODELS else "externalImage",
        params=dict(body),
        prompt=prompt if isinstance(prompt, str) else "",
        seed=seed_of(model, body),
        width=width,
        height=height,
        seconds=seconds_of(model, default_seconds),
        price_usd=price_of(model, body),
        webhook_url=webhook_url,
        base_url=base_url.rstrip("/"),
    )
