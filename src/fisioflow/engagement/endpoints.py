"""Patient engagement: the portal side (`/me/...`), the staff side of a patient, SOS."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.core.pagination import Page, PageParams, page_params
from fisioflow.engagement import messaging, service, sos
from fisioflow.engagement.schemas import (
    Bucket,
    DiaryEntryIn,
    DiaryEntryOut,
    DiaryEntryUpdate,
    InternalNoteIn,
    InternalNoteOut,
    MessageIn,
    MessageOut,
    MoodIn,
    MoodOut,
    MoodTrend,
    ReadReceipt,
    SosCreated,
    SosEventOut,
    SosIn,
    SosOut,
    UnreadThread,
)

portal_router = APIRouter(prefix=f"{API_V1}/me", tags=["patient portal"])
staff_router = APIRouter(prefix=f"{API_V1}/patients/{{patient_id}}", tags=["engagement"])
sos_router = APIRouter(prefix=f"{API_V1}/sos-events", tags=["engagement"])
inbox_router = APIRouter(prefix=f"{API_V1}/messages", tags=["engagement"])
_LIST = documented(401, 403, 422)
_WRITE = documented(401, 403, 422)
_OBJECT = documented(401, 404, 422)
Paging = Annotated[PageParams, Depends(page_params)]
Tag = Annotated[str | None, Query(max_length=100, description="Only entries with this tag")]


@portal_router.get("/diary", responses=_LIST)
async def list_own_diary(ctx: Auth, page: Paging, tag: Tag = None) -> Page[DiaryEntryOut]:
    """The patient's own diary, private entries included, newest first."""
    entries = await service.list_own_diary(ctx.session, ctx.principal, page, tag=tag)
    ctx.access.viewed_rows("diary_entry", entries.items)
    return entries


@portal_router.post("/diary", status_code=status.HTTP_201_CREATED, responses=_WRITE)
async def create_diary_entry(body: DiaryEntryIn, ctx: Auth) -> DiaryEntryOut:
    return await service.create_diary_entry(ctx.session, ctx.principal, body)


@portal_router.get("/diary/{diary_entry_id}", responses=_OBJECT)
async def get_diary_entry(diary_entry_id: uuid.UUID, ctx: Auth) -> DiaryEntryOut:
    entry = await service.get_diary_entry(ctx.session, ctx.principal, diary_entry_id)
    ctx.access.viewed_rows("diary_entry", [entry])
    return entry


@portal_router.patch("/diary/{diary_entry_id}", responses=_OBJECT)
async def update_diary_entry(
    diary_entry_id: uuid.UUID, body: DiaryEntryUpdate, ctx: Auth
) -> DiaryEntryOut:
    return await service.update_diary_entry(ctx.session, ctx.principal, diary_entry_id, body)


