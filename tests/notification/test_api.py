"""Notification API: preferences with LGPD consent, push subscriptions, admin views of
the outbox and the queue, re-sending dead messages. Anonymous, wrong role and other
clinic for each."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.clinical import create_patient
from tests.fixtures.identity import Actor, create_clinic, create_user
from tests.fixtures.scheduling import at, booked, create_agenda
from tests.notification.helpers import rows

PUSH = {
    "endpoint": "https://push.example.com/send/abc",
    "keys": {"p256dh": "B" + "x" * 86, "auth": "auth-secret-1"},
}


def _prefs(response: httpx.Response) -> dict[str, tuple[bool, bool]]:
    return {
        c["channel"]: (c["enabled"], c["consent_at"] is not None)
        for c in response.json()["channels"]
    }


class TestPreferences:
    async def test_defaults_then_sms_only_with_consent(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin, phone="11987654321")
        url = f"/api/v1/patients/{patient['id']}/notification-preferences"
        got = await client.get(url, headers=admin.headers)
        assert _prefs(got) == {
            "email": (True, False),
            "sms": (False, False),
            "whatsapp": (False, False),
            "push": (True, False),
        }
        refused = await client.put(url, json={"channels": {"sms": True}}, headers=admin.headers)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "consent"
        assert _prefs(await client.get(url, headers=admin.headers))["sms"] == (False, False)
        body = {"channels": {"sms": True, "email": False}, "consent": True}
        accepted = await client.put(url, json=body, headers=admin.headers)
        assert accepted.status_code == 200, accepted.text
        assert _prefs(accepted)["sms"] == (True, True)
        assert _prefs(accepted)["email"] == (False, False)
        # Consent stays on file: switching off and on again needs no new consent.
        await client.put(url, json={"channels": {"sms": False}}, headers=admin.headers)
        again = await client.put(url, json={"channels": {"sms": True}}, headers=admin.headers)
        assert again.status_code == 200

    async def test_unknown_channels_and_fields_are_refused(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin)
        url = f"/api/v1/patients/{patient['id']}/notification-preferences"
        for body in ({"channels": {"fax": True}}, {"channels": {"email": "maybe"}}, {}):
            response = await client.put(url, json=body, headers=admin.headers)
            assert response.status_code == 422, body

    async def test_access(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin)
        url = f"/api/v1/patients/{patient['id']}/notification-preferences"
        assert (await client.get(url)).status_code == 401
        other = await create_clinic(client)
        assert (await client.get(url, headers=other.headers)).status_code == 404
        put = await client.put(url, json={"channels": {"email": False}}, headers=other.headers)
        assert put.status_code == 404
        receptionist = await create_user(client, admin, role="receptionist")
        allowed = await client.put(
            url, json={"channels": {"email": False}}, headers=receptionist.headers
        )
        assert allowed.status_code == 200

    async def test_staff_set_their_own(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.put(
            "/api/v1/me/notification-preferences",
            json={"channels": {"push": False}},
            headers=admin.headers,
        )
        assert response.status_code == 200
        assert _prefs(response)["push"] == (False, False)
        assert (await client.get("/api/v1/me/notification-preferences")).status_code == 401


class TestPushSubscriptions:
    async def test_subscribe_update_and_unsubscribe(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        first = await client.post("/api/v1/me/push-subscriptions", json=PUSH, headers=admin.headers)
        assert first.status_code == 201, first.text
        again = await client.post(
            "/api/v1/me/push-subscriptions",
            json={**PUSH, "keys": {**PUSH["keys"], "auth": "auth-secret-2"}},  # type: ignore[dict-item]
            headers=admin.headers,
        )
        assert again.json()["id"] == first.json()["id"]
        colleague = await create_user(client, admin, role="practitioner")
        url = f"/api/v1/me/push-subscriptions/{first.json()['id']}"
        assert (await client.delete(url, headers=colleague.headers)).status_code == 404
        assert (await client.delete(url)).status_code == 401
        assert (await client.delete(url, headers=admin.headers)).status_code == 204
        assert (await client.delete(url, headers=admin.headers)).status_code == 404

    async def test_a_bad_subscription_names_the_field(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        bad = await client.post(
            "/api/v1/me/push-subscriptions",
            json={**PUSH, "endpoint": "not a url"},
            headers=admin.headers,
        )
        assert bad.status_code == 422
        assert "endpoint" in bad.json()["errors"][0]["field"]


async def _dead_message(client: httpx.AsyncClient, owner_engine: AsyncEngine) -> tuple[Actor, str]:
    agenda = await create_agenda(client)
    patient = await create_patient(
        client, agenda.admin, full_name="Rita Morta", email="r@example.com"
    )
    await booked(client, agenda, at(agenda.monday, 9), patient_id=patient["id"])
    await rows(
        owner_engine,
        agenda.admin.clinic_id,
        "update notification set status = 'dead', attempts = 8, last_error = '550 no such user'",
    )
    listed = await client.get("/api/v1/notifications?status=dead", headers=agenda.admin.headers)
    [dead] = listed.json()["items"]
    assert dead["last_error"] == "550 no such user"
    return agenda.admin, dead["id"]


class TestAdmin:
    async def test_queue_depth_and_failures(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        admin, _ = await _dead_message(client, owner_engine)
        response = await client.get("/api/v1/admin/queue", headers=admin.headers)
        assert response.status_code == 200
        body = response.json()
        assert {"channel": "email", "status": "dead", "count": 1} in body["notifications"]
        [deliver] = [j for j in body["jobs"] if j["task"] == "notification.deliver"]
        assert deliver == {"task": "notification.deliver", "waiting": 1, "running": 0, "failed": 0}

    async def test_resend_dead(self, client: httpx.AsyncClient, owner_engine: AsyncEngine) -> None:
        admin, notification_id = await _dead_message(client, owner_engine)
        await rows(owner_engine, admin.clinic_id, "delete from procrastinate_jobs")
        url = f"/api/v1/notifications/{notification_id}/resend"
        response = await client.post(url, headers=admin.headers)
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["attempts"]) == ("pending", 0)
        jobs = await rows(owner_engine, admin.clinic_id, "select task_name from procrastinate_jobs")
        assert [j[0] for j in jobs] == ["notification.deliver"]
        again = await client.post(url, headers=admin.headers)
        assert again.status_code == 409
        assert again.json()["code"] == "not_dead"

    async def test_access(self, client: httpx.AsyncClient, owner_engine: AsyncEngine) -> None:
        admin, notification_id = await _dead_message(client, owner_engine)
        practitioner = await create_user(client, admin, role="practitioner")
        other = await create_clinic(client)
        url = f"/api/v1/notifications/{notification_id}/resend"
        for path in ("/api/v1/admin/queue", "/api/v1/notifications"):
            assert (await client.get(path)).status_code == 401
            assert (await client.get(path, headers=practitioner.headers)).status_code == 403
        assert (await client.post(url)).status_code == 401
        assert (await client.post(url, headers=practitioner.headers)).status_code == 404
        assert (await client.post(url, headers=other.headers)).status_code == 404
        listed = await client.get("/api/v1/notifications", headers=other.headers)
        assert listed.json()["items"] == []
