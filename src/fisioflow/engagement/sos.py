"""SOS: a patient asks for help now.

The event is stored with its recipients resolved at that moment (the patient's assigned
practitioner's user and the clinic's active admins) and announced on the events channel
(`core/events.py`) in the same transaction, so a listener hears of it once committed;
the messages to those recipients (email, push, urgent: quiet hours do not hold them) are
queued in that transaction too.
Staff list the events addressed to them (admins: all) and acknowledge them.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, Role
from fisioflow.core import events
from fisioflow.core.errors import NotFound
from fisioflow.core.pagination import Page, PageParams, build_page
from fisioflow.engagement import repository
from fisioflow.engagement.access import portal_patient
from fisioflow.engagement.schemas import HelpLine, SosCreated, SosEventOut, SosIn, SosOut
from fisioflow.models import SosEvent
from fisioflow.notification import service as notification

# Brazilian public lines, answered 24 h: shown to the patient with every SOS.
HELP_LINES = [
    HelpLine(name="CVV - Centro de Valorização da Vida", phone="188"),
    HelpLine(name="SAMU", phone="192"),
]


async def raise_sos(session: AsyncSession, principal: Principal, body: SosIn) -> SosCreated:
    patient_id = portal_patient(principal)
    event = SosEvent(
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        message=body.message or None,
        location=body.location or None,
        recipient_user_ids=await repository.sos_recipients(session),
    )
    session.add(event)
    await session.flush()
    await session.refresh(event)
    await events.publish(session, tenant=principal.tenant_id, kind="sos", id=event.id)
    await notification.queue_staff_alert(
        session,
        principal.tenant_id,
        kind="sos",
        alert_id=event.id,
        patient_id=patient_id,
        user_ids=event.recipient_user_ids,
    )
    return SosCreated(
        **SosOut.model_validate(event).model_dump(),
        notified=len(event.recipient_user_ids),
        help_lines=HELP_LINES,
    )


async def list_own(session: AsyncSession, principal: Principal, page: PageParams) -> Page[SosOut]:
    patient_id = portal_patient(principal)
    rows = await repository.page(
        session, SosEvent, principal.tenant_id, patient_id, before=page.after, limit=page.limit
    )
    return build_page([SosOut.model_validate(r) for r in rows], limit=page.limit)


def _recipient_filter(principal: Principal) -> uuid.UUID | None:
    """Admins see every event of the clinic; a practitioner those addressed to them."""
    return None if principal.role == Role.ADMIN else principal.user_id


async def list_events(
    session: AsyncSession, principal: Principal, page: PageParams, *, open_only: bool
) -> Page[SosEventOut]:
    ensure_allowed(principal, Permission.SOS_READ)
    rows = await repository.sos_events(
        session,
        principal.tenant_id,
        recipient=_recipient_filter(principal),
        open_only=open_only,
        before=page.after,
        limit=page.limit,
    )
    return build_page([SosEventOut.model_validate(r) for r in rows], limit=page.limit)


async def visible(session: AsyncSession, principal: Principal, event_id: uuid.UUID) -> bool:
    """Whether this staff member is told of the event (the real-time stream asks)."""
    event = await repository.sos_event(session, principal.tenant_id, event_id)
    recipient = _recipient_filter(principal)
    return event is not None and (recipient is None or recipient in event.recipient_user_ids)


async def acknowledge(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID
) -> SosEventOut:
    """Someone has taken it; a second acknowledgement keeps the first one."""
    ensure_allowed(principal, Permission.SOS_ACKNOWLEDGE, on_object=True)
    event = await repository.sos_event(session, principal.tenant_id, event_id, for_update=True)
    recipient = _recipient_filter(principal)
    if event is None or (recipient is not None and recipient not in event.recipient_user_ids):
        raise NotFound("SOS event not found")
    if event.acknowledged_at is None:
        event.acknowledged_at = dt.datetime.now(dt.UTC)
        event.acknowledged_by = principal.user_id
        await session.flush()
        await session.refresh(event)
    return SosEventOut.model_validate(event)
