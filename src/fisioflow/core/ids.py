"""Time-ordered UUIDv7 primary keys (uuid-utils), as stdlib `uuid.UUID` values."""

from __future__ import annotations

import uuid

import uuid_utils


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)
