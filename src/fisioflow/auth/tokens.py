"""Access tokens (JWT, HS256 pinned) and opaque tokens (refresh, invitation).

Opaque tokens carry the clinic id in clear (`ff<kind>_<tenant hex>_<secret>`) so the
lookup can run under that clinic's RLS; only their SHA-256 is stored.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt

from fisioflow.auth.principal import Principal, Role, TenantId, trusted_tenant
from fisioflow.core.errors import Unauthorized
from fisioflow.settings import Settings

ALGORITHM = "HS256"
ISSUER = "fisioflow"
AUDIENCE = "fisioflow-api"
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "tid", "role", "iss", "aud"]
VERIFIED_TOKENS_KEPT = 4096  # per worker; about 1 KiB each


def signing_key(settings: Settings) -> str:
    configured = settings.secret_key.get_secret_value()
    if configured:
        return configured
    return _data_dir_key(settings.data_dir)


def _data_dir_key(data_dir: Path) -> str:
    """A random key kept in the data folder (mode 0600) when none is configured."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def issue_access_token(principal: Principal, *, key: str, minutes: int) -> str:
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, object] = {
        "sub": str(principal.user_id),
        "tid": str(principal.tenant_id),
        "role": principal.role.value,
        "iat": now,
        "exp": now + dt.timedelta(minutes=minutes),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": uuid.uuid4().hex,
    }
    if principal.patient_id is not None:
        claims["pid"] = str(principal.patient_id)
    return jwt.encode(claims, key, algorithm=ALGORITHM)


class VerifiedTokens:
    """Access tokens that verified with this key, kept (LRU) until they expire.

    A client sends the same access token with every request of its lifetime, and PyJWT's
    verification (HMAC, header, base64 and claim checks) costs about 50 µs of CPU: it
    runs once per token and worker instead of once per request. Only tokens that passed
    it are kept, with their expiry, which is checked on every use as PyJWT checks it
    (expired once `exp <= now`); a rejected token is never kept. Deactivation and role
    changes do not depend on this: the identity is read from the database per request.
    """

    def __init__(self, key: str, *, size: int = VERIFIED_TOKENS_KEPT) -> None:
        @functools.lru_cache(maxsize=size)
        def verify(token: str) -> tuple[Principal, float]:
            return _verified(token, key=key)

        self._verify = verify

    def principal(self, token: str, *, now: float | None = None) -> Principal:
        principal, expires_at = self._verify(token)
        if expires_at <= (time.time() if now is None else now):
            raise Unauthorized("access token expired", code="token_expired")
        return principal


def _verified(token: str, *, key: str) -> tuple[Principal, float]:
    """The token's principal and its `exp` (seconds since the epoch)."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": _REQUIRED_CLAIMS},
        )
        patient = claims.get("pid")
        principal = Principal(
            tenant_id=trusted_tenant(uuid.UUID(claims["tid"])),
            user_id=uuid.UUID(claims["sub"]),
            role=Role(claims["role"]),
            patient_id=uuid.UUID(patient) if patient else None,
        )
        return principal, float(claims["exp"])
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("access token expired", code="token_expired") from exc
    except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
        raise Unauthorized("invalid access token", code="invalid_token") from exc


@dataclass(frozen=True)
class OpaqueToken:
    value: str
    tenant_id: TenantId
    digest: str


def new_opaque_token(kind: str, tenant_id: TenantId) -> OpaqueToken:
    value = f"ff{kind}_{tenant_id.hex}_{secrets.token_urlsafe(32)}"
    return OpaqueToken(value=value, tenant_id=tenant_id, digest=digest(value))


def parse_opaque_token(kind: str, value: str) -> OpaqueToken:
    """Read the clinic from a presented token; its digest is then looked up under RLS."""
    prefix, _, rest = value.partition("_")
    tenant_hex, _, secret = rest.partition("_")
    if prefix != f"ff{kind}" or not secret:
        raise Unauthorized("invalid token", code="invalid_token")
    try:
        tenant = trusted_tenant(uuid.UUID(hex=tenant_hex))
    except ValueError as exc:
        raise Unauthorized("invalid token", code="invalid_token") from exc
    return OpaqueToken(value=value, tenant_id=tenant, digest=digest(value))


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
