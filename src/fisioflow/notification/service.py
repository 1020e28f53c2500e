"""Messages the product sends: to patients about their appointments, to staff about
alerts. Each is written to the outbox in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.core.ids import new_id
from fisioflow.core.jobs import defer_in_transaction
from fisioflow.models import Appointment, Clinic, Patient, Practitioner, User
from fisioflow.notification import outbox
from fisioflow.notification.recipients import Contact, resolve
from fisioflow.notification.render import when_text

ALERT_TEMPLATES = {
    "pain_high": "alert_pain",
    "pain_rising": "alert_pain",
    "missed_sessions": "alert_missed_sessions",
    "sos": "alert_sos",
}
ALERT_TASK = "notification.alert_staff"


@dataclass(frozen=True)
class Visit:
    appointment: Appointment
    patient: Patient
    practitioner_name: str | None
    clinic: Clinic


async def _visit(session: AsyncSession, tenant: uuid.UUID, appointment_id: uuid.UUID) -> Visit:
    row = (
        await session.execute(
            select(Appointment, Patient, Practitioner.full_name, Clinic)
            .join(
                Patient,
                (Patient.tenant_id == Appointment.tenant_id)
                & (Patient.id == Appointment.patient_id),
            )
            .join(
                Practitioner,
                (Practitioner.tenant_id == Appointment.tenant_id)
                & (Practitioner.id == Appointment.practitioner_id),
            )
            .join(Clinic, Clinic.id == Appointment.tenant_id)
            .where(Appointment.tenant_id == tenant, Appointment.id == appointment_id)
        )
    ).one()
    return Visit(row[0], row[1], row[2], row[3])


def visit_payload(visit: Visit, **extra: Any) -> dict[str, Any]:
    patient = visit.patient
    return {
        "patient_name": (patient.social_name or patient.full_name).split()[0],
        "clinic_name": visit.clinic.name,
        "practitioner_name": visit.practitioner_name,
        "when": when_text(visit.appointment.starts_at, visit.clinic.timezone),
        "appointment_id": str(visit.appointment.id),
        **extra,
    }


async def appointment_message(
    session: AsyncSession,
    tenant: uuid.UUID,
    appointment_id: uuid.UUID,
    *,
    template: str,
    **extra: Any,
) -> int:
    """Confirmation or cancellation to the patient, on each channel they chose. Nothing
    for visits already in the past (back-filled records)."""
    visit = await _visit(session, tenant, appointment_id)
    if visit.appointment.starts_at <= dt.datetime.now(dt.UTC):
        return 0
    patient = visit.patient
    contact = Contact(patient.id, None, patient.email, patient.phone)
    recipients = (await resolve(session, tenant, [contact]))[patient.id]
    payload = visit_payload(visit, **extra)
    key = f"{template}:{appointment_id}:{new_id()}"
    rows = [
        outbox.row(
            tenant, r, template=template, payload=payload, key=key, appointment_id=appointment_id
        )
        for r in recipients
    ]
    return await outbox.add(session, tenant, rows)


async def booked(
    session: AsyncSession, tenant: uuid.UUID, appointment_id: uuid.UUID, *, series_count: int = 0
) -> int:
    return await appointment_message(
        session,
        tenant,
        appointment_id,
        template="appointment_confirmation",
        moved=False,
        series_count=series_count,
    )


async def moved(session: AsyncSession, tenant: uuid.UUID, appointment_id: uuid.UUID) -> int:
    return await appointment_message(
        session,
        tenant,
        appointment_id,
        template="appointment_confirmation",
        moved=True,
        series_count=0,
    )


async def cancelled(
    session: AsyncSession, tenant: uuid.UUID, appointment_id: uuid.UUID, *, count: int = 1
) -> int:
    return await appointment_message(
        session, tenant, appointment_id, template="appointment_cancellation", count=count
    )


async def practitioner_alert(
    session: AsyncSession,
    tenant: uuid.UUID,
    *,
    kind: str,
    alert_id: uuid.UUID,
    patient_id: uuid.UUID,
    user_ids: list[uuid.UUID],
    link: str,
    at: dt.datetime | None = None,
    count: int = 0,
) -> int:
    """Pain, missed sessions or SOS, to the given staff users; SOS is urgent (quiet hours
    do not hold it back)."""
    template = ALERT_TEMPLATES[kind]
    patient = await session.get(Patient, (tenant, patient_id))
    clinic = await session.get(Clinic, tenant)
    assert patient is not None
    assert clinic is not None
    users = (
        await session.scalars(
            select(User).where(User.tenant_id == tenant, User.id.in_(user_ids), User.is_active)
        )
    ).all()
    contacts = [Contact(None, u.id, u.email, None) for u in users]
    found = await resolve(session, tenant, contacts)
    payload = {
        "patient_name": patient.social_name or patient.full_name,
        "clinic_name": clinic.name,
        "link": link,
        "when": when_text(at or dt.datetime.now(dt.UTC), clinic.timezone),
        "count": count,
    }
    rows = [
        outbox.row(
            tenant,
            r,
            template=template,
            payload=payload,
            key=f"alert:{alert_id}:{r.user_id}",
            urgent=kind == "sos",
        )
        for recipients in found.values()
        for r in recipients
    ]
    return await outbox.add(session, tenant, rows)


async def queue_staff_alert(
    session: AsyncSession,
    tenant: uuid.UUID,
    *,
    kind: str,
    alert_id: uuid.UUID,
    patient_id: uuid.UUID,
    user_ids: list[uuid.UUID] | None = None,
) -> None:
    """Queue `practitioner_alert` in the caller's transaction. The caller may be the patient
    (SOS, their own exercise log), whose RLS hides staff contacts: the job writes the
    messages as the clinic. Without `user_ids`, the job sends to `care_team(patient)`."""
    if kind not in ALERT_TEMPLATES:
        raise ValueError(f"no template for alert kind {kind!r}")
    await defer_in_transaction(
        session,
        ALERT_TASK,
        {
            "clinic_id": str(tenant),
            "kind": kind,
            "alert_id": str(alert_id),
            "patient_id": str(patient_id),
            "user_ids": None if user_ids is None else [str(u) for u in user_ids],
            "at": dt.datetime.now(dt.UTC).isoformat(),
        },
    )


async def care_team(
    session: AsyncSession, tenant: uuid.UUID, patient_id: uuid.UUID
) -> list[uuid.UUID]:
    """Who hears of a patient's alert: the user of the patient's assigned practitioner and
    the clinic's active admins (the staff who see the alert in their list)."""
    assigned = (
        select(Practitioner.user_id)
        .join(
            Patient,
            (Patient.tenant_id == Practitioner.tenant_id)
            & (Patient.practitioner_id == Practitioner.id),
        )
        .where(Patient.tenant_id == tenant, Patient.id == patient_id)
        .scalar_subquery()
    )
    found = await session.scalars(
        select(User.id).where(
            User.tenant_id == tenant,
            User.is_active,
            (User.role == "admin") | (User.id == assigned),
        )
    )
    return list(found)
