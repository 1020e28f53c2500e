"""The outbox's own statements on real rows: what a claim takes (expired leases first,
then waiting messages in due order, never more than the batch) and how the recorder marks
messages sent (one UPDATE with an audit event per message, written with its COMMIT; the
messages of lanes asking together in one transaction; nothing let go for a row that is no
longer ours or for a lane cancelled before its group's COMMIT)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.jobs import in_clinic
from fisioflow.notification import repository
from fisioflow.notification.recorder import Recorder
from tests.fixtures.audit import audit_events
from tests.fixtures.identity import create_clinic
from tests.notification.helpers import rows

# (key, status, lease_until / next_attempt_at relative to now)
OUTBOX = [
    ("stale-late", "sending", "-1 second"),
    ("stale-early", "sending", "-1 minute"),
    ("leased", "sending", "+1 minute"),
    ("due-late", "pending", "-1 second"),
    ("due-early", "failed", "-2 minutes"),
    ("due-middle", "pending", "-1 minute"),
    ("later", "pending", "+1 minute"),
]


async def _outbox(owner_engine: AsyncEngine, clinic_id: uuid.UUID) -> dict[str, uuid.UUID]:
    ids: dict[str, uuid.UUID] = {}
    for key, status, offset in OUTBOX:
        column = "lease_until" if status == "sending" else "next_attempt_at"
        found = await rows(
            owner_engine,
            clinic_id,
            "insert into notification (tenant_id, id, channel, template, recipient,"
            f" delivery_key, status, {column})"
            " values (:t, app_new_id(), 'email', 'appointment_reminder', 'bia@example.com',"
            " :key, :status, now() + cast(:offset as interval)) returning id",
            t=clinic_id,
            key=key,
            status=status,
            offset=offset,
        )
        ids[key] = found[0][0]
    return ids


@asynccontextmanager
async def _recording(
    client: httpx.AsyncClient, app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> AsyncIterator[tuple[uuid.UUID, dict[str, uuid.UUID], Recorder]]:
    """A clinic with the OUTBOX rows and a recorder for it, closed afterwards."""
    clinic = (await create_clinic(client)).clinic_id
    ids = await _outbox(owner_engine, clinic)
    recorder = Recorder(libpq_dsn(app_engine.url), tenant=clinic, actor="job:test")
    try:
        yield clinic, ids, recorder
    finally:
        await recorder.close()


async def _claim(
    maker: async_sessionmaker[AsyncSession], clinic_id: uuid.UUID, limit: int
) -> list[uuid.UUID]:
    async with in_clinic(maker, clinic_id, actor="test") as session:
        claimed = await repository.claim(session, clinic_id, "email", limit=limit, lease_s=600)
        return [r.id for r in claimed]


class TestClaim:
    async def test_expired_leases_first_then_due_messages_in_order_up_to_the_batch(
        self,
        client: httpx.AsyncClient,
        app_sessionmaker: async_sessionmaker[AsyncSession],
        owner_engine: AsyncEngine,
    ) -> None:
        clinic = (await create_clinic(client)).clinic_id
        ids = await _outbox(owner_engine, clinic)

        first = await _claim(app_sessionmaker, clinic, 3)
        assert sorted(first) == sorted(ids[k] for k in ("stale-early", "stale-late", "due-early"))
        second = await _claim(app_sessionmaker, clinic, 3)
        assert sorted(second) == sorted(ids[k] for k in ("due-middle", "due-late"))
        assert await _claim(app_sessionmaker, clinic, 3) == []

        found = await rows(
            owner_engine,
            clinic,
            "select delivery_key from notification"
            " where status = 'sending' and lease_until > now() + interval '5 minutes'",
        )
        assert sorted(r[0] for r in found) == sorted(k for k in ids if k not in ("leased", "later"))


class TestRecorder:
    async def test_marks_sent_once_with_its_audit_event_and_lets_go_nothing_after(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine, owner_engine: AsyncEngine
    ) -> None:
        released: list[str] = []
        async with _recording(client, app_engine, owner_engine) as (clinic, ids, recorder):
            message = ids["leased"]
            assert await recorder.sent(message, lambda: released.append("first"))
            assert not await recorder.sent(message, lambda: released.append("second"))
            # a message waiting (not claimed) is not ours either
            assert not await recorder.sent(ids["later"], lambda: released.append("later"))

        assert released == ["first"]
        found = await rows(
            owner_engine,
            clinic,
            "select status, sent_at is not null, attempts, lease_until from notification"
            " where id = :id",
            id=message,
        )
        assert found == [("sent", True, 1, None)]
        events = await audit_events(
            owner_engine,
            clinic,
            where="table_name = 'notification' and record_id = :id and operation = 'UPDATE'",
            id=message,
        )
        assert len(events) == 1
        assert events[0]["actor"] == "job:test"
        assert events[0]["new_values"]["status"] == "sent"
        assert "sent_at" in events[0]["changed_fields"]


class TestGroupCommit:
    async def test_messages_asked_for_together_are_recorded_in_one_transaction(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine, owner_engine: AsyncEngine
    ) -> None:
        mine = ["stale-late", "stale-early", "leased"]
        released: list[str] = []
        async with _recording(client, app_engine, owner_engine) as (clinic, ids, recorder):
            answers = await asyncio.gather(
                *(
                    recorder.sent(ids[key], lambda key=key: released.append(key))  # type: ignore[misc]
                    for key in [*mine, "later"]
                )
            )

        assert answers == [True, True, True, False]  # a waiting message is not ours
        assert sorted(released) == sorted(mine)
        found = await rows(
            owner_engine,
            clinic,
            "select status, count(distinct xmin::text) from notification"
            " where id = any(:ids) group by 1",
            ids=[ids[key] for key in mine],
        )
        assert found == [("sent", 1)]  # one transaction for the three
        events = await audit_events(
            owner_engine,
            clinic,
            where="table_name = 'notification' and operation = 'UPDATE'",
        )
        assert sorted(e["record_id"] for e in events) == sorted(ids[key] for key in mine)

    async def test_a_lane_cancelled_before_its_commit_withdraws_its_message(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine, owner_engine: AsyncEngine
    ) -> None:
        released: list[str] = []
        async with _recording(client, app_engine, owner_engine) as (clinic, ids, recorder):
            kept = asyncio.create_task(
                recorder.sent(ids["leased"], lambda: released.append("kept"))
            )
            gone = asyncio.create_task(
                recorder.sent(ids["stale-late"], lambda: released.append("gone"))
            )
            await asyncio.sleep(0)  # both asked; the group is still on its way
            gone.cancel()
            assert await kept
            with pytest.raises(asyncio.CancelledError):
                await gone

        assert released == ["kept"]
        found = await rows(
            owner_engine,
            clinic,
            "select delivery_key, status from notification where id = any(:ids) order by 1",
            ids=[ids["leased"], ids["stale-late"]],
        )
        assert found == [("leased", "sent"), ("stale-late", "sending")]
