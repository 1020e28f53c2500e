"""Prescription rules.

Who: clinic admins and the patient's assigned practitioner read and write (as for the
clinical record); anyone else gets 404. Writing content needs the caller's own active
practitioner profile: a prescription names the professional who prescribed it. Status
changes (pause, resume, complete, cancel) are also open to admins without a profile.

Lifecycle: active <-> paused; active or paused -> completed or cancelled, which are final
(nothing changes afterwards). Changing an item adds a version that takes effect today
(clinic time); earlier versions stay, so logs keep pointing at what was actually done.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, Role, TenantId
from fisioflow.core.errors import Conflict, Forbidden, NotFound
from fisioflow.core.pagination import Page, PageParams, build_page
from fisioflow.core.schemas import validate_as
from fisioflow.exercise import repository as exercise_repository
from fisioflow.exercise import service as exercise_service
from fisioflow.exercise.schemas import ExerciseSummary
from fisioflow.models import Patient, Practitioner, Prescription, PrescriptionItem
from fisioflow.models import PrescriptionItemVersion as Version
from fisioflow.patient import repository as patient_repository
from fisioflow.practitioner import repository as practitioner_repository
from fisioflow.prescription import repository
from fisioflow.prescription.schedule import local_today
from fisioflow.prescription.schemas import (
    ItemIn,
    ItemOut,
    ItemUpdate,
    ItemVersionOut,
    PrescriptionCreate,
    PrescriptionDetail,
    PrescriptionOut,
    PrescriptionUpdate,
    history_entry,
)

OPEN = ("active", "paused")
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "pause": (("active",), "paused"),
    "resume": (("paused",), "active"),
    "complete": (OPEN, "completed"),
    "cancel": (OPEN, "cancelled"),
}
_DOSE = ("sets", "reps", "hold_seconds", "duration_seconds", "load_kg", "times_per_day")
_PLAN = (*_DOSE, "days_of_week", "start_on", "end_on", "notes")


@dataclass(frozen=True)
class Access:
    patient: Patient
    practitioner: Practitioner | None  # the caller's own profile, if any


async def patient_access(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, *, write: bool = False
) -> Access:
    """The patient, if the caller treats them (or is an admin); 404 otherwise."""
    permission = Permission.PRESCRIPTIONS_WRITE if write else Permission.PRESCRIPTIONS_READ
    ensure_allowed(principal, permission, on_object=True)
    patient = await patient_repository.get(session, principal.tenant_id, patient_id)
    own = await practitioner_repository.for_user(session, principal.tenant_id, principal.user_id)
    treats = own is not None and patient is not None and patient.practitioner_id == own.id
    if patient is None or not (treats or principal.role == Role.ADMIN):
        raise NotFound("patient not found")
    return Access(patient=patient, practitioner=own)


def _prescriber(access: Access) -> Practitioner:
    if access.practitioner is None or access.practitioner.status != "active":
        raise Forbidden(
            "only users linked to an active practitioner profile prescribe exercises",
            code="not_a_practitioner",
        )
    return access.practitioner


async def list_prescriptions(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    page: PageParams,
    *,
    status: str | None,
) -> Page[PrescriptionOut]:
    await patient_access(session, principal, patient_id)
    rows = await repository.list_page(
        session, principal.tenant_id, patient_id, status=status, before=page.after, limit=page.limit
    )
    return build_page([_out(r) for r in rows], limit=page.limit)


async def get_prescription(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, prescription_id: uuid.UUID
) -> PrescriptionDetail:
    await patient_access(session, principal, patient_id)
    prescription = await _get(session, principal.tenant_id, patient_id, prescription_id)
    return await detail(session, principal.tenant_id, prescription)


async def create_prescription(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    body: PrescriptionCreate,
    *,
    tz: ZoneInfo,
) -> PrescriptionDetail:
    prescriber = _prescriber(await patient_access(session, principal, patient_id, write=True))
    now = dt.datetime.now(dt.UTC)
    prescription = Prescription(
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        practitioner_id=prescriber.id,
        title=body.title,
        notes=body.notes,
        status="active",
        status_history=[history_entry("active", now, principal.user_id)],
        created_by=principal.user_id,
    )
    session.add(prescription)
    await session.flush()
    for position, item in enumerate(body.items, start=1):
        await _add_item(session, principal, prescription, item, position=position, tz=tz)
    return await detail(session, principal.tenant_id, prescription)


async def update_prescription(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    prescription_id: uuid.UUID,
    body: PrescriptionUpdate,
) -> PrescriptionDetail:
    prescription = await _open(session, principal, patient_id, prescription_id)
    changes = body.model_dump(exclude_unset=True)
    if "title" in changes and changes["title"] is None:
        changes.pop("title")
    for field, value in changes.items():
        setattr(prescription, field, value)
    await session.flush()
    await session.refresh(prescription)
    return await detail(session, principal.tenant_id, prescription)


async def add_item(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    prescription_id: uuid.UUID,
    body: ItemIn,
    *,
    tz: ZoneInfo,
) -> PrescriptionDetail:
    prescription = await _open(session, principal, patient_id, prescription_id)
    position = await repository.next_position(session, principal.tenant_id, prescription.id)
    await _add_item(session, principal, prescription, body, position=position, tz=tz)
    return await detail(session, principal.tenant_id, prescription)


async def update_item(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    prescription_id: uuid.UUID,
    item_id: uuid.UUID,
    body: ItemUpdate,
    *,
    tz: ZoneInfo,
) -> PrescriptionDetail:
    """A new version when something changes; the current one is marked superseded."""
    prescription = await _open(session, principal, patient_id, prescription_id)
    tenant = principal.tenant_id
    item = await repository.item(session, tenant, prescription.id, item_id)
    current = await repository.current_version(session, tenant, item_id) if item else None
    if item is None or current is None:
        raise NotFound("prescription item not found")
    merged = _merged(current, body)
    if merged != _as_input(current):
        current.superseded_at = dt.datetime.now(dt.UTC)
        await session.flush()
        await _add_version(session, principal, item, merged, version=current.version + 1, tz=tz)
    return await detail(session, tenant, prescription)


async def change_status(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    prescription_id: uuid.UUID,
    action: str,
) -> PrescriptionDetail:
    await patient_access(session, principal, patient_id, write=True)
    prescription = await _get(
        session, principal.tenant_id, patient_id, prescription_id, for_update=True
    )
    allowed_from, target = TRANSITIONS[action]
    if prescription.status not in allowed_from:
        raise Conflict(
            f"a {prescription.status} prescription cannot {action}",
            code="invalid_transition",
            field="status",
            extra={"status_now": prescription.status, "allowed_from": list(allowed_from)},
        )
    now = dt.datetime.now(dt.UTC)
    prescription.status = target
    prescription.status_history = [
        *prescription.status_history,
        history_entry(target, now, principal.user_id),
    ]
    await session.flush()
    await session.refresh(prescription)
    return await detail(session, principal.tenant_id, prescription)


async def _open(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID, prescription_id: uuid.UUID
) -> Prescription:
    _prescriber(await patient_access(session, principal, patient_id, write=True))
    prescription = await _get(
        session, principal.tenant_id, patient_id, prescription_id, for_update=True
    )
    if prescription.status not in OPEN:
        raise Conflict(
            f"the prescription is {prescription.status} and can no longer change",
            code="prescription_closed",
            field="status",
        )
    return prescription


async def _get(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    prescription_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Prescription:
    found = await repository.get(
        session, tenant, patient_id, prescription_id, for_update=for_update
    )
    if found is None:
        raise NotFound("prescription not found")
    return found


async def _add_item(
    session: AsyncSession,
    principal: Principal,
    prescription: Prescription,
    body: ItemIn,
    *,
    position: int,
    tz: ZoneInfo,
) -> None:
    item = PrescriptionItem(
        tenant_id=principal.tenant_id,
        prescription_id=prescription.id,
        patient_id=prescription.patient_id,
        position=position,
    )
    session.add(item)
    await session.flush()
    await _add_version(session, principal, item, body, version=1, tz=tz)


async def _add_version(
    session: AsyncSession,
    principal: Principal,
    item: PrescriptionItem,
    body: ItemIn,
    *,
    version: int,
    tz: ZoneInfo,
) -> None:
    library_id, exercise_id = await exercise_service.resolve(
        session, principal.tenant_id, body.exercise_id
    )
    session.add(
        Version(
            tenant_id=principal.tenant_id,
            item_id=item.id,
            patient_id=item.patient_id,
            version=version,
            library_exercise_id=library_id,
            exercise_id=exercise_id,
            effective_on=local_today(tz),
            created_by=principal.user_id,
            **{field: getattr(body, field) for field in _PLAN},
        )
    )
    await session.flush()


def _as_input(version: Version) -> ItemIn:
    return ItemIn.model_validate(
        {"exercise_id": exercise_of(version), **{f: getattr(version, f) for f in _PLAN}}
    )


def _merged(current: Version, body: ItemUpdate) -> ItemIn:
    """The current version with the changes; null for a required field answers 422."""
    data: dict[str, Any] = _as_input(current).model_dump()
    data.update(body.model_dump(exclude_unset=True))
    return validate_as(ItemIn, data)


def exercise_of(version: Version) -> uuid.UUID:
    found = version.library_exercise_id or version.exercise_id
    assert found is not None  # check constraint one_exercise
    return found


def _out(prescription: Prescription) -> PrescriptionOut:
    return PrescriptionOut.model_validate(prescription, from_attributes=True)


async def detail(
    session: AsyncSession, tenant: TenantId, prescription: Prescription
) -> PrescriptionDetail:
    items = await repository.items(session, tenant, [prescription.id])
    versions = await repository.versions(session, tenant, [i.id for i in items])
    exercises = await exercise_repository.summaries(
        session, tenant, [exercise_of(v) for v in versions]
    )
    by_item: dict[uuid.UUID, list[Version]] = defaultdict(list)
    for version in versions:
        by_item[version.item_id].append(version)
    return PrescriptionDetail(
        **_out(prescription).model_dump(),
        items=[_item_out(item, by_item[item.id], exercises) for item in items],
    )


def _item_out(
    item: PrescriptionItem, versions: list[Version], exercises: dict[uuid.UUID, dict[str, Any]]
) -> ItemOut:
    outs = [version_out(v, exercises) for v in reversed(versions)]
    return ItemOut(id=item.id, position=item.position, current=outs[0], history=outs[1:])


def version_out(version: Version, exercises: dict[uuid.UUID, dict[str, Any]]) -> ItemVersionOut:
    exercise_id = exercise_of(version)
    return ItemVersionOut.model_validate(
        {
            **{f: getattr(version, f) for f in ItemVersionOut.model_fields if f != "exercise"},
            "exercise_id": exercise_id,
            "exercise": ExerciseSummary.model_validate(exercises[exercise_id]),
        }
    )
