"""The history's memory of uploaded inputs: a file's content hash → the asset it became, per API
origin. Every process on the history shares it, so a file a cron `submit` uploaded is reused by
the TUI, and forgotten when the asset turns out to be gone."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from krea_tui.core.asset_types import Asset
from krea_tui.core.clock import utcnow


@dataclass(frozen=True, slots=True)
class UploadRecord:
    sha256: str
    origin: str
    asset_id: str
    url: str
    name: str
    size: int
    uploaded_at: str


class UploadMemory:
    """Mixed into JobStore."""

    _db: sqlite3.Connection

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[None]: ...

    def upload_for(self, sha256: str, origin: str) -> UploadRecord | None:
        row = self._db.execute(
            "SELECT sha256, origin, asset_id, url, name, size, uploaded_at FROM uploads"
            " WHERE sha256 = ? AND origin = ?",
            (sha256, origin),
        ).fetchone()
        return UploadRecord(*row) if row is not None else None

    def remember_upload(
        self, sha256: str, origin: str, asset: Asset, *, name: str, size: int
    ) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO uploads"
                " (sha256, origin, asset_id, url, name, size, uploaded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sha256, origin, asset.id, asset.url, name, size, utcnow().isoformat()),
            )

    def forget_asset(self, asset_id: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM uploads WHERE asset_id = ?", (asset_id,))

    def uploads_by_asset(self, origin: str) -> dict[str, UploadRecord]:
        """What this history uploaded to `origin`, by asset id (names for `krea-tui assets`)."""
        rows = self._db.execute(
            "SELECT sha256, origin, asset_id, url, name, size, uploaded_at FROM uploads"
            " WHERE origin = ?",
            (origin,),
        ).fetchall()
        return {row[2]: UploadRecord(*row) for row in rows}
