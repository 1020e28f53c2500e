"""SQL of patient engagement. Lists are newest first: ids are UUIDv7 (creation order)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from sqlalchemy import (
    Date,
    Float,
    Integer,
    Select,
    cast,
    func,
    literal,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import TenantId
from fisioflow.models import (
    DiaryEntry,
    InternalNote,
    MoodEntry,
    Patient,
    PatientMessage,
    SosEvent,
)

Row = TypeVar("Row", DiaryEntry, MoodEntry, PatientMessage, InternalNote, SosEvent)


@dataclass(frozen=True)
class Window:
    """Half-open [start, end) in UTC, and how to cut it (in the clinic's time zone)."""

    start: dt.datetime
    end: dt.datetime
    bucket: str
    timezone: str


def _newest_first(
    model: type[Row],
    tenant: TenantId,
    patient_id: uuid.UUID,
    *,
    before: uuid.UUID | None,
    limit: int,
) -> Select[Row]:
    statement = (
        select(model)
        .where(model.tenant_id == tenant, model.patient_id == patient_id)
        .order_by(model.id.desc())
        .limit(limit + 1)
    )
    return statement if before is None else statement.where(model.id < before)


async def diary_page(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    *,
    shared_only: bool,
    tag: str | None,
    before: uuid.UUID | None,
    limit: int,
) -> list[DiaryEntry]:
    statement = _newest_first(DiaryEntry, tenant, patient_id, before=before, limit=limit)
    if shared_only:  # RLS hides private rows from staff too; this says so in the query
        statement = statement.where(DiaryEntry.private.is_(False))
    if tag is not None:
        statement = statement.where(DiaryEntry.tags.contains([tag]))
    return list(await session.scalars(statement))


async def diary_entry(
    session: AsyncSession, tenant: TenantId, patient_id: uuid.UUID, entry_id: uuid.UUID
) -> DiaryEntry | None:
    return await session.scalar(
        select(DiaryEntry).where(
            DiaryEntry.tenant_id == tenant,
            DiaryEntry.patient_id == patient_id,
            DiaryEntry.id == entry_id,
        )
    )


async def page(
    session: AsyncSession,
    model: type[Row],
    tenant: TenantId,
    patient_id: uuid.UUID,
    *,
    before: uuid.UUID | None,
    limit: int,
) -> list[Row]:
    statement = _newest_first(model, tenant, patient_id, before=before, limit=limit)
    return list(await session.scalars(statement))


async def mark_read(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    *,
    up_to: uuid.UUID,
    sender_role: str,
    reader: uuid.UUID,
) -> tuple[int, dt.datetime]:
    """Read receipt for `up_to` and every earlier unread message of `sender_role`."""
    now = await session.scalar(select(func.now()))
    assert now is not None
    result = await session.execute(
        update(PatientMessage)
        .where(
            PatientMessage.tenant_id == tenant,
            PatientMessage.patient_id == patient_id,
            PatientMessage.sender_role == sender_role,
            PatientMessage.id <= up_to,
            PatientMessage.read_at.is_(None),
        )
        .values(read_at=now, read_by=reader, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0), now


async def message(
    session: AsyncSession, tenant: TenantId, patient_id: uuid.UUID, message_id: uuid.UUID
) -> PatientMessage | None:
    return await session.scalar(
        select(PatientMessage).where(
            PatientMessage.tenant_id == tenant,
            PatientMessage.patient_id == patient_id,
            PatientMessage.id == message_id,
        )
    )


class UnreadThread(NamedTuple):
    patient_id: uuid.UUID
    patient_name: str
    unread: int
    last_message_at: dt.datetime


async def unread_threads(
    session: AsyncSession, tenant: TenantId, *, treated_by: uuid.UUID | None, limit: int
) -> list[UnreadThread]:
    """Threads with patient messages the clinic has not read, latest first."""
    last = func.max(PatientMessage.created_at)
    statement = (
        select(
            PatientMessage.patient_id,
            func.coalesce(Patient.social_name, Patient.full_name),
            func.count(),
            last,
        )
        .join(
            Patient,
            (Patient.tenant_id == PatientMessage.tenant_id)
            & (Patient.id == PatientMessage.patient_id),
        )
        .where(
            PatientMessage.tenant_id == tenant,
            PatientMessage.sender_role == "patient",
            PatientMessage.read_at.is_(None),
        )
        .group_by(PatientMessage.patient_id, Patient.social_name, Patient.full_name)
        .order_by(last.desc())
        .limit(limit)
    )
    if treated_by is not None:
        statement = statement.where(Patient.practitioner_id == treated_by)
    return [UnreadThread(*row) for row in await session.execute(statement)]


async def sos_recipients(session: AsyncSession) -> list[uuid.UUID]:
    """For the patient acting (app.patient_id): see migration 0013 for why a function."""
    recipients = await session.scalar(text("select sos_recipients()"))
    return list(recipients or [])


async def sos_events(
    session: AsyncSession,
    tenant: TenantId,
    *,
    recipient: uuid.UUID | None,
    open_only: bool,
    before: uuid.UUID | None,
    limit: int,
) -> list[SosEvent]:
    statement = (
        select(SosEvent)
        .where(SosEvent.tenant_id == tenant)
        .order_by(SosEvent.id.desc())
        .limit(limit + 1)
    )
    if recipient is not None:
        statement = statement.where(SosEvent.recipient_user_ids.contains([recipient]))
    if open_only:
        statement = statement.where(SosEvent.acknowledged_at.is_(None))
    if before is not None:
        statement = statement.where(SosEvent.id < before)
    return list(await session.scalars(statement))


async def sos_event(
    session: AsyncSession, tenant: TenantId, event_id: uuid.UUID, *, for_update: bool = False
) -> SosEvent | None:
    statement = select(SosEvent).where(SosEvent.tenant_id == tenant, SosEvent.id == event_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(statement)


class TrendRow(NamedTuple):
    period_start: dt.date | None  # None: the whole window (ROLLUP total)
    mood_average: float | None
    energy_average: float | None
    check_ins: int
    entries: int


async def mood_points(
    session: AsyncSession, tenant: TenantId, patient_id: uuid.UUID, window: Window
) -> list[TrendRow]:
    """Per period: average mood of check-ins and shared diary entries, average energy."""
    check_ins = select(
        MoodEntry.created_at.label("at"),
        cast(MoodEntry.mood, Integer).label("mood"),
        cast(MoodEntry.energy, Integer).label("energy"),
        literal(1).label("check_in"),
    ).where(MoodEntry.tenant_id == tenant, MoodEntry.patient_id == patient_id)
    diary = select(
        DiaryEntry.created_at,
        cast(DiaryEntry.mood, Integer),
        cast(null(), Integer),
        literal(0),
    ).where(
        DiaryEntry.tenant_id == tenant,
        DiaryEntry.patient_id == patient_id,
        DiaryEntry.private.is_(False),
        DiaryEntry.mood.is_not(None),
    )
    points = union_all(
        check_ins.where(MoodEntry.created_at >= window.start, MoodEntry.created_at < window.end),
        diary.where(DiaryEntry.created_at >= window.start, DiaryEntry.created_at < window.end),
    ).subquery()
    period = cast(
        func.date_trunc(window.bucket, func.timezone(window.timezone, points.c.at)), Date
    ).label("period_start")
    statement = (
        select(
            period,
            cast(func.avg(points.c.mood), Float).label("mood_average"),
            cast(func.avg(points.c.energy), Float).label("energy_average"),
            func.sum(points.c.check_in).label("check_ins"),
            func.count().label("entries"),
        )
        .group_by(func.rollup(period))  # the extra row (period null) is the whole window
        .order_by(period.asc().nulls_last())
    )
    return [TrendRow(*row) for row in await session.execute(statement)]
