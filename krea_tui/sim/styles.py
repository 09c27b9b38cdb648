"""The simulator's styles (LoRAs, reference §3.6): `GET /styles` with its filters and cursor
pages, get, patch, the share link, sharing with the workspace and back, `POST /styles/train`,
and the check of style ids in generation requests.

Where styles come from:
- a small catalogue of Krea's own (owner null) and community styles, public, with covers drawn
  by the simulator (`/style-covers/<id>.png`, public like Krea's CDN);
- training: `POST /styles/train` is a `loraTraining` job in the token's queue like any other
  (its length scales with `max_train_steps`); once it completes, its `result.style_id` is a
  style owned by that token, private until shared. Trained styles are derived from the jobs, so
  a durable simulator (sim/durable.py) has them again after a restart; edits, shares and share
  links live in memory only.

Access rules: a token sees and may use public styles, its own, and those shared with the
workspace (every token of one simulator is a member of its one workspace). Only the owner may
patch, share, unshare or get a share link; a style the token may not see is 404, one it sees but
does not own is 403 for share/unshare (as the OAS documents) and 404 for patch and link.

Unknowns: the service's exact error words for these routes are not documented; the ones here
follow the OAS response descriptions. Training prices are documented in compute units per step
only; the simulator charges an invented USD rate for them.
"""

from __future__ import annotations

import math
import threading
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from krea_tui.sim.assets import UPLOADS_PATH
from krea_tui.sim.images import render_png
from krea_tui.sim.jobs import (
    LIMIT_PROBLEM,
    LORA_TRAINING,
    JobRequest,
    iso_ms,
    page_limit,
    trained_style_id,
)

if TYPE_CHECKING:
    from krea_tui.sim.app import Simulator

TRAIN_PATH = "styles/train"
COVERS_PATH = "/style-covers"
COVER_SIZE = (512, 768)  # portrait, as the listing's previews are
# Training length at speed 1: a fixed start plus a share per step. The real service takes
# 15-45 minutes for ~1000 steps (reference §3.6); the simulator keeps it to about a minute.
TRAIN_BASE_SECONDS = 10.0
TRAIN_SECONDS_PER_STEP = 0.08
DEFAULT_TRAIN_STEPS = 1000  # Krea's own script's default
# Compute units per step (the OAS description of POST /styles/train).
CU_PER_STEP: dict[str, float] = {
    "qwen": 8.3,
    "wan22": 5.3,
    "flux_schnell": 3.4,
    "wan": 3.4,
    "flux_dev": 3.0,
    "z-image": 2.4,
}
USD_PER_CU = 0.0005  # invented: the USD price of training is unpublished
# The two shapes of the training body (oneOf in the OAS): model → allowed types.
SHAPE_A_MODELS = ("flux_dev", "flux_schnell", "wan", "wan22")
SHAPE_B_MODELS = ("qwen", "z-image")
SHAPE_A_TYPES = ("Style", "Object", "Character", "Default")
SHAPE_B_TYPES = ("Style", "Object", "Character")
MAX_TRAIN_URLS = 2000
FILTERS = (
    "all",
    "user",
    "community",
    "krea",
    "shared",
    "unapproved",
    "editor",
    "gallery",
    "public",
)
GALLERY_LIKES = 100  # a "gallery" style is a public one at least this liked
WORKSPACE = {"id": "sim-workspace", "name": "Simulator workspace", "is_default": True}
NOT_OWNER_OR_MEMBER = "You do not own this style or are not a member of the workspace."
NOT_OWNER = "You do not own this style."


class StyleRefused(Exception):
    """A request the service answers with 400 `{"error"}`."""


@dataclass(frozen=True, slots=True)
class Owner:
    id: str
    name: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "avatar_url": None}


def owner_of(token: str) -> Owner:
    """The API user behind a token: its id part when that is a UUID (Krea's tokens are
    `<uuid>:<secret>`), else a UUID derived from it; never the secret itself."""
    head = token.partition(":")[0]
    try:
        user_id = str(uuid.UUID(head))
    except ValueError:
        user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"krea-sim:user:{token}"))
    return Owner(user_id, f"api-user-{user_id[:8]}")


