"""Practitioner alerts through the outbox: an SOS messages its recipients (the patient's
practitioner and the clinic's admins), urgently, by a job queued in the SOS's own
transaction."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fisioflow.auth.principal import Principal, Role, tenancy_for, trusted_tenant
from fisioflow.core.database import DatabaseLocation, transaction
from fisioflow.core.jobs import run_worker
from fisioflow.engagement import sos
from fisioflow.engagement.schemas import SosIn
from fisioflow.notification.service import ALERT_TASK
from fisioflow.settings import Settings
from tests.fixtures.engagement import SOS, create_care, post
from tests.fixtures.identity import create_user
from tests.fixtures.receivers import SmtpReceiver
from tests.notification.helpers import rows


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
        await run_worker(database, settings=notify_settings, until_empty=True)

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
