"""The agenda API: appointments and their lifecycle, series, availability, day/week view."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Query, Response, status
from pydantic import AwareDatetime

from fisioflow.auth.context import Auth, Context
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.core.etag import optional_if_match, set_etag
from fisioflow.core.pagination import Page, PageParams, page_params
from fisioflow.scheduling import calendar, lifecycle, series, service
from fisioflow.scheduling.repository import Filters
from fisioflow.scheduling.schemas import (
    AgendaOut,
    AppointmentIn,
    AppointmentOut,
    AppointmentUpdate,
    AvailabilityOut,
    CancelIn,
    Minutes,
    ParticipantIn,
    SeriesCancelIn,
    SeriesIn,
    SeriesOut,
    Status,
)

router = APIRouter(prefix=API_V1, tags=["scheduling"])
_READ = documented(401, 403, 404, 422)
_WRITE = documented(401, 403, 404, 409, 422)
Bound = AwareDatetime | dt.date


def clinic_tz(ctx: Context) -> ZoneInfo:
    return ZoneInfo(ctx.identity.timezone)


def _moment(value: Bound | None, tz: ZoneInfo) -> dt.datetime | None:
    """A date means its midnight in the clinic's time zone."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return calendar.midnight(value, tz)


@router.post("/appointments", status_code=status.HTTP_201_CREATED, responses=_WRITE)
async def book(body: AppointmentIn, ctx: Auth, response: Response) -> AppointmentOut:
    """Books one appointment; 409 `slot_taken` names the appointment in the way."""
    appointment = await service.book(ctx.session, ctx.principal, body)
    set_etag(response, appointment.version)
    return service.out(appointment)


@router.get("/appointments", responses=_READ)
async def list_appointments(
    ctx: Auth,
    page: Annotated[PageParams, Depends(page_params)],
    starts_from: Annotated[Bound | None, Query(alias="from")] = None,
    starts_before: Annotated[Bound | None, Query(alias="to")] = None,
    practitioner_id: Annotated[uuid.UUID | None, Query()] = None,
    patient_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[list[Status] | None, Query(description="Repeat for several")] = None,
) -> Page[AppointmentOut]:
    """In start order; `from` inclusive, `to` exclusive (dates are clinic-time midnights)."""
    tz = clinic_tz(ctx)
    filters = Filters(
        starts_from=_moment(starts_from, tz),
        starts_before=_moment(starts_before, tz),
        practitioner_id=practitioner_id,
        patient_id=patient_id,
        statuses=tuple(status or ()),
    )
    return await service.list_appointments(ctx.session, ctx.principal, page, filters)


@router.get("/appointments/{appointment_id}", responses=_READ)
async def get_appointment(
    appointment_id: uuid.UUID, ctx: Auth, response: Response
) -> AppointmentOut:
    appointment = await service.get(ctx.session, ctx.principal, appointment_id)
    set_etag(response, appointment.version)
    return service.out(appointment)


