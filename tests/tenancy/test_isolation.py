"""Clinic A's credentials against clinic B's ids, for every endpoint that takes an id.

The endpoint list comes from the OpenAPI document, so a new endpoint with an id joins
this suite automatically; it fails until its id parameter has a factory below.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from validate_docbr import CPF

from fisioflow.core.database import DatabaseLocation
from fisioflow.exercise.library import library_id
from tests.fixtures.identity import Actor, create_clinic, create_patient_user, create_user


@dataclass
class Victim:
    """Clinic B with objects whose ids A will try."""

    admin: Actor
    ids: dict[str, str]
    secrets: list[str]


IdFactory = Callable[[httpx.AsyncClient, Actor], Awaitable[tuple[str, list[str]]]]


async def _user_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    user = await create_user(client, admin, role="practitioner")
    return str(user.user_id), [user.email]


async def _practitioner_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    number = str(uuid.uuid4().int)[:8]
    created = await client.post(
        "/api/v1/practitioners",
        json={
            "full_name": "Dra. Vítima Fisio",
            "council": "CREFITO",
            "council_number": number,
            "council_state": "SP",
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], ["Dra. Vítima Fisio", number]


async def _patient_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    cpf = CPF().generate()
    created = await client.post(
        "/api/v1/patients",
        json={"full_name": "Paciente Vítima Secreta", "cpf": cpf, "phone": "(11) 98765-4321"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], ["Paciente Vítima Secreta", cpf]


RECORD_SECRET = "Segredo clínico da vítima"
_RECORDS = "/api/v1/patients/{patient_id}/records"


async def _record_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    """A draft entry on the patient made just before (the admin writes as a practitioner)."""
    patients = await client.get("/api/v1/patients", headers=admin.headers)
    patient_id = patients.json()["items"][0]["id"]
    profile = await client.post(
        "/api/v1/practitioners",
        json={
            "full_name": "Dra. Admin Fisio",
            "council": "CREFITO",
            "council_number": str(uuid.uuid4().int)[:8],
            "council_state": "RJ",
            "user_id": str(admin.user_id),
        },
        headers=admin.headers,
    )
    assert profile.status_code == 201, profile.text
    created = await client.post(
        _RECORDS.format(patient_id=patient_id),
        json={"kind": "evolution", "content": {"subjective": RECORD_SECRET}},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], [RECORD_SECRET]


APPOINTMENT_NOTE = "Nota de agenda da vítima"
FUTURE = "2099-03-02T10:00:00-03:00"


async def _first_ids(client: httpx.AsyncClient, admin: Actor) -> tuple[str, str]:
    patients = await client.get("/api/v1/patients", headers=admin.headers)
    practitioners = await client.get("/api/v1/practitioners", headers=admin.headers)
    return practitioners.json()["items"][0]["id"], patients.json()["items"][0]["id"]


async def _appointment_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    practitioner_id, patient_id = await _first_ids(client, admin)
    created = await client.post(
        "/api/v1/appointments",
        json={
            "patient_id": patient_id,
            "practitioner_id": practitioner_id,
            "starts_at": FUTURE,
            "duration_minutes": 50,
            "type": "group",
            "capacity": 4,
            "notes": APPOINTMENT_NOTE,
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], [APPOINTMENT_NOTE]


async def _series_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    practitioner_id, patient_id = await _first_ids(client, admin)
    created = await client.post(
        "/api/v1/appointment-series",
        json={
            "patient_id": patient_id,
            "practitioner_id": practitioner_id,
            "starts_at": "2099-04-06T08:00:00-03:00",
            "duration_minutes": 50,
            "rrule": "FREQ=WEEKLY;COUNT=3",
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], []


async def _room_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    created = await client.post(
        "/api/v1/rooms", json={"name": "Sala Secreta da Vítima"}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], ["Sala Secreta da Vítima"]


async def _time_off_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    created = await client.post(
        "/api/v1/time-off",
        json={
            "kind": "holiday",
            "starts_at": "2099-12-25T00:00:00-03:00",
            "ends_at": "2099-12-26T00:00:00-03:00",
            "reason": "Feriado secreto da vítima",
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], ["Feriado secreto da vítima"]


DIARY_SECRET = "Diário da vítima: nunca mostrar"
MESSAGE_SECRET = "Mensagem sigilosa da vítima"
SOS_SECRET = "Pedido de socorro da vítima"
_portals: dict[uuid.UUID, dict[str, str]] = {}


async def _portal(client: httpx.AsyncClient, admin: Actor) -> dict[str, str]:
    """A portal account of a second patient of the victim clinic (made once per clinic)."""
    if admin.clinic_id not in _portals:
        email = f"portal-{uuid.uuid4().hex[:8]}@example.com"
        created = await client.post(
            "/api/v1/patients",
            json={"full_name": "Paciente Portal Vítima", "email": email},
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
        invite = await client.post(
            f"/api/v1/patients/{created.json()['id']}/invite", headers=admin.headers
        )
        accepted = await client.post(
            "/api/v1/auth/accept-invite",
            json={"token": invite.json()["token"], "password": "uma senha bem longa"},
        )
        assert accepted.status_code == 200, accepted.text
        _portals[admin.clinic_id] = {"Authorization": f"Bearer {accepted.json()['access_token']}"}
    return _portals[admin.clinic_id]


async def _portal_post(
    client: httpx.AsyncClient, admin: Actor, url: str, body: dict[str, Any]
) -> str:
    created = await client.post(url, json=body, headers=await _portal(client, admin))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _diary_entry_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    body = {"title": DIARY_SECRET, "text": DIARY_SECRET, "mood": 1, "tags": ["vitima"]}
    return await _portal_post(client, admin, "/api/v1/me/diary", body), [DIARY_SECRET]


async def _message_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    body = {"body": MESSAGE_SECRET}
    return await _portal_post(client, admin, "/api/v1/me/messages", body), [MESSAGE_SECRET]


async def _sos_event_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    body = {"message": SOS_SECRET}
    return await _portal_post(client, admin, "/api/v1/me/sos", body), [SOS_SECRET]


EXERCISE_SECRET = "Exercício secreto da vítima"
PROGRAM_SECRET = "Programa secreto da vítima"
LOG_SECRET = "Relato secreto da vítima"
_PRESCRIPTIONS = "/api/v1/patients/{patient_id}/prescriptions"
_LOGS = "/api/v1/me/exercise-logs"


def _program_email(admin: Actor) -> str:
    return f"programa@{admin.clinic_slug}.example.com"


async def _program_patient(client: httpx.AsyncClient, admin: Actor) -> str:
    """The victim patient who follows a home program (has an email: invited to the portal)."""
    found = await client.get(
        "/api/v1/patients", params={"q": _program_email(admin)}, headers=admin.headers
    )
    if found.json()["items"]:
        return str(found.json()["items"][0]["id"])
    created = await client.post(
        "/api/v1/patients",
        json={"full_name": "Paciente Programa Vítima", "email": _program_email(admin)},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _exercise_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    created = await client.post(
        "/api/v1/exercises",
        json={
            "name": EXERCISE_SECRET,
            "description": "Só a vítima conhece",
            "body_region": "knee",
            "category": "balance",
            "difficulty": "beginner",
            "default_reps": 5,
            "instructions": ["Passo único"],
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], [EXERCISE_SECRET]


async def _prescription_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    """Prescribed by the admin's practitioner profile (made by the record factory)."""
    patient_id = await _program_patient(client, admin)
    exercises = await client.get(
        "/api/v1/exercises", params={"source": "clinic"}, headers=admin.headers
    )
    created = await client.post(
        _PRESCRIPTIONS.format(patient_id=patient_id),
        json={"title": PROGRAM_SECRET, "items": [_item(exercises.json()["items"][0]["id"])]},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], [PROGRAM_SECRET, "Paciente Programa Vítima", _program_email(admin)]


