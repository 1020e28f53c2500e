"""Alerts for the care team.

`raise_alert` is the one way to create an alert (exercise logs, the missed-sessions job,
SOS): it stores the row once per `dedupe_key`, announces it on the events channel (the
real-time stream, events/endpoints.py) and queues its messages to the care team
(notification.service.queue_staff_alert), all in the caller's transaction. Staff read
them: admins every alert, practitioners those of the patients assigned to them;
receptionists and patients none. Open -> acknowledged -> resolved (or open -> resolved).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.alert import repository
from fisioflow.alert.repository import Filters
from fisioflow.alert.schemas import AlertOut
from fisioflow.auth.permissions import Permission, allowed, ensure_allowed
from fisioflow.auth.principal import Principal, Role
from fisioflow.core import events
from fisioflow.core.errors import Conflict, NotFound
from fisioflow.core.pagination import Page, PageParams, build_page
from fisioflow.models import Alert
from fisioflow.notification import service as notification
from fisioflow.practitioner import repository as practitioner_repository

log = structlog.get_logger(__name__)
_NEXT = {
    "acknowledge": (("open",), "acknowledged"),
    "resolve": (("open", "acknowledged"), "resolved"),
}


async def raise_alert(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    practitioner_id: uuid.UUID | None,
    kind: str,
    message: str,
    dedupe_key: str,
    details: dict[str, Any] | None = None,
) -> bool:
    """Store an alert unless one with this dedupe_key exists; True when stored now. A new
    alert is announced on the events channel and its messages to the care team are queued,
    both in the caller's transaction."""
    alert_id = await repository.insert_once(
        session,
        tenant_id,
        patient_id=patient_id,
        practitioner_id=practitioner_id,
        kind=kind,
        message=message,
        dedupe_key=dedupe_key,
        details=details or {},
    )
    if alert_id is None:
        return False
    log.info("alert_raised", kind=kind, patient_id=str(patient_id), dedupe_key=dedupe_key)
    await events.publish(session, tenant=tenant_id, kind="alert", id=alert_id)
    await notification.queue_staff_alert(
        session, tenant_id, kind=kind, alert_id=alert_id, patient_id=patient_id
    )
    return True


async def visible(session: AsyncSession, principal: Principal, alert_id: uuid.UUID) -> bool:
    """Whether this staff member is told of the alert (the real-time stream asks)."""
    if not allowed(principal.role, Permission.ALERTS_READ):
        return False
    filters = await _filters(session, principal, Filters())
    return await repository.is_visible(session, principal.tenant_id, alert_id, filters)


async def _filters(session: AsyncSession, principal: Principal, filters: Filters) -> Filters:
    if principal.role == Role.ADMIN:
        return filters
    own = await practitioner_repository.id_for_user(session, principal.tenant_id, principal.user_id)
    # No profile: a practitioner-role user who treats nobody sees nothing.
    return Filters(
        status=filters.status,
        patient_id=filters.patient_id,
        kind=filters.kind,
        treated_by=own or uuid.UUID(int=0),
    )


def _out(alert: Alert, patient_name: str) -> AlertOut:
    return AlertOut.model_validate(
        {
            **{f: getattr(alert, f) for f in AlertOut.model_fields if f != "patient_name"},
            "patient_name": patient_name,
        }
    )


async def list_alerts(
    session: AsyncSession, principal: Principal, filters: Filters, page: PageParams
) -> Page[AlertOut]:
    ensure_allowed(principal, Permission.ALERTS_READ)
    visible = await _filters(session, principal, filters)
    rows = await repository.list_page(
        session, principal.tenant_id, visible, before=page.after, limit=page.limit
    )
    return build_page([_out(alert, name) for alert, name in rows], limit=page.limit)


async def change_status(
    session: AsyncSession, principal: Principal, alert_id: uuid.UUID, action: str
) -> AlertOut:
    ensure_allowed(principal, Permission.ALERTS_MANAGE, on_object=True)
    visible = await _filters(session, principal, Filters())
    found = await repository.get(session, principal.tenant_id, alert_id, visible)
    if found is None:
        raise NotFound("alert not found")
    alert, patient_name = found
    allowed_from, target = _NEXT[action]
    if alert.status not in allowed_from:
        raise Conflict(
            f"an {alert.status} alert cannot be {target}",
            code="invalid_transition",
            field="status",
            extra={"status_now": alert.status},
        )
    now = dt.datetime.now(dt.UTC)
    alert.status = target
    if target == "acknowledged":
        alert.acknowledged_at, alert.acknowledged_by = now, principal.user_id
    else:
        alert.resolved_at, alert.resolved_by = now, principal.user_id
    await session.flush()
    await session.refresh(alert)
    return _out(alert, patient_name)
