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
    score: float | None = None  # ranked lists: keyset on (score desc, id)


def encode_cursor(last_id: uuid.UUID, score: float | None = None) -> str:
    data: dict[str, object] = {"after": str(last_id)}
    if score is not None:
        data["score"] = score
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[uuid.UUID, float | None]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        score = data.get("score")
        return uuid.UUID(data["after"]), None if score is None else float(score)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise InvalidInput("invalid cursor", field="cursor") from exc


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PageParams:
    if cursor is None:
        return PageParams(limit=limit, after=None)
    after, score = decode_cursor(cursor)
    return PageParams(limit=limit, after=after, score=score)


def build_page(
    rows: list[T], *, limit: int, last_id: uuid.UUID | None, last_score: float | None = None
) -> Page[T]:
    """`rows` holds up to limit + 1 items; the extra one only says there is more."""
    has_more = len(rows) > limit
    cursor = encode_cursor(last_id, last_score) if has_more and last_id else None
    return Page(items=rows[:limit], next_cursor=cursor)
