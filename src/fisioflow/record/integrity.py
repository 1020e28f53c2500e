"""The content hash of a signed entry: SHA-256 over RFC 8785 canonical JSON.

Anyone holding an entry as the API returns it can recompute the hash: take the
`HASHED_FIELDS` of the response, canonicalize them (RFC 8785: sorted keys, no
whitespace, ECMAScript number form) and hash the UTF-8 bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import rfc8785

from fisioflow.models import RecordEntry

HASHED_FIELDS = (
    "id",
    "patient_id",
    "appointment_id",
    "author_id",
    "parent_id",
    "kind",
    "content",
    "diagnoses",
    "vitals",
    "signed_at",
    "signed_by",
)


def utc_text(value: dt.datetime) -> str:
    """The one text form of a timestamp that the hash and the API share."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hashed_document(entry: RecordEntry) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        value = getattr(entry, name)
        if isinstance(value, dt.datetime):
            value = utc_text(value)
        elif value is not None and not isinstance(value, dict | list | str):
            value = str(value)  # UUIDs
        values[name] = value
    return values


def digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()


def content_hash(entry: RecordEntry) -> str:
    return digest(hashed_document(entry))
