"""What `POST /assets` takes (reference §3.5): JPEG, PNG, WebP, HEIC, MP4, MOV, WebM, GLB, WAV
and MP3, up to 75 MB. The client checks a file against this before uploading it, and the
simulator refuses the same files with the service's 400, so both read the kind of a file from
its first bytes here, never from its name."""

from __future__ import annotations

from dataclasses import dataclass

MAX_ASSET_BYTES = 75 * 1000 * 1000  # "Max 75 MB"
MAX_ASSET_TEXT = "75 MB"
HEAD_BYTES = 64  # enough of a file's start to tell its kind


@dataclass(frozen=True, slots=True)
class AssetKind:
    name: str  # what a person calls it: "PNG", "MP4 video"
    mime: str
    image: bool  # an input image fields take


PNG = AssetKind("PNG", "image/png", True)
JPEG = AssetKind("JPEG", "image/jpeg", True)
WEBP = AssetKind("WebP", "image/webp", True)
HEIC = AssetKind("HEIC", "image/heic", True)
MP4 = AssetKind("MP4 video", "video/mp4", False)
MOV = AssetKind("MOV video", "video/quicktime", False)
WEBM = AssetKind("WebM video", "video/webm", False)
GLB = AssetKind("GLB model", "model/gltf-binary", False)
WAV = AssetKind("WAV audio", "audio/wav", False)
MP3 = AssetKind("MP3 audio", "audio/mpeg", False)

ALLOWED_TEXT = "JPEG, PNG, WebP, HEIC, MP4, MOV, WebM, GLB, WAV or MP3"
IMAGE_TEXT = "JPEG, PNG, WebP or HEIC"
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})


def asset_kind(head: bytes) -> AssetKind | None:
    """The kind of file these first bytes start, or None for one the service does not take."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return HEIC
        return MOV if brand == b"qt  " else MP4
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM
    if head.startswith(b"glTF"):
        return GLB
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return MP3
    return None


@dataclass(frozen=True, slots=True)
class Asset:
    """One uploaded file, as `POST /assets`, `GET /assets` and `GET /assets/{id}` answer it."""

    id: str
    url: str  # the answer's `image_url`, whatever the kind of file
    uploaded_at: str | None = None
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None
    mime_type: str | None = None
    description: str | None = None

    @classmethod
    def from_api(cls, data: object) -> Asset:
        """Tolerant of the documented shape's optional parts; ValueError without id or URL."""
        if not isinstance(data, dict):
            raise ValueError("an asset is a JSON object")
        asset_id = data.get("id")
        url = data.get("image_url", data.get("url"))
        if not isinstance(asset_id, str) or not asset_id:
            raise ValueError("the asset has no id")
        if not isinstance(url, str) or not url:
            raise ValueError("the asset has no image_url")

        def number(key: str) -> int | None:
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            return int(value)

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        return cls(
            id=asset_id,
            url=url,
            uploaded_at=text("uploaded_at"),
            width=number("width"),
            height=number("height"),
            size_bytes=number("size_bytes"),
            mime_type=text("mime_type"),
            description=text("description"),
        )