@dataclass(slots=True)
class SimStyle:
    id: str
    title: str | None
    models: list[str]
    prompt: str
    created_ms: int
    public: bool
    owner: Owner | None  # None: one of Krea's own
    token: str | None = None  # the trainer's token
    like_count: int = 0
    liked: bool = False  # by every token (the API has no "like" call to change it)
    cover_url: str | None = None  # None: drawn by the simulator at /style-covers/<id>.png
    urls: list[str] | None = None
    shared: bool = False
    share_link: str | None = None

    def cover(self, base_url: str) -> str:
        return self.cover_url or f"{base_url}{COVERS_PATH}/{self.id}.png"

    def as_json(self, base_url: str) -> dict[str, Any]:
        cover = self.cover(base_url)
        return {
            "id": self.id,
            "title": self.title,
            "urls": list(self.urls) if self.urls is not None else [cover],
            "public": self.public,
            "cover_url": cover,
            "prompt": self.prompt,
            "models": list(self.models),
            "owner": self.owner.as_json() if self.owner is not None else None,
            "like_count": self.like_count,
            "created_at": iso_ms(self.created_ms),
        }


def _seed(
    style_id: str,
    title: str,
    models: list[str],
    day: int,
    owner: str | None = None,
    likes: int = 0,
    liked: bool = False,
) -> SimStyle:
    created = 1_767_225_600_000 + day * 86_400_000 + zlib.crc32(style_id.encode()) % 86_400_000
    person = None
    if owner is not None:
        person = Owner(str(uuid.uuid5(uuid.NAMESPACE_URL, f"krea-sim:person:{owner}")), owner)
    return SimStyle(
        id=style_id,
        title=title,
        models=models,
        prompt=f"{title.lower()} style",
        created_ms=created,
        public=True,
        owner=person,
        like_count=likes,
        liked=liked,
    )


def catalogue() -> list[SimStyle]:
    """Krea's own styles and a few of the community's: what every token sees."""
    return [
        _seed(
            "a816d79d-55c9-43ee-81c3-8330ffe79e6c",
            "Cinematic Film",
            ["flux_dev", "wan"],
            1,
            None,
            412,
        ),
        _seed(
            "3f1c2b7e-9d04-4e55-a1b6-0c8e2f9d5a11", "Watercolor", ["flux_dev"], 3, None, 958, True
        ),
        _seed(
            "c0ffee00-1a2b-4c3d-8e9f-0123456789ab", "Claymation", ["flux_dev", "qwen"], 5, None, 77
        ),
        _seed("5b9e7d21-6c3a-4f8e-b2d1-9a0e4c7f3b62", "Neon Noir", ["wan", "wan22"], 8, None, 230),
        _seed("pgozm164j", "Risograph", ["flux_dev"], 10, "mika", 151, True),
        _seed("q8x2kd0vn", "Pixel Quest", ["flux_dev", "z-image"], 12, "ravi", 64),
        _seed("m3u7wtz9e", "Ukiyo Waves", ["qwen"], 15, "sora", 39),
        _seed("h4r1b0n5k", "Soft Film Grain", ["flux_dev", "wan"], 20, "lee", 12),
    ]


def training_seconds(steps: int) -> float:
    """Nominal length (at speed 1) of a training of `steps` steps."""
    return TRAIN_BASE_SECONDS + TRAIN_SECONDS_PER_STEP * steps


def training_body(body: Any) -> dict[str, Any]:
    """The training body checked against the OAS's two shapes, defaults filled in; raises
    StyleRefused with a sentence naming the field."""
    if not isinstance(body, dict):
        raise StyleRefused("The request body must be a JSON object.")
    model = body.get("model", "flux_dev")
    if model not in SHAPE_A_MODELS + SHAPE_B_MODELS:
        names = ", ".join(SHAPE_A_MODELS + SHAPE_B_MODELS)
        raise StyleRefused(f"model: must be one of {names}.")
    shape_b = model in SHAPE_B_MODELS
    types = SHAPE_B_TYPES if shape_b else SHAPE_A_TYPES
    kind = body.get("type", "Style" if shape_b else "Default")
    if kind not in types:
        raise StyleRefused(f"type: must be one of {', '.join(types)} for model {model}.")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise StyleRefused("name: required, a non-empty string.")
    urls = body.get("urls")
    if not isinstance(urls, list) or not urls:
        raise StyleRefused("urls: required, a non-empty array of image URLs.")
    if len(urls) > MAX_TRAIN_URLS:
        raise StyleRefused(f"urls: at most {MAX_TRAIN_URLS} images.")
    for index, url in enumerate(urls):
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise StyleRefused(f"urls[{index}]: must be an http(s) URL.")
    out: dict[str, Any] = {"model": model, "type": kind, "name": name, "urls": list(urls)}
    trigger = body.get("trigger_word")
    if trigger is not None:
        if not isinstance(trigger, str):
            raise StyleRefused("trigger_word: must be a string.")
        out["trigger_word"] = trigger
    steps = body.get("max_train_steps", DEFAULT_TRAIN_STEPS)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 2000:
        raise StyleRefused("max_train_steps: must be an integer from 1 to 2000.")
    out["max_train_steps"] = steps
    if not shape_b:  # learning_rate and batch_size belong to the Flux/Wan shape only
        rate = body.get("learning_rate")
        if rate is not None:
            if isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0:
                raise StyleRefused("learning_rate: must be a positive number.")
            out["learning_rate"] = rate
        batch = body.get("batch_size")
        if batch is not None:
            if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
                raise StyleRefused("batch_size: must be an integer of at least 1.")
            out["batch_size"] = batch
    return out


