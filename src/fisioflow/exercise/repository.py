"""SQL of the exercise library and clinic exercises: one search over both."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import TenantId
from fisioflow.models import Exercise, LibraryExercise

_FIELDS = (
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
    "search_text",
)


_SUMMARY = (
    "name",
    "body_region",
    "category",
    "instructions",
    "contraindications",
    "image_url",
    "video_url",
)


@dataclass(frozen=True)
class Filters:
    q: str | None = None
    region: str | None = None
    category: str | None = None
    source: str | None = None
    include_archived: bool = False


def _like_words(column: Any, q: str) -> list[ColumnElement[bool]]:
    """Every word must appear (accent- and case-insensitive), anywhere in name or text."""
    words = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in q.split()]
    return [column.like(func.concat("%", func.f_unaccent(func.lower(w)), "%")) for w in words]


def _library(filters: Filters) -> Select[Any]:
    cols = [getattr(LibraryExercise, name) for name in _FIELDS]
    statement = select(
        LibraryExercise.id,
        literal("library").label("source"),
        LibraryExercise.slug,
        null().label("source_exercise_id"),
        *cols,
        null().label("archived_at"),
    )
    return _filtered(statement, LibraryExercise, filters)


def _clinic(tenant: TenantId, filters: Filters) -> Select[Any]:
    cols = [getattr(Exercise, name) for name in _FIELDS]
    statement = select(
        Exercise.id,
        literal("clinic").label("source"),
        null().label("slug"),
        Exercise.source_exercise_id,
        *cols,
        Exercise.archived_at,
    ).where(Exercise.tenant_id == tenant)
    if not filters.include_archived:
        statement = statement.where(Exercise.archived_at.is_(None))
    return _filtered(statement, Exercise, filters)


def _filtered(statement: Select[Any], table: Any, filters: Filters) -> Select[Any]:
    if filters.q:
        statement = statement.where(*_like_words(table.search_text, filters.q))
    if filters.region:
        statement = statement.where(table.body_region == filters.region)
    if filters.category:
        statement = statement.where(table.category == filters.category)
    return statement


async def search(
    session: AsyncSession, tenant: TenantId, filters: Filters, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Library and clinic exercises by name (unaccented), `limit` rows from `offset`."""
    parts = []
    if filters.source in (None, "library"):
        parts.append(_library(filters))
    if filters.source in (None, "clinic"):
        parts.append(_clinic(tenant, filters))
    both = union_all(*parts).subquery()
    statement = select(both).order_by(both.c.search_text, both.c.id).limit(limit).offset(offset)
    return [dict(row) for row in (await session.execute(statement)).mappings()]


async def library_entry(session: AsyncSession, exercise_id: uuid.UUID) -> LibraryExercise | None:
    return await session.get(LibraryExercise, exercise_id)


async def clinic_exercise(
    session: AsyncSession, tenant: TenantId, exercise_id: uuid.UUID, *, for_update: bool = False
) -> Exercise | None:
    statement = select(Exercise).where(Exercise.tenant_id == tenant, Exercise.id == exercise_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(statement)


async def summaries(
    session: AsyncSession, tenant: TenantId, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Library and clinic exercises by id, for items and programs (one round trip)."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    fields = _SUMMARY
    library = select(
        LibraryExercise.id,
        literal("library").label("source"),
        *[getattr(LibraryExercise, f) for f in fields],
    ).where(LibraryExercise.id.in_(wanted))
    clinic = select(
        Exercise.id, literal("clinic").label("source"), *[getattr(Exercise, f) for f in fields]
    ).where(Exercise.tenant_id == tenant, Exercise.id.in_(wanted))
    rows = (await session.execute(union_all(library, clinic))).mappings()
    return {row["id"]: dict(row) for row in rows}
