"""Secure messages (one thread per patient) and staff-only internal notes.

The thread is the patient's: the patient writes from the portal, the clinic's admins
and the patient's assigned practitioner from the staff side (receptionists do not: a
therapy patient's messages are clinical). Each side's read receipt is stored on the
other side's messages (`read_at`, `read_by`). Internal notes never reach the patient:
the patient role has no way into `internal_note` (RLS).
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
from fisioflow.engagement.access import cared_patient, portal_patient
from fisioflow.engagement.schemas import (
    InternalNoteIn,
    InternalNoteOut,
    MessageIn,
    MessageOut,
    ReadReceipt,
    UnreadThread,
)
from fisioflow.engagement.service import stamped
from fisioflow.models import InternalNote, PatientMessage
from fisioflow.practitioner import repository as practitioner_repository

PATIENT, STAFF = "patient", "staff"


async def thread_patient(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID | None,
    *,
    write: bool = False,
) -> tuple[uuid.UUID, str]:
    """Whose thread and which side the caller is on; `patient_id` None is the portal."""
    if patient_id is None:
        return portal_patient(principal), PATIENT
    permission = Permission.MESSAGES_WRITE if write else Permission.MESSAGES_READ
    await cared_patient(session, principal, patient_id, permission)
    return patient_id, STAFF


async def list_messages(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID | None, page: PageParams
) -> Page[MessageOut]:
    patient_id, _ = await thread_patient(session, principal, patient_id)
    rows = await repository.page(
        session,
        PatientMessage,
        principal.tenant_id,
        patient_id,
        before=page.after,
        limit=page.limit,
    )
    return build_page([MessageOut.model_validate(r) for r in rows], limit=page.limit)


async def send_message(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID | None,
    body: MessageIn,
    *,
    sender_name: str,
    created_at: dt.datetime | None = None,  # imports and the demo; the API stamps now
) -> MessageOut:
    patient_id, side = await thread_patient(session, principal, patient_id, write=True)
    message = PatientMessage(
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        sender_user_id=principal.user_id,
        sender_role=side,
        sender_name=sender_name,
        body=body.body,
        **stamped(created_at),
    )
    session.add(message)
    await session.flush()
    await session.refresh(message)
    await events.publish(session, tenant=principal.tenant_id, kind="message", id=message.id)
    return MessageOut.model_validate(message)


async def mark_read(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID | None,
    message_id: uuid.UUID,
) -> ReadReceipt:
    """The caller has read the thread up to `message_id`: every earlier unread message
    of the other side takes the receipt (a later call changes nothing already read)."""
    on_object = patient_id is None
    if on_object:
        patient_id, side = portal_patient(principal, on_object=True), PATIENT
    else:
        patient_id, side = await thread_patient(session, principal, patient_id)
    if await repository.message(session, principal.tenant_id, patient_id, message_id) is None:
        raise NotFound("message not found")
    count, read_at = await repository.mark_read(
        session,
        principal.tenant_id,
        patient_id,
        up_to=message_id,
        sender_role=STAFF if side == PATIENT else PATIENT,
        reader=principal.user_id,
    )
    return ReadReceipt(marked_read=count, read_at=read_at)


INBOX_LIMIT = 200


async def unread_threads(session: AsyncSession, principal: Principal) -> list[UnreadThread]:
    """The staff inbox: admins see every thread, a practitioner those of their patients."""
    ensure_allowed(principal, Permission.MESSAGES_READ)
    treated_by = None
    if principal.role != Role.ADMIN:
        own = await practitioner_repository.id_for_user(
            session, principal.tenant_id, principal.user_id
        )
        treated_by = own or uuid.UUID(int=0)  # no profile: treats nobody
    rows = await repository.unread_threads(
        session, principal.tenant_id, treated_by=treated_by, limit=INBOX_LIMIT
    )
    return [UnreadThread(**row._asdict()) for row in rows]


async def list_notes(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, page: PageParams
) -> Page[InternalNoteOut]:
    await cared_patient(session, principal, patient_id, Permission.INTERNAL_NOTES_READ)
    rows = await repository.page(
        session, InternalNote, principal.tenant_id, patient_id, before=page.after, limit=page.limit
    )
    return build_page([InternalNoteOut.model_validate(r) for r in rows], limit=page.limit)


async def add_note(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    body: InternalNoteIn,
    *,
    author_name: str,
) -> InternalNoteOut:
    await cared_patient(session, principal, patient_id, Permission.INTERNAL_NOTES_WRITE)
    note = InternalNote(
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        author_user_id=principal.user_id,
        author_name=author_name,
        body=body.body,
    )
    session.add(note)
    await session.flush()
    await session.refresh(note)
    return InternalNoteOut.model_validate(note)
