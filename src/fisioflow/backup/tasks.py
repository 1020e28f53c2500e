"""Scheduled backups: a nightly dump, a base backup for point-in-time recovery (when the
server archives WAL), a daily verification of the newest dump (by restoring it) and
retention. The work is synchronous (processes and files), so it runs in a thread."""

from __future__ import annotations

import asyncio

import procrastinate
import structlog

from fisioflow.backup.service import Backups
from fisioflow.core.jobs import runtime

log = structlog.get_logger(__name__)


def _backups(context: procrastinate.JobContext) -> Backups | None:
    settings, location = runtime(context)
    if not settings.backup_schedule:
        return None
    return Backups.open(settings, location)


async def create(context: procrastinate.JobContext, timestamp: int) -> str | None:
    """Nightly dump, then retention."""
    backups = _backups(context)
    if backups is None:
        return None
    manifest = await asyncio.to_thread(backups.create, label="scheduled")
    await asyncio.to_thread(backups.prune)
    log.info("backup created", backup_id=manifest.id, bytes=manifest.size)
    return manifest.id


async def base(context: procrastinate.JobContext, timestamp: int) -> str | None:
    """Nightly base backup, the starting point of point-in-time recovery."""
    from fisioflow.backup.pitr import base_backup

    backups = _backups(context)
    if backups is None:
        return None
    manifest = await asyncio.to_thread(base_backup, backups, label="scheduled")
    if manifest is not None:
        log.info("base backup created", backup_id=manifest.id, bytes=manifest.size)
    return None if manifest is None else manifest.id


async def verify(context: procrastinate.JobContext, timestamp: int) -> bool | None:
    """Restore the newest dump into a scratch database and compare every table; the
    result is recorded (backup_verification) and shown by /health/ready."""
    backups = _backups(context)
    if backups is None:
        return None
    newest = await asyncio.to_thread(backups.newest)
    if newest is None:
        log.warning("no backup to verify", where=backups.storage.where)
        return None
    report = await asyncio.to_thread(backups.verify, newest.id)
    if report.ok:
        log.info("backup verified", backup_id=newest.id, seconds=round(report.seconds, 1))
    else:
        log.error("backup verification failed", backup_id=newest.id, failures=report.failures)
    return report.ok


async def prune(context: procrastinate.JobContext, timestamp: int) -> list[str]:
    backups = _backups(context)
    return [] if backups is None else await asyncio.to_thread(backups.prune)


def register(app: procrastinate.App) -> None:
    schedule = {
        "backup.create": (create, "30 2 * * *"),
        "backup.base": (base, "0 3 * * *"),
        "backup.verify": (verify, "30 4 * * *"),
        "backup.prune": (prune, "0 5 * * *"),
    }
    for name, (function, cron) in schedule.items():
        task = app.task(name=name, pass_context=True, queueing_lock=name)(function)
        app.periodic(cron=cron)(task)
