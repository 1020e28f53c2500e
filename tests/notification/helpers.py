"""Shared steps of the notification tests: read and arrange rows as the owner (with the
clinic set, FORCE RLS applies to the owner too), run the jobs' code in process."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fisioflow.core.jobs import in_clinic
from fisioflow.notification import reminders
from fisioflow.notification.delivery import Delivery
from fisioflow.settings import Settings

KEY = "test-secret-key-that-is-long-enough-for-hs256"


async def rows(engine: AsyncEngine, clinic_id: uuid.UUID, sql: str, **params: Any) -> list[Any]:
    async with engine.begin() as conn:
        await conn.execute(
            text("select set_config('app.tenant_id', :t, true)"), {"t": str(clinic_id)}
        )
        result = await conn.execute(text(sql), params)
        return list(result.all()) if result.returns_rows else []


async def reminders_of(
    engine: AsyncEngine, clinic_id: uuid.UUID, appointment_id: str
) -> list[tuple[int, dt.datetime, str]]:
    found = await rows(
        engine,
        clinic_id,
        "select offset_minutes, due_at, status from reminder where appointment_id = :a"
        " order by status, offset_minutes desc",
        a=uuid.UUID(appointment_id),
    )
    return [(r[0], r[1], r[2]) for r in found]


async def make_due(engine: AsyncEngine, clinic_id: uuid.UUID) -> None:
    await rows(
        engine,
        clinic_id,
        "update reminder set due_at = now() - interval '1 second' where status = 'scheduled'",
    )


async def enqueue_due(maker: async_sessionmaker[AsyncSession], clinic_id: uuid.UUID) -> int:
    async with in_clinic(maker, clinic_id, actor="test") as session:
        return await reminders.enqueue_due(
            session, clinic_id, key=KEY, base_url="http://test", limit=1000
        )


async def deliver(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clinic_id: uuid.UUID,
    channel: str = "email",
) -> int:
    delivery = Delivery(maker, settings, clinic_id, channel, actor="test")
    return await delivery.run()


async def statuses(engine: AsyncEngine, clinic_id: uuid.UUID) -> dict[str, int]:
    found = await rows(
        engine, clinic_id, "select status, count(*) from notification group by status"
    )
    return {r[0]: int(r[1]) for r in found}


def zone_at(hour: int) -> str:
    """An Etc/GMT zone whose local time now is `hour`:xx."""
    now = dt.datetime.now(dt.UTC)
    offset = (hour - now.hour + 12) % 24 - 12
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "+0")


def daytime_zone() -> str:
    return zone_at(12)


def night_zone() -> str:
    return zone_at(23)
