"""Brute-force limits (the `limits` library): in-process memory, or Redis with REDIS_URL."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from fisioflow.core.errors import TooManyRequests
from fisioflow.settings import Settings


@dataclass
class RateLimits:
    limiter: MovingWindowRateLimiter
    login_failures: RateLimitItem
    per_ip: RateLimitItem
    signup: RateLimitItem

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        storage = storage_from_string(settings.redis_url or "memory://")
        return cls(
            limiter=MovingWindowRateLimiter(storage),
            login_failures=parse(
                f"{settings.login_max_failures}/{settings.login_window_minutes} minutes"
            ),
            per_ip=parse(settings.ip_rate_limit),
            signup=parse(settings.signup_rate_limit),
        )

    def hit(self, item: RateLimitItem, *key: str) -> None:
        """Count one attempt; raise 429 when the limit was already reached."""
        if not self.limiter.hit(item, *key):
            raise self._too_many(item, *key)

    def check(self, item: RateLimitItem, *key: str) -> None:
        """Raise 429 if the limit is reached, without counting."""
        if not self.limiter.test(item, *key):
            raise self._too_many(item, *key)

    def _too_many(self, item: RateLimitItem, *key: str) -> TooManyRequests:
        reset_at = self.limiter.get_window_stats(item, *key).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        return TooManyRequests(
            "too many attempts; try again later",
            headers={"Retry-After": str(retry_after)},
        )
