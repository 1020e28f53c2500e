"""Patient registry: list/search, create, read, update (If-Match), archive."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status

from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.core.etag import set_etag
from fisioflow.core.pagination import Page, PageParams, page_params
from fisioflow.patient import service
from fisioflow.patient.repository import Filters
from fisioflow.patient.schemas import (
    PatientCreated,
    PatientIn,
    PatientListItem,
    PatientOut,
    PatientUpdate,
    Status,
)
from fisioflow.scheduling import service as scheduling
from fisioflow.user.schemas import InviteOut

router = APIRouter(prefix=f"{API_V1}/patients", tags=["patients"])


@router.get("", responses=documented(401, 403, 422))
async def list_patients(
    ctx: Auth,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=200, description="Name, CPF, phone or email")] = None,
    status: Annotated[Status | None, Query()] = None,
    practitioner_id: Annotated[uuid.UUID | None, Query()] = None,
    include_archived: Annotated[bool, Query()] = False,
) -> Page[PatientListItem]:
    filters = Filters(
        status=status, practitioner_id=practitioner_id, include_archived=include_archived
    )
    return await service.list_patients(ctx.session, ctx.principal, page, q=q, filters=filters)


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(401, 403, 409, 422))
async def create_patient(body: PatientIn, ctx: Auth, response: Response) -> PatientCreated:
    created = await service.create_patient(ctx.session, ctx.principal, body)
    set_etag(response, created.version)
    return created


@router.get("/{patient_id}", responses=documented(401, 404))
async def get_patient(patient_id: uuid.UUID, ctx: Auth, response: Response) -> PatientOut:
    patient = await service.get_patient(ctx.session, ctx.principal, patient_id)
    ctx.access.viewed("patient", patient_id=patient.id, ids=[patient.id])
    set_etag(response, patient.version)
    attendance = await scheduling.attendance(ctx.session, ctx.principal, patient_id)
    return service.out(patient).model_copy(update={"attendance": attendance})


@router.patch("/{patient_id}", responses=documented(401, 404, 409, 412, 422))
async def update_patient(
    patient_id: uuid.UUID,
    body: PatientUpdate,
    ctx: Auth,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> PatientOut:
    patient = await service.update_patient(
        ctx.session, ctx.principal, patient_id, body, if_match=if_match
    )
    set_etag(response, patient.version)
    return service.out(patient)


@router.post("/{patient_id}/archive", responses=documented(401, 404))
async def archive_patient(patient_id: uuid.UUID, ctx: Auth, response: Response) -> PatientOut:
    patient = await service.archive_patient(ctx.session, ctx.principal, patient_id)
    set_etag(response, patient.version)
    return service.out(patient)


@router.post(
    "/{patient_id}/invite",
    status_code=status.HTTP_201_CREATED,
    responses=documented(401, 404, 409, 422),
)
async def invite_patient(patient_id: uuid.UUID, ctx: Auth) -> InviteOut:
    """One-time link token for the patient portal (accept at /api/v1/auth/accept-invite)."""
    invitation = await service.invite_patient(ctx.session, ctx.principal, patient_id)
    return InviteOut(token=invitation.token, expires_at=invitation.expires_at)
