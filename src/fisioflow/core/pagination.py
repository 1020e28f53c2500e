"""Cursor pagination over time-ordered (UUIDv7) ids: stable under inserts, no OFFSET."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from fisioflow.core.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int
    after: uuid.UUID | None


def encode_cursor(last_id: uuid.UUID) -> str:
    raw = json.dumps({"after": str(last_id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        return uuid.UUID(data["after"])
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidInput("invalid cursor", field="cursor") from exc


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PageParams:
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)


def build_page(rows: list[T], *, limit: int, last_id: uuid.UUID | None) -> Page[T]:
    """`rows` holds up to limit + 1 items; the extra one only says there is more."""
    has_more = len(rows) > limit
    return Page(
        items=rows[:limit], next_cursor=encode_cursor(last_id) if has_more and last_id else None
    )
