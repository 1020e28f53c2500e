"""Jobs of the notification module.

- `notification.deliver(clinic_id, channel)`: send what is due for one clinic on one
  channel (queued by every outbox write, in the writer's transaction);
- `notification.alert_staff(...)`: a practitioner alert (pain, missed sessions, SOS) to
  the staff users named, queued by the writer of the alert (`service.queue_staff_alert`);
- `notification.enqueue_due_reminders` (every 10 s): due reminders → outbox messages;
- `notification.sweep` (every 10 s): queue deliveries for retries that came due and for
  messages stranded by a killed worker (lease expired).
"""

from __future__ import annotations

import datetime as dt
import uuid

import procrastinate

from fisioflow.auth.tokens import signing_key
from fisioflow.core.database import Tenancy, transaction
from fisioflow.core.jobs import SYSTEM_ROLE, in_clinic, job_settings, sessions, task_name
from fisioflow.notification import outbox, reminders, repository, service
from fisioflow.notification.delivery import Delivery

REMINDER_BATCH = 1000
EVERY_10_S = "* * * * * */10"
# Where the staff member reads more (the API until a staff UI exists).
ALERT_LINKS = {"sos": "/api/v1/sos-events?open_only=true"}


async def deliver(context: procrastinate.JobContext, clinic_id: str, channel: str) -> int:
    delivery = Delivery(
        maker=sessions(context),
        settings=job_settings(context),
        clinic_id=uuid.UUID(clinic_id),
        channel=channel,
        actor=f"job:{task_name(context)}",
    )
    return await delivery.run()


async def alert_staff(
    context: procrastinate.JobContext,
    clinic_id: str,
    kind: str,
    alert_id: str,
    patient_id: str,
    user_ids: list[str] | None,
    at: str,
) -> int:
    settings = job_settings(context)
    tenant, patient = uuid.UUID(clinic_id), uuid.UUID(patient_id)
    path = ALERT_LINKS.get(kind, "/api/v1/alerts?status=open")
    async with in_clinic(sessions(context), tenant, actor=f"job:{task_name(context)}") as session:
        if user_ids is None:
            users = await service.care_team(session, tenant, patient)
        else:
            users = [uuid.UUID(u) for u in user_ids]
        return await service.practitioner_alert(
            session,
            tenant,
            kind=kind,
            alert_id=uuid.UUID(alert_id),
            patient_id=patient,
            user_ids=users,
            link=f"{settings.public_url.rstrip('/')}{path}",
            at=dt.datetime.fromisoformat(at),
        )


async def enqueue_due_reminders(context: procrastinate.JobContext, timestamp: int) -> int:
    maker, settings = sessions(context), job_settings(context)
    actor = f"job:{task_name(context)}"
    async with transaction(maker, Tenancy(role=SYSTEM_ROLE, actor=actor)) as session:
        clinics = await reminders.clinics_due(session)
    key = signing_key(settings)
    total = 0
    for clinic_id in clinics:
        while True:
            async with in_clinic(maker, clinic_id, actor=actor) as session:
                done = await reminders.enqueue_due(
                    session, clinic_id, key=key, base_url=settings.public_url, limit=REMINDER_BATCH
                )
            total += done
            if done < REMINDER_BATCH:
                break
    return total


async def sweep(context: procrastinate.JobContext, timestamp: int) -> int:
    maker = sessions(context)
    actor = f"job:{task_name(context)}"
    async with transaction(maker, Tenancy(role=SYSTEM_ROLE, actor=actor)) as session:
        work = await repository.clinics_with_work(session)
    for clinic_id, channel in work:
        async with in_clinic(maker, clinic_id, actor=actor) as session:
            await outbox.kick(session, clinic_id, [channel])
    return len(work)


def register(app: procrastinate.App) -> None:
    app.task(name=outbox.DELIVER_TASK, pass_context=True)(deliver)
    app.task(name=service.ALERT_TASK, pass_context=True)(alert_staff)
    due = app.task(
        name="notification.enqueue_due_reminders",
        pass_context=True,
        queueing_lock="notification.enqueue_due_reminders",
    )(enqueue_due_reminders)
    app.periodic(cron=EVERY_10_S)(due)
    swept = app.task(
        name="notification.sweep", pass_context=True, queueing_lock="notification.sweep"
    )(sweep)
    app.periodic(cron=EVERY_10_S)(swept)
