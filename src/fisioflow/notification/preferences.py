"""Contact preferences: which channels a patient (or a staff user) receives messages on.
SMS and WhatsApp need a recorded consent (LGPD); the database refuses them without it."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import Principal, Role
from fisioflow.core.errors import InvalidInput
from fisioflow.core.ids import new_id
from fisioflow.models import NotificationPreference
from fisioflow.notification.schemas import ChannelPreference, PreferencesIn, PreferencesOut
from fisioflow.patient import service as patient_service

CHANNELS = ("email", "sms", "whatsapp", "push")
DEFAULTS = {"email": True, "sms": False, "whatsapp": False, "push": True}
CONSENT_CHANNELS = ("sms", "whatsapp")


async def of_patient(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID
) -> PreferencesOut:
    await patient_service.get_patient(session, principal, patient_id)
    return await _read(session, principal, patient_id=patient_id)


async def set_for_patient(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, body: PreferencesIn
) -> PreferencesOut:
    own = principal.role == Role.PATIENT and principal.patient_id == patient_id
    await patient_service.get_patient(session, principal, patient_id, write=not own)
    await _write(session, principal, body, patient_id=patient_id)
    return await _read(session, principal, patient_id=patient_id)


async def mine(session: AsyncSession, principal: Principal) -> PreferencesOut:
    if principal.patient_id is not None:
        return await _read(session, principal, patient_id=principal.patient_id)
    return await _read(session, principal, user_id=principal.user_id)


async def set_mine(
    session: AsyncSession, principal: Principal, body: PreferencesIn
) -> PreferencesOut:
    if principal.patient_id is not None:
        return await set_for_patient(session, principal, principal.patient_id, body)
    await _write(session, principal, body, user_id=principal.user_id)
    return await _read(session, principal, user_id=principal.user_id)


async def _rows(
    session: AsyncSession,
    principal: Principal,
    *,
    patient_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> dict[str, NotificationPreference]:
    subject = (
        NotificationPreference.patient_id == patient_id
        if patient_id is not None
        else NotificationPreference.user_id == user_id
    )
    found = await session.scalars(
        select(NotificationPreference).where(
            NotificationPreference.tenant_id == principal.tenant_id, subject
        )
    )
    return {row.channel: row for row in found}


async def _read(
    session: AsyncSession,
    principal: Principal,
    *,
    patient_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> PreferencesOut:
    stored = await _rows(session, principal, patient_id=patient_id, user_id=user_id)
    channels = []
    for channel in CHANNELS:
        row = stored.get(channel)
        enabled = row.enabled if row is not None else DEFAULTS[channel]
        consent = row.consent_at if row is not None else None
        channels.append(
            ChannelPreference.model_validate(
                {"channel": channel, "enabled": enabled, "consent_at": consent}
            )
        )
    return PreferencesOut(channels=channels)


async def _write(
    session: AsyncSession,
    principal: Principal,
    body: PreferencesIn,
    *,
    patient_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> None:
    stored = await _rows(session, principal, patient_id=patient_id, user_id=user_id)
    now = dt.datetime.now(dt.UTC)
    for channel, enabled in body.channels.model_dump(exclude_none=True).items():
        row = stored.get(channel)
        if row is None:
            row = NotificationPreference(
                tenant_id=principal.tenant_id,
                id=new_id(),
                patient_id=patient_id,
                user_id=user_id,
                channel=channel,
                enabled=enabled,
            )
            session.add(row)
        row.enabled = enabled
        if channel in CONSENT_CHANNELS and enabled:
            if body.consent:
                row.consent_at, row.consent_by = now, principal.user_id
            elif row.consent_at is None:
                raise InvalidInput(
                    f"{channel} messages need the patient's recorded consent (LGPD)",
                    field="consent",
                )
    await session.flush()