def training_request(body: Mapping[str, Any], webhook_url: str | None, base_url: str) -> JobRequest:
    """The job of a checked training body: its result picture is the new style's cover."""
    steps = int(body["max_train_steps"])
    cu = CU_PER_STEP.get(str(body["model"]), 3.0) * steps
    return JobRequest(
        model=TRAIN_PATH,
        job_type=LORA_TRAINING,
        params=dict(body),
        prompt=str(body["name"]),
        seed=zlib.crc32(str(body["name"]).encode()),
        width=COVER_SIZE[0],
        height=COVER_SIZE[1],
        seconds=training_seconds(steps),
        price_usd=round(cu * USD_PER_CU, 6),
        webhook_url=webhook_url,
        base_url=base_url.rstrip("/"),
    )


@dataclass
class _Edits:
    """What PATCH, sharing and the share link changed on a trained style."""

    title: str | None = None
    public: bool | None = None
    urls: list[str] | None = None
    cover_url: str | None = None
    shared: bool = False
    share_link: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class StyleStore:
    """Every style of one simulator. Thread-safe."""

    def __init__(self, trained: Callable[[], list[tuple[Any, str]]]) -> None:
        self._trained = trained  # (SimJob, status) of every loraTraining job
        self._lock = threading.Lock()
        self._catalogue = catalogue()
        self._edits: dict[str, _Edits] = {}

    def reset(self) -> None:
        with self._lock:
            self._catalogue = catalogue()
            self._edits.clear()

    def _all(self) -> list[SimStyle]:
        styles = list(self._catalogue)
        for job, status in self._trained():
            if status != "completed" or job.terminal_at is None:
                continue
            params = job.request.params
            style_id = trained_style_id(job.job_id)
            trigger = params.get("trigger_word") or ""
            style = SimStyle(
                id=style_id,
                title=str(params.get("name")),
                models=[str(params.get("model", "flux_dev"))],
                prompt=f"{trigger} {params.get('name')}".strip() if trigger else "",
                created_ms=max(math.floor(job.terminal_at * 1000), job.created_ms),
                public=False,
                owner=owner_of(job.token),
                token=job.token,
                cover_url=f"{job.request.base_url}/results/{job.job_id}/{job.request.result_name}",
            )
            edits = self._edits.get(style_id)
            if edits is not None:
                style.title = edits.title if edits.title is not None else style.title
                style.public = edits.public if edits.public is not None else style.public
                style.urls = edits.urls
                style.cover_url = edits.cover_url or style.cover_url
                style.shared = edits.shared
                style.share_link = edits.share_link
            styles.append(style)
        return styles

    @staticmethod
    def visible(token: str, style: SimStyle) -> bool:
        return style.public or style.token == token or style.shared

    def find(self, token: str, style_id: str) -> SimStyle | None:
        """The style if this token may see (and use) it."""
        with self._lock:
            for style in self._all():
                if style.id == style_id:
                    return style if self.visible(token, style) else None
        return None

    def listing(
        self,
        token: str,
        *,
        kind: str,
        liked: bool,
        ids: set[str] | None,
        user: str | None,
        model: str | None,
    ) -> list[SimStyle]:
        """Newest first."""
        with self._lock:
            styles = [s for s in self._all() if self.visible(token, s)]
        me = owner_of(token).id

        def wanted(style: SimStyle) -> bool:
            owner = style.owner
            if kind == "user" and style.token != token:
                return False
            if kind == "community" and not (style.public and owner is not None):
                return False
            if kind == "krea" and owner is not None:
                return False
            if kind == "shared" and not style.shared:
                return False
            if kind == "public" and not style.public:
                return False
            if kind == "gallery" and not (style.public and style.like_count >= GALLERY_LIKES):
                return False
            if kind in ("unapproved", "editor"):
                return False  # Krea's moderation views: nothing of an API user's
            if liked and not style.liked:
                return False
            if ids is not None and style.id not in ids:
                return False
            if user is not None:
                names = {owner.id, owner.name} if owner is not None else set()
                if user not in names and not (user == "me" and owner and owner.id == me):
                    return False
            return model is None or model in style.models

        chosen = [s for s in styles if wanted(s)]
        chosen.sort(key=lambda s: (s.created_ms, s.id), reverse=True)
        return chosen

    def edit(self, token: str, style_id: str) -> tuple[str, _Edits | None]:
        """('ok', the owner's edits) | ('missing', None) | ('forbidden', None): seen, not owned."""
        with self._lock:
            for style in self._all():
                if style.id != style_id:
                    continue
                if not self.visible(token, style):
                    return "missing", None
                if style.token != token:
                    return "forbidden", None
                return "ok", self._edits.setdefault(style_id, _Edits())
        return "missing", None

    def usable_problems(self, token: str, body: Mapping[str, Any]) -> list[str]:
        """Each style of a generation body the token may not use, as "field: words"."""
        styles = body.get("styles")
        if not isinstance(styles, list):
            return []
        problems = []
        for index, item in enumerate(styles):
            style_id = item.get("id") if isinstance(item, Mapping) else None
            if isinstance(style_id, str) and self.find(token, style_id) is None:
                problems.append(
                    f"styles[{index}].id: Style {style_id} not found or you do not have "
                    "access to it."
                )
        return problems


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _cursor_key(text: str) -> tuple[int, str]:
    """The (created_ms, id) after which a page starts; ValueError if not one of ours."""
    ms, sep, style_id = text.partition(":")
    if not sep or not ms.isdigit():
        raise ValueError(text)
    return int(ms), style_id


