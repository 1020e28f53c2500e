"""Sending the outbox of one clinic on one channel: a few lanes in parallel, each with its
own connection to the channel, claiming small batches (`FOR UPDATE SKIP LOCKED`, with a
lease), and recording sent messages through one recorder for all its lanes (a group
commit: recorder.py).

A message is sent at most once: it is marked `sent` (commit) just before it leaves (see
channels.py); a worker killed before that commit leaves it `sending`, and when its lease
runs out any worker claims it again. Transient failures wait with exponential backoff
and full jitter (tenacity's wait strategy), permanent ones go to `dead` with the reason.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import RetryCallState, wait_random_exponential

from fisioflow.core import events
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.jobs import in_clinic
from fisioflow.notification import repository
from fisioflow.notification.breaker import Breaker
from fisioflow.notification.channels import (
    Ambiguous,
    Channel,
    Delivered,
    Outgoing,
    Permanent,
    Transient,
    checked_recipient,
    open_channel,
)
from fisioflow.notification.recorder import Recorder, Release
from fisioflow.notification.render import render
from fisioflow.settings import Settings

log = logging.getLogger(__name__)
QUIET_CHANNELS = ("sms", "whatsapp")
QUIET_START, QUIET_END = dt.time(21, 0), dt.time(8, 0)
CONFIRM_WITHIN_S = 300.0

# Messages this process let go whose "sent" COMMIT failed, until recorded. Invariant: a
# lane of this process that claims one again (its lease ran out while the database was
# away) records it as sent instead of sending it a second time.
_LEFT_UNRECORDED: set[uuid.UUID] = set()


class LeaseLost(Exception):
    """Our lease ran out and another worker claimed the message: it is theirs to send."""


@dataclass(frozen=True)
class Delivery:
    maker: async_sessionmaker[AsyncSession]
    settings: Settings
    clinic_id: uuid.UUID
    channel: str
    actor: str

    @property
    def breaker(self) -> Breaker:
        return Breaker(self.settings.breaker_threshold, self.settings.breaker_cooldown_s)

    async def run(self) -> int:
        """Send until nothing is due (or the circuit opens); returns how many were sent."""
        engine = self.maker.kw["bind"]
        recorder = Recorder(libpq_dsn(engine.url), tenant=self.clinic_id, actor=self.actor)
        try:
            # A task group: a lane that fails stops the others before the recorder they
            # share is closed.
            async with asyncio.TaskGroup() as lanes:
                started = [
                    lanes.create_task(self._lane(recorder))
                    for _ in range(self.settings.notification_lanes)
                ]
            return sum(lane.result() for lane in started)
        finally:
            await recorder.close()

    async def _lane(self, recorder: Recorder) -> int:
        sent = 0
        try:
            client = open_channel(self.settings, self.channel)
        except Transient as exc:
            await self._park_all(str(exc))
            return 0
        try:
            while True:
                batch, clean = await self._claim()
                if not batch:
                    return sent
                for position, row in enumerate(batch):
                    outcome = await self._one(client, recorder, row)
                    sent += outcome == "sent"
                    if outcome == "sent" and not clean:
                        await self._success()
                        clean = True
                    elif outcome == "failed":
                        clean = False
                    elif outcome == "circuit_open":
                        await self._release([r.id for r in batch[position + 1 :]])
                        return sent
        finally:
            await client.close()

    async def _claim(self) -> tuple[list[Any], bool]:
        """A batch, and whether the circuit is clean (closed, no failures counted)."""
        async with in_clinic(self.maker, self.clinic_id, actor=self.actor) as session:
            if not await self.breaker.allow(session, self.channel):
                return [], False
            # Read before the claim: its audit events lock the clinic's audit chain
            # until the commit, so nothing else should be waited for after it.
            clean = await self.breaker.clean(session, self.channel)
            rows = await repository.claim(
                session,
                self.clinic_id,
                self.channel,
                limit=self.settings.notification_batch,
                lease_s=self.settings.notification_lease_s,
            )
            return list(rows), clean

    async def _one(self, client: Channel, recorder: Recorder, row: Any) -> str:
        if row.id in _LEFT_UNRECORDED:
            await recorder.sent(row.id, lambda: None)  # sent before: counted then
            _LEFT_UNRECORDED.discard(row.id)
            return "recorded"
        try:
            recipient = checked_recipient(self.channel, row.recipient)
            message = render(row.template, row.payload)
        except Permanent as exc:
            await self._dead(row.id, str(exc))
            return "dead"
        quiet = quiet_until(dt.datetime.now(dt.UTC), row.timezone)
        if self.channel in QUIET_CHANNELS and not row.urgent and quiet is not None:
            await self._record(row.id, status="pending", error=None, retry_at=quiet, tried=False)
            return "quiet"

        outgoing = Outgoing(recipient, message, row.delivery_key, row.urgent)
        return await self._send(client, recorder, row, outgoing)

    async def _send(self, client: Channel, recorder: Recorder, row: Any, outgoing: Outgoing) -> str:
        notification_id: uuid.UUID = row.id
        left = recorded = False

        async def commit(release: Release) -> None:
            nonlocal left, recorded

            def let_go() -> None:
                nonlocal left
                left = True
                release()

            if not await recorder.sent(notification_id, let_go):
                raise LeaseLost
            recorded = True

        try:
            await client.send(outgoing, commit=commit)
        except Ambiguous as exc:
            log.warning(
                "delivery uncertain",
                extra={"notification": str(notification_id), "error": str(exc)},
            )
        except Delivered as exc:
            await self._confirm(recorder, notification_id, str(exc))
        except Permanent as exc:
            await self._dead(notification_id, str(exc))
            return "dead"
        except Transient as exc:
            return await self._transient(row, str(exc))
        except LeaseLost:
            return "skipped"
        except asyncio.CancelledError:
            # The worker stops (it lost the database) while a COMMIT let go is unanswered.
            if left and not recorded:
                _LEFT_UNRECORDED.add(notification_id)
            raise
        return "sent"

    async def _confirm(self, recorder: Recorder, notification_id: uuid.UUID, error: str) -> None:
        _LEFT_UNRECORDED.add(notification_id)
        within = max(self.settings.notification_lease_s, CONFIRM_WITHIN_S)
        if await recorder.confirm(notification_id, within_s=within):
            _LEFT_UNRECORDED.discard(notification_id)
            return
        log.error(
            "message left but is not recorded as sent yet; another worker may send it again",
            extra={"notification": str(notification_id), "error": error},
        )

    async def _transient(self, row: Any, error: str) -> str:
        attempts = row.attempts + 1
        if attempts >= self.settings.notification_max_attempts:
            await self._dead(row.id, f"gave up after {attempts} attempts: {error}")
        else:
            retry_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self._backoff(attempts))
            await self._record(row.id, status="failed", error=error, retry_at=retry_at)
        async with in_clinic(self.maker, self.clinic_id, actor=self.actor) as session:
            await self.breaker.failure(session, self.channel)
            allowed = await self.breaker.allow(session, self.channel)
        return "failed" if allowed else "circuit_open"

    def _backoff(self, attempt: int) -> float:
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = attempt
        wait = wait_random_exponential(
            multiplier=self.settings.notification_retry_base_s,
            max=self.settings.notification_retry_max_s,
        )
        return max(1.0, float(wait(state)))

    async def _success(self) -> None:
        async with in_clinic(self.maker, self.clinic_id, actor=self.actor) as session:
            await self.breaker.success(session, self.channel)

    async def _dead(self, notification_id: uuid.UUID, reason: str) -> None:
        async with in_clinic(self.maker, self.clinic_id, actor=self.actor) as session:
            await repository.mark_unsent(
                session, self.clinic_id, notification_id, status="dead", error=reason
            )
            await events.publish(
                session, tenant=self.clinic_id, kind="notification.dead", id=notification_id
            )

    async def _record(
        self,
        notification_id: uuid.UUID,
        *,
        status: str,
        error: str | None,
        retry_at: dt.datetime,
        tried: bool = True,
    ) -> None:
        async with in_clinic(self.maker, self.clinic_id, actor=self.actor) as session:
            await repository.mark_unsent(
                session,
                self.clinic_id,
                notification_id,
                status=status,
                error=error,
                retry_at=retry_at,
                attempted=tried,
            )

    async def _release(self, ids: list[uuid.UUID]) -> None:
        """Claimed but not tried (the circuit opened): waiting again, after the cooldown."""
        if not ids:
            return
        async with in_clinic(self.maker, self.clinic_id, actor=self.actor) as session:
            wait = await self.breaker.retry_after_s(session, self.channel)
            retry_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait)
            for notification_id in ids:
                await repository.mark_unsent(
                    session,
                    self.clinic_id,
                    notification_id,
                    status="pending",
                    error=None,
                    retry_at=retry_at,
                    attempted=False,
                )

    async def _park_all(self, reason: str) -> None:
        """The channel is not configured: claimed messages fail (and retry later)."""
        batch, _ = await self._claim()
        for row in batch:
            await self._transient(row, reason)


def quiet_until(now: dt.datetime, timezone: str) -> dt.datetime | None:
    """The end of the clinic's quiet hours (21:00–08:00 local) if `now` is inside them."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if QUIET_END <= local.time() < QUIET_START:
        return None
    day = local.date() if local.time() < QUIET_END else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, QUIET_END, tzinfo=zone)
