"""Optimistic concurrency over HTTP: a row's version as its ETag, checked via If-Match."""

from __future__ import annotations

import re

from fastapi import Response

from fisioflow.core.errors import FisioflowError, InvalidInput

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def parse_if_match(value: str | None, *, noun: str) -> int:
    """The version the client last saw, from `If-Match: "3"` (weak tags accepted)."""
    if value is None:
        raise FisioflowError(
            f"If-Match with the {noun}'s version (its ETag) is required",
            code="precondition_required",
            status=428,
            field="If-Match",
        )
    match = _ETAG.match(value.strip())
    if match is None:
        raise InvalidInput(f'If-Match must be the ETag of the {noun}, like "3"', field="If-Match")
    return int(match.group(1))


def optional_if_match(value: str | None, *, noun: str) -> int | None:
    return None if value is None else parse_if_match(value, noun=noun)
