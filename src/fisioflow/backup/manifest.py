"""The manifest: what a backup holds and how to prove it, authenticated with the key.

It is stored in clear (listing and pruning need no key) but carries an HMAC made with a
key derived from the backup key, so it cannot be edited unnoticed, and a wrong key is
told apart from a corrupt file before anything is decrypted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any, Literal

import rfc8785
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, ValidationError

from fisioflow.backup.keys import key_id

FORMAT = 1
MANIFEST_NAME = "manifest.json"
Kind = Literal["dump", "base"]


class ManifestError(ValueError):
    """A manifest that is unreadable, edited, or sealed with another key."""


class TableState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rows: int
    checksum: str


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    sha256: str
    bytes: int
    plain_bytes: int


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = FORMAT
    id: str
    kind: Kind
    label: str
    created_at: dt.datetime
    finished_at: dt.datetime
    database: str
    postgres_version: str
    tool_version: str
    alembic_revision: str | None
    key_id: str
    tables: dict[str, TableState]
    files: list[FileEntry]
    wal_start: str | None = None
    timeline: int | None = None

    @property
    def size(self) -> int:
        return sum(entry.bytes for entry in self.files)

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables.values())


def _mac_key(key: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"fisioflow-backup-manifest"
    ).derive(key)


def _mac(body: dict[str, Any], key: bytes) -> str:
    return hmac.new(_mac_key(key), rfc8785.dumps(body), hashlib.sha256).hexdigest()


def seal(manifest: Manifest, key: bytes) -> bytes:
    body = manifest.model_dump(mode="json")
    document = {**body, "hmac": _mac(body, key)}
    return json.dumps(document, indent=2, sort_keys=True).encode() + b"\n"


def parse(raw: bytes, *, source: str) -> tuple[Manifest, str]:
    """The manifest and its HMAC, not yet authenticated (listing needs no key)."""
    try:
        document = json.loads(raw)
        mac = str(document.pop("hmac"))
        return Manifest.model_validate(document), mac
    except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
        raise ManifestError(f"{source}: unreadable manifest") from exc


def authenticate(raw: bytes, key: bytes, *, source: str) -> Manifest:
    manifest, mac = parse(raw, source=source)
    if manifest.key_id != key_id(key):
        raise ManifestError(
            f"wrong backup key: backup {manifest.id} was made with key {manifest.key_id}, "
            f"the configured key is {key_id(key)} (check FISIOFLOW_BACKUP_KEY_FILE)"
        )
    expected = _mac(manifest.model_dump(mode="json"), key)
    if not hmac.compare_digest(expected, mac):
        raise ManifestError(f"{source}: the manifest was modified (its HMAC does not match)")
    return manifest
