"""What is due on one day of the patient's program (clinic time)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import Principal
from fisioflow.exercise import repository as exercise_repository
from fisioflow.exercise.schemas import ExerciseSummary
from fisioflow.prescription.schedule import due_on, local_today
from fisioflow.prescription.service import exercise_of
from fisioflow.program import repository, schedules
from fisioflow.program.pain import day_start
from fisioflow.program.schemas import DueItem, ProgramOut
from fisioflow.program.service import own_patient


async def program(
    session: AsyncSession, principal: Principal, day: dt.date | None, *, tz: ZoneInfo
) -> ProgramOut:
    patient_id = own_patient(principal)
    tenant = principal.tenant_id
    day = day or local_today(tz)
    due = []
    for schedule in await schedules.load(session, tenant, patient_id, tz=tz):
        plan, times = due_on(schedule.plans, schedule.timeline, day)
        if plan is not None and times:
            version = next(v for v in schedule.versions if v.id == plan.id)
            due.append((schedule, version, times))
    if not due:
        return ProgramOut(date=day, timezone=tz.key, items=[])
    rows = await repository.daily(
        session,
        tenant,
        patient_id,
        since=day_start(day, tz),
        until=day_start(day + dt.timedelta(days=1), tz),
        tz=tz.key,
    )
    done = {row.item_id: row.sessions for row in rows}
    exercises = await exercise_repository.summaries(
        session, tenant, [exercise_of(version) for _, version, _ in due]
    )
    items = [
        DueItem(
            prescription_id=schedule.prescription.id,
            prescription_title=schedule.prescription.title,
            item_id=schedule.item.id,
            item_version_id=version.id,
            version=version.version,
            exercise=ExerciseSummary.model_validate(exercises[exercise_of(version)]),
            sets=version.sets,
            reps=version.reps,
            hold_seconds=version.hold_seconds,
            duration_seconds=version.duration_seconds,
            load_kg=version.load_kg,
            notes=version.notes,
            times_per_day=times,
            done=done.get(schedule.item.id, 0),
            remaining=max(0, times - done.get(schedule.item.id, 0)),
        )
        for schedule, version, times in due
    ]
    return ProgramOut(date=day, timezone=tz.key, items=items)
