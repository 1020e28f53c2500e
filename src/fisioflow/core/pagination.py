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
    after: uuid.UUID | None = None
    score: float | None = None  # ranked lists: keyset on (score desc, id)
    offset: int = 0  # lists ranked by an index walk (name search): position in the ranking


def encode_cursor(
    last_id: uuid.UUID | None = None, score: float | None = None, offset: int | None = None
) -> str:
    data: dict[str, object] = {}
    if last_id is not None:
        data["after"] = str(last_id)
    if score is not None:
        data["score"] = score
    if offset is not None:
        data["offset"] = offset
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, limit: int) -> PageParams:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        after = data.get("after")
        score = data.get("score")
        return PageParams(
            limit=limit,
            after=None if after is None else uuid.UUID(after),
            score=None if score is None else float(score),
            offset=max(0, int(data.get("offset", 0))),
        )
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise InvalidInput("invalid cursor", field="cursor") from exc


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PageParams:
    return PageParams(limit=limit) if cursor is None else decode_cursor(cursor, limit)


def build_page(
    rows: list[T], *, limit: int, last_id: uuid.UUID | None, last_score: float | None = None
) -> Page[T]:
    """`rows` holds up to limit + 1 items; the extra one only says there is more."""
    has_more = len(rows) > limit
    cursor = encode_cursor(last_id, last_score) if has_more and last_id else None
    return Page(items=rows[:limit], next_cursor=cursor)
