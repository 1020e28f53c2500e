"""Cursor pagination over time-ordered (UUIDv7) ids: stable under inserts, no OFFSET."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Annotated, Generic, Protocol, TypeVar

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
    after: uuid.UUID | None = None  # keyset on time-ordered ids
    offset: int = 0  # lists ranked by an index walk (name search): position in the ranking


class HasId(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


def encode_cursor(*, after: uuid.UUID | None = None, offset: int | None = None) -> str:
    data: dict[str, object] = {}
    if after is not None:
        data["after"] = str(after)
    if offset is not None:
        data["offset"] = offset
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, limit: int) -> PageParams:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        after = data.get("after")
        return PageParams(
            limit=limit,
            after=None if after is None else uuid.UUID(after),
            offset=max(0, int(data.get("offset", 0))),
        )
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise InvalidInput("invalid cursor", field="cursor") from exc


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PageParams:
    return PageParams(limit=limit) if cursor is None else decode_cursor(cursor, limit)


Item = TypeVar("Item", bound=HasId)


def build_page(items: list[Item], *, limit: int) -> Page[Item]:
    """`items` holds up to limit + 1 rows in id order; the extra one only says there is
    more, and the cursor points after the last row shown."""
    if len(items) <= limit:
        return Page(items=items, next_cursor=None)
    return Page(items=items[:limit], next_cursor=encode_cursor(after=items[limit - 1].id))
