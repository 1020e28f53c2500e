"""Login, token refresh, logout, the current user, password change, invitations."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from fisioflow.auth import service
from fisioflow.auth.context import Auth
from fisioflow.auth.schemas import (
    AcceptInviteRequest,
    ChangePasswordRequest,
    LoginRequest,
    MeClinic,
    MeResponse,
    MeUser,
    RefreshRequest,
    TokenPair,
)
from fisioflow.auth.state import auth_state
from fisioflow.core.deps import API_V1, AnonymousSession, client_ip, request_id
from fisioflow.core.errors import documented

router = APIRouter(prefix=API_V1, tags=["auth"])


@router.post("/auth/login", responses=documented(401, 429))
async def login(body: LoginRequest, request: Request, session: AnonymousSession) -> TokenPair:
    return await service.login(
        session,
        auth_state(request),
        slug=body.clinic_slug,
        email=str(body.email),
        password=body.password,
        client_ip=client_ip(request),
        request_id=request_id(request),
    )


@router.post("/auth/refresh", responses=documented(401))
async def refresh(body: RefreshRequest, request: Request, session: AnonymousSession) -> TokenPair:
    return await service.refresh(
        session, auth_state(request), token=body.refresh_token, request_id=request_id(request)
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401))
async def logout(body: RefreshRequest, session: AnonymousSession) -> Response:
    await service.logout(session, token=body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/auth/accept-invite", responses=documented(401))
async def accept_invite(
    body: AcceptInviteRequest, request: Request, session: AnonymousSession
) -> TokenPair:
    return await service.accept_invite(
        session,
        auth_state(request),
        token=body.token,
        password=body.password,
        request_id=request_id(request),
    )


@router.get("/me", responses=documented(401))
async def me(ctx: Auth) -> MeResponse:
    identity = ctx.identity
    return MeResponse(
        user=MeUser(
            id=identity.user_id,
            email=identity.email,
            full_name=identity.full_name,
            role=identity.role,
        ),
        clinic=MeClinic(
            id=identity.clinic_id,
            name=identity.clinic_name,
            slug=identity.clinic_slug,
            timezone=identity.timezone,
            locale=identity.locale,
        ),
    )


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401))
async def change_password(body: ChangePasswordRequest, ctx: Auth) -> Response:
    await service.change_password(
        ctx.session, ctx.principal, current=body.current_password, new=body.new_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
