"""Missed sessions: a prescription with no logged session on its last 3 due days raises
one `missed_sessions` alert per streak (the streak is named by the last logged day)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.alert.service import raise_alert
from fisioflow.auth.principal import TenantId
from fisioflow.prescription import repository as prescription_repository
from fisioflow.prescription.schedule import local_today, missed_days
from fisioflow.program import repository, schedules
from fisioflow.program.schedules import ItemSchedule

STREAK = 3


async def detect(session: AsyncSession, tenant: TenantId, *, tz: ZoneInfo) -> int:
    """Alerts raised now for the clinic's active prescriptions."""
    active = await prescription_repository.active(session, tenant)
    by_prescription: dict[uuid.UUID, list[ItemSchedule]] = defaultdict(list)
    for schedule in await schedules.for_prescriptions(session, tenant, active, tz=tz):
        by_prescription[schedule.prescription.id].append(schedule)
    today = local_today(tz)
    raised = 0
    for items in by_prescription.values():
        raised += await _check(session, tenant, items, today=today, tz=tz)
    return raised


async def _check(
    session: AsyncSession,
    tenant: TenantId,
    items: list[ItemSchedule],
    *,
    today: dt.date,
    tz: ZoneInfo,
) -> int:
    prescription = items[0].prescription
    last = await repository.last_performed(
        session, tenant, prescription.patient_id, [s.item.id for s in items]
    )
    last_day = last.astimezone(tz).date() if last else None
    missed = missed_days([(s.plans, s.timeline) for s in items], after=last_day, today=today)
    if len(missed) < STREAK:
        return 0
    created = await raise_alert(
        session,
        tenant_id=tenant,
        patient_id=prescription.patient_id,
        practitioner_id=prescription.practitioner_id,
        kind="missed_sessions",
        message=f"No session logged on the last {len(missed)} due days of '{prescription.title}'",
        dedupe_key=f"missed_sessions:{prescription.id}:{last_day or 'never'}",
        details={
            "prescription_id": str(prescription.id),
            "missed_days": [d.isoformat() for d in sorted(missed)],
            "last_logged_on": last_day.isoformat() if last_day else None,
        },
    )
    return int(created)
