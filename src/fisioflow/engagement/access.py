"""Who may reach a patient's engagement data.

- The patient, through the portal (`/me/...`): their own rows only (`app.patient_id`).
- Staff with the permission: clinic admins, and the patient's assigned practitioner.
  Other practitioners, receptionists and other clinics get 404, as for a patient that
  does not exist. RLS enforces the role classes again (migration 0013_engagement).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, Role
from fisioflow.core.errors import Forbidden, NotFound
from fisioflow.models import Patient
from fisioflow.patient import repository as patient_repository
from fisioflow.practitioner import repository as practitioner_repository


def portal_patient(principal: Principal, *, on_object: bool = False) -> uuid.UUID:
    """The patient id of a portal account; staff are refused (404 for an object)."""
    ensure_allowed(principal, Permission.PORTAL, on_object=on_object)
    if principal.patient_id is None:
        if on_object:
            raise NotFound("not found")
        raise Forbidden("this account is not linked to a patient", code="not_a_patient")
    return principal.patient_id


async def cared_patient(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, permission: Permission
) -> Patient:
    """The patient, if the caller is an admin or the patient's assigned practitioner."""
    ensure_allowed(principal, permission, on_object=True)
    patient = await patient_repository.get(session, principal.tenant_id, patient_id)
    if patient is None:
        raise NotFound("patient not found")
    if principal.role == Role.ADMIN:
        return patient
    own = await practitioner_repository.id_for_user(session, principal.tenant_id, principal.user_id)
    if own is None or patient.practitioner_id != own:
        raise NotFound("patient not found")
    return patient
