"""Real-time events: PostgreSQL NOTIFY on one channel, sent with the transaction.

`publish()` runs `pg_notify` inside the caller's transaction, so listeners (the
server-sent events stream) hear of a row only once it is committed, and never of a
rolled-back one. The payload names the clinic, the kind and the row id only: never
health data (a listener reads the row itself, under its own RLS).
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

CHANNEL = "fisioflow_events"
_NOTIFY = text("select pg_notify(:channel, :payload)")


def payload(*, tenant: uuid.UUID, kind: str, id: uuid.UUID) -> str:
    return json.dumps({"tenant": str(tenant), "kind": kind, "id": str(id)})


async def publish(session: AsyncSession, *, tenant: uuid.UUID, kind: str, id: uuid.UUID) -> None:
    await session.execute(
        _NOTIFY, {"channel": CHANNEL, "payload": payload(tenant=tenant, kind=kind, id=id)}
    )
