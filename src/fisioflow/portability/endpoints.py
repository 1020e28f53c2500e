"""Patient data export: GET /api/v1/patients/{id}/export."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.portability import service
from fisioflow.portability.schemas import PatientExport

router = APIRouter(prefix=f"{API_V1}/patients", tags=["patients"])


@router.get("/{patient_id}/export", responses=documented(401, 404))
async def export_patient(patient_id: uuid.UUID, ctx: Auth) -> PatientExport:
    """Everything the clinic holds about one patient that the caller may read, as JSON:
    for the patient themself, the clinic's admins and the patient's practitioner."""
    return await service.export_patient(
        ctx.session,
        principal=ctx.principal,
        identity=ctx.identity,
        access=ctx.access,
        patient_id=patient_id,
    )
