"""A circuit breaker per channel, kept in the database (table `notification_circuit`) so
every worker process and every host sees the same state and it survives restarts.

Hand-written on purpose: purgatory and aiobreaker keep their state in process memory (or
Redis, which FisioFlow does not require); here the queue's own database is the shared
store, and the whole breaker is three UPDATE statements.

closed --(threshold consecutive failures)--> open --(cooldown)--> half_open
half_open --(success)--> closed; half_open --(failure)--> open
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Breaker:
    threshold: int
    cooldown_s: float

    async def allow(self, session: AsyncSession, channel: str) -> bool:
        """Closed: yes. Open past its cooldown: the first caller moves it to half-open
        and may probe. Otherwise no."""
        state = await session.scalar(
            text(
                """
                update notification_circuit
                   set state = 'half_open', updated_at = now()
                 where channel = :channel
                   and ((state = 'open' and opened_at + make_interval(secs => :cooldown) <= now())
                        -- a prober that died leaves half_open: another may probe later
                        or (state = 'half_open'
                            and updated_at + make_interval(secs => :cooldown) <= now()))
                returning 'probe'
                """
            ),
            {"channel": channel, "cooldown": self.cooldown_s},
        )
        if state == "probe":
            log.info("circuit half-open", extra={"channel": channel})
            return True
        current = await session.scalar(
            text("select state from notification_circuit where channel = :channel"),
            {"channel": channel},
        )
        return bool(current == "closed")

    async def clean(self, session: AsyncSession, channel: str) -> bool:
        found = await session.scalar(
            text(
                "select state = 'closed' and failures = 0 from notification_circuit"
                " where channel = :channel"
            ),
            {"channel": channel},
        )
        return bool(found)

    async def failure(self, session: AsyncSession, channel: str) -> None:
        opened = await session.scalar(
            text(
                """
                update notification_circuit
                   set failures = failures + 1, updated_at = now(),
                       state = case when state = 'half_open' or failures + 1 >= :threshold
                                    then 'open' else state end,
                       opened_at = case when state = 'half_open' or failures + 1 >= :threshold
                                        then now() else opened_at end
                 where channel = :channel
                returning state = 'open'
                """
            ),
            {"channel": channel, "threshold": self.threshold},
        )
        if opened:
            log.warning("circuit open", extra={"channel": channel})

    async def success(self, session: AsyncSession, channel: str) -> None:
        closed = await session.scalar(
            text(
                """
                update notification_circuit set state = 'closed', failures = 0,
                       updated_at = now()
                 where channel = :channel and (state <> 'closed' or failures > 0)
                returning channel
                """
            ),
            {"channel": channel},
        )
        if closed:
            log.info("circuit closed", extra={"channel": channel})

    async def retry_after_s(self, session: AsyncSession, channel: str) -> float:
        seconds = await session.scalar(
            text(
                "select greatest(0, extract(epoch from opened_at"
                " + make_interval(secs => :cooldown) - now()))"
                " from notification_circuit where channel = :channel"
            ),
            {"channel": channel, "cooldown": self.cooldown_s},
        )
        return float(seconds or 0)
