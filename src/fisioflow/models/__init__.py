"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from fisioflow.models.appointment import (
    APPOINTMENT_STATUSES,
    APPOINTMENT_TYPES,
    Appointment,
    AppointmentSeries,
    Room,
    TimeOff,
)
from fisioflow.models.audit import AuditEvent
from fisioflow.models.base import Base
from fisioflow.models.clinic import Clinic
from fisioflow.models.engagement import (
    DiaryEntry,
    InternalNote,
    MoodEntry,
    PatientMessage,
    SosEvent,
)
from fisioflow.models.patient import PATIENT_STATUSES, Patient
from fisioflow.models.practitioner import Practitioner
from fisioflow.models.record import RECORD_KINDS, RECORD_STATUSES, RecordEntry
from fisioflow.models.user import ROLES, OneTimeToken, RefreshToken, User

__all__ = [
    "APPOINTMENT_STATUSES",
    "APPOINTMENT_TYPES",
    "PATIENT_STATUSES",
    "RECORD_KINDS",
    "RECORD_STATUSES",
    "ROLES",
    "Appointment",
    "AppointmentSeries",
    "AuditEvent",
    "Base",
    "Clinic",
    "DiaryEntry",
    "InternalNote",
    "MoodEntry",
    "OneTimeToken",
    "Patient",
    "PatientMessage",
    "Practitioner",
    "RecordEntry",
    "RefreshToken",
    "Room",
    "SosEvent",
    "TimeOff",
    "User",
]
