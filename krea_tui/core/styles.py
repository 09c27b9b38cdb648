"""Styles (LoRAs, reference §3.6): what `GET /styles` answers, the training request built from a
folder of pictures, its price in compute units, and the `styles` field of a generation.

A training is a job of the queue like any other: its model is `styles/train` (KreaClient posts it
to `/styles/train`), so it is stored, watched through `GET /jobs/{id}`, survives restarts, and
its result (`result.style_id`, and a cover picture on the simulator) arrives as every job's does.
The pictures are uploaded as assets before the job is queued, so the stored request names URLs
the service can read whenever the job is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from krea_tui.core.asset_types import HEAD_BYTES, MAX_ASSET_BYTES, asset_kind

TRAIN_MODEL = "styles/train"  # the queue's model for a training; its endpoint is /styles/train
# Compute units per training step (the OAS description of POST /styles/train). The USD price of
# training is not published.
CU_PER_STEP: dict[str, float] = {
    "flux_dev": 3.0,
    "flux_schnell": 3.4,
    "wan": 3.4,
    "wan22": 5.3,
    "qwen": 8.3,
    "z-image": 2.4,
}
TRAIN_MODELS: tuple[str, ...] = tuple(CU_PER_STEP)
# The two request shapes: Flux/Wan take "Default" (their default) and learning rate/batch size;
# Qwen and Z-Image need the model named and default to "Style".
KREA_FAMILY = frozenset({"qwen", "z-image"})
TRAIN_TYPES: tuple[str, ...] = ("Style", "Object", "Character", "Default")
DEFAULT_TRAIN_STEPS = 1000  # Krea's own script's default
MAX_TRAIN_STEPS = 2000
MAX_TRAIN_IMAGES = 2000  # Krea's own script's upper bound
# Filters of `GET /styles` a person asks for, by the word the CLI and the screen use.
FILTERS: dict[str, str] = {
    "all": "all",
    "mine": "user",
    "shared": "shared",
    "krea": "krea",
    "community": "community",
    "public": "public",
}
STRENGTH_RANGE = (-2.0, 2.0)
DEFAULT_STRENGTH = 1.0


class StyleProblem(ValueError):
    """A training that cannot be asked for as given: the sentence says why."""


@dataclass(frozen=True, slots=True)
class Style:
    """One style as the service describes it; parsed tolerantly."""

    id: str
    title: str | None = None
    models: tuple[str, ...] = ()
    public: bool = False
    owner_id: str | None = None
    owner_name: str | None = None  # owner None: one of Krea's own
    cover_url: str | None = None
    urls: tuple[str, ...] = ()
    prompt: str = ""
    like_count: int = 0
    created_at: str | None = None

    @classmethod
    def from_api(cls, data: object) -> Style:
        """ValueError when there is no id."""
        if not isinstance(data, Mapping) or not data.get("id"):
            raise ValueError("a style without an id")
        owner = data.get("owner")
        owner_map: Mapping[str, Any] = owner if isinstance(owner, Mapping) else {}
        models = data.get("models")
        urls = data.get("urls")
        likes = data.get("like_count")
        title = data.get("title")
        cover = data.get("cover_url")
        return cls(
            id=str(data["id"]),
            title=str(title) if title is not None else None,
            models=tuple(str(m) for m in models) if isinstance(models, list) else (),
            public=bool(data.get("public")),
            owner_id=str(owner_map["id"]) if owner_map.get("id") is not None else None,
            owner_name=str(owner_map["name"]) if owner_map.get("name") is not None else None,
            cover_url=str(cover) if cover else None,
            urls=tuple(str(u) for u in urls if isinstance(u, str))
            if isinstance(urls, list)
            else (),
            prompt=str(data.get("prompt") or ""),
            like_count=int(likes) if isinstance(likes, int | float) else 0,
            created_at=str(data["created_at"]) if data.get("created_at") else None,
        )

    @property
    def is_krea(self) -> bool:
        return self.owner_id is None and self.owner_name is None

    @property
    def name(self) -> str:
        return self.title or self.id

    @property
    def picture(self) -> str | None:
        return self.cover_url or (self.urls[0] if self.urls else None)

    def whose(self, mine: Iterable[str] = ()) -> str:
        """ "Krea", "mine" (an id of `mine`, the caller's own styles), or the owner's name."""
        if self.id in set(mine):
            return "mine"
        if self.is_krea:
            return "Krea"
        return self.owner_name or self.owner_id or "?"

    def record(self, mine: Iterable[str] = ()) -> dict[str, Any]:
        """What `krea-tui styles --json` prints for it."""
        return {
            "id": self.id,
            "title": self.title,
            "whose": self.whose(mine),
            "models": list(self.models),
            "public": self.public,
            "cover_url": self.picture,
            "prompt": self.prompt,
            "like_count": self.like_count,
            "created_at": self.created_at,
        }


# -- training --------------------------------------------------------------------------------


def training_pictures(folder: Path) -> list[Path]:
    """The pictures of a folder the service takes (JPEG, PNG, WebP, HEIC by their first bytes),
    by name; other files are left out. StyleProblem when there are none or too many."""
    if not folder.is_dir():
        raise StyleProblem(f"{folder}: no such folder")
    found = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        try:
            with path.open("rb") as handle:
                head = handle.read(HEAD_BYTES)
            size = path.stat().st_size
        except OSError:
            continue
        kind = asset_kind(head)
        if kind is not None and kind.image and 0 < size <= MAX_ASSET_BYTES:
            found.append(path)
    if not found:
        raise StyleProblem(f"{folder}: no pictures (JPEG, PNG, WebP or HEIC) to train on")
    if len(found) > MAX_TRAIN_IMAGES:
        raise StyleProblem(f"{folder}: {len(found)} pictures; at most {MAX_TRAIN_IMAGES}")
    return found


def training_body(
    name: str,
    urls: Sequence[str],
    *,
    model: str = "flux_dev",
    kind: str | None = None,
    trigger: str | None = None,
    steps: int = DEFAULT_TRAIN_STEPS,
) -> dict[str, Any]:
    """The `POST /styles/train` body; StyleProblem naming what is wrong."""
    if not name.strip():
        raise StyleProblem("the style needs a name")
    if model not in CU_PER_STEP:
        raise StyleProblem(f"--model: {model!r} is not one of {', '.join(TRAIN_MODELS)}")
    kinds = [k for k in TRAIN_TYPES if not (model in KREA_FAMILY and k == "Default")]
    if kind is not None and kind not in kinds:
        raise StyleProblem(f"--type: {kind!r} is not one of {', '.join(kinds)} for {model}")
    if not 1 <= steps <= MAX_TRAIN_STEPS:
        raise StyleProblem(f"--steps: {steps} is not from 1 to {MAX_TRAIN_STEPS}")
    if not urls:
        raise StyleProblem("no pictures to train on")
    body: dict[str, Any] = {"name": name, "urls": list(urls), "model": model}
    if kind is not None:
        body["type"] = kind
    if trigger:
        body["trigger_word"] = trigger
    body["max_train_steps"] = steps
    return body


def training_cu(body: Mapping[str, Any]) -> float | None:
    """Compute units of a training body (steps × the model's rate); None if unknown."""
    rate = CU_PER_STEP.get(str(body.get("model", "flux_dev")))
    steps = body.get("max_train_steps", DEFAULT_TRAIN_STEPS)
    if rate is None or not isinstance(steps, int):
        return None
    return round(rate * steps, 1)


def training_summary(body: Mapping[str, Any]) -> str:
    """The line said before a training is sent: pictures, model, steps and the price."""
    pictures = len(body.get("urls", ()))
    model = body.get("model", "flux_dev")
    steps = body.get("max_train_steps", DEFAULT_TRAIN_STEPS)
    kind = body.get("type")
    cu = training_cu(body)
    price = (
        f"est. {steps} steps × ~{CU_PER_STEP[str(model)]:g} CU = {cu:g} CU"
        if cu is not None
        else "cost unknown"
    )
    what = f" ({kind})" if kind else ""
    plural = "s" if pictures != 1 else ""
    return f"style {body.get('name')!r}{what}: {pictures} picture{plural}, {model}, {price}"


class TrainingPricing:
    """`submit.Pricing` for trainings: compute units, as the OAS prices them."""

    def cost_with_unit(
        self, path: str, params: Mapping[str, Any]
    ) -> tuple[float | None, str | None]:
        cu = training_cu(params) if path == TRAIN_MODEL else None
        return (cu, "CU") if cu is not None else (None, None)


# -- the `styles` field of a generation -----------------------------------------------------

# The style model names (a style's `models`) each generation endpoint takes, where known:
# trained LoRAs name the family they were trained on (reference §3.6; k2 and k2-large are the
# newer Krea 2 trainings).
ENDPOINT_STYLE_MODELS: dict[str, frozenset[str]] = {
    "bfl/flux-1-dev": frozenset({"flux_dev"}),
    "qwen/2512": frozenset({"qwen"}),
    "z-image/z-image": frozenset({"z-image"}),
    "krea/krea-2/medium": frozenset({"k2"}),
    "krea/krea-2/medium-turbo": frozenset({"k2"}),
    "krea/krea-2/large": frozenset({"k2-large"}),
}


def fits(style: Style, model_path: str) -> bool | None:
    """Whether `style` is made for the generation model `model_path`; None when unknown."""
    wanted = ENDPOINT_STYLE_MODELS.get(model_path.removeprefix("image/"))
    if wanted is None or not style.models:
        return None
    return bool(wanted & set(style.models))


def with_style(value: Any, style_id: str, strength: float = DEFAULT_STRENGTH) -> list[Any]:
    """The `styles` field with `style_id` at `strength` (its strength changed if there)."""
    low, high = STRENGTH_RANGE
    strength = max(low, min(high, float(strength)))
    items = (
        [dict(item) for item in value if isinstance(item, Mapping)]
        if isinstance(value, list)
        else []
    )
    for item in items:
        if item.get("id") == style_id:
            item["strength"] = strength
            return items
    return [*items, {"id": style_id, "strength": strength}]
