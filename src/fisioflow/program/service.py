"""The patient portal: today's program and the sessions the patient logs.

Only patient users call these, for their own patient row (`principal.patient_id`); RLS
enforces the same. A log names the item version the patient did; it must be one of
this patient's items, of a prescription that is not cancelled, performed at most 30
days ago and not in the future (5 minutes of clock skew allowed). A retried POST with
the same `Idempotency-Key` returns the first log (unique per patient and key). The
patient may correct a log for 24 hours after recording it; then the database freezes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from zoneinfo import ZoneInfo

import rfc8785
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission, allowed
from fisioflow.auth.principal import Principal, TenantId
from fisioflow.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from fisioflow.core.ids import new_id
from fisioflow.core.pagination import Page, PageParams, build_page
from fisioflow.core.schemas import validate_as
from fisioflow.models import ExerciseLog
from fisioflow.program import pain, repository
from fisioflow.program.repository import Target
from fisioflow.program.schemas import LogIn, LogOut, LogUpdate

CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_AGE = dt.timedelta(days=30)
CORRECTION_WINDOW = dt.timedelta(hours=24)


def own_patient(principal: Principal, *, on_object: bool = False) -> uuid.UUID:
    """The caller's patient id; staff get 403 (404 for an object, as elsewhere)."""
    if not allowed(principal.role, Permission.PORTAL) or principal.patient_id is None:
        if on_object:
            raise NotFound("exercise log not found")
        raise Forbidden("only patients use their own portal", code="patients_only")
    return principal.patient_id


def out(log: ExerciseLog) -> LogOut:
    return LogOut.model_validate(
        {
            **{f: getattr(log, f) for f in LogOut.model_fields if f != "editable_until"},
            "editable_until": log.created_at + CORRECTION_WINDOW,
        }
    )


async def create_log(
    session: AsyncSession, principal: Principal, body: LogIn, *, key: str | None, tz: ZoneInfo
) -> tuple[LogOut, bool]:
    """(the log, whether it is a replay of an earlier request with the same key)."""
    patient_id = own_patient(principal)
    tenant = principal.tenant_id
    digest = _digest(body) if key else None
    if key and (earlier := await repository.by_key(session, tenant, patient_id, key)):
        return _replay(earlier, digest), True
    target = await _target(session, tenant, patient_id, body.item_version_id)
    _check_when(body.performed_at)
    log = await repository.insert_log(
        session,
        {
            "tenant_id": tenant,
            "id": new_id(),
            "patient_id": patient_id,
            **body.model_dump(),
            "idempotency_key": key,
            "request_hash": digest,
            "created_by": principal.user_id,
        },
    )
    if log is None:  # a concurrent request with the same key committed first
        earlier = await repository.by_key(session, tenant, patient_id, key or "")
        assert earlier is not None
        return _replay(earlier, digest), True
    await pain.check(session, tenant, log, target, tz=tz)
    return out(log), False


async def update_log(
    session: AsyncSession, principal: Principal, log_id: uuid.UUID, body: LogUpdate, *, tz: ZoneInfo
) -> LogOut:
    patient_id = own_patient(principal, on_object=True)
    tenant = principal.tenant_id
    log = await repository.get(session, tenant, patient_id, log_id, for_update=True)
    if log is None:
        raise NotFound("exercise log not found")
    if dt.datetime.now(dt.UTC) - log.created_at > CORRECTION_WINDOW:
        raise Conflict(
            "a log can be corrected for 24 hours after it was recorded; this one is frozen",
            code="log_frozen",
            field="created_at",
            extra={"editable_until": (log.created_at + CORRECTION_WINDOW).isoformat()},
        )
    current = LogIn.model_validate({f: getattr(log, f) for f in LogIn.model_fields})
    merged = validate_as(LogIn, {**current.model_dump(), **body.model_dump(exclude_unset=True)})
    if merged.performed_at != log.performed_at:
        _check_when(merged.performed_at)
    for field, value in merged.model_dump(exclude={"item_version_id"}).items():
        setattr(log, field, value)
    await session.flush()
    await session.refresh(log)
    target = await _target(session, tenant, patient_id, log.item_version_id, correcting=True)
    await pain.check(session, tenant, log, target, tz=tz)
    return out(log)


async def list_logs(session: AsyncSession, principal: Principal, page: PageParams) -> Page[LogOut]:
    patient_id = own_patient(principal)
    rows = await repository.list_page(
        session, principal.tenant_id, patient_id, before=page.after, limit=page.limit
    )
    return build_page([out(r) for r in rows], limit=page.limit)


async def _target(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    version_id: uuid.UUID,
    *,
    correcting: bool = False,
) -> Target:
    found = await repository.target(session, tenant, patient_id, version_id)
    if found is None:
        raise InvalidInput(
            "this exercise is not prescribed to you", field="item_version_id", code="not_prescribed"
        )
    if found.prescription_status == "cancelled" and not correcting:
        raise InvalidInput(
            "the prescription was cancelled; it takes no more logs",
            field="item_version_id",
            code="prescription_cancelled",
        )
    return found


def _check_when(performed_at: dt.datetime) -> None:
    now = dt.datetime.now(dt.UTC)
    if performed_at > now + CLOCK_SKEW:
        raise InvalidInput("performed_at is in the future", field="performed_at")
    if performed_at < now - MAX_AGE:
        raise InvalidInput("sessions older than 30 days cannot be logged", field="performed_at")


def _digest(body: LogIn) -> str:
    return hashlib.sha256(rfc8785.dumps(body.model_dump(mode="json"))).hexdigest()


def _replay(earlier: ExerciseLog, digest: str | None) -> LogOut:
    if earlier.request_hash != digest:
        raise Conflict(
            "this Idempotency-Key was already used for a different log",
            code="idempotency_key_reused",
            field="Idempotency-Key",
            extra={"exercise_log_id": str(earlier.id)},
        )
    return out(earlier)
