"""Request and response bodies of the auth endpoints."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, EmailStr, Field

from fisioflow.core.schemas import StrictModel


class LoginRequest(StrictModel):
    clinic_slug: str = Field(min_length=1, max_length=63)
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=1, max_length=128)


class RefreshRequest(StrictModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class ChangePasswordRequest(StrictModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)


class AcceptInviteRequest(StrictModel):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=128)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class MeUser(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    role: str


class MeClinic(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    timezone: str
    locale: str


class MeResponse(BaseModel):
    user: MeUser
    clinic: MeClinic
