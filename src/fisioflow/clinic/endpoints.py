"""Signup (a new clinic with its first admin) and the current clinic's settings."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import BaseModel

from fisioflow.auth.context import Auth
from fisioflow.auth.schemas import MeUser, TokenPair
from fisioflow.auth.service import issue_tokens
from fisioflow.auth.state import auth_state
from fisioflow.clinic import service
from fisioflow.clinic.schemas import ClinicOut, ClinicUpdate, SignupRequest
from fisioflow.core.deps import API_V1, AnonymousSession, client_ip, request_id
from fisioflow.core.errors import documented
from fisioflow.core.ids import new_id

router = APIRouter(prefix=API_V1, tags=["clinic"])


class SignupResponse(BaseModel):
    clinic: ClinicOut
    user: MeUser
    tokens: TokenPair


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    responses=documented(409, 429),
)
async def signup(
    body: SignupRequest, request: Request, session: AnonymousSession
) -> SignupResponse:
    auth = auth_state(request)
    auth.limits.hit(auth.limits.signup, "signup", client_ip(request))
    created = await service.create_clinic(
        session, body.clinic, body.admin, request_id=request_id(request)
    )
    tokens = await issue_tokens(session, auth, created.principal, family_id=new_id())
    return SignupResponse(
        clinic=ClinicOut.model_validate(created.clinic, from_attributes=True),
        user=MeUser.model_validate(created.admin, from_attributes=True),
        tokens=tokens,
    )


@router.get("/clinic", responses=documented(401))
async def get_clinic(ctx: Auth) -> ClinicOut:
    clinic = await service.get_clinic(ctx.session, ctx.principal)
    return ClinicOut.model_validate(clinic, from_attributes=True)


@router.patch("/clinic", responses=documented(401, 403))
async def update_clinic(body: ClinicUpdate, ctx: Auth) -> ClinicOut:
    clinic = await service.update_clinic(ctx.session, ctx.principal, body)
    return ClinicOut.model_validate(clinic, from_attributes=True)