@portal_router.delete(
    "/diary/{diary_entry_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_OBJECT
)
async def delete_diary_entry(diary_entry_id: uuid.UUID, ctx: Auth) -> Response:
    await service.delete_diary_entry(ctx.session, ctx.principal, diary_entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@portal_router.post("/mood", status_code=status.HTTP_201_CREATED, responses=_WRITE)
async def check_in(body: MoodIn, ctx: Auth) -> MoodOut:
    """A mood check-in: mood 1-5, energy 0-3, optional note."""
    return await service.check_in(ctx.session, ctx.principal, body)


@portal_router.get("/mood", responses=_LIST)
async def list_check_ins(ctx: Auth, page: Paging) -> Page[MoodOut]:
    check_ins = await service.list_check_ins(ctx.session, ctx.principal, page)
    ctx.access.viewed_rows("mood_entry", check_ins.items)
    return check_ins


@portal_router.post("/sos", status_code=status.HTTP_201_CREATED, responses=_WRITE)
async def raise_sos(body: SosIn, ctx: Auth) -> SosCreated:
    """Alerts the patient's practitioner and the clinic's admins at once."""
    return await sos.raise_sos(ctx.session, ctx.principal, body)


@portal_router.get("/sos", responses=_LIST)
async def list_own_sos(ctx: Auth, page: Paging) -> Page[SosOut]:
    """The patient's own SOS events, with whether the clinic acknowledged them."""
    events = await sos.list_own(ctx.session, ctx.principal, page)
    ctx.access.viewed_rows("sos_event", events.items)
    return events


@portal_router.get("/messages", responses=_LIST)
async def list_own_messages(ctx: Auth, page: Paging) -> Page[MessageOut]:
    """The patient's thread with the clinic, newest first."""
    messages = await messaging.list_messages(ctx.session, ctx.principal, None, page)
    ctx.access.viewed_rows("patient_message", messages.items)
    return messages


@portal_router.post("/messages", status_code=status.HTTP_201_CREATED, responses=_WRITE)
async def send_own_message(body: MessageIn, ctx: Auth) -> MessageOut:
    return await messaging.send_message(
        ctx.session, ctx.principal, None, body, sender_name=ctx.identity.full_name
    )


@portal_router.post("/messages/{message_id}/read", responses=_OBJECT)
async def read_own_messages(message_id: uuid.UUID, ctx: Auth) -> ReadReceipt:
    """Marks the clinic's messages up to this one as read by the patient."""
    return await messaging.mark_read(ctx.session, ctx.principal, None, message_id)


@staff_router.get("/diary", responses=_OBJECT)
async def list_shared_diary(
    patient_id: uuid.UUID, ctx: Auth, page: Paging, tag: Tag = None
) -> Page[DiaryEntryOut]:
    """The patient's diary entries that are not private."""
    entries = await service.list_shared_diary(ctx.session, ctx.principal, patient_id, page, tag=tag)
    ctx.access.viewed("diary_entry", patient_id=patient_id, ids=[e.id for e in entries.items])
    return entries


@staff_router.get("/mood-trend", responses=_OBJECT)
async def mood_trend(
    patient_id: uuid.UUID,
    ctx: Auth,
    from_: Annotated[dt.date | None, Query(alias="from")] = None,
    to: Annotated[dt.date | None, Query()] = None,
    bucket: Annotated[Bucket, Query()] = "day",
) -> MoodTrend:
    """Mood (check-ins and shared diary entries) and energy averages per day or week,
    in the clinic's time zone. Default: the last 30 days."""
    trend = await service.mood_trend(
        ctx.session,
        ctx.principal,
        patient_id,
        timezone=ctx.identity.timezone,
        start=from_,
        end=to,
        bucket=bucket,
    )
    ctx.access.viewed("mood_trend", patient_id=patient_id)
    return trend


@staff_router.get("/messages", responses=_OBJECT)
async def list_messages(patient_id: uuid.UUID, ctx: Auth, page: Paging) -> Page[MessageOut]:
    messages = await messaging.list_messages(ctx.session, ctx.principal, patient_id, page)
    ctx.access.viewed("patient_message", patient_id=patient_id, ids=[m.id for m in messages.items])
    return messages


@staff_router.post("/messages", status_code=status.HTTP_201_CREATED, responses=_OBJECT)
async def send_message(patient_id: uuid.UUID, body: MessageIn, ctx: Auth) -> MessageOut:
    return await messaging.send_message(
        ctx.session, ctx.principal, patient_id, body, sender_name=ctx.identity.full_name
    )


@staff_router.post("/messages/{message_id}/read", responses=_OBJECT)
async def read_messages(patient_id: uuid.UUID, message_id: uuid.UUID, ctx: Auth) -> ReadReceipt:
    """Marks the patient's messages up to this one as read by the clinic."""
    return await messaging.mark_read(ctx.session, ctx.principal, patient_id, message_id)


@staff_router.get("/internal-notes", responses=_OBJECT)
async def list_internal_notes(
    patient_id: uuid.UUID, ctx: Auth, page: Paging
) -> Page[InternalNoteOut]:
    """Staff-only notes on the patient; never visible to the patient."""
    notes = await messaging.list_notes(ctx.session, ctx.principal, patient_id, page)
    ctx.access.viewed("internal_note", patient_id=patient_id, ids=[n.id for n in notes.items])
    return notes


@staff_router.post("/internal-notes", status_code=status.HTTP_201_CREATED, responses=_OBJECT)
async def add_internal_note(
    patient_id: uuid.UUID, body: InternalNoteIn, ctx: Auth
) -> InternalNoteOut:
    return await messaging.add_note(
        ctx.session, ctx.principal, patient_id, body, author_name=ctx.identity.full_name
    )


@sos_router.get("", responses=_LIST)
async def list_sos_events(
    ctx: Auth,
    page: Paging,
    open_only: Annotated[bool, Query(alias="open", description="Unacknowledged only")] = False,
) -> Page[SosEventOut]:
    """Admins: every SOS of the clinic; practitioners: those addressed to them."""
    events = await sos.list_events(ctx.session, ctx.principal, page, open_only=open_only)
    ctx.access.viewed_rows("sos_event", events.items)
    return events


@sos_router.post("/{sos_event_id}/acknowledge", responses=_OBJECT)
async def acknowledge_sos(sos_event_id: uuid.UUID, ctx: Auth) -> SosEventOut:
    return await sos.acknowledge(ctx.session, ctx.principal, sos_event_id)


@inbox_router.get("/unread", responses=_LIST)
async def unread_threads(ctx: Auth) -> list[UnreadThread]:
    """Patients whose messages the clinic has not read yet, latest first (up to 200).
    Admins: the whole clinic; practitioners: their patients."""
    return await messaging.unread_threads(ctx.session, ctx.principal)
