"""Adherence and pain trend of a patient's home-exercise program."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from fisioflow.adherence import service
from fisioflow.adherence.schemas import AdherenceOut
from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.prescription.endpoints import clinic_tz

router = APIRouter(prefix=f"{API_V1}/patients/{{patient_id}}/adherence", tags=["prescriptions"])


@router.get("", responses=documented(401, 404, 422), response_model_by_alias=True)
async def get_adherence(
    patient_id: uuid.UUID,
    ctx: Auth,
    from_: Annotated[
        dt.date | None, Query(alias="from", description="Default: 27 days before `to`")
    ] = None,
    to: Annotated[dt.date | None, Query(description="Default: today, clinic time")] = None,
) -> AdherenceOut:
    """Sessions done vs due per item and overall, in total and per ISO week, and the
    daily pain trend (mean before and after), between two dates inclusive."""
    report = await service.adherence(
        ctx.session, ctx.principal, patient_id, first=from_, last=to, tz=clinic_tz(ctx)
    )
    ctx.access.viewed("exercise_log", patient_id=patient_id)
    return report
