"""Exercise rules: every staff member searches the library and the clinic's exercises;
admins and practitioners create, adapt (copy from the library) and edit the clinic's.
Library entries are read-only: a clinic adapts its own copy."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, TenantId
from fisioflow.core.errors import Conflict, InvalidInput, NotFound
from fisioflow.core.pagination import Page, PageParams, encode_cursor
from fisioflow.exercise import repository
from fisioflow.exercise.repository import Filters
from fisioflow.exercise.schemas import ExerciseCreate, ExerciseOut, ExerciseUpdate
from fisioflow.models import Exercise, LibraryExercise

_COPIED = (
    "name",
    "description",
    "body_region",
    "category",
    "difficulty",
    "default_sets",
    "default_reps",
    "default_hold_seconds",
    "default_duration_seconds",
    "instructions",
    "contraindications",
    "image_url",
    "video_url",
)
_REQUIRED = ("name", "description", "body_region", "category", "difficulty", "instructions")


def _out(row: Exercise | LibraryExercise | dict[str, Any]) -> ExerciseOut:
    if isinstance(row, dict):
        return ExerciseOut.model_validate(row)
    if isinstance(row, LibraryExercise):
        return ExerciseOut.model_validate(
            {"source": "library", **{f: getattr(row, f) for f in (*_COPIED, "id", "slug")}}
        )
    return ExerciseOut.model_validate(
        {
            "source": "clinic",
            **{f: getattr(row, f) for f in (*_COPIED, "id", "source_exercise_id", "archived_at")},
        }
    )


async def search(
    session: AsyncSession, principal: Principal, filters: Filters, page: PageParams
) -> Page[ExerciseOut]:
    ensure_allowed(principal, Permission.EXERCISES_READ)
    rows = await repository.search(
        session, principal.tenant_id, filters, limit=page.limit + 1, offset=page.offset
    )
    more = len(rows) > page.limit
    return Page(
        items=[_out(r) for r in rows[: page.limit]],
        next_cursor=encode_cursor(offset=page.offset + page.limit) if more else None,
    )


async def get_exercise(
    session: AsyncSession, principal: Principal, exercise_id: uuid.UUID
) -> ExerciseOut:
    ensure_allowed(principal, Permission.EXERCISES_READ, on_object=True)
    found = await repository.clinic_exercise(session, principal.tenant_id, exercise_id)
    if found is not None:
        return _out(found)
    entry = await repository.library_entry(session, exercise_id)
    if entry is None:
        raise NotFound("exercise not found")
    return _out(entry)


async def create_exercise(
    session: AsyncSession, principal: Principal, body: ExerciseCreate
) -> ExerciseOut:
    ensure_allowed(principal, Permission.EXERCISES_MANAGE)
    exercise = Exercise(
        tenant_id=principal.tenant_id,
        created_by=principal.user_id,
        **body.model_dump(mode="json"),
    )
    session.add(exercise)
    return await _saved(session, exercise)


async def copy_from_library(
    session: AsyncSession, principal: Principal, exercise_id: uuid.UUID
) -> ExerciseOut:
    ensure_allowed(principal, Permission.EXERCISES_MANAGE, on_object=True)
    entry = await repository.library_entry(session, exercise_id)
    if entry is None:
        raise NotFound("library exercise not found")
    exercise = Exercise(
        tenant_id=principal.tenant_id,
        created_by=principal.user_id,
        source_exercise_id=entry.id,
        **{field: getattr(entry, field) for field in _COPIED},
    )
    session.add(exercise)
    return await _saved(session, exercise)


async def update_exercise(
    session: AsyncSession, principal: Principal, exercise_id: uuid.UUID, body: ExerciseUpdate
) -> ExerciseOut:
    ensure_allowed(principal, Permission.EXERCISES_MANAGE, on_object=True)
    exercise = await repository.clinic_exercise(
        session, principal.tenant_id, exercise_id, for_update=True
    )
    if exercise is None:
        if await repository.library_entry(session, exercise_id) is not None:
            raise Conflict(
                "library exercises are read-only; copy it to the clinic and adapt the copy",
                code="library_exercise_read_only",
                field="exercise_id",
            )
        raise NotFound("exercise not found")
    changes = body.model_dump(mode="json", exclude_unset=True)
    if "archived" in changes:
        archived = changes.pop("archived")
        exercise.archived_at = dt.datetime.now(dt.UTC) if archived else None
    for field, value in changes.items():
        if value is None and field in _REQUIRED:
            raise InvalidInput(f"{field} cannot be removed", field=field)
        setattr(exercise, field, [] if value is None and field == "contraindications" else value)
    return await _saved(session, exercise)


async def _saved(session: AsyncSession, exercise: Exercise) -> ExerciseOut:
    await session.flush()
    await session.refresh(exercise)
    return _out(exercise)


async def resolve(
    session: AsyncSession, tenant: TenantId, exercise_id: uuid.UUID
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(library_exercise_id, exercise_id) for a prescribable exercise; 422 otherwise."""
    clinic = await repository.clinic_exercise(session, tenant, exercise_id)
    if clinic is not None and clinic.archived_at is None:
        return None, clinic.id
    if clinic is None and await repository.library_entry(session, exercise_id) is not None:
        return exercise_id, None
    raise InvalidInput("no such exercise in the library or the clinic", field="exercise_id")
