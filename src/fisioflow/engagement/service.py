"""Diary entries, mood check-ins and the mood trend.

The patient writes and reads their own diary (private entries included) and check-ins;
staff (admins, the assigned practitioner) read the shared diary and the trend. A private
entry never reaches staff: the repository asks for shared rows only and RLS drops the
private ones whatever the query.
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission
from fisioflow.auth.principal import Principal
from fisioflow.core.errors import InvalidInput, NotFound
from fisioflow.core.pagination import Page, PageParams, build_page
from fisioflow.core.schemas import validate_as
from fisioflow.engagement import repository
from fisioflow.engagement.access import cared_patient, portal_patient
from fisioflow.engagement.repository import Window
from fisioflow.engagement.schemas import (
    Bucket,
    DiaryEntryIn,
    DiaryEntryOut,
    DiaryEntryUpdate,
    MoodIn,
    MoodOut,
    MoodTrend,
    TrendPoint,
    normalize_tag,
)
from fisioflow.models import DiaryEntry, MoodEntry

MAX_TREND_DAYS = 366
TREND_DEFAULT_DAYS = 30
_NOT_NULL = ("text", "tags", "private")


def stamped(created_at: dt.datetime | None) -> dict[str, dt.datetime]:
    """Columns for a row created at a given moment; none: the database stamps it now."""
    return {} if created_at is None else {"created_at": created_at}


def _diary_out(entry: DiaryEntry) -> DiaryEntryOut:
    return DiaryEntryOut.model_validate(entry)


def _tag_filter(tag: str | None) -> str | None:
    try:
        return None if tag is None else normalize_tag(tag)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="tag") from exc


async def list_own_diary(
    session: AsyncSession, principal: Principal, page: PageParams, *, tag: str | None
) -> Page[DiaryEntryOut]:
    patient_id = portal_patient(principal)
    return await _diary_page(session, principal, patient_id, page, tag=tag, shared_only=False)


async def list_shared_diary(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    page: PageParams,
    *,
    tag: str | None,
) -> Page[DiaryEntryOut]:
    await cared_patient(session, principal, patient_id, Permission.DIARY_READ)
    return await _diary_page(session, principal, patient_id, page, tag=tag, shared_only=True)


async def _diary_page(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    page: PageParams,
    *,
    tag: str | None,
    shared_only: bool,
) -> Page[DiaryEntryOut]:
    rows = await repository.diary_page(
        session,
        principal.tenant_id,
        patient_id,
        shared_only=shared_only,
        tag=_tag_filter(tag),
        before=page.after,
        limit=page.limit,
    )
    return build_page([_diary_out(r) for r in rows], limit=page.limit)


async def create_diary_entry(
    session: AsyncSession,
    principal: Principal,
    body: DiaryEntryIn,
    *,
    created_at: dt.datetime | None = None,  # imports and the demo; the API stamps now
) -> DiaryEntryOut:
    patient_id = portal_patient(principal)
    entry = DiaryEntry(
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        **stamped(created_at),
        **body.model_dump(),
    )
    session.add(entry)
    return await _saved(session, entry)


async def get_diary_entry(
    session: AsyncSession, principal: Principal, entry_id: uuid.UUID
) -> DiaryEntryOut:
    return _diary_out(await _own_entry(session, principal, entry_id))


async def update_diary_entry(
    session: AsyncSession, principal: Principal, entry_id: uuid.UUID, body: DiaryEntryUpdate
) -> DiaryEntryOut:
    entry = await _own_entry(session, principal, entry_id)
    given = body.model_dump(exclude_unset=True)
    for name in _NOT_NULL:
        if name in given and given[name] is None:
            raise InvalidInput(f"{name} cannot be null", field=name)
    current = {name: getattr(entry, name) for name in DiaryEntryIn.model_fields}
    merged = validate_as(DiaryEntryIn, {**current, **given})
    for name, value in merged.model_dump().items():
        setattr(entry, name, value)
    return await _saved(session, entry)


async def delete_diary_entry(
    session: AsyncSession, principal: Principal, entry_id: uuid.UUID
) -> None:
    entry = await _own_entry(session, principal, entry_id)
    await session.delete(entry)
    await session.flush()


async def _own_entry(
    session: AsyncSession, principal: Principal, entry_id: uuid.UUID
) -> DiaryEntry:
    patient_id = portal_patient(principal, on_object=True)
    entry = await repository.diary_entry(session, principal.tenant_id, patient_id, entry_id)
    if entry is None:
        raise NotFound("diary entry not found")
    return entry


async def check_in(
    session: AsyncSession,
    principal: Principal,
    body: MoodIn,
    *,
    created_at: dt.datetime | None = None,  # imports and the demo; the API stamps now
) -> MoodOut:
    patient_id = portal_patient(principal)
    entry = MoodEntry(
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        **stamped(created_at),
        mood=body.mood,
        energy=body.energy,
        note=body.note or None,
    )
    session.add(entry)
    await session.flush()
    await session.refresh(entry)
    return MoodOut.model_validate(entry)


async def list_check_ins(
    session: AsyncSession, principal: Principal, page: PageParams
) -> Page[MoodOut]:
    patient_id = portal_patient(principal)
    rows = await repository.page(
        session, MoodEntry, principal.tenant_id, patient_id, before=page.after, limit=page.limit
    )
    return build_page([MoodOut.model_validate(r) for r in rows], limit=page.limit)


async def mood_trend(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    *,
    timezone: str,
    start: dt.date | None,
    end: dt.date | None,
    bucket: Bucket,
) -> MoodTrend:
    """Averages per day or week (weeks start on Monday), in the clinic's time zone;
    periods without data are left out."""
    await cared_patient(session, principal, patient_id, Permission.DIARY_READ)
    start, end = _trend_dates(start, end, timezone)
    zone = ZoneInfo(timezone)
    window = Window(
        start=dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
        bucket=bucket,
        timezone=timezone,
    )
    rows = await repository.mood_points(session, principal.tenant_id, patient_id, window)
    points = [_point(r) for r in rows if r.period_start is not None]
    total = next((r for r in rows if r.period_start is None), None)
    return MoodTrend(
        patient_id=patient_id,
        from_=start,
        to=end,
        bucket=bucket,
        timezone=timezone,
        mood_average=_rounded(total.mood_average) if total else None,
        energy_average=_rounded(total.energy_average) if total else None,
        points=points,
    )


def _trend_dates(
    start: dt.date | None, end: dt.date | None, timezone: str
) -> tuple[dt.date, dt.date]:
    end = end or dt.datetime.now(ZoneInfo(timezone)).date()
    start = start or end - dt.timedelta(days=TREND_DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInput("`from` must not be after `to`", field="from")
    if (end - start).days >= MAX_TREND_DAYS:
        raise InvalidInput(f"the window spans at most {MAX_TREND_DAYS} days", field="from")
    return start, end


def _point(row: repository.TrendRow) -> TrendPoint:
    return TrendPoint(
        period_start=row.period_start,
        mood_average=_rounded(row.mood_average),
        energy_average=_rounded(row.energy_average),
        check_ins=row.check_ins,
        diary_entries=row.entries - row.check_ins,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


async def _saved(session: AsyncSession, entry: DiaryEntry) -> DiaryEntryOut:
    await session.flush()
    await session.refresh(entry)
    return _diary_out(entry)
