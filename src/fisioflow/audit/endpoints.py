"""The audit trail: a clinic's events (admins) and a patient's access log."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fisioflow.audit import service
from fisioflow.audit.repository import EventFilters
from fisioflow.audit.schemas import AccessOut, AuditEventOut, Operation
from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import InvalidInput, documented
from fisioflow.core.pagination import Page, PageParams, page_params

router = APIRouter(prefix=API_V1, tags=["audit"])


@router.get("/audit-events", responses=documented(401, 403, 422))
async def list_audit_events(
    ctx: Auth,
    page: Annotated[PageParams, Depends(page_params)],
    patient_id: Annotated[uuid.UUID | None, Query()] = None,
    actor_id: Annotated[uuid.UUID | None, Query(description="User who acted")] = None,
    table: Annotated[str | None, Query(max_length=63, pattern=r"^[a-z_][a-z0-9_]*$")] = None,
    operation: Annotated[Operation | None, Query()] = None,
    since: Annotated[dt.datetime | None, Query(alias="from")] = None,
    until: Annotated[dt.datetime | None, Query(alias="to", description="Exclusive")] = None,
) -> Page[AuditEventOut]:
    """Newest first. Clinic admins only."""
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("give a time zone (e.g. Z or -03:00)", field=name)
    filters = EventFilters(
        patient_id=patient_id,
        actor_id=actor_id,
        table=table,
        operation=operation.value if operation else None,
        since=since,
        until=until,
    )
    events = await service.list_events(ctx.session, ctx.principal, filters, page)
    # Events carry the values of the rows they copy: reading them reads health data.
    for event in events.items:
        if event.entity.patient_id is not None:
            ctx.access.viewed("audit_event", patient_id=event.entity.patient_id, ids=[event.id])
    return events


@router.get("/patients/{patient_id}/access-log", responses=documented(401, 404, 422))
async def patient_access_log(
    patient_id: uuid.UUID, ctx: Auth, page: Annotated[PageParams, Depends(page_params)]
) -> Page[AccessOut]:
    """Who read or changed this patient's data, when and from where, newest first:
    admins, the patient's practitioner, and the patient about themself."""
    return await service.access_log(ctx.session, ctx.principal, patient_id, page)
