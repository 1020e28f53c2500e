"""Pain alerts raised when a session is logged (or corrected).

- `pain_high`: pain after the session at or above 7/10 (one alert per log).
- `pain_rising`: pain before or after the session at least 3 points above the lowest daily
  average of the previous 7 days (one alert per patient and day).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.alert.service import raise_alert
from fisioflow.auth.principal import TenantId
from fisioflow.models import ExerciseLog
from fisioflow.program import repository
from fisioflow.program.repository import Target

HIGH_PAIN = 7
RISE = 3
WINDOW_DAYS = 7


def day_start(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


async def check(
    session: AsyncSession, tenant: TenantId, log: ExerciseLog, target: Target, *, tz: ZoneInfo
) -> None:
    common: dict[str, Any] = {
        "tenant_id": tenant,
        "patient_id": log.patient_id,
        "practitioner_id": target.practitioner_id,
    }
    day = log.performed_at.astimezone(tz).date()
    details = {"exercise_log_id": str(log.id), "performed_on": day.isoformat()}
    if log.pain_after >= HIGH_PAIN:
        await raise_alert(
            session,
            **common,
            kind="pain_high",
            message=f"Pain {log.pain_after}/10 after an exercise session",
            dedupe_key=f"pain_high:{log.id}",
            details={**details, "pain_before": log.pain_before, "pain_after": log.pain_after},
        )
    rise = await _rise(session, tenant, log, day=day, tz=tz)
    if rise is not None:
        measure, baseline, now = rise
        await raise_alert(
            session,
            **common,
            kind="pain_rising",
            message=f"Pain {measure} rose from {baseline:.1f} to {now}/10 within a week",
            dedupe_key=f"pain_rising:{log.patient_id}:{day.isoformat()}",
            details={**details, "measure": measure, "baseline": baseline, "pain": now},
        )


async def _rise(
    session: AsyncSession, tenant: TenantId, log: ExerciseLog, *, day: dt.date, tz: ZoneInfo
) -> tuple[str, float, int] | None:
    rows = await repository.daily(
        session,
        tenant,
        log.patient_id,
        since=day_start(day - dt.timedelta(days=WINDOW_DAYS), tz),
        until=day_start(day, tz),
        tz=tz.key,
    )
    sums: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        totals = sums[row.day]
        totals[0] += row.sessions
        totals[1] += row.pain_before
        totals[2] += row.pain_after
    if not sums:
        return None
    for index, measure, now in ((1, "before", log.pain_before), (2, "after", log.pain_after)):
        lowest = min(t[index] / t[0] for t in sums.values())
        if now - lowest >= RISE:
            return measure, round(lowest, 1), now
    return None
