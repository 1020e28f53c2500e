"""Patient registry rules: who sees whom, duplicates, optimistic concurrency, archiving."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth import service as auth_service
from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, Role
from fisioflow.core import br
from fisioflow.core.errors import (
    Conflict,
    FisioflowError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from fisioflow.core.etag import parse_if_match
from fisioflow.core.pagination import Page, PageParams, build_page, encode_cursor
from fisioflow.core.schemas import validate_as
from fisioflow.models import Patient, User
from fisioflow.patient import repository
from fisioflow.patient.repository import Filters, Query
from fisioflow.patient.schemas import (
    DuplicateWarning,
    PatientCreated,
    PatientIn,
    PatientListItem,
    PatientOut,
    PatientUpdate,
)
from fisioflow.practitioner import repository as practitioner_repository
from fisioflow.user import repository as user_repository


def out(patient: Patient) -> PatientOut:
    return PatientOut.model_validate(patient, from_attributes=True)


async def _own_practitioner(session: AsyncSession, principal: Principal) -> uuid.UUID | None:
    """A practitioner sees only their patients; None for roles that see the whole clinic."""
    if principal.role != Role.PRACTITIONER:
        return None
    mine = await practitioner_repository.id_for_user(
        session, principal.tenant_id, principal.user_id
    )
    return mine or uuid.UUID(int=0)  # not linked to a profile: matches no patient


def parse_query(q: str | None) -> Query | None:
    text = (q or "").strip()
    if not text:
        return None
    if "@" in text:
        return Query(email=text)
    if cpf := br.looks_like_cpf(text):
        return Query(cpf=cpf, phone=br.maybe_phone(text))
    if len(re.sub(r"\D", "", text)) >= 8:
        return Query(phone=br.maybe_phone(text) or "unparseable")
    return Query(name=text)


async def list_patients(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    q: str | None,
    filters: Filters,
) -> Page[PatientListItem]:
    ensure_allowed(principal, Permission.PATIENTS_READ)
    own = await _own_practitioner(session, principal)
    if own is not None:
        if filters.practitioner_id not in (None, own):
            return Page(items=[], next_cursor=None)
        filters = Filters(filters.status, own, filters.include_archived)
    query = parse_query(q) or Query()
    if query.name is not None:
        return await _name_page(session, principal, query.name, filters, page)
    rows = await repository.search_exact(
        session, principal.tenant_id, query, filters, limit=page.limit + 1, after=page.after
    )
    items = [PatientListItem.model_validate(p, from_attributes=True) for p in rows]
    return build_page(items, limit=page.limit)


async def _name_page(
    session: AsyncSession, principal: Principal, name: str, filters: Filters, page: PageParams
) -> Page[PatientListItem]:
    rows = await repository.search_by_name(
        session, principal.tenant_id, name, filters, limit=page.limit + 1, offset=page.offset
    )
    items = [
        PatientListItem.model_validate(p, from_attributes=True).model_copy(
            update={"score": round(score, 4)}
        )
        for p, score in rows[: page.limit]
    ]
    more = len(rows) > page.limit
    cursor = encode_cursor(offset=page.offset + page.limit) if more else None
    return Page(items=items, next_cursor=cursor)


async def get_patient(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, *, write: bool = False
) -> Patient:
    # A patient reads their own registration (and RLS holds them to it as well).
    own_registration = principal.role == Role.PATIENT and principal.patient_id == patient_id
    if write or not own_registration:
        permission = Permission.PATIENTS_WRITE if write else Permission.PATIENTS_READ
        ensure_allowed(principal, permission, on_object=True)
    patient = await repository.get(session, principal.tenant_id, patient_id)
    own = await _own_practitioner(session, principal)
    if patient is None or (own is not None and patient.practitioner_id != own):
        raise NotFound("patient not found")
    return patient


async def create_patient(
    session: AsyncSession, principal: Principal, body: PatientIn
) -> PatientCreated:
    ensure_allowed(principal, Permission.PATIENTS_WRITE)
    await _check_practitioner(session, principal, body.practitioner_id)
    if body.cpf and (existing := await repository.by_cpf(session, principal.tenant_id, body.cpf)):
        raise _cpf_taken(existing)
    patient = Patient(tenant_id=principal.tenant_id, **_columns(body))
    try:
        async with session.begin_nested():
            session.add(patient)
    except IntegrityError as exc:  # a concurrent insert of the same CPF
        existing = await repository.by_cpf(session, principal.tenant_id, body.cpf or "")
        raise _cpf_taken(existing) from exc
    warnings = await _duplicate_warnings(session, principal, patient)
    return PatientCreated(**out(patient).model_dump(), warnings=warnings)


def _cpf_taken(existing: uuid.UUID | None) -> FisioflowError:
    return Conflict(
        "a patient with this CPF already exists",
        code="duplicate_cpf",
        field="cpf",
        extra={"existing_patient_id": str(existing)} if existing else None,
    )


def _columns(body: PatientIn) -> dict[str, Any]:
    values = body.model_dump(mode="json")
    values["birth_on"] = body.birth_on
    values["consent_at"] = body.consent_at
    values["practitioner_id"] = body.practitioner_id
    return values


async def _duplicate_warnings(
    session: AsyncSession, principal: Principal, patient: Patient
) -> list[DuplicateWarning]:
    if patient.birth_on is None:
        return []
    similar = await repository.near_duplicates(
        session, principal.tenant_id, full_name=patient.full_name, birth_on=patient.birth_on
    )
    return [
        DuplicateWarning(message="same birth date and a very similar name", patient_id=other)
        for other in similar
        if other != patient.id
    ]


async def _check_practitioner(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID | None
) -> None:
    if practitioner_id is None:
        return
    if await practitioner_repository.get(session, principal.tenant_id, practitioner_id) is None:
        raise InvalidInput("no such practitioner in this clinic", field="practitioner_id")


async def update_patient(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    body: PatientUpdate,
    *,
    if_match: str | None,
) -> Patient:
    patient = await get_patient(session, principal, patient_id, write=True)
    expected = parse_if_match(if_match, noun="patient")
    merged = {
        **out(patient).model_dump(mode="json"),
        **body.model_dump(mode="json", exclude_unset=True),
    }
    valid = validate_as(PatientIn, {k: merged.get(k) for k in PatientIn.model_fields})
    await _check_practitioner(session, principal, valid.practitioner_id)
    if valid.cpf and valid.cpf != patient.cpf:
        existing = await repository.by_cpf(session, principal.tenant_id, valid.cpf)
        if existing:
            raise _cpf_taken(existing)
    return await _compare_and_set(session, principal, patient, expected, _columns(valid))


async def archive_patient(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID
) -> Patient:
    patient = await get_patient(session, principal, patient_id, write=True)
    if patient.archived_at is not None:
        return patient
    values = {"archived_at": dt.datetime.now(dt.UTC), "status": "inactive"}
    return await _compare_and_set(session, principal, patient, patient.version, values)


async def _compare_and_set(
    session: AsyncSession,
    principal: Principal,
    patient: Patient,
    expected: int,
    values: dict[str, Any],
) -> Patient:
    if not await repository.bump_version(
        session, principal.tenant_id, patient.id, expected, values
    ):
        raise PreconditionFailed(
            "the patient was changed by someone else; reload and retry",
            code="stale_version",
            field="If-Match",
            extra={"current_version": patient.version},
        )
    await session.refresh(patient)
    return patient


async def invite_patient(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID
) -> auth_service.Invitation:
    """The patient's portal account: created on first invitation, re-invited after."""
    patient = await get_patient(session, principal, patient_id, write=True)
    if not patient.email:
        raise InvalidInput("the patient needs an email to be invited", field="email")
    user = await user_repository.for_patient(session, principal.tenant_id, patient.id)
    if user is None:
        user = User(
            tenant_id=principal.tenant_id,
            email=patient.email,
            full_name=patient.social_name or patient.full_name,
            role=Role.PATIENT.value,
            patient_id=patient.id,
        )
        session.add(user)
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError as exc:
            raise Conflict("another user of this clinic has this email", field="email") from exc
    if not user.is_active:
        raise Conflict("the patient's portal account is deactivated", field="id")
    return await auth_service.create_invite(
        session, tenant=principal.tenant_id, user_id=user.id, created_by=principal.user_id
    )
