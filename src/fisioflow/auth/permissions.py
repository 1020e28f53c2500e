"""The permission matrix: which role may do what, in one place.

Object-level rules (a practitioner's own patients, a patient's own rows) live in the
services and in the RLS policies; this matrix answers "may this role ever do X".
"""

from __future__ import annotations

from enum import StrEnum

from fisioflow.auth.principal import Principal, Role
from fisioflow.core.errors import Forbidden, NotFound


class Permission(StrEnum):
    CLINIC_READ = "clinic:read"
    CLINIC_MANAGE = "clinic:manage"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    PRACTITIONERS_READ = "practitioners:read"
    PRACTITIONERS_MANAGE = "practitioners:manage"
    PATIENTS_READ = "patients:read"
    PATIENTS_WRITE = "patients:write"
    RECORDS_READ = "records:read"
    RECORDS_WRITE = "records:write"
    AGENDA_READ = "agenda:read"
    AGENDA_WRITE = "agenda:write"
    AUDIT_READ = "audit:read"


_STAFF_COMMON = {
    Permission.CLINIC_READ,
    Permission.PRACTITIONERS_READ,
    Permission.PATIENTS_READ,
    Permission.AGENDA_READ,
    Permission.AGENDA_WRITE,
}

MATRIX: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.PRACTITIONER: frozenset(
        _STAFF_COMMON
        | {
            Permission.PATIENTS_WRITE,
            Permission.RECORDS_READ,
            Permission.RECORDS_WRITE,
        }
    ),
    Role.RECEPTIONIST: frozenset(_STAFF_COMMON | {Permission.PATIENTS_WRITE}),
    Role.PATIENT: frozenset({Permission.CLINIC_READ}),
}


def allowed(role: Role, permission: Permission) -> bool:
    return permission in MATRIX[role]


def ensure_allowed(
    principal: Principal, permission: Permission, *, on_object: bool = False
) -> None:
    """403 for an action on a collection; 404 for an object, so nothing hints it exists."""
    if allowed(principal.role, permission):
        return
    if on_object:
        raise NotFound("not found")
    raise Forbidden(f"role {principal.role} may not {permission}", code="forbidden")