def _item(exercise_id: str) -> dict[str, Any]:
    return {"exercise_id": exercise_id, "sets": 2, "reps": 7, "start_on": "2026-01-01"}


async def _program(client: httpx.AsyncClient, admin: Actor) -> dict[str, Any]:
    patient_id = await _program_patient(client, admin)
    listed = await client.get(_PRESCRIPTIONS.format(patient_id=patient_id), headers=admin.headers)
    prescription_id = listed.json()["items"][0]["id"]
    detail = await client.get(
        f"{_PRESCRIPTIONS}/{prescription_id}".format(patient_id=patient_id), headers=admin.headers
    )
    result: dict[str, Any] = detail.json()
    return result


async def _item_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    program = await _program(client, admin)
    return program["items"][0]["id"], [program["items"][0]["current"]["id"]]


async def _log_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    """The victim patient logs a painful session from the portal (also raises an alert)."""
    program = await _program(client, admin)
    invite = await client.post(
        f"/api/v1/patients/{program['patient_id']}/invite", headers=admin.headers
    )
    accepted = await client.post(
        "/api/v1/auth/accept-invite",
        json={"token": invite.json()["token"], "password": "senha da vitima longa"},
    )
    assert accepted.status_code == 200, accepted.text
    logged = await client.post(
        _LOGS,
        json={
            "item_version_id": program["items"][0]["current"]["id"],
            "performed_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat(),
            "reps_done": 7,
            "pain_before": 4,
            "pain_after": 9,
            "note": LOG_SECRET,
        },
        headers={"Authorization": f"Bearer {accepted.json()['access_token']}"},
    )
    assert logged.status_code == 201, logged.text
    return logged.json()["id"], [LOG_SECRET]


