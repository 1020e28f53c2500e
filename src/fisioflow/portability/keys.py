"""The clinic archive's secret: a 32-byte key (base64, `openssl rand -base64 32`, in a
setting or a file) or a passphrase, for an archive that travels to another server."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from fisioflow.core.sealing import KEY_BYTES


class SecretError(ValueError):
    """Bad key material: one line for a person."""


@dataclass(frozen=True, repr=False)
class Secret:
    """A raw 32-byte key or a passphrase (never printed)."""

    key: bytes | None = None
    passphrase: str | None = None


def parse_key(text: str | bytes, *, source: str) -> Secret:
    """A base64 key (32 bytes once decoded), as written by `openssl rand -base64 32`."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretError(f"{source}: not base64 (make one with openssl rand -base64 32)") from exc
    if len(key) != KEY_BYTES:
        raise SecretError(f"{source}: the key must be {KEY_BYTES} bytes, got {len(key)}")
    return Secret(key=key)


def key_from_file(path: Path) -> Secret:
    try:
        return parse_key(path.read_bytes(), source=str(path))
    except OSError as exc:
        raise SecretError(f"cannot read key file {path}: {exc.strerror}") from exc
