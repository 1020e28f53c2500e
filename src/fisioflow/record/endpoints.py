"""Clinical record (prontuário): a patient's timeline, drafts, signing and addenda."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.core.pagination import Page, PageParams, page_params
from fisioflow.record import service
from fisioflow.record.schemas import (
    AddendumCreate,
    Kind,
    RecordCreate,
    RecordDetail,
    RecordOut,
    RecordUpdate,
    Status,
)

router = APIRouter(prefix=f"{API_V1}/patients/{{patient_id}}/records", tags=["records"])
_READ = documented(401, 404, 422)
_WRITE = documented(401, 403, 404, 409, 422)


@router.get("", responses=_READ)
async def list_records(
    patient_id: uuid.UUID,
    ctx: Auth,
    page: Annotated[PageParams, Depends(page_params)],
    kind: Annotated[list[Kind] | None, Query(description="Repeat to select several")] = None,
    status: Annotated[Status | None, Query()] = None,
) -> Page[RecordOut]:
    """The patient's timeline, newest first."""
    timeline = await service.list_records(
        ctx.session, ctx.principal, patient_id, page, kinds=kind or (), status=status
    )
    ctx.access.viewed("record_entry", patient_id=patient_id, ids=[e.id for e in timeline.items])
    return timeline


@router.post("", status_code=status.HTTP_201_CREATED, responses=_WRITE)
async def create_record(patient_id: uuid.UUID, body: RecordCreate, ctx: Auth) -> RecordOut:
    """A draft entry authored by the caller's practitioner profile."""
    return await service.create_record(ctx.session, ctx.principal, patient_id, body)


@router.get("/{record_id}", responses=_READ)
async def get_record(patient_id: uuid.UUID, record_id: uuid.UUID, ctx: Auth) -> RecordDetail:
    entry = await service.get_record(ctx.session, ctx.principal, patient_id, record_id)
    shown = [entry.id, *(a.id for a in entry.addenda)]
    ctx.access.viewed("record_entry", patient_id=patient_id, ids=shown)
    return entry


@router.patch("/{record_id}", responses=_WRITE)
async def update_record(
    patient_id: uuid.UUID, record_id: uuid.UUID, body: RecordUpdate, ctx: Auth
) -> RecordOut:
    """Drafts only, by their author; a signed entry answers 409 `record_signed`."""
    return await service.update_record(ctx.session, ctx.principal, patient_id, record_id, body)


@router.post("/{record_id}/sign", responses=_WRITE)
async def sign_record(patient_id: uuid.UUID, record_id: uuid.UUID, ctx: Auth) -> RecordOut:
    """Freezes the draft for good and records signed_at, signed_by and the content hash."""
    return await service.sign_record(ctx.session, ctx.principal, patient_id, record_id)


@router.post("/{record_id}/addenda", status_code=status.HTTP_201_CREATED, responses=_WRITE)
async def create_addendum(
    patient_id: uuid.UUID, record_id: uuid.UUID, body: AddendumCreate, ctx: Auth
) -> RecordOut:
    """A correction linked to a signed entry, signed on creation by its author."""
    return await service.create_addendum(ctx.session, ctx.principal, patient_id, record_id, body)
