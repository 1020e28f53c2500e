"""Practitioner alerts through the outbox: an SOS messages its recipients (the patient's
practitioner and the clinic's admins), urgently, and an alert (pain, missed sessions) the
patient's care team, by a job queued in the writer's own transaction."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fisioflow.alert import service as alert_service
from fisioflow.auth.principal import Principal, Role, tenancy_for, trusted_tenant
from fisioflow.core.database import DatabaseLocation, create_engine, transaction
from fisioflow.core.jobs import in_clinic, run_worker
from fisioflow.engagement import sos
from fisioflow.engagement.schemas import SosIn
from fisioflow.notification.service import ALERT_TASK
from fisioflow.settings import Settings
from tests.fixtures.engagement import SOS, Care, create_care, post
from tests.fixtures.identity import create_user
from tests.fixtures.receivers import SmtpReceiver
from tests.fixtures.records import practitioner_user
from tests.notification.helpers import rows


async def drain(database: DatabaseLocation, settings: Settings) -> None:
    """Run jobs until none waits: a job queued by a running job (alert -> delivery) may
    come after an `until_empty` worker found the queue empty and stopped."""
    for _ in range(5):
        await run_worker(database, settings=settings, until_empty=True)
        engine = create_engine(database.owner_url, settings)
        try:
            async with engine.connect() as conn:
                waiting = await conn.scalar(
                    text("select count(*) from procrastinate_jobs where status = 'todo'")
                )
        finally:
            await engine.dispose()
        if not waiting:
            return
    raise AssertionError("jobs still waiting")


class TestSos:
    async def test_practitioner_and_admins_get_an_urgent_message_once(
        self,
        client: httpx.AsyncClient,
        database: DatabaseLocation,
        notify_settings: Settings,
        smtp: SmtpReceiver,
        owner_engine: AsyncEngine,
    ) -> None:
        care = await create_care(client)
        second_admin = await create_user(client, care.admin, role="admin")
        receptionist = await create_user(client, care.admin, role="receptionist")
        raised = await post(client, SOS, {"message": "Estou em crise"}, care.portal)
        await drain(database, notify_settings)

        urgent = [m for m in smtp.messages if str(m["Subject"]).startswith("URGENTE")]
        assert sorted(str(m["To"]) for m in urgent) == sorted(
            [care.practitioner.email, care.admin.email, second_admin.email]
        )
        assert receptionist.email not in {str(m["To"]) for m in smtp.messages}
        body = urgent[0].get_body(("plain",))
        assert body is not None
        assert "Marta Paciente" in body.get_content()
        assert "Estou em crise" not in body.get_content()  # what the patient wrote stays in
        sent = await rows(
            owner_engine,
            care.admin.clinic_id,
            "select status, urgent, template from notification where delivery_key like :k",
            k=f"alert:{raised['id']}:%",
        )
        assert sent == [("sent", True, "alert_sos")] * 3

    async def test_a_rolled_back_sos_queues_nothing(
        self,
        client: httpx.AsyncClient,
        app_sessionmaker: async_sessionmaker[AsyncSession],
        owner_engine: AsyncEngine,
    ) -> None:
        care = await create_care(client)
        patient = Principal(
            trusted_tenant(care.admin.clinic_id),
            uuid.uuid4(),
            Role.PATIENT,
            uuid.UUID(care.patient_id),
        )

        async def raise_then_fail() -> None:
            async with transaction(app_sessionmaker, tenancy_for(patient)) as session:
                await sos.raise_sos(session, patient, SosIn(message="desfeito"))
                raise RuntimeError("something failed after the SOS")

        with pytest.raises(RuntimeError, match="after the SOS"):
            await raise_then_fail()
        async with owner_engine.connect() as conn:
            queued = await conn.scalar(
                text("select count(*) from procrastinate_jobs where task_name = :t"),
                {"t": ALERT_TASK},
            )
        assert queued == 0


async def raise_pain_alert(
    maker: async_sessionmaker[AsyncSession], care: Care, *, key: str = "dor-1"
) -> uuid.UUID:
    async with in_clinic(maker, care.admin.clinic_id, actor="test") as session:
        created = await alert_service.raise_alert(
            session,
            tenant_id=care.admin.clinic_id,
            patient_id=uuid.UUID(care.patient_id),
            practitioner_id=uuid.UUID(care.team.practitioner_id),
            kind="pain_high",
            message="Dor 9/10 após o exercício",
            dedupe_key=key,
        )
        assert created
        found = await session.scalar(text("select id from alert where dedupe_key = :k"), {"k": key})
    assert isinstance(found, uuid.UUID)
    return found


class TestAlerts:
    async def test_a_pain_alert_messages_the_care_team_once(
        self,
        client: httpx.AsyncClient,
        database: DatabaseLocation,
        notify_settings: Settings,
        smtp: SmtpReceiver,
        app_sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        care = await create_care(client)
        colleague, _ = await practitioner_user(client, care.admin)
        alert_id = await raise_pain_alert(app_sessionmaker, care)
        async with in_clinic(app_sessionmaker, care.admin.clinic_id, actor="test") as session:
            again = await alert_service.raise_alert(
                session,
                tenant_id=care.admin.clinic_id,
                patient_id=uuid.UUID(care.patient_id),
                practitioner_id=None,
                kind="pain_high",
                message="de novo",
                dedupe_key="dor-1",
            )
        assert again is False
        await drain(database, notify_settings)
        about = [m for m in smtp.messages if str(alert_id) in str(m["X-FisioFlow-Delivery"])]
        assert sorted(str(m["To"]) for m in about) == sorted(
            [care.practitioner.email, care.admin.email]
        )
        assert colleague.email not in {str(m["To"]) for m in smtp.messages}
