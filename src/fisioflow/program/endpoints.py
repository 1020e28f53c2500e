"""The patient portal: the day's home-exercise program and logged sessions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status

from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.core.pagination import Page, PageParams, page_params
from fisioflow.prescription.endpoints import clinic_tz
from fisioflow.program import due, service
from fisioflow.program.schemas import LogIn, LogOut, LogUpdate, ProgramOut

router = APIRouter(prefix=f"{API_V1}/me", tags=["patient portal"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Unique per log attempt; a retry with the same key returns the first log",
    ),
]


@router.get("/program", responses=documented(401, 403, 422))
async def my_program(
    ctx: Auth,
    date: Annotated[dt.date | None, Query(description="Default: today, clinic time")] = None,
) -> ProgramOut:
    """The exercises due on that day, with how many sessions are already logged."""
    found = await due.program(ctx.session, ctx.principal, date, tz=clinic_tz(ctx))
    ids = sorted({item.prescription_id for item in found.items})
    ctx.access.viewed("prescription", patient_id=service.own_patient(ctx.principal), ids=ids)
    return found


@router.get("/exercise-logs", responses=documented(401, 403, 422))
async def my_logs(ctx: Auth, page: Annotated[PageParams, Depends(page_params)]) -> Page[LogOut]:
    """The patient's logged sessions, most recently logged first."""
    found = await service.list_logs(ctx.session, ctx.principal, page)
    ids = [log.id for log in found.items]
    ctx.access.viewed("exercise_log", patient_id=service.own_patient(ctx.principal), ids=ids)
    return found


@router.post(
    "/exercise-logs", status_code=status.HTTP_201_CREATED, responses=documented(401, 403, 409, 422)
)
async def log_session(
    body: LogIn, ctx: Auth, response: Response, idempotency_key: IdempotencyKey = None
) -> LogOut:
    """Record a session. A retry with the same Idempotency-Key answers the first log
    (header `Idempotent-Replayed: true`); the same key with another body answers 409."""
    log, replayed = await service.create_log(
        ctx.session, ctx.principal, body, key=idempotency_key, tz=clinic_tz(ctx)
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return log


@router.patch("/exercise-logs/{log_id}", responses=documented(401, 403, 404, 409, 422))
async def correct_log(log_id: uuid.UUID, body: LogUpdate, ctx: Auth) -> LogOut:
    """Correct a log within 24 hours of recording it; later answers 409 `log_frozen`."""
    return await service.update_log(ctx.session, ctx.principal, log_id, body, tz=clinic_tz(ctx))
