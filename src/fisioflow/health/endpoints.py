"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

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
    }
    ok = all(check["status"] == "ok" for check in checks.values())
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
