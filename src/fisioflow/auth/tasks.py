"""Jobs of the auth module."""

from __future__ import annotations

import procrastinate

from fisioflow.auth import repository
from fisioflow.core.jobs import clinic_ids, in_clinic, sessions, task_name

KEEP_DAYS = 7


async def purge_expired_tokens(context: procrastinate.JobContext, timestamp: int) -> int:
    """Delete refresh and one-time tokens that can no longer be used, clinic by clinic."""
    maker = sessions(context)
    actor = f"job:{task_name(context)}"
    purged = 0
    for clinic_id in await clinic_ids(maker, actor=actor):
        async with in_clinic(maker, clinic_id, actor=actor) as session:
            purged += await repository.purge_dead_tokens(session, clinic_id, keep_days=KEEP_DAYS)
    return purged


def register(app: procrastinate.App) -> None:
    task = app.task(
        name="auth.purge_expired_tokens", pass_context=True, queueing_lock="auth.purge_tokens"
    )(purge_expired_tokens)
    app.periodic(cron="17 3 * * *")(task)