@router.patch("/appointments/{appointment_id}", responses=documented(401, 403, 404, 409, 412, 422))
async def reschedule(
    appointment_id: uuid.UUID,
    body: AppointmentUpdate,
    ctx: Auth,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> AppointmentOut:
    """Reschedule or edit; `scope` extends the change to following occurrences or the
    whole series. A confirmed appointment moved in time goes back to scheduled."""
    appointment = await service.reschedule(
        ctx.session,
        ctx.principal,
        appointment_id,
        body,
        tz=clinic_tz(ctx),
        if_match=optional_if_match(if_match, noun="appointment"),
    )
    set_etag(response, appointment.version)
    return service.out(appointment)


def _transition(action: lifecycle.Action, summary: str) -> None:
    async def endpoint(appointment_id: uuid.UUID, ctx: Auth) -> AppointmentOut:
        appointment = await lifecycle.advance(ctx.session, ctx.principal, appointment_id, action)
        return service.out(appointment)

    endpoint.__name__ = f"appointment_{action.replace('-', '_')}"
    router.post(f"/appointments/{{appointment_id}}/{action}", responses=_WRITE, summary=summary)(
        endpoint
    )


_transition("confirm", "Confirm (scheduled → confirmed)")
_transition("check-in", "Check in (confirmed → checked_in)")
_transition("start", "Start the visit (checked_in → in_progress)")
_transition("complete", "Complete the visit (in_progress → completed)")
_transition("no-show", "Record a no-show (scheduled|confirmed, after the start time)")


@router.post("/appointments/{appointment_id}/cancel", responses=_WRITE)
async def cancel(appointment_id: uuid.UUID, body: CancelIn, ctx: Auth) -> AppointmentOut:
    """scheduled|confirmed → cancelled, with the reason and who cancelled; `scope`
    cancels following occurrences or the rest of the series too."""
    appointment = await lifecycle.advance(
        ctx.session, ctx.principal, appointment_id, "cancel", cancel=body
    )
    return service.out(appointment)


@router.post(
    "/appointments/{appointment_id}/participants",
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE,
)
async def join_group(appointment_id: uuid.UUID, body: ParticipantIn, ctx: Auth) -> AppointmentOut:
    """Adds a patient to a group session (409 `group_full` at capacity)."""
    return service.out(await service.join_group(ctx.session, ctx.principal, appointment_id, body))


@router.post("/appointment-series", status_code=status.HTTP_201_CREATED, responses=_WRITE)
async def create_series(body: SeriesIn, ctx: Auth) -> SeriesOut:
    """All occurrences or none: 409 `series_conflict` lists every conflicting date,
    unless `skip_conflicts` books the free ones and reports the skipped."""
    return await series.create_series(ctx.session, ctx.principal, body, tz=clinic_tz(ctx))


@router.get("/appointment-series/{series_id}", responses=_READ)
async def get_series(series_id: uuid.UUID, ctx: Auth) -> SeriesOut:
    return await series.get_series(ctx.session, ctx.principal, series_id)


@router.post("/appointment-series/{series_id}/cancel", responses=_WRITE)
async def cancel_series(series_id: uuid.UUID, body: SeriesCancelIn, ctx: Auth) -> SeriesOut:
    return await series.cancel_series(
        ctx.session, ctx.principal, series_id, body, tz=clinic_tz(ctx)
    )


@router.get("/availability", responses=_READ)
async def availability(
    ctx: Auth,
    practitioner_id: Annotated[uuid.UUID, Query()],
    first: Annotated[dt.date, Query(alias="from")],
    last: Annotated[dt.date, Query(alias="to", description="Inclusive")],
    duration: Annotated[Minutes, Query(description="Minutes")] = 50,
    step: Annotated[Minutes | None, Query(description="Minutes between starts")] = None,
) -> AvailabilityOut:
    """Free slots from the practitioner's working hours minus time off and bookings,
    in the clinic's time zone (correct across daylight-saving changes)."""
    return await calendar.availability(
        ctx.session,
        ctx.principal,
        practitioner_id,
        first=first,
        last=last,
        duration=duration,
        step=step,
        tz=clinic_tz(ctx),
    )


@router.get("/agenda", responses=_READ)
async def agenda(
    ctx: Auth,
    date: Annotated[dt.date, Query()],
    view: Annotated[Literal["day", "week"], Query()] = "day",
    practitioner_id: Annotated[uuid.UUID | None, Query()] = None,
    include_cancelled: Annotated[bool, Query()] = False,
) -> AgendaOut:
    """Appointments with patient names, grouped by clinic-time day (weeks start Monday)."""
    return await calendar.agenda(
        ctx.session,
        ctx.principal,
        day=date,
        view=view,
        practitioner_id=practitioner_id,
        include_cancelled=include_cancelled,
        tz=clinic_tz(ctx),
    )


@router.get("/me/appointments", responses=documented(401, 422))
async def my_appointments(
    ctx: Auth,
    page: Annotated[PageParams, Depends(page_params)],
    include_past: Annotated[bool, Query()] = False,
) -> Page[AppointmentOut]:
    """The patient portal's own appointments (upcoming unless include_past)."""
    filters = Filters(starts_from=None if include_past else dt.datetime.now(dt.UTC))
    return await service.list_own(ctx.session, ctx.principal, page, filters)
