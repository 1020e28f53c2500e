from __future__ import annotations

import asyncio

import httpx
import psycopg
from rich.console import Console

from fisioflow.app import create_app
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation
from fisioflow.demo.engagement import DEMO_PATIENT_EMAIL
from fisioflow.demo.loader import DEMO_ADMIN, DEMO_PASSWORD, DEMO_SLUG, load_demo
from fisioflow.settings import Settings


class TestDemo:
    def test_loads_once_and_is_idempotent(
        self, settings: Settings, database: DatabaseLocation
    ) -> None:
        console = Console(quiet=True)
        assert load_demo(settings, database, console=console) is True
        assert load_demo(settings, database, console=console) is False
        assert database.superuser_url is not None
        dsn = libpq_dsn(database.superuser_url.set(database=database.owner_url.database))
        with psycopg.connect(dsn) as conn:
            roles = conn.execute(
                "select u.role, count(*) from user_account u join clinic c on c.id = u.tenant_id "
                "where c.slug = %s group by u.role order by u.role",
                [DEMO_SLUG],
            ).fetchall()
            counts = conn.execute(
                "select (select count(*) from practitioner), (select count(*) from patient),"
                " (select count(*) from patient where practitioner_id is null)"
            ).fetchone()
            agenda = conn.execute(
                "select status, count(*) from appointment group by status order by status"
            ).fetchall()
            extras = conn.execute(
                "select (select count(*) from appointment_series),"
                " (select count(*) from appointment where type = 'group'),"
                " (select count(*) from room)"
            ).fetchone()
            engagement = conn.execute(
                "select (select count(*) from diary_entry),"
                " (select count(*) from diary_entry where private),"
                " (select count(*) from mood_entry), (select count(*) from patient_message),"
                " (select count(*) from internal_note)"
            ).fetchone()
            programs = conn.execute(
                "select (select count(*) from prescription where status = 'active'),"
                " (select count(distinct patient_id) from exercise_log),"
                " (select count(*) from exercise_log),"
                " (select count(*) from user_account where role = 'patient'"
                "  and password_hash is not null),"
                " (select count(*) from alert where kind in ('pain_high', 'pain_rising'))"
            ).fetchone()
        assert roles == [("admin", 1), ("patient", 7), ("practitioner", 3), ("receptionist", 1)]
        assert counts == (3, 30, 0)
        statuses = dict(agenda)
        assert sum(statuses.values()) == 3 * 50 + 3 * 8 + 4
        assert statuses.get("scheduled", 0) > 0
        if statuses.get("completed"):  # past visits of this week, unless it is Monday 8:00
            assert set(statuses) >= {"completed", "scheduled"}
        assert extras == (3, 4, 3)
        assert engagement == (4, 1, 13, 3, 1)
        assert programs is not None
        prescriptions, patients_logging, logs, portal_logins, pain_alerts = programs
        assert (prescriptions, patients_logging, portal_logins) == (6, 6, 3)
        assert logs > 60
        assert pain_alerts >= 1

    async def test_demo_accounts_and_the_therapy_patients_data(
        self, settings: Settings, database: DatabaseLocation
    ) -> None:
        await asyncio.to_thread(load_demo, settings, database, console=Console(quiet=True))
        app = create_app(settings, database)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                admin = await _headers(http, DEMO_ADMIN)
                exerciser = await _headers(http, "paciente1@demo.fisioflow.dev")
                patient = await _headers(http, DEMO_PATIENT_EMAIL)
                psychologist = await _headers(http, "practitioner3@demo.fisioflow.dev")
                own = (await http.get("/api/v1/me/diary", headers=patient)).json()["items"]
                staff_view = f"/api/v1/patients/{own[0]['patient_id']}"
                shared = await http.get(f"{staff_view}/diary", headers=psychologist)
                trend = await http.get(f"{staff_view}/mood-trend", headers=psychologist)
                thread = await http.get("/api/v1/me/messages", headers=patient)
                program = await http.get("/api/v1/me/program", headers=exerciser)
                logs = await http.get("/api/v1/me/exercise-logs", headers=exerciser)
                patient_id = logs.json()["items"][0]["patient_id"]
                adherence = await http.get(
                    f"/api/v1/patients/{patient_id}/adherence", headers=admin
                )
                alerts = await http.get("/api/v1/alerts", headers=admin)
        assert len(program.json()["items"]) >= 2
        assert logs.json()["items"]
        assert adherence.json()["overall"]["done"] > 0
        assert alerts.json()["items"]
        assert len(own) == 4
        assert len(shared.json()["items"]) == 3
        assert len(trend.json()["points"]) == 13
        assert len(thread.json()["items"]) == 3


async def _headers(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await http.post(
        "/api/v1/auth/login",
        json={"clinic_slug": DEMO_SLUG, "email": email, "password": DEMO_PASSWORD},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
