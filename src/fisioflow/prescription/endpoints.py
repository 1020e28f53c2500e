"""Home-exercise prescriptions of a patient: items, versions and status changes."""

from __future__ import annotations

import uuid
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, status

from fisioflow.auth.context import Auth, Context
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.core.pagination import Page, PageParams, page_params
from fisioflow.prescription import service
from fisioflow.prescription.schemas import (
    ItemIn,
    ItemUpdate,
    PrescriptionCreate,
    PrescriptionDetail,
    PrescriptionOut,
    PrescriptionUpdate,
    Status,
)

router = APIRouter(prefix=f"{API_V1}/patients/{{patient_id}}/prescriptions", tags=["prescriptions"])
_READ = documented(401, 404, 422)
_WRITE = documented(401, 403, 404, 409, 422)


def clinic_tz(ctx: Context) -> ZoneInfo:
    return ZoneInfo(ctx.identity.timezone)


@router.get("", responses=_READ)
async def list_prescriptions(
    patient_id: uuid.UUID,
    ctx: Auth,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Status | None, Query()] = None,
) -> Page[PrescriptionOut]:
    """Newest first."""
    found = await service.list_prescriptions(
        ctx.session, ctx.principal, patient_id, page, status=status
    )
    ctx.access.viewed("prescription", patient_id=patient_id, ids=[p.id for p in found.items])
    return found


@router.post("", status_code=status.HTTP_201_CREATED, responses=_WRITE)
async def create_prescription(
    patient_id: uuid.UUID, body: PrescriptionCreate, ctx: Auth
) -> PrescriptionDetail:
    """An active prescription by the caller's practitioner profile."""
    return await service.create_prescription(
        ctx.session, ctx.principal, patient_id, body, tz=clinic_tz(ctx)
    )


@router.get("/{prescription_id}", responses=_READ)
async def get_prescription(
    patient_id: uuid.UUID, prescription_id: uuid.UUID, ctx: Auth
) -> PrescriptionDetail:
    """With every item's current version and its earlier versions."""
    found = await service.get_prescription(ctx.session, ctx.principal, patient_id, prescription_id)
    ctx.access.viewed("prescription", patient_id=patient_id, ids=[found.id])
    return found


@router.patch("/{prescription_id}", responses=_WRITE)
async def update_prescription(
    patient_id: uuid.UUID, prescription_id: uuid.UUID, body: PrescriptionUpdate, ctx: Auth
) -> PrescriptionDetail:
    return await service.update_prescription(
        ctx.session, ctx.principal, patient_id, prescription_id, body
    )


@router.post("/{prescription_id}/items", status_code=status.HTTP_201_CREATED, responses=_WRITE)
async def add_item(
    patient_id: uuid.UUID, prescription_id: uuid.UUID, body: ItemIn, ctx: Auth
) -> PrescriptionDetail:
    return await service.add_item(
        ctx.session, ctx.principal, patient_id, prescription_id, body, tz=clinic_tz(ctx)
    )


@router.patch("/{prescription_id}/items/{item_id}", responses=_WRITE)
async def update_item(
    patient_id: uuid.UUID,
    prescription_id: uuid.UUID,
    item_id: uuid.UUID,
    body: ItemUpdate,
    ctx: Auth,
) -> PrescriptionDetail:
    """Adds a version that takes effect today (clinic time); earlier versions are kept."""
    return await service.update_item(
        ctx.session, ctx.principal, patient_id, prescription_id, item_id, body, tz=clinic_tz(ctx)
    )


def _status_route(action: str, summary: str) -> None:
    async def change(
        patient_id: uuid.UUID, prescription_id: uuid.UUID, ctx: Auth
    ) -> PrescriptionDetail:
        return await service.change_status(
            ctx.session, ctx.principal, patient_id, prescription_id, action
        )

    change.__name__ = f"{action}_prescription"
    router.post(f"/{{prescription_id}}/{action}", responses=_WRITE, summary=summary)(change)


_status_route("pause", "Pause an active prescription (its days stop being due)")
_status_route("resume", "Resume a paused prescription")
_status_route("complete", "Complete an active or paused prescription (final)")
_status_route("cancel", "Cancel an active or paused prescription (final; no more logs)")
