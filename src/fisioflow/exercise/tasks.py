"""Jobs of the home-exercise program."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import procrastinate
from sqlalchemy import select

from fisioflow.auth.principal import trusted_tenant
from fisioflow.core.jobs import clinic_ids, in_clinic, sessions, task_name
from fisioflow.models import Clinic
from fisioflow.program import missed


async def detect_missed_sessions(context: procrastinate.JobContext, timestamp: int) -> int:
    """Raise `missed_sessions` alerts, clinic by clinic, in each clinic's timezone.
    Hourly: a clinic's day turns at its own midnight; alerts are deduplicated."""
    maker = sessions(context)
    actor = f"job:{task_name(context)}"
    raised = 0
    for clinic_id in await clinic_ids(maker, actor=actor):
        async with in_clinic(maker, clinic_id, actor=actor) as session:
            timezone = await session.scalar(select(Clinic.timezone).where(Clinic.id == clinic_id))
            tz = ZoneInfo(timezone or "America/Sao_Paulo")
            raised += await missed.detect(session, trusted_tenant(clinic_id), tz=tz)
    return raised


def register(app: procrastinate.App) -> None:
    task = app.task(
        name="exercise.detect_missed_sessions",
        pass_context=True,
        queueing_lock="exercise.detect_missed_sessions",
    )(detect_missed_sessions)
    app.periodic(cron="7 * * * *")(task)
