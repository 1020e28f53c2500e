"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from fisioflow.models.alert import ALERT_KINDS, ALERT_STATUSES, Alert
from fisioflow.models.appointment import (
    APPOINTMENT_STATUSES,
    APPOINTMENT_TYPES,
    Appointment,
    AppointmentSeries,
    Room,
    TimeOff,
)
from fisioflow.models.audit import AuditEvent
from fisioflow.models.backup import BackupVerification
from fisioflow.models.base import Base
from fisioflow.models.clinic import Clinic
from fisioflow.models.engagement import (
    DiaryEntry,
    InternalNote,
    MoodEntry,
    PatientMessage,
    SosEvent,
)
from fisioflow.models.exercise import (
    BODY_REGIONS,
    CATEGORIES,
    DIFFICULTIES,
    Exercise,
    LibraryExercise,
)
from fisioflow.models.notification import (
    Notification,
    NotificationCircuit,
    NotificationPreference,
    PushSubscription,
    Reminder,
)
from fisioflow.models.patient import PATIENT_STATUSES, Patient
from fisioflow.models.practitioner import Practitioner
from fisioflow.models.prescription import (
    PRESCRIPTION_STATUSES,
    ExerciseLog,
    Prescription,
    PrescriptionItem,
    PrescriptionItemVersion,
)
from fisioflow.models.record import RECORD_KINDS, RECORD_STATUSES, RecordEntry
from fisioflow.models.user import ROLES, OneTimeToken, RefreshToken, User

__all__ = [
    "ALERT_KINDS",
    "ALERT_STATUSES",
    "APPOINTMENT_STATUSES",
    "APPOINTMENT_TYPES",
    "BODY_REGIONS",
    "CATEGORIES",
    "DIFFICULTIES",
    "PATIENT_STATUSES",
    "PRESCRIPTION_STATUSES",
    "RECORD_KINDS",
    "RECORD_STATUSES",
    "ROLES",
    "Alert",
    "Appointment",
    "AppointmentSeries",
    "AuditEvent",
    "BackupVerification",
    "Base",
    "Clinic",
    "DiaryEntry",
    "Exercise",
    "ExerciseLog",
    "InternalNote",
    "LibraryExercise",
    "MoodEntry",
    "Notification",
    "NotificationCircuit",
    "NotificationPreference",
    "OneTimeToken",
    "Patient",
    "PatientMessage",
    "Practitioner",
    "Prescription",
    "PrescriptionItem",
    "PrescriptionItemVersion",
    "PushSubscription",
    "RecordEntry",
    "RefreshToken",
    "Reminder",
    "Room",
    "SosEvent",
    "TimeOff",
    "User",
]
