"""Clinical record rules: who reads and writes, drafts, signing, addenda.

Readers: clinic admins, the patient's assigned practitioner, and the patient (their own
signed entries) when the clinic enables `patients_read_records`. Receptionists never.
Anyone else gets 404, as for a patient that does not exist.

Writers: a user linked to an active practitioner profile who may read the patient (a
practitioner for their patients, or an admin who is also a practitioner); the entry's
author is that profile. An admin without a profile reads but does not write (403
`not_a_practitioner`): an entry must name a registered professional. Only the author
edits or signs a draft. Addenda are signed when created, by their own author.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, Role
from fisioflow.core.errors import Conflict, Forbidden, NotFound
from fisioflow.core.ids import new_id
from fisioflow.core.pagination import Page, PageParams, build_page
from fisioflow.models import Patient, Practitioner, RecordEntry
from fisioflow.patient import repository as patient_repository
from fisioflow.practitioner import repository as practitioner_repository
from fisioflow.record import integrity, repository
from fisioflow.record.repository import Timeline
from fisioflow.record.schemas import (
    AddendumCreate,
    Diagnosis,
    RecordCreate,
    RecordDetail,
    RecordOut,
    RecordUpdate,
    parse_content,
)
from fisioflow.record.vitals import Vitals


@dataclass(frozen=True)
class Access:
    patient: Patient
    practitioner: Practitioner | None  # the caller's own profile, if any
    signed_only: bool


def out(entry: RecordEntry) -> RecordOut:
    return RecordOut.model_validate(entry, from_attributes=True)


async def _access(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, *, write: bool = False
) -> Access:
    if principal.role == Role.PATIENT and not write:
        return await _patient_self(session, principal, patient_id)
    ensure_allowed(
        principal, Permission.RECORDS_WRITE if write else Permission.RECORDS_READ, on_object=True
    )
    patient = await patient_repository.get(session, principal.tenant_id, patient_id)
    own = await practitioner_repository.for_user(session, principal.tenant_id, principal.user_id)
    treats = own is not None and patient is not None and patient.practitioner_id == own.id
    if patient is None or not (treats or principal.role == Role.ADMIN):
        raise NotFound("patient not found")
    return Access(patient=patient, practitioner=own, signed_only=False)


async def _patient_self(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID
) -> Access:
    tenant = principal.tenant_id
    if principal.patient_id != patient_id or not await repository.patients_read_records(
        session, tenant
    ):
        raise NotFound("patient not found")
    patient = await patient_repository.get(session, tenant, patient_id)
    if patient is None:
        raise NotFound("patient not found")
    return Access(patient=patient, practitioner=None, signed_only=True)


def _author(access: Access) -> Practitioner:
    if access.practitioner is None:
        raise Forbidden(
            "only users linked to a practitioner profile write clinical records",
            code="not_a_practitioner",
        )
    if access.practitioner.status != "active":
        raise Forbidden(
            "an inactive practitioner cannot write records", code="practitioner_inactive"
        )
    return access.practitioner


async def list_records(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    page: PageParams,
    *,
    kinds: Sequence[str] = (),
    status: str | None = None,
) -> Page[RecordOut]:
    access = await _access(session, principal, patient_id)
    filters = Timeline(kinds=kinds, status=status, signed_only=access.signed_only)
    rows = await repository.timeline(
        session, principal.tenant_id, patient_id, filters, before=page.after, limit=page.limit
    )
    return build_page([out(r) for r in rows], limit=page.limit)


async def get_record(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, record_id: uuid.UUID
) -> RecordDetail:
    access = await _access(session, principal, patient_id)
    entry = await repository.get(
        session, principal.tenant_id, patient_id, record_id, signed_only=access.signed_only
    )
    if entry is None:
        raise NotFound("record entry not found")
    addenda = await repository.addenda(session, principal.tenant_id, entry.id)
    return RecordDetail(**out(entry).model_dump(), addenda=[out(a) for a in addenda])


async def create_record(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, body: RecordCreate
) -> RecordOut:
    author = _author(await _access(session, principal, patient_id, write=True))
    entry = RecordEntry(
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        appointment_id=body.appointment_id,
        author_id=author.id,
        kind=body.kind,
        content=parse_content(body.kind, body.content),
        diagnoses=_diagnoses(body.diagnoses),
        vitals=_vitals(body.vitals),
        status="draft",
    )
    session.add(entry)
    return await _saved(session, entry)


async def update_record(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    record_id: uuid.UUID,
    body: RecordUpdate,
) -> RecordOut:
    entry = await _own_draft(session, principal, patient_id, record_id)
    given = body.model_fields_set
    if body.content is not None:
        merged = {**entry.content, **body.content}
        kept = {key: value for key, value in merged.items() if value is not None}
        entry.content = parse_content(entry.kind, kept)
    if body.diagnoses is not None:
        entry.diagnoses = _diagnoses(body.diagnoses)
    if "vitals" in given:
        entry.vitals = _vitals(body.vitals)
    if "appointment_id" in given:
        entry.appointment_id = body.appointment_id
    return await _saved(session, entry)


async def sign_record(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, record_id: uuid.UUID
) -> RecordOut:
    entry = await _own_draft(session, principal, patient_id, record_id)
    _sign(entry, principal)
    return await _saved(session, entry)


async def create_addendum(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    record_id: uuid.UUID,
    body: AddendumCreate,
) -> RecordOut:
    author = _author(await _access(session, principal, patient_id, write=True))
    parent = await repository.get(session, principal.tenant_id, patient_id, record_id)
    if parent is None:
        raise NotFound("record entry not found")
    _check_addendable(parent)
    entry = RecordEntry(
        tenant_id=principal.tenant_id,
        id=new_id(),  # the hash covers the id, so it is known before the insert
        patient_id=patient_id,
        author_id=author.id,
        kind="addendum",
        parent_id=parent.id,
        appointment_id=None,
        content=parse_content("addendum", body.content),
        diagnoses=_diagnoses(body.diagnoses),
        vitals=_vitals(body.vitals),
    )
    _sign(entry, principal)
    session.add(entry)
    return await _saved(session, entry)


def _check_addendable(parent: RecordEntry) -> None:
    if parent.status != "signed":
        raise Conflict(
            "only a signed entry takes addenda; this one is a draft, edit it instead",
            code="record_not_signed",
            field="status",
            extra={"record_status": parent.status},
        )
    if parent.kind == "addendum":
        raise Conflict(
            "add the addendum to the original entry, not to another addendum",
            code="addendum_of_addendum",
            field="record_id",
            extra={"original_id": str(parent.parent_id)},
        )


async def _own_draft(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, record_id: uuid.UUID
) -> RecordEntry:
    author = _author(await _access(session, principal, patient_id, write=True))
    entry = await repository.get(
        session, principal.tenant_id, patient_id, record_id, for_update=True
    )
    if entry is None:
        raise NotFound("record entry not found")
    if entry.status == "signed":
        raise _signed(entry)
    if entry.author_id != author.id:
        raise Forbidden("only the author edits or signs a draft", code="not_author")
    return entry


def _signed(entry: RecordEntry) -> Conflict:
    signed_at = integrity.utc_text(entry.signed_at) if entry.signed_at else None
    return Conflict(
        f"the record entry is signed (at {signed_at}) and can no longer change; "
        "add an addendum to correct it",
        code="record_signed",
        field="status",
        extra={"record_status": entry.status, "signed_at": signed_at},
    )


def _sign(entry: RecordEntry, principal: Principal) -> None:
    entry.status = "signed"
    entry.signed_at = dt.datetime.now(dt.UTC)
    entry.signed_by = principal.user_id
    entry.content_hash = integrity.content_hash(entry)


async def _saved(session: AsyncSession, entry: RecordEntry) -> RecordOut:
    await session.flush()
    await session.refresh(entry)
    return out(entry)


def _diagnoses(diagnoses: list[Diagnosis]) -> list[dict[str, Any]]:
    return [d.model_dump(mode="json", exclude_none=True) for d in diagnoses]


def _vitals(vitals: Vitals | None) -> dict[str, Any] | None:
    if vitals is None:
        return None
    document = vitals.model_dump(mode="json", exclude_none=True)
    if not document.get("range_of_motion"):
        document.pop("range_of_motion", None)
    return document or None
