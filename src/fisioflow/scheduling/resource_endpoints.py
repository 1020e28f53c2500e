"""Rooms and time off (holidays, vacations, blocked times) that shape availability."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.scheduling import resources
from fisioflow.scheduling.calendar import midnight
from fisioflow.scheduling.endpoints import Bound, clinic_tz
from fisioflow.scheduling.schemas import RoomIn, RoomOut, RoomUpdate, TimeOffIn, TimeOffOut

router = APIRouter(prefix=API_V1, tags=["scheduling"])


@router.get("/rooms", responses=documented(401, 403))
async def list_rooms(ctx: Auth) -> list[RoomOut]:
    return await resources.list_rooms(ctx.session, ctx.principal)


@router.post(
    "/rooms", status_code=status.HTTP_201_CREATED, responses=documented(401, 403, 409, 422)
)
async def create_room(body: RoomIn, ctx: Auth) -> RoomOut:
    return await resources.create_room(ctx.session, ctx.principal, body)


@router.patch("/rooms/{room_id}", responses=documented(401, 404, 409, 422))
async def update_room(room_id: uuid.UUID, body: RoomUpdate, ctx: Auth) -> RoomOut:
    return await resources.update_room(ctx.session, ctx.principal, room_id, body)


@router.get("/time-off", responses=documented(401, 403, 422))
async def list_time_off(
    ctx: Auth,
    first: Annotated[Bound, Query(alias="from")],
    last: Annotated[Bound, Query(alias="to")],
    practitioner_id: Annotated[uuid.UUID | None, Query()] = None,
) -> list[TimeOffOut]:
    """Time off overlapping [from, to): the practitioner's and the clinic-wide entries."""
    tz = clinic_tz(ctx)
    start = first if isinstance(first, dt.datetime) else midnight(first, tz)
    end = last if isinstance(last, dt.datetime) else midnight(last, tz)
    return await resources.list_time_off(
        ctx.session, ctx.principal, practitioner_id=practitioner_id, start=start, end=end
    )


@router.post(
    "/time-off", status_code=status.HTTP_201_CREATED, responses=documented(401, 403, 404, 422)
)
async def create_time_off(body: TimeOffIn, ctx: Auth) -> TimeOffOut:
    """Without `practitioner_id` the whole clinic is closed (admins only)."""
    return await resources.create_time_off(ctx.session, ctx.principal, body)


@router.delete(
    "/time-off/{time_off_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=documented(401, 404),
)
async def delete_time_off(time_off_id: uuid.UUID, ctx: Auth) -> None:
    await resources.delete_time_off(ctx.session, ctx.principal, time_off_id)
