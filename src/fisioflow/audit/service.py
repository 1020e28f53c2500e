"""Who may read the audit trail: clinic admins all of it; a patient's access log also
the staff the matrix allows (a practitioner for their own patients) and the patient."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.audit import repository
from fisioflow.audit.repository import EventFilters
from fisioflow.audit.schemas import ACTIONS, AccessOut, Agent, AuditEventOut, Entity
from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, Role
from fisioflow.core.errors import NotFound
from fisioflow.core.pagination import Page, PageParams, build_page
from fisioflow.models import AuditEvent
from fisioflow.patient import service as patient_service


async def list_events(
    session: AsyncSession, principal: Principal, filters: EventFilters, page: PageParams
) -> Page[AuditEventOut]:
    ensure_allowed(principal, Permission.AUDIT_READ)
    rows = await repository.events(
        session, principal.tenant_id, filters, before=page.after, limit=page.limit + 1
    )
    return build_page([event_out(r) for r in rows], limit=page.limit)


async def access_log(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, page: PageParams
) -> Page[AccessOut]:
    if principal.role == Role.PATIENT:
        if principal.patient_id != patient_id:
            raise NotFound("patient not found")
    else:
        ensure_allowed(principal, Permission.ACCESS_LOG_READ, on_object=True)
        await patient_service.get_patient(session, principal, patient_id)
    rows = await repository.events(
        session,
        principal.tenant_id,
        EventFilters(patient_id=patient_id),
        before=page.after,
        limit=page.limit + 1,
    )
    return build_page([access_out(r) for r in rows], limit=page.limit)


def access_out(event: AuditEvent) -> AccessOut:
    return AccessOut(**_common(event))


def event_out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        **_common(event),
        changed_fields=event.changed_fields,
        old_values=event.old_values,
        new_values=event.new_values,
        hash=event.hash.hex(),
    )


def _common(event: AuditEvent) -> dict[str, object]:
    ids = (event.detail or {}).get("ids")
    return {
        "id": event.id,
        "sequence": event.seq,
        "recorded_at": event.occurred_at,
        "operation": event.operation,
        "action": ACTIONS[event.operation],
        "entity": Entity(
            table=event.table_name,
            record_id=event.record_id,
            patient_id=event.patient_id,
            ids=[uuid.UUID(i) for i in ids] if ids is not None else None,
        ),
        "agent": Agent(
            user_id=event.actor_user_id,
            role=event.actor_role,
            who=event.actor,
            ip=event.ip,
            user_agent=event.user_agent,
        ),
        "request_id": event.request_id,
    }