def routes(sim: Simulator) -> list[Route]:
    """The /styles routes bound to one simulator."""
    store: StyleStore = sim.styles

    def authorised(request: Request) -> str | Response:
        token, denied = sim._token(request)
        if token is None:
            return denied or _error(401, "You are not authenticated.")
        return token

    async def search(request: Request) -> Response:
        token = authorised(request)
        if isinstance(token, Response):
            return token
        query = request.query_params
        kind = query.get("filter") or "all"
        if kind not in FILTERS:
            return _error(400, f"filter must be one of: {', '.join(FILTERS)}.")
        liked_text = (query.get("liked") or "false").lower()
        if liked_text not in ("true", "false", "1", "0"):
            return _error(400, "liked must be true or false.")
        limit = page_limit(query)
        if limit is None:
            return _error(400, LIMIT_PROBLEM)
        after = None
        if query.get("cursor"):
            try:
                after = _cursor_key(query["cursor"])
            except ValueError:
                return _error(400, "cursor is not one this service handed out.")
        wanted_ids = {i.strip() for i in query.get("ids", "").split(",") if i.strip()} or None
        styles = store.listing(
            token,
            kind=kind,
            liked=liked_text in ("true", "1"),
            ids=wanted_ids,
            user=query.get("user") or None,
            model=query.get("model") or None,
        )
        if after is not None:
            styles = [s for s in styles if (s.created_ms, s.id) < after]
        page = styles[:limit]
        more = len(styles) > limit
        next_cursor = f"{page[-1].created_ms}:{page[-1].id}" if more and page else None
        base = sim._base_url(request)
        return JSONResponse({"items": [s.as_json(base) for s in page], "next_cursor": next_cursor})

    async def get_one(request: Request) -> Response:
        token = authorised(request)
        if isinstance(token, Response):
            return token
        style_id = request.path_params["style_id"]
        style = store.find(token, style_id)
        if style is None:
            return _error(404, "Style not found")
        return JSONResponse(style.as_json(sim._base_url(request)))

    async def patch(request: Request) -> Response:
        token = authorised(request)
        if isinstance(token, Response):
            return token
        style_id = request.path_params["style_id"]
        _outcome, edits = store.edit(token, style_id)
        if edits is None:
            return _error(404, "Style not found or you are not the owner")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        changes = 0
        if "public" in body and body["public"] is not None:
            if not isinstance(body["public"], bool):
                return _error(400, "public: must be a boolean or null.")
            edits.public = body["public"]
            changes += 1
        if "title" in body:
            if not isinstance(body["title"], str):
                return _error(400, "title: must be a string.")
            edits.title = body["title"]
            changes += 1
        if "urls" in body:
            urls = body["urls"]
            if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
                return _error(400, "urls: must be an array of URLs.")
            edits.urls = list(urls)
            changes += 1
        if "cover_url" in body:
            if not isinstance(body["cover_url"], str):
                return _error(400, "cover_url: must be a string.")
            edits.cover_url = body["cover_url"]
            changes += 1
        if not changes:
            return _error(400, "No valid fields to update")
        style = store.find(token, style_id)
        assert style is not None
        return JSONResponse(style.as_json(sim._base_url(request)))

    async def share_link(request: Request) -> Response:
        token = authorised(request)
        if isinstance(token, Response):
            return token
        style_id = request.path_params["style_id"]
        _outcome, edits = store.edit(token, style_id)
        if edits is None:
            return _error(404, "Style not found or you are not the owner")
        if edits.share_link is not None:
            return JSONResponse({"share_link": edits.share_link, "is_new": False})
        edits.share_link = f"https://www.krea.ai/styles/{style_id}?share={uuid.uuid4().hex[:12]}"
        return JSONResponse({"share_link": edits.share_link, "is_new": True}, status_code=201)

    async def share(request: Request) -> Response:
        token = authorised(request)
        if isinstance(token, Response):
            return token
        style_id = request.path_params["style_id"]
        outcome, edits = store.edit(token, style_id)
        if outcome == "forbidden":
            return _error(403, NOT_OWNER_OR_MEMBER)
        if edits is None:
            return _error(404, "Style not found")
        edits.shared = True
        return JSONResponse({"success": True, "style_id": style_id, "workspace": WORKSPACE})

    async def unshare(request: Request) -> Response:
        token = authorised(request)
        if isinstance(token, Response):
            return token
        style_id = request.path_params["style_id"]
        outcome, edits = store.edit(token, style_id)
        if outcome == "forbidden":
            return _error(403, NOT_OWNER)
        if edits is None or not edits.shared:
            return _error(404, "Style not found or not shared with this workspace")
        edits.shared = False
        return JSONResponse({"success": True})

    async def train(request: Request) -> Response:
        token = authorised(request)
        if isinstance(token, Response):
            return token
        try:
            raw = await request.json()
        except ValueError:
            return _error(400, "The request body is not valid JSON.")
        webhook_url = request.headers.get("x-webhook-url")
        if webhook_url is not None:
            parts = urlsplit(webhook_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                return _error(400, "X-Webhook-URL must be an absolute http(s) URL.")
        try:
            body = training_body(raw)
        except StyleRefused as exc:
            return _error(400, str(exc))
        base = sim._base_url(request)
        for index, url in enumerate(body["urls"]):
            if url.startswith(base + UPLOADS_PATH + "/"):
                asset_id = urlsplit(url).path.split("/")[2]
                if sim.assets.served(asset_id) is None:
                    return _error(
                        400, f"urls[{index}]: the image at {url} could not be fetched (404)."
                    )
        return sim.create_job(token, training_request(body, webhook_url, base))

    async def cover(request: Request) -> Response:
        """A catalogue style's cover. Public, like Krea's CDN: no token needed."""
        name = request.path_params["name"]
        style_id = name.removesuffix(".png")
        style = next((s for s in catalogue() if s.id == style_id), None)
        if style is None or not name.endswith(".png"):
            return _error(404, "Not found.")
        data = await anyio.to_thread.run_sync(
            render_png, "style", style.title or style.id, zlib.crc32(style.id.encode()), *COVER_SIZE
        )
        return Response(
            data,
            media_type="image/png",
            headers={"Cache-Control": "public, max-age=86400", "ETag": f'"{style.id}"'},
        )

    return [
        Route("/styles", search, methods=["GET"]),
        Route("/styles/train", train, methods=["POST"]),
        Route("/styles/{style_id}", get_one, methods=["GET"]),
        Route("/styles/{style_id}", patch, methods=["PATCH"]),
        Route("/styles/{style_id}/share/link", share_link, methods=["GET"]),
        Route("/styles/{style_id}/share/workspace", share, methods=["POST"]),
        Route("/styles/{style_id}/share/workspace", unshare, methods=["DELETE"]),
        Route(COVERS_PATH + "/{name}", cover, methods=["GET", "HEAD"]),
    ]
