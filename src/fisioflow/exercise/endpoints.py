"""Exercises: search the library and the clinic's own, create, copy from the library, edit."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.core.pagination import Page, PageParams, page_params
from fisioflow.exercise import service
from fisioflow.exercise.repository import Filters
from fisioflow.exercise.schemas import (
    BodyRegion,
    Category,
    ExerciseCreate,
    ExerciseOut,
    ExerciseUpdate,
    Source,
)

router = APIRouter(prefix=f"{API_V1}/exercises", tags=["exercises"])


@router.get("", responses=documented(401, 403, 422))
async def search_exercises(
    ctx: Auth,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=200, description="Words of the name")] = None,
    region: Annotated[BodyRegion | None, Query()] = None,
    category: Annotated[Category | None, Query()] = None,
    source: Annotated[Source | None, Query()] = None,
    include_archived: Annotated[bool, Query()] = False,
) -> Page[ExerciseOut]:
    """The library and the clinic's exercises, by name; accents and case do not matter."""
    filters = Filters(
        q=q, region=region, category=category, source=source, include_archived=include_archived
    )
    return await service.search(ctx.session, ctx.principal, filters, page)


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(401, 403, 422))
async def create_exercise(body: ExerciseCreate, ctx: Auth) -> ExerciseOut:
    return await service.create_exercise(ctx.session, ctx.principal, body)


@router.get("/{exercise_id}", responses=documented(401, 404))
async def get_exercise(exercise_id: uuid.UUID, ctx: Auth) -> ExerciseOut:
    return await service.get_exercise(ctx.session, ctx.principal, exercise_id)


@router.patch("/{exercise_id}", responses=documented(401, 404, 409, 422))
async def update_exercise(exercise_id: uuid.UUID, body: ExerciseUpdate, ctx: Auth) -> ExerciseOut:
    """Clinic exercises only; a library entry answers 409 `library_exercise_read_only`."""
    return await service.update_exercise(ctx.session, ctx.principal, exercise_id, body)


@router.post(
    "/{exercise_id}/copy", status_code=status.HTTP_201_CREATED, responses=documented(401, 404)
)
async def copy_exercise(exercise_id: uuid.UUID, ctx: Auth) -> ExerciseOut:
    """A clinic copy of a library exercise (`source_exercise_id`), to adapt with PATCH."""
    return await service.copy_from_library(ctx.session, ctx.principal, exercise_id)
