"""Writing to the outbox inside the caller's transaction, with the delivery job queued in
the same transaction: a message exists (and will be sent) only if the write commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.core.ids import new_id
from fisioflow.core.jobs import defer_in_transaction
from fisioflow.notification import repository
from fisioflow.notification.recipients import Recipient

DELIVER_TASK = "notification.deliver"


def row(
    tenant: uuid.UUID,
    recipient: Recipient,
    *,
    template: str,
    payload: dict[str, Any],
    key: str,
    urgent: bool = False,
    appointment_id: uuid.UUID | None = None,
    reminder_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    device = f":{recipient.device}" if recipient.device else ""
    return {
        "tenant_id": tenant,
        "id": new_id(),
        "channel": recipient.channel,
        "template": template,
        "patient_id": recipient.patient_id,
        "user_id": recipient.user_id,
        "recipient": recipient.address,
        "payload": payload,
        "urgent": urgent,
        "delivery_key": f"{key}:{recipient.channel}{device}",
        "appointment_id": appointment_id,
        "reminder_id": reminder_id,
    }


async def add(session: AsyncSession, tenant: uuid.UUID, rows: Sequence[dict[str, Any]]) -> int:
    """Insert (skipping delivery keys already there) and queue a delivery per channel."""
    created = await repository.add(session, rows)
    await kick(session, tenant, {r["channel"] for r in rows} if created else ())
    return len(created)


async def kick(session: AsyncSession, tenant: uuid.UUID, channels: Iterable[str]) -> None:
    for channel in sorted(set(channels)):
        await defer_in_transaction(
            session,
            DELIVER_TASK,
            {"clinic_id": str(tenant), "channel": channel},
            queueing_lock=f"{DELIVER_TASK}:{tenant}:{channel}",
        )
