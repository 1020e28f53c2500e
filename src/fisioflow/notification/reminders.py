"""Due reminders → outbox messages. Each reminder is turned into messages once: its row
is locked (`SKIP LOCKED`) and marked `queued` in the same transaction that writes the
messages, whose delivery keys (`reminder:<id>:<channel>`) are unique."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.notification import outbox
from fisioflow.notification.links import make_token
from fisioflow.notification.recipients import Contact, resolve
from fisioflow.notification.render import when_text

# The batch is picked (and locked) from the reminders alone, in due order, before the
# joins: with the joins under the LIMIT the planner sorts every due reminder of the clinic
# per batch, and on stale statistics (a clinic that just grew) it chose a nested loop
# over all its patients per reminder (11 s a batch of 1,000 out of 10,000).
_DUE = text(
    """
    with due as (
        select id, appointment_id, due_at from reminder
         where tenant_id = :tenant and status = 'scheduled' and due_at <= now()
         order by due_at
         limit :limit
           for update skip locked)
    select r.id, r.appointment_id, a.starts_at, p.id as patient_id, p.full_name,
           p.social_name, p.email, p.phone, pr.full_name as practitioner_name,
           c.name as clinic_name, c.timezone,
           a.starts_at > now() and a.status in ('scheduled', 'confirmed') as live
      from due r
      join appointment a on a.tenant_id = :tenant and a.id = r.appointment_id
      join patient p on p.tenant_id = :tenant and p.id = a.patient_id
      join practitioner pr on pr.tenant_id = :tenant and pr.id = a.practitioner_id
      join clinic c on c.id = :tenant
     order by r.due_at
    """
)


_QUEUED = text(
    "update reminder r set status = case when d.live then 'queued' else 'cancelled' end,"
    " queued_at = now(), updated_at = now()"
    " from unnest(cast(:ids as uuid[]), cast(:live as boolean[])) as d(id, live)"
    " where r.tenant_id = :tenant and r.id = d.id"
)


async def clinics_due(session: AsyncSession) -> list[uuid.UUID]:
    """Clinics with reminders due (role 'system', policy system_sweep)."""
    rows = await session.scalars(
        text(
            "select distinct tenant_id from reminder where status = 'scheduled' and due_at <= now()"
        )
    )
    return list(rows)


async def enqueue_due(
    session: AsyncSession, tenant: uuid.UUID, *, key: str, base_url: str, limit: int
) -> int:
    """One batch: messages for up to `limit` due reminders; returns how many reminders."""
    due = (await session.execute(_DUE, {"tenant": tenant, "limit": limit})).all()
    if not due:
        return 0
    live = [r for r in due if r.live]
    contacts = [Contact(r.patient_id, None, r.email, r.phone) for r in live]
    found = await resolve(session, tenant, contacts) if live else {}
    rows: list[dict[str, Any]] = []
    for r in live:
        link = f"{base_url.rstrip('/')}/r/{make_token(key, tenant=tenant, reminder_id=r.id)}"
        payload = {
            "patient_name": (r.social_name or r.full_name).split()[0],
            "clinic_name": r.clinic_name,
            "practitioner_name": r.practitioner_name,
            "when": when_text(r.starts_at, r.timezone),
            "appointment_id": str(r.appointment_id),
            "link": link,
        }
        rows += [
            outbox.row(
                tenant,
                recipient,
                template="appointment_reminder",
                payload=payload,
                key=f"reminder:{r.id}",
                appointment_id=r.appointment_id,
                reminder_id=r.id,
            )
            for recipient in found[r.patient_id]
        ]
    await outbox.add(session, tenant, rows)
    await session.execute(
        _QUEUED,
        {"tenant": tenant, "ids": [r.id for r in due], "live": [bool(r.live) for r in due]},
    )
    return len(due)