async def _alert_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    alerts = await client.get("/api/v1/alerts", headers=admin.headers)
    return alerts.json()["items"][0]["id"], []


VICTIM_EMAIL = "vitima.secreta@example.com"
PUSH_ENDPOINT = "https://push.example.com/send/vitima-secreta"


async def _notification_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    practitioner_id, _ = await _first_ids(client, admin)
    patient = await client.post(
        "/api/v1/patients",
        json={"full_name": "Paciente Com Email", "email": VICTIM_EMAIL},
        headers=admin.headers,
    )
    assert patient.status_code == 201, patient.text
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "patient_id": patient.json()["id"],
            "practitioner_id": practitioner_id,
            "starts_at": "2099-05-04T10:00:00-03:00",
            "duration_minutes": 50,
        },
        headers=admin.headers,
    )
    assert booked.status_code == 201, booked.text
    listed = await client.get("/api/v1/notifications", headers=admin.headers)
    return listed.json()["items"][0]["id"], [VICTIM_EMAIL]


async def _subscription_id(client: httpx.AsyncClient, admin: Actor) -> tuple[str, list[str]]:
    created = await client.post(
        "/api/v1/me/push-subscriptions",
        json={
            "endpoint": PUSH_ENDPOINT,
            "keys": {"p256dh": "B" + "x" * 86, "auth": "secret-auth-key"},
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], [PUSH_ENDPOINT]


# path parameter name -> how to make one in the victim clinic (in this order)
ID_FACTORIES: dict[str, IdFactory] = {
    "user_id": _user_id,
    "practitioner_id": _practitioner_id,
    "patient_id": _patient_id,
    "record_id": _record_id,
    "appointment_id": _appointment_id,
    "series_id": _series_id,
    "room_id": _room_id,
    "time_off_id": _time_off_id,
    "diary_entry_id": _diary_entry_id,
    "message_id": _message_id,
    "sos_event_id": _sos_event_id,
    "exercise_id": _exercise_id,
    "prescription_id": _prescription_id,
    "item_id": _item_id,
    "log_id": _log_id,
    "alert_id": _alert_id,
    "notification_id": _notification_id,
    "subscription_id": _subscription_id,
}
# bodies that pass validation, so the handler (not the validator) answers
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/api/v1/patients/{patient_id}/notification-preferences"): {
        "channels": {"email": False}
    },
    ("PATCH", "/api/v1/users/{user_id}"): {"full_name": "Changed By Intruder"},
    ("PATCH", "/api/v1/practitioners/{practitioner_id}"): {"full_name": "Changed By Intruder"},
    ("PATCH", "/api/v1/patients/{patient_id}"): {"full_name": "Changed By Intruder"},
    ("POST", _RECORDS): {"kind": "evolution", "content": {"plan": "Changed By Intruder"}},
    ("PATCH", f"{_RECORDS}/{{record_id}}"): {"content": {"plan": "Changed By Intruder"}},
    ("POST", f"{_RECORDS}/{{record_id}}/addenda"): {"content": {"text": "Changed By Intruder"}},
    ("PATCH", "/api/v1/appointments/{appointment_id}"): {"notes": "Changed By Intruder"},
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"): {
        "reason": "Changed By Intruder",
        "cancelled_by": "clinic",
    },
    ("POST", "/api/v1/appointment-series/{series_id}/cancel"): {
        "reason": "Changed By Intruder",
        "cancelled_by": "clinic",
    },
    ("PATCH", "/api/v1/rooms/{room_id}"): {"name": "Changed By Intruder"},
    ("POST", "/api/v1/appointments/{appointment_id}/participants"): {
        "patient_id": "00000000-0000-7000-8000-000000000000"
    },
    ("PATCH", "/api/v1/me/diary/{diary_entry_id}"): {"text": "Changed By Intruder"},
    ("POST", "/api/v1/patients/{patient_id}/messages"): {"body": "Changed By Intruder"},
    ("POST", "/api/v1/patients/{patient_id}/internal-notes"): {"body": "Changed By Intruder"},
    ("PATCH", "/api/v1/exercises/{exercise_id}"): {"name": "Changed By Intruder"},
    ("POST", _PRESCRIPTIONS): {
        "title": "Changed By Intruder",
        "items": [_item(str(library_id("ponte-de-gluteo")))],
    },
    ("PATCH", f"{_PRESCRIPTIONS}/{{prescription_id}}"): {"title": "Changed By Intruder"},
    ("POST", f"{_PRESCRIPTIONS}/{{prescription_id}}/items"): _item(
        str(library_id("ponte-de-gluteo"))
    ),
    ("PATCH", f"{_PRESCRIPTIONS}/{{prescription_id}}/items/{{item_id}}"): {"reps": 99},
    ("PATCH", f"{_LOGS}/{{log_id}}"): {"pain_after": 0},
}
# every request also carries these, so a missing precondition is not what answers
HEADERS = {"If-Match": '"1"'}
_PARAM = re.compile(r"{(\w+)}")


