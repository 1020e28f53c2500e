"""One patient's own data as a JSON document (LGPD art. 18, data portability).

Who: the patient about themself; a clinic admin; the patient's own practitioner.
Receptionists and everyone else get 404, as for a patient that does not exist.
What: the registration plus the patient's rows of every table with a `patient_id`
column, found in the catalog, so tables added later are included. Rows come under the
caller's row-level security: a patient gets what the portal may show them (their
signed entries when the clinic shares records); credentials are never included.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.audit.access import AccessLog
from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, Role
from fisioflow.auth.repository import Identity
from fisioflow.core.errors import NotFound
from fisioflow.patient import service as patient_service
from fisioflow.portability import repository
from fisioflow.portability.schemas import ExportClinic, PatientExport

EXPORT = "patient_export"  # the access event's table_name


async def export_patient(
    session: AsyncSession,
    *,
    principal: Principal,
    identity: Identity,
    access: AccessLog,
    patient_id: uuid.UUID,
) -> PatientExport:
    await _ensure_may_export(session, principal, patient_id)
    patient = await repository.patient_row(session, principal.tenant_id, patient_id)
    if patient is None:
        raise NotFound("patient not found")
    data = {
        table.name: await repository.rows_of(session, table, principal.tenant_id, patient_id)
        for table in await repository.patient_tables(session)
    }
    # The whole chart leaves the clinic: one access event, the patient as its record.
    access.viewed(EXPORT, patient_id=patient_id, ids=[patient_id])
    return PatientExport(
        exported_at=dt.datetime.now(dt.UTC),
        clinic=ExportClinic(id=str(identity.clinic_id), name=identity.clinic_name),
        patient=patient,
        data=data,
    )


async def _ensure_may_export(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID
) -> None:
    if principal.role == Role.PATIENT:
        if principal.patient_id != patient_id:
            raise NotFound("patient not found")
        return
    ensure_allowed(principal, Permission.RECORDS_READ, on_object=True)
    await patient_service.get_patient(session, principal, patient_id)
