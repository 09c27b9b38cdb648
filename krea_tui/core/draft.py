"""The compose form's draft: what was in it when it was left without sending.

Kept in memory for the session and, when a path is given, in a small JSON file (mode 0600:
prompts can be private) so that it outlives a restart. It holds the form's text as typed,
never a token.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from krea_tui.core.files import atomic_write

log = logging.getLogger(__name__)
VERSION = 1


@dataclass(frozen=True)
class Draft:
    """The form as typed: raw texts, so that a half-typed number is kept too."""

    model: str
    prompt: str = ""
    count: str = "1"
    seed: str = ""
    seed_mode: str = "random"
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"version": VERSION, **asdict(self)}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Draft | None:
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return None
        model = data.get("model")
        fields = data.get("fields", {})
        texts = [data.get(k, "") for k in ("prompt", "count", "seed", "seed_mode")]
        if not isinstance(model, str) or not isinstance(fields, dict):
            return None
        if not all(isinstance(t, str) for t in texts):
            return None
        prompt, count, seed, seed_mode = texts
        return cls(model, prompt, count or "1", seed, seed_mode or "random", fields)


class DraftBox:
    """At most one draft; `path` (optional) keeps it across restarts."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self._draft: Draft | None = None
        self._loaded = path is None

    def get(self) -> Draft | None:
        if not self._loaded:
            self._loaded = True
            assert self.path is not None
            try:
                self._draft = Draft.from_json(self.path.read_text(encoding="utf-8"))
            except OSError:
                self._draft = None
        return self._draft

    def put(self, draft: Draft) -> None:
        self._draft, self._loaded = draft, True
        if self.path is not None:
            try:
                atomic_write(self.path, draft.to_json().encode("utf-8"), mode=0o600)
            except OSError as exc:  # the session copy is still there
                log.warning("compose draft not saved to %s: %s", self.path, exc)

    def clear(self) -> None:
        self._draft, self._loaded = None, True
        if self.path is not None:
            try:
                self.path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("compose draft %s not removed: %s", self.path, exc)
