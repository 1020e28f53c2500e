"""The job queue (procrastinate, in the same PostgreSQL): app, worker, tenancy for jobs.

Tasks live in each module's `tasks.py`, whose `register(app)` adds them under the names
"<module>.<verb>" (blueprint namespaces would name them "<module>:<verb>"). A task gets
the SQLAlchemy sessionmaker from the job context (`sessions(context)`) and opens its own
transactions with a Tenancy whose actor is the task name.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
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


def job_app(location: DatabaseLocation) -> procrastinate.App:
    from fisioflow.audit import tasks as audit_tasks
    from fisioflow.auth import tasks as auth_tasks
    from fisioflow.backup import tasks as backup_tasks
    from fisioflow.exercise import tasks as exercise_tasks

    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_dsn(location.app_url), kwargs={"application_name": "fisioflow-worker"}
    )
    app = procrastinate.App(connector=connector)
    auth_tasks.register(app)
    audit_tasks.register(app)
    exercise_tasks.register(app)
    backup_tasks.register(app)
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
            await jobs.run_worker_async(**{**options, "install_signal_handlers": True})
    finally:
        await engine.dispose()


async def queued_jobs(session_or_conn: Any) -> int:
    """Jobs waiting to run (capped: a readiness probe must stay cheap)."""
    count = await session_or_conn.scalar(
        text(
            "select count(*) from (select 1 from procrastinate_jobs "
            "where status = 'todo' limit 10000) waiting"
        )
    )
    return int(count or 0)
