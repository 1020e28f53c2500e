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
    # Who accessed a patient's data; a patient may always read their own (LGPD art. 18).
    ACCESS_LOG_READ = "patients:access_log"
    EXERCISES_READ = "exercises:read"
    EXERCISES_MANAGE = "exercises:manage"
    PRESCRIPTIONS_READ = "prescriptions:read"
    PRESCRIPTIONS_WRITE = "prescriptions:write"
    ALERTS_READ = "alerts:read"
    ALERTS_MANAGE = "alerts:manage"
    # A patient's shared diary, mood check-ins and mood trend (never private entries).
    DIARY_READ = "diary:read"
    MESSAGES_READ = "messages:read"
    MESSAGES_WRITE = "messages:write"
    INTERNAL_NOTES_READ = "internal_notes:read"
    INTERNAL_NOTES_WRITE = "internal_notes:write"
    SOS_READ = "sos:read"
    SOS_ACKNOWLEDGE = "sos:acknowledge"
    # The real-time stream of SOS and alerts (GET /events/stream).
    EVENTS_STREAM = "events:stream"
    # The patient's own portal: diary, mood, messages, SOS (needs a linked patient).
    PORTAL = "portal:use"


# Acting as a patient is not a staff power: admins do not hold these.
_PATIENT_ONLY = {Permission.PORTAL}
# Therapy engagement is clinical: admins and practitioners, not receptionists.
_ENGAGEMENT_STAFF = {
    Permission.DIARY_READ,
    Permission.MESSAGES_READ,
    Permission.MESSAGES_WRITE,
    Permission.INTERNAL_NOTES_READ,
    Permission.INTERNAL_NOTES_WRITE,
    Permission.SOS_READ,
    Permission.SOS_ACKNOWLEDGE,
    Permission.EVENTS_STREAM,
}


_STAFF_COMMON = {
    Permission.CLINIC_READ,
    Permission.PRACTITIONERS_READ,
    Permission.PATIENTS_READ,
    Permission.AGENDA_READ,
    Permission.AGENDA_WRITE,
    Permission.EXERCISES_READ,
}

MATRIX: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(set(Permission) - _PATIENT_ONLY),
    Role.PRACTITIONER: frozenset(
        _STAFF_COMMON
        | {
            Permission.PATIENTS_WRITE,
            Permission.RECORDS_READ,
            Permission.RECORDS_WRITE,
            *_ENGAGEMENT_STAFF,
            Permission.ACCESS_LOG_READ,
            Permission.EXERCISES_MANAGE,
            Permission.PRESCRIPTIONS_READ,
            Permission.PRESCRIPTIONS_WRITE,
            Permission.ALERTS_READ,
            Permission.ALERTS_MANAGE,
        }
    ),
    Role.RECEPTIONIST: frozenset(_STAFF_COMMON | {Permission.PATIENTS_WRITE}),
    Role.PATIENT: frozenset({Permission.CLINIC_READ, Permission.PORTAL}),
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
