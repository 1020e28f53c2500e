"""The backup key: 32 random bytes, base64 in a file (mode 0600).

A file, not an environment variable, because PostgreSQL's WAL archiver (a separate
process, `walcmd.py`) must read the same key. The embedded server's key is created on
first use; for an external database it must be provided, since a key generated on one
app host and lost with it would make every backup unreadable.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from fisioflow.core.sealing import KEY_BYTES, key_id

__all__ = ["BackupKeyError", "create_key_file", "key_id", "load_key", "read_key_file"]


class BackupKeyError(ValueError):
    """The key is missing, unreadable or malformed; the message says what to do."""


def create_key_file(path: Path) -> bytes:
    """Write a new random key; refuses to overwrite one (it would orphan old backups)."""
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise BackupKeyError(f"{path} already exists; a key is never overwritten") from exc
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    return key


def read_key_file(path: Path) -> bytes:
    try:
        text = path.read_text().strip()
    except FileNotFoundError as exc:
        raise BackupKeyError(f"backup key file {path} does not exist") from exc
    except (PermissionError, IsADirectoryError) as exc:
        raise BackupKeyError(f"backup key file {path} is not a readable file") from exc
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        key = b""
    if len(key) != KEY_BYTES:
        raise BackupKeyError(
            f"backup key file {path} must hold {KEY_BYTES} bytes in base64 "
            "(create one with `fisioflow backup keygen`)"
        )
    return key


def load_key(path: Path, *, create: bool) -> bytes:
    """The key at `path`, created first when `create` (the embedded default) allows it."""
    if create and not path.exists():
        try:
            return create_key_file(path)
        except BackupKeyError:
            pass  # another process created it first
    return read_key_file(path)
