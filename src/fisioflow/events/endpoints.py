"""GET /api/v1/events/stream: SOS and alerts pushed to connected staff (server-sent events).

The stream opens with a `ready` event once this process listens for the member's clinic;
then each event is `{"kind", "id"}` only (the client reads the row through the API), sent
to the member only when they would see that row: an SOS goes to its recipients (the
patient's practitioner) and to admins, an alert (pain, missed sessions) to the patient's
assigned practitioner and to admins. `resync` means events may have been missed (the
database connection was lost, or the client fell behind): re-read the lists.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent

from fisioflow.alert import service as alert
from fisioflow.auth.context import Auth
from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, tenancy_for
from fisioflow.core.database import transaction
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.core.state import app_state
from fisioflow.engagement import sos
from fisioflow.events.hub import RESYNC, Event, EventHub

router = APIRouter(prefix=f"{API_V1}/events", tags=["events"])

Visible = Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[bool]]
# The kinds the stream carries and who sees each; other kinds (messages...) stay off it.
STREAMED: dict[str, Visible] = {"sos": sos.visible, "alert": alert.visible}
PING_S = 15


def event_hub(request: Request) -> EventHub:
    hub: EventHub = request.app.state.events
    return hub


@router.get(
    "/stream",
    responses={
        **documented(401, 403),
        200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"},
    },
)
async def stream(request: Request, ctx: Auth) -> EventSourceResponse:
    """Real-time SOS and alerts for this staff member (admins and practitioners)."""
    ensure_allowed(ctx.principal, Permission.EVENTS_STREAM)
    events = _events(event_hub(request), app_state(request).sessionmaker, ctx.principal)
    return EventSourceResponse(events, ping=PING_S)


async def _events(
    hub: EventHub, maker: async_sessionmaker[AsyncSession], principal: Principal
) -> AsyncIterator[ServerSentEvent]:
    with hub.subscribe(principal.tenant_id) as queue:
        yield ServerSentEvent(event="ready", data="{}")
        while True:
            event = await queue.get()
            if event.kind == RESYNC:
                yield ServerSentEvent(event=RESYNC, data="{}")
            elif await _visible(maker, principal, event):
                data = json.dumps({"kind": event.kind, "id": str(event.id)})
                yield ServerSentEvent(event=event.kind, id=str(event.id), data=data)


async def _visible(
    maker: async_sessionmaker[AsyncSession], principal: Principal, event: Event
) -> bool:
    check = STREAMED.get(event.kind)
    if check is None or event.id is None:
        return False
    async with transaction(maker, tenancy_for(principal)) as session:
        return await check(session, principal, event.id)
