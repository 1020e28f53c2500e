"""Liveness and readiness probes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from fisioflow.backup.repository import last_good_verification
from fisioflow.core.jobs import queued_jobs
from fisioflow.core.migrations import current_revisions, head_revisions
from fisioflow.core.state import app_state

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "A dependency is not ready"}})
async def ready(request: Request) -> JSONResponse:
    checks: dict[str, dict[str, Any]] = {
        "database": await _database_check(request),
        "jobs": await _jobs_check(request),
        "backup": await _backup_check(request),
    }
    # A warning (e.g. no recently verified backup) is reported but does not fail readiness.
    ok = all(check["status"] in ("ok", "warning") for check in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
    )


async def _database_check(request: Request) -> dict[str, Any]:
    engine = app_state(request).engine
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
            current = await current_revisions(conn)
    except Exception as exc:
        return {"status": "error", "error": type(exc).__name__}
    heads = head_revisions()
    if current != heads:
        return {
            "status": "error",
            "error": "schema_behind",
            "current": sorted(current),
            "expected": sorted(heads),
        }
    return {"status": "ok", "revision": ",".join(sorted(current))}


async def _jobs_check(request: Request) -> dict[str, Any]:
    try:
        async with app_state(request).engine.connect() as conn:
            return {"status": "ok", "queued": await queued_jobs(conn)}
    except Exception as exc:
        return {"status": "error", "error": type(exc).__name__}


async def _backup_check(request: Request) -> dict[str, Any]:
    """Warns when the newest backup proven by a restore is older than the limit."""
    state = app_state(request)
    limit = dt.timedelta(hours=state.settings.backup_verify_max_age_hours)
    try:
        async with state.engine.connect() as conn:
            last = await last_good_verification(conn)
    except Exception as exc:
        return {"status": "warning", "error": type(exc).__name__}
    if last is None:
        return {"status": "warning", "warning": "no backup has passed verification yet"}
    age = dt.datetime.now(dt.UTC) - last["backup_created_at"]
    check: dict[str, Any] = {
        "status": "ok" if age <= limit else "warning",
        "last_verified_backup": last["backup_id"],
        "backup_created_at": last["backup_created_at"].isoformat(),
        "verified_at": last["verified_at"].isoformat(),
        "age_hours": round(age.total_seconds() / 3600, 1),
    }
    if age > limit:
        check["warning"] = (
            f"the newest verified backup is older than {limit.total_seconds() / 3600:.0f} h"
        )
    return check
