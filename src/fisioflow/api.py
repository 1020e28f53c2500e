"""Router assembly: every module's router, mounted once.

Each module router carries its full prefix (`/api/v1/...`): route templates in logs and
metrics are then the public paths.
"""

from __future__ import annotations

from fastapi import APIRouter

from fisioflow.adherence.endpoints import router as adherence_router
from fisioflow.alert.endpoints import router as alert_router
from fisioflow.audit.endpoints import router as audit_router
from fisioflow.auth.endpoints import router as auth_router
from fisioflow.clinic.endpoints import router as clinic_router
from fisioflow.engagement import endpoints as engagement
from fisioflow.events.endpoints import router as events_router
from fisioflow.exercise.endpoints import router as exercise_router
from fisioflow.health.endpoints import router as health_router
from fisioflow.notification.endpoints import router as notification_router
from fisioflow.notification.link_endpoints import router as reminder_link_router
from fisioflow.patient.endpoints import router as patient_router
from fisioflow.portability.endpoints import router as portability_router
from fisioflow.practitioner.endpoints import router as practitioner_router
from fisioflow.prescription.endpoints import router as prescription_router
from fisioflow.program.endpoints import router as program_router
from fisioflow.record.endpoints import router as record_router
from fisioflow.scheduling.endpoints import router as scheduling_router
from fisioflow.scheduling.resource_endpoints import router as scheduling_resource_router
from fisioflow.user.endpoints import router as user_router


def routers() -> list[APIRouter]:
    return [
        health_router,
        auth_router,
        clinic_router,
        user_router,
        practitioner_router,
        patient_router,
        portability_router,
        record_router,
        scheduling_router,
        scheduling_resource_router,
        engagement.portal_router,
        engagement.staff_router,
        engagement.sos_router,
        engagement.inbox_router,
        audit_router,
        exercise_router,
        prescription_router,
        program_router,
        adherence_router,
        alert_router,
        events_router,
        notification_router,
        reminder_link_router,
    ]
