"""Alerts for the care team: list, acknowledge, resolve."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fisioflow.alert import service
from fisioflow.alert.repository import Filters
from fisioflow.alert.schemas import AlertOut, Kind, Status
from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.core.pagination import Page, PageParams, page_params

router = APIRouter(prefix=f"{API_V1}/alerts", tags=["alerts"])


@router.get("", responses=documented(401, 403, 422))
async def list_alerts(
    ctx: Auth,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Status | None, Query()] = None,
    patient_id: Annotated[uuid.UUID | None, Query()] = None,
    kind: Annotated[Kind | None, Query()] = None,
) -> Page[AlertOut]:
    """Newest first. Admins see every alert, practitioners their patients' alerts."""
    filters = Filters(status=status, patient_id=patient_id, kind=kind)
    found = await service.list_alerts(ctx.session, ctx.principal, filters, page)
    ctx.access.viewed_rows("alert", found.items)
    return found


@router.post("/{alert_id}/acknowledge", responses=documented(401, 404, 409))
async def acknowledge_alert(alert_id: uuid.UUID, ctx: Auth) -> AlertOut:
    """Someone is looking at it."""
    return await service.change_status(ctx.session, ctx.principal, alert_id, "acknowledge")


@router.post("/{alert_id}/resolve", responses=documented(401, 404, 409))
async def resolve_alert(alert_id: uuid.UUID, ctx: Auth) -> AlertOut:
    """Dealt with; an open or acknowledged alert."""
    return await service.change_status(ctx.session, ctx.principal, alert_id, "resolve")
