"""Queue upkeep: jobs stranded by a killed worker go back to the queue.

A worker that dies (SIGKILL, OOM, lost host) leaves its jobs in `doing`. Once its
heartbeat is older than the stalled timeout, `core.retry_stalled_jobs` (every minute)
puts them back to `todo`; every FisioFlow task is safe to run again (the outbox's
delivery keys and leases make sending idempotent).
"""

from __future__ import annotations

import logging

import procrastinate

from fisioflow.core.jobs import job_settings

log = logging.getLogger(__name__)


async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> int:
    settings = job_settings(context)
    manager = context.app.job_manager
    timeout = settings.worker_heartbeat_s * 3
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=timeout))
    for job in stalled:
        log.warning("retrying a stalled job", extra={"job_id": job.id, "task": job.task_name})
        try:
            await manager.retry_job(job)
        except procrastinate.exceptions.UniqueViolation:
            # A job with the same queueing lock is already waiting: it does the work.
            await manager.finish_job(job, status=procrastinate.jobs.Status.ABORTED, delete_job=True)
    await manager.prune_stalled_workers(seconds_since_heartbeat=timeout)
    return len(stalled)


def register(app: procrastinate.App) -> None:
    task = app.task(
        name="core.retry_stalled_jobs", pass_context=True, queueing_lock="core.retry_stalled_jobs"
    )(retry_stalled_jobs)
    app.periodic(cron="* * * * *")(task)
