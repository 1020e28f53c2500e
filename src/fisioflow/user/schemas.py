"""Staff user management bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from fisioflow.core.schemas import StrictModel

StaffRole = Literal["admin", "practitioner", "receptionist"]


class UserCreate(StrictModel):
    email: EmailStr = Field(max_length=254)
    full_name: str = Field(min_length=2, max_length=200)
    role: StaffRole


class UserUpdate(StrictModel):
    full_name: str | None = Field(default=None, min_length=2, max_length=200)
    role: StaffRole | None = None


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    role: str
    is_active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


class InviteOut(BaseModel):
    token: str
    expires_at: dt.datetime
