"""Who is acting. `TenantId` values are produced only here, from verified credentials."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import NewType

from fisioflow.core.database import Tenancy

TenantId = NewType("TenantId", uuid.UUID)


class Role(StrEnum):
    ADMIN = "admin"
    PRACTITIONER = "practitioner"
    RECEPTIONIST = "receptionist"
    PATIENT = "patient"


@dataclass(frozen=True)
class Principal:
    tenant_id: TenantId
    user_id: uuid.UUID
    role: Role
    patient_id: uuid.UUID | None = None


def trusted_tenant(value: uuid.UUID) -> TenantId:
    """Mark an id as an authenticated tenant; call only after verifying credentials."""
    return TenantId(value)


def tenancy_for(
    principal: Principal, *, request_id: str = "", ip: str = "", user_agent: str = ""
) -> Tenancy:
    """The transaction settings RLS (and the audit trail) read for this principal."""
    return Tenancy(
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        role=principal.role.value,
        patient_id=principal.patient_id,
        request_id=request_id,
        actor=f"user:{principal.user_id}",
        ip=ip,
        user_agent=user_agent,
    )
