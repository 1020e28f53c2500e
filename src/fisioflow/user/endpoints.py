"""Staff user management for clinic admins."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from fisioflow.auth.context import Auth
from fisioflow.core.deps import API_V1
from fisioflow.core.errors import documented
from fisioflow.core.pagination import Page, PageParams, page_params
from fisioflow.user import service
from fisioflow.user.schemas import InviteOut, UserCreate, UserOut, UserUpdate

router = APIRouter(prefix=f"{API_V1}/users", tags=["users"])
_404 = documented(401, 403, 404)


@router.get("", responses=documented(401, 403))
async def list_users(ctx: Auth, page: Annotated[PageParams, Depends(page_params)]) -> Page[UserOut]:
    return await service.list_users(ctx.session, ctx.principal, page)


@router.post(
    "", status_code=status.HTTP_201_CREATED, responses={409: {"description": "Email taken"}}
)
async def create_user(body: UserCreate, ctx: Auth) -> UserOut:
    user = await service.create_user(ctx.session, ctx.principal, body)
    return UserOut.model_validate(user, from_attributes=True)


@router.get("/{user_id}", responses=_404)
async def get_user(user_id: uuid.UUID, ctx: Auth) -> UserOut:
    user = await service.get_user(ctx.session, ctx.principal, user_id)
    return UserOut.model_validate(user, from_attributes=True)


@router.patch("/{user_id}", responses=_404)
async def update_user(user_id: uuid.UUID, body: UserUpdate, ctx: Auth) -> UserOut:
    user = await service.update_user(ctx.session, ctx.principal, user_id, body)
    return UserOut.model_validate(user, from_attributes=True)


@router.post("/{user_id}/deactivate", responses=_404)
async def deactivate_user(user_id: uuid.UUID, ctx: Auth) -> UserOut:
    user = await service.deactivate_user(ctx.session, ctx.principal, user_id)
    return UserOut.model_validate(user, from_attributes=True)


@router.post("/{user_id}/invite", status_code=status.HTTP_201_CREATED, responses=_404)
async def invite_user(user_id: uuid.UUID, ctx: Auth) -> InviteOut:
    invitation = await service.invite_user(ctx.session, ctx.principal, user_id)
    return InviteOut(token=invitation.token, expires_at=invitation.expires_at)
