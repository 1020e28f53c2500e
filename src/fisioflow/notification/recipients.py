"""Who gets a message on which channel: the patient's (or user's) preferences.

Defaults without a preference row: email on (when there is an address); SMS and WhatsApp
off (they need a recorded consent, LGPD); web push on for every subscribed device.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.models import User
from fisioflow.notification import repository


@dataclass(frozen=True)
class Contact:
    patient_id: uuid.UUID | None
    user_id: uuid.UUID | None
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class Recipient:
    channel: str
    address: str
    patient_id: uuid.UUID | None
    user_id: uuid.UUID | None
    device: str = ""  # push: one message per subscribed device


async def resolve(
    session: AsyncSession, tenant: uuid.UUID, contacts: Sequence[Contact]
) -> dict[uuid.UUID, list[Recipient]]:
    """Recipients per contact (keyed by patient id, or user id for staff)."""
    patient_ids = [c.patient_id for c in contacts if c.patient_id is not None]
    users = await _portal_users(session, tenant, patient_ids)
    user_ids = [c.user_id for c in contacts if c.user_id is not None] + list(users.values())
    patient_prefs = await repository.preferences(session, tenant, patient_ids=patient_ids)
    user_prefs = await repository.user_preferences(session, tenant, user_ids=user_ids)
    devices: dict[uuid.UUID, list[Recipient]] = {}
    for sub in await repository.push_subscriptions(session, tenant, user_ids=user_ids):
        info = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
        devices.setdefault(sub.user_id, []).append(
            Recipient("push", json.dumps(info), None, sub.user_id, device=str(sub.id))
        )
    found: dict[uuid.UUID, list[Recipient]] = {}
    for contact in contacts:
        key = contact.patient_id or contact.user_id
        assert key is not None
        user_id = contact.user_id or users.get(key)
        prefs = patient_prefs if contact.patient_id else user_prefs

        def on(
            channel: str,
            default: bool,
            key: uuid.UUID = key,
            prefs: dict[tuple[uuid.UUID, str], bool] = prefs,
        ) -> bool:
            return prefs.get((key, channel), default)

        chosen = []
        if contact.email and on("email", True):
            chosen.append(Recipient("email", contact.email, contact.patient_id, contact.user_id))
        for channel in ("sms", "whatsapp"):
            if contact.phone and on(channel, False):
                chosen.append(
                    Recipient(channel, contact.phone, contact.patient_id, contact.user_id)
                )
        if user_id is not None and on("push", True) and user_prefs.get((user_id, "push"), True):
            chosen += [
                Recipient("push", d.address, contact.patient_id, user_id, device=d.device)
                for d in devices.get(user_id, [])
            ]
        found[key] = chosen
    return found


async def _portal_users(
    session: AsyncSession, tenant: uuid.UUID, patient_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    if not patient_ids:
        return {}
    rows = await session.execute(
        select(User.patient_id, User.id).where(
            User.tenant_id == tenant, User.patient_id.in_(patient_ids), User.is_active
        )
    )
    return {r.patient_id: r.id for r in rows}
