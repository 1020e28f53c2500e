"""Jobs of the audit module."""

from __future__ import annotations

import procrastinate

from fisioflow.audit import repository
from fisioflow.core.database import Tenancy, transaction
from fisioflow.core.jobs import SYSTEM_ROLE, sessions, task_name

MONTHS_AHEAD = 3


async def create_partitions(context: procrastinate.JobContext, timestamp: int) -> int:
    """Monthly audit partitions for this month and the next MONTHS_AHEAD (idempotent)."""
    tenancy = Tenancy(role=SYSTEM_ROLE, actor=f"job:{task_name(context)}")
    async with transaction(sessions(context), tenancy) as session:
        return await repository.ensure_partitions(session, months_ahead=MONTHS_AHEAD)


def register(app: procrastinate.App) -> None:
    task = app.task(
        name="audit.create_partitions", pass_context=True, queueing_lock="audit.partitions"
    )(create_partitions)
    app.periodic(cron="41 2 * * *")(task)
