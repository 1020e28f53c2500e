"""Every SQL statement of the notification module."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.models import Notification, NotificationPreference, PushSubscription

# Rows of a killed worker whose lease ran out, then waiting rows whose time has come, each
# from its own partial index in order: as one OR the planner sorted every waiting row of
# the clinic for each batch (100,000 rows queued by a reminder run: ~0.1 s a claim, under
# the clinic's audit-chain lock). The UPDATE finds the picked rows by their ctids only (a
# TID scan; the CTEs lock them, so they stay put; the row security policy keeps it in the
# clinic). Given a tenant_id or id to look them up by, the planner's choice rests on the
# statistics, which know nothing yet of a clinic whose outbox just filled: it walked the
# clinic's whole outbox per claim (3.5 s with `(tenant_id, id) in (select ...)` and 10,000
# messages queued; 40 ms through the (tenant_id, appointment_id) index with `id = any`).
_CLAIM = text(
    """
    with stale as (
        select ctid from notification
         where tenant_id = :tenant and channel = :channel and status = 'sending'
           and lease_until < now()
         order by lease_until
         limit :limit
           for update skip locked),
    waiting as (
        select ctid from notification
         where tenant_id = :tenant and channel = :channel
           and status in ('pending', 'failed') and next_attempt_at <= now()
         order by next_attempt_at
         limit :limit - (select count(*) from stale)
           for update skip locked)
    update notification n
       set status = 'sending', lease_until = now() + make_interval(secs => :lease),
           updated_at = now()
      from clinic c
     where c.id = :tenant
       and n.ctid = any(array(select ctid from stale union all select ctid from waiting))
    returning n.id, n.recipient, n.template, n.payload, n.urgent, n.attempts,
              n.delivery_key, c.timezone
    """
)


async def claim(
    session: AsyncSession, tenant: uuid.UUID, channel: str, *, limit: int, lease_s: float
) -> Sequence[Row[Any]]:
    result = await session.execute(
        _CLAIM, {"tenant": tenant, "channel": channel, "limit": limit, "lease": lease_s}
    )
    return result.all()


async def mark_unsent(
    session: AsyncSession,
    tenant: uuid.UUID,
    notification_id: uuid.UUID,
    *,
    status: str,
    error: str | None,
    retry_at: dt.datetime | None = None,
    attempted: bool = True,
) -> None:
    """Back to waiting (failed/pending) or to dead; also undoes a `sent` that the server
    refused after the commit."""
    values: dict[str, Any] = {
        "status": status,
        "sent_at": None,
        "lease_until": None,
        "last_error": error[:1000] if error else None,
        "updated_at": func.now(),
    }
    if attempted:
        values["attempts"] = Notification.attempts + 1
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    await session.execute(
        update(Notification)
        .where(
            Notification.tenant_id == tenant,
            Notification.id == notification_id,
            Notification.status.in_(("sending", "sent")),
        )
        .values(values)
    )


# The rows of outbox.row() as one JSON parameter: a batch of reminders is thousands of
# bind parameters otherwise, and the driver's parsing of such a statement cost more than
# the insert itself.
_ADD = text(
    """
    insert into notification (tenant_id, id, channel, template, patient_id, user_id,
                              recipient, payload, urgent, delivery_key, appointment_id,
                              reminder_id)
    select tenant_id, id, channel, template, patient_id, user_id, recipient, payload, urgent,
           delivery_key, appointment_id, reminder_id
      from jsonb_to_recordset(cast(:rows as jsonb)) as r(
           tenant_id uuid, id uuid, channel text, template text, patient_id uuid,
           user_id uuid, recipient text, payload jsonb, urgent boolean, delivery_key text,
           appointment_id uuid, reminder_id uuid)
        on conflict (tenant_id, delivery_key) do nothing
    returning id
    """
)


async def add(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
    """Insert messages; a delivery key already present is skipped (idempotent)."""
    if not rows:
        return []
    found = await session.scalars(_ADD, {"rows": json.dumps(list(rows), default=str)})
    return list(found)


async def clinics_with_work(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """(clinic, channel) pairs with messages due or stranded by a killed worker (role
    'system', policy system_sweep)."""
    result = await session.execute(
        text(
            """
            select distinct tenant_id, channel from notification
             where status in ('pending', 'failed') and next_attempt_at <= now()
            union
            select distinct tenant_id, channel from notification
             where status = 'sending' and lease_until < now()
            """
        )
    )
    return [(r[0], r[1]) for r in result]


async def preferences(
    session: AsyncSession, tenant: uuid.UUID, *, patient_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], bool]:
    rows = await session.execute(
        select(
            NotificationPreference.patient_id,
            NotificationPreference.channel,
            NotificationPreference.enabled,
        ).where(
            NotificationPreference.tenant_id == tenant,
            NotificationPreference.patient_id.in_(patient_ids),
        )
    )
    return {(r.patient_id, r.channel): r.enabled for r in rows}


async def user_preferences(
    session: AsyncSession, tenant: uuid.UUID, *, user_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], bool]:
    rows = await session.execute(
        select(
            NotificationPreference.user_id,
            NotificationPreference.channel,
            NotificationPreference.enabled,
        ).where(
            NotificationPreference.tenant_id == tenant,
            NotificationPreference.user_id.in_(user_ids),
        )
    )
    return {(r.user_id, r.channel): r.enabled for r in rows}


async def push_subscriptions(
    session: AsyncSession, tenant: uuid.UUID, *, user_ids: Sequence[uuid.UUID]
) -> Sequence[PushSubscription]:
    rows = await session.scalars(
        select(PushSubscription).where(
            PushSubscription.tenant_id == tenant, PushSubscription.user_id.in_(user_ids)
        )
    )
    return rows.all()
