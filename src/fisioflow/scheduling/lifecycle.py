"""The visit lifecycle: scheduled → confirmed → checked_in → in_progress → completed, and
cancelled / no_show from scheduled or confirmed. The database guards the same table
(trigger `appointment_status_guard`); here an illegal move answers 409 naming the
current status.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, TenantId
from fisioflow.core.errors import Conflict, InvalidInput
from fisioflow.models import Appointment
from fisioflow.notification import service as notifications
from fisioflow.scheduling import booking, repository, service
from fisioflow.scheduling.schemas import CancelIn, Scope

Action = Literal["confirm", "check-in", "start", "complete", "cancel", "no-show"]
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "confirm": (("scheduled",), "confirmed"),
    "check-in": (("confirmed",), "checked_in"),
    "start": (("checked_in",), "in_progress"),
    "complete": (("in_progress",), "completed"),
    "cancel": (("scheduled", "confirmed"), "cancelled"),
    "no-show": (("scheduled", "confirmed"), "no_show"),
}


async def advance(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    action: Action,
    *,
    cancel: CancelIn | None = None,
) -> Appointment:
    ensure_allowed(principal, Permission.AGENDA_WRITE, on_object=True)
    appointment = await service.get(session, principal, appointment_id, lock=True)
    allowed_from, target = TRANSITIONS[action]
    if appointment.status not in allowed_from:
        raise service.InvalidTransition(
            f"cannot {action} an appointment that is {appointment.status}",
            extra={"current_status": appointment.status},
        )
    if action == "no-show" and booking.now() < appointment.starts_at:
        raise Conflict("a no-show can be recorded only after the start time", code="too_early")
    values: dict[str, Any] = {"status": target}
    ids = [appointment.id]
    if cancel is not None:
        values |= {"cancel_reason": cancel.reason, "cancelled_by": cancel.cancelled_by}
        ids += await _others_in_scope(session, principal, appointment, cancel.scope)
    changed = await repository.transition(
        session, principal.tenant_id, ids, allowed_from=allowed_from, values=values
    )
    await session.refresh(appointment)
    if action == "cancel":
        await notifications.cancelled(
            session, principal.tenant_id, appointment.id, count=len(changed)
        )
    return appointment


async def advance_by_link(
    session: AsyncSession, tenant: TenantId, appointment_id: uuid.UUID, action: Action
) -> bool:
    """Confirm or cancel from a reminder's one-click link (the patient, without logging
    in; the transaction's actor names the link). False when the appointment is no
    longer in a state that allows it."""
    allowed_from, target = TRANSITIONS[action]
    values: dict[str, Any] = {"status": target}
    if action == "cancel":
        values |= {"cancel_reason": "cancelled by the patient from the reminder link"}
        values |= {"cancelled_by": "patient"}
    changed = await repository.transition(
        session, tenant, [appointment_id], allowed_from=allowed_from, values=values
    )
    if changed and action == "cancel":
        await notifications.cancelled(session, tenant, appointment_id)
    return bool(changed)


async def _others_in_scope(
    session: AsyncSession, principal: Principal, appointment: Appointment, scope: Scope
) -> list[uuid.UUID]:
    """ "This and following" or the whole series: the occurrences not yet attended from
    this one (or from now) on. Past and attended visits keep their status."""
    if scope == "this":
        return []
    if appointment.series_id is None:
        raise InvalidInput("the appointment is not part of a series", field="scope")
    start = appointment.starts_at if scope == "following" else booking.now()
    members = await repository.series_members(
        session,
        principal.tenant_id,
        appointment.series_id,
        starting_from=min(start, appointment.starts_at) if scope == "series" else start,
        statuses=TRANSITIONS["cancel"][0],
    )
    return [m.id for m in members if m.id != appointment.id]
