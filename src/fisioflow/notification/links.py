"""The one-click link of a reminder (`/r/{token}`): HMAC-signed clinic and reminder ids.

The token is short enough for an SMS (≈ 65 characters). What it may do is decided by the
database at use time, not by the token: single use (`reminder.link_used_at`), valid until
the appointment starts, and only for the time the reminder announced (moving the
appointment makes older links void).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

_PURPOSE = b"fisioflow:reminder-link:"


class BadToken(ValueError):
    pass


def make_token(key: str, *, tenant: uuid.UUID, reminder_id: uuid.UUID) -> str:
    body = tenant.bytes + reminder_id.bytes
    return f"{_b64(body)}.{_b64(_mac(key, body))}"


def read_token(key: str, token: str) -> tuple[uuid.UUID, uuid.UUID]:
    """(clinic id, reminder id); BadToken when it was not signed by us."""
    try:
        encoded, signature = token.split(".", 1)
        body = _unb64(encoded)
        given = _unb64(signature)
    except (ValueError, TypeError) as exc:
        raise BadToken("malformed") from exc
    if len(body) != 32 or not hmac.compare_digest(given, _mac(key, body)):
        raise BadToken("bad signature")
    return uuid.UUID(bytes=body[:16]), uuid.UUID(bytes=body[16:])


def _mac(key: str, body: bytes) -> bytes:
    return hmac.new(key.encode(), _PURPOSE + body, hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
