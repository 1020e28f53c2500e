"""Per-app auth state: the signing key and the rate limiters."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from fisioflow.auth.ratelimit import RateLimits
from fisioflow.auth.tokens import VerifiedTokens, signing_key
from fisioflow.settings import Settings


@dataclass(frozen=True)
class AuthState:
    signing_key: str
    access_tokens: VerifiedTokens
    limits: RateLimits
    access_minutes: int
    refresh_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthState:
        key = signing_key(settings)
        return cls(
            signing_key=key,
            access_tokens=VerifiedTokens(key),
            limits=RateLimits.from_settings(settings),
            access_minutes=settings.access_token_minutes,
            refresh_days=settings.refresh_token_days,
        )


def auth_state(conn: HTTPConnection) -> AuthState:
    state: AuthState = conn.app.state.auth
    return state
