"""Practitioner roster."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status

from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.core.pagination import Page, PageParams, page_params
from fisioflow.practitioner import service
from fisioflow.practitioner.schemas import PractitionerIn, PractitionerOut, PractitionerUpdate

router = APIRouter(prefix=f"{API_V1}/practitioners", tags=["practitioners"])


@router.get("", responses=documented(401, 403))
async def list_practitioners(
    ctx: Auth,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Literal["active", "inactive"] | None, Query()] = None,
) -> Page[PractitionerOut]:
    return await service.list_practitioners(ctx.session, ctx.principal, page, status=status)


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(401, 403, 409, 422))
async def create_practitioner(body: PractitionerIn, ctx: Auth) -> PractitionerOut:
    return service.out(await service.create_practitioner(ctx.session, ctx.principal, body))


@router.get("/{practitioner_id}", responses=documented(401, 404))
async def get_practitioner(practitioner_id: uuid.UUID, ctx: Auth) -> PractitionerOut:
    return service.out(await service.get_practitioner(ctx.session, ctx.principal, practitioner_id))


@router.patch("/{practitioner_id}", responses=documented(401, 404, 409, 422))
async def update_practitioner(
    practitioner_id: uuid.UUID, body: PractitionerUpdate, ctx: Auth
) -> PractitionerOut:
    practitioner = await service.update_practitioner(
        ctx.session, ctx.principal, practitioner_id, body
    )
    return service.out(practitioner)