def endpoints_with_ids(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    found = []
    for path, item in app.openapi()["paths"].items():
        params = _PARAM.findall(path)
        if not params:
            continue
        for method in item:
            found.append((method.upper(), path, params))
    return found


def list_endpoints(app: FastAPI) -> list[str]:
    return [
        path
        for path, item in app.openapi()["paths"].items()
        if "get" in item
        and not _PARAM.search(path)
        and path.startswith("/api/")
        and not is_stream(item["get"])
    ]


def is_stream(operation: dict[str, Any]) -> bool:
    """Server-sent events never end: walked separately (tests/events/test_stream.py shows
    another clinic's events never reach a stream)."""
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    return "text/event-stream" in content


async def make_victim(client: httpx.AsyncClient, name: str) -> Victim:
    admin = await create_clinic(client, name=name)
    ids: dict[str, str] = {}
    secrets = [name, admin.email, str(admin.clinic_id)]
    for param, factory in ID_FACTORIES.items():
        ids[param], leaked = await factory(client, admin)
        secrets += [ids[param], *leaked]
    return Victim(admin=admin, ids=ids, secrets=secrets)


async def assert_isolated(
    app: FastAPI, client: httpx.AsyncClient, intruder: Actor, victim: Victim
) -> None:
    for method, path, params in endpoints_with_ids(app):
        missing = [p for p in params if p not in victim.ids]
        assert not missing, f"add an ID_FACTORIES entry for {missing} ({method} {path})"
        url = path.format(**victim.ids)
        body = VALID_BODIES.get((method, path))
        headers = {**intruder.headers, **HEADERS}
        response = await client.request(method, url, headers=headers, json=body)
        assert response.status_code == 404, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        _assert_no_secret(response, victim, f"{method} {path}", sent=url)
    for path in list_endpoints(app):
        response = await client.get(path, headers=intruder.headers)
        _assert_no_secret(response, victim, f"GET {path}")
    await _assert_victim_untouched(client, victim)


def _assert_no_secret(response: httpx.Response, victim: Victim, where: str, sent: str = "") -> None:
    for secret in victim.secrets:
        if secret in sent:  # the intruder's own URL is echoed in `instance`; that is no leak
            continue
        assert secret not in response.text, f"{where} leaked {secret!r}"


async def _assert_victim_untouched(client: httpx.AsyncClient, victim: Victim) -> None:
    user = await client.get(f"/api/v1/users/{victim.ids['user_id']}", headers=victim.admin.headers)
    assert user.status_code == 200
    assert user.json()["is_active"] is True
    assert user.json()["full_name"] != "Changed By Intruder"
    patient = await client.get(
        f"/api/v1/patients/{victim.ids['patient_id']}", headers=victim.admin.headers
    )
    assert patient.status_code == 200
    assert patient.json()["archived_at"] is None
    assert patient.json()["version"] == 1
    record = await client.get(
        f"{_RECORDS}/{{record_id}}".format(**victim.ids), headers=victim.admin.headers
    )
    assert record.status_code == 200
    assert record.json()["status"] == "draft"
    assert record.json()["content"] == {"subjective": RECORD_SECRET}
    assert record.json()["addenda"] == []
    appointment = await client.get(
        f"/api/v1/appointments/{victim.ids['appointment_id']}", headers=victim.admin.headers
    )
    assert appointment.json()["status"] == "scheduled"
    assert appointment.json()["notes"] == APPOINTMENT_NOTE
    assert appointment.json()["version"] == 1
    series = await client.get(
        f"/api/v1/appointment-series/{victim.ids['series_id']}", headers=victim.admin.headers
    )
    assert [a["status"] for a in series.json()["appointments"]] == ["scheduled"] * 3
    await _assert_portal_untouched(client, victim)


async def _assert_portal_untouched(client: httpx.AsyncClient, victim: Victim) -> None:
    portal = _portals[victim.admin.clinic_id]
    diary = await client.get(f"/api/v1/me/diary/{victim.ids['diary_entry_id']}", headers=portal)
    assert diary.status_code == 200
    assert diary.json()["text"] == DIARY_SECRET
    messages = (await client.get("/api/v1/me/messages", headers=portal)).json()["items"]
    assert [(m["body"], m["read_at"]) for m in messages] == [(MESSAGE_SECRET, None)]
    sos = (await client.get("/api/v1/me/sos", headers=portal)).json()["items"]
    assert [e["acknowledged_at"] for e in sos] == [None]
    for what in ("messages", "internal-notes"):
        url = f"/api/v1/patients/{victim.ids['patient_id']}/{what}"
        listed = await client.get(url, headers=victim.admin.headers)
        assert listed.json()["items"] == [], what
    await _assert_program_untouched(client, victim)


async def _assert_program_untouched(client: httpx.AsyncClient, victim: Victim) -> None:
    headers = victim.admin.headers
    exercise = await client.get(f"/api/v1/exercises/{victim.ids['exercise_id']}", headers=headers)
    assert exercise.json()["name"] == EXERCISE_SECRET
    program = await _program(client, victim.admin)
    assert (program["title"], program["status"]) == (PROGRAM_SECRET, "active")
    assert [len(i["history"]) for i in program["items"]] == [0]
    [alert] = (await client.get("/api/v1/alerts", headers=headers)).json()["items"]
    assert alert["status"] == "open"


class TestEndpointDiscovery:
    async def test_id_endpoints_are_found(self, app: FastAPI) -> None:
        paths = {path for _, path, _ in endpoints_with_ids(app)}
        assert "/api/v1/users/{user_id}" in paths
        assert "/api/v1/users/{user_id}/deactivate" in paths


class TestTenantIsolation:
    async def test_admin_of_a_cannot_reach_b(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        intruder = await create_clinic(client)
        victim = await make_victim(client, "Clínica Vítima")
        await assert_isolated(app, client, intruder, victim)

    async def test_patient_of_a_cannot_reach_b(
        self, app: FastAPI, client: httpx.AsyncClient, database: DatabaseLocation
    ) -> None:
        """A portal patient (their own program, logs) against another clinic's ids."""
        intruder = await create_patient_user(client, database.app_url, await create_clinic(client))
        victim = await make_victim(client, "Clínica Vítima")
        await assert_isolated(app, client, intruder, victim)

    @settings(
        max_examples=8,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        victim_name=st.text(
            alphabet=st.characters(
                whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" ãçéõ"
            ),
            min_size=6,
            max_size=40,
        ).filter(lambda s: s.strip() == s and len(s.strip()) >= 6),
        intruder_role=st.sampled_from(["admin", "practitioner", "receptionist"]),
    )
    async def test_property_any_clinic_any_role(
        self, app: FastAPI, client: httpx.AsyncClient, victim_name: str, intruder_role: str
    ) -> None:
        intruder_admin = await create_clinic(client)
        intruder = (
            intruder_admin
            if intruder_role == "admin"
            else await create_user(client, intruder_admin, role=intruder_role)
        )
        # The prefix keeps a generated name like "Not fo" from matching error boilerplate.
        victim = await make_victim(client, f"Clínica {victim_name}")
        await assert_isolated(app, client, intruder, victim)
