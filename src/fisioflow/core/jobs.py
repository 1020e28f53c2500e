"""The job queue (procrastinate, in the same PostgreSQL): app, worker, tenancy for jobs.

Tasks live in each module's `tasks.py`, whose `register(app)` adds them under the names
"<module>.<verb>" (blueprint namespaces would name them "<module>:<verb>"). A task gets
the SQLAlchemy sessionmaker from the job context (`sessions(context)`) and opens its own
transactions with a Tenancy whose actor is the task name.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
import signal
import uuid
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any

import procrastinate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import (
    DatabaseLocation,
    Tenancy,
    create_engine,
    create_sessionmaker,
    transaction,
)
from fisioflow.settings import Settings

SYSTEM_ROLE = "system"
RESTART_RESET_S = 60  # a worker that ran this long restarts with the shortest backoff
RESTART_MAX_S = 10
log = logging.getLogger(__name__)


def job_app(location: DatabaseLocation) -> procrastinate.App:
    from fisioflow.audit import tasks as audit_tasks
    from fisioflow.auth import tasks as auth_tasks
    from fisioflow.backup import tasks as backup_tasks
    from fisioflow.core import maintenance
    from fisioflow.exercise import tasks as exercise_tasks
    from fisioflow.notification import tasks as notification_tasks

    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_dsn(location.app_url), kwargs={"application_name": "fisioflow-worker"}
    )
    app = procrastinate.App(connector=connector)
    auth_tasks.register(app)
    audit_tasks.register(app)
    exercise_tasks.register(app)
    backup_tasks.register(app)
    maintenance.register(app)
    notification_tasks.register(app)
    return app


def worker_options(
    sessions: async_sessionmaker[AsyncSession],
    *,
    location: DatabaseLocation,
    settings: Settings,
    until_empty: bool,
) -> dict[str, Any]:
    return {
        "additional_context": {"sessions": sessions, "location": location, "settings": settings},
        "update_heartbeat_interval": settings.worker_heartbeat_s,
        "stalled_worker_timeout": settings.worker_heartbeat_s * 3,
        "shutdown_graceful_timeout": settings.shutdown_timeout_s,
        "install_signal_handlers": False,
        "wait": not until_empty,
        "concurrency": 4,
        "delete_jobs": "successful",
    }


def sessions(context: procrastinate.JobContext) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = context.additional_context["sessions"]
    return maker


def runtime(context: procrastinate.JobContext) -> tuple[Settings, DatabaseLocation]:
    """Settings and database location, for tasks that work beside the ORM (backups)."""
    extra = context.additional_context
    return extra["settings"], extra["location"]


def job_settings(context: procrastinate.JobContext) -> Settings:
    settings: Settings = context.additional_context["settings"]
    return settings


def task_name(context: procrastinate.JobContext) -> str:
    return context.task.name if context.task else "job"


async def clinic_ids(maker: async_sessionmaker[AsyncSession], *, actor: str) -> list[uuid.UUID]:
    """Every clinic, read through the system_directory policy (ids only)."""
    async with transaction(maker, Tenancy(role=SYSTEM_ROLE, actor=actor)) as session:
        return list(await session.scalars(text("select id from clinic order by id")))


@asynccontextmanager
async def in_clinic(
    maker: async_sessionmaker[AsyncSession], clinic_id: uuid.UUID, *, actor: str
) -> AsyncIterator[AsyncSession]:
    """One clinic's transaction, as a job (no user, no role)."""
    async with transaction(maker, Tenancy(tenant_id=clinic_id, actor=actor)) as session:
        yield session


async def run_worker(
    location: DatabaseLocation, *, settings: Settings, until_empty: bool = False
) -> None:
    """`fisioflow worker`: SIGTERM lets running jobs finish (bounded), then exits."""
    engine = create_engine(location.app_url, settings)
    jobs = job_app(location)
    try:
        async with jobs.open_async():
            options = worker_options(
                create_sessionmaker(engine),
                location=location,
                settings=settings,
                until_empty=until_empty,
            )
            await _until_signalled(supervised(jobs, options))
    finally:
        await engine.dispose()


async def _until_signalled(work: Coroutine[Any, Any, None]) -> None:
    """SIGTERM/SIGINT cancel the work (procrastinate then lets running jobs finish)."""
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(work, name="fisioflow-worker")
    signals = (signal.SIGTERM, signal.SIGINT)
    for number in signals:
        loop.add_signal_handler(number, task.cancel)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        for number in signals:
            loop.remove_signal_handler(number)


async def supervised(jobs: procrastinate.App, options: Mapping[str, Any]) -> None:
    """Run the worker until cancelled (SIGTERM, app shutdown: running jobs get
    `shutdown_timeout_s` to finish). A worker that stops by itself (procrastinate stops
    when its listener or heartbeat loses the database) or fails is started again after a
    backoff with jitter, so the queue resumes once the database is back. Jobs it was
    running are requeued by `core.retry_stalled_jobs`."""
    loop = asyncio.get_running_loop()
    failures = 0
    while True:
        started = loop.time()
        until_empty = not options.get("wait", True)
        try:
            await jobs.run_worker_async(**options)
            if until_empty:
                return
            log.error("job worker stopped by itself (database lost?); restarting")
        except Exception as exc:
            if until_empty:
                raise
            log.error("job worker failed; restarting", extra={"error": repr(exc)})
        failures = 1 if loop.time() - started > RESTART_RESET_S else failures + 1
        # exponential backoff with full jitter, capped
        await asyncio.sleep(random.uniform(0, min(RESTART_MAX_S, 0.5 * 2**failures)))  # noqa: S311


async def queued_jobs(session_or_conn: Any) -> int:
    """Jobs waiting to run (capped: a readiness probe must stay cheap)."""
    count = await session_or_conn.scalar(
        text(
            "select count(*) from (select 1 from procrastinate_jobs "
            "where status = 'todo' limit 10000) waiting"
        )
    )
    return int(count or 0)


# procrastinate's own insert (procrastinate_defer_jobs_v1 in its schema.sql), with
# ON CONFLICT so that a queueing lock already held by a waiting job is a no-op instead of
# an error that would abort the caller's transaction.
_DEFER = text(
    "insert into procrastinate_jobs"
    " (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)"
    " values (:queue, :task, 0, null, :queueing_lock, cast(:args as jsonb), :schedule_at)"
    " on conflict (queueing_lock) where status = 'todo' do nothing returning id"
)


async def defer_in_transaction(
    session: AsyncSession,
    task: str,
    args: Mapping[str, Any],
    *,
    queueing_lock: str | None = None,
    schedule_at: dt.datetime | None = None,
    queue: str = "default",
) -> int | None:
    """Queue a job in the caller's transaction: it exists only if the write commits.

    Returns the job id, or None when a job with the same queueing lock is already
    waiting (that job will do the work)."""
    job_id = await session.scalar(
        _DEFER,
        {
            "queue": queue,
            "task": task,
            "queueing_lock": queueing_lock,
            "args": json.dumps(dict(args), default=str),
            "schedule_at": schedule_at,
        },
    )
    return None if job_id is None else int(job_id)
