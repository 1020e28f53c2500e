from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.clinical import create_patient, create_practitioner
from tests.fixtures.identity import create_clinic, create_patient_user, create_user
from tests.fixtures.scheduling import SAO_PAULO, at, book, booked, create_agenda

APPOINTMENTS = "/api/v1/appointments"


async def _count(owner_engine: AsyncEngine, clinic_id: uuid.UUID) -> int:
    async with owner_engine.connect() as conn:
        await conn.execute(
            text("select set_config('app.tenant_id', :t, false)"), {"t": str(clinic_id)}
        )
        return int(await conn.scalar(text("select count(*) from appointment")) or 0)


class TestBook:
    async def test_books_with_duration_or_end(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        first = await booked(client, agenda, at(agenda.monday, 9), price="150.00", notes="Joelho")
        assert first["status"] == "scheduled"
        assert first["slot_id"] == first["id"]
        assert dt.datetime.fromisoformat(first["ends_at"]) == at(agenda.monday, 9, 50)
        assert first["price"] == "150.00"
        second = await booked(
            client,
            agenda,
            at(agenda.monday, 10),
            duration_minutes=None,
            ends_at=at(agenda.monday, 11).isoformat(),
            minutes=None,
        )
        assert dt.datetime.fromisoformat(second["ends_at"]) == at(agenda.monday, 11)

    async def test_back_to_back_is_not_an_overlap(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        await booked(client, agenda, at(agenda.monday, 9), minutes=60)
        other = await create_patient(client, agenda.admin, full_name="Carlos Seguinte")
        await booked(client, agenda, at(agenda.monday, 10), patient_id=other["id"])

    async def test_practitioner_overlap_names_the_appointment_in_the_way(
        self, client: httpx.AsyncClient
    ) -> None:
        agenda = await create_agenda(client)
        first = await booked(client, agenda, at(agenda.monday, 9))
        other = await create_patient(client, agenda.admin, full_name="Carlos Atrasado")
        clash = await book(
            client,
            agenda.admin,
            patient_id=other["id"],
            practitioner_id=agenda.practitioner_id,
            starts_at=at(agenda.monday, 9, 30),
        )
        assert clash.status_code == 409
        assert clash.headers["content-type"] == "application/problem+json"
        body = clash.json()
        assert body["code"] == "slot_taken"
        [conflict] = body["conflicts"]
        assert conflict["appointment_id"] == first["id"]
        assert conflict["resource"] == "practitioner"
        assert dt.datetime.fromisoformat(conflict["starts_at"]) == at(agenda.monday, 9)
        assert dt.datetime.fromisoformat(conflict["ends_at"]) == at(agenda.monday, 9, 50)
        assert first["id"] in body["detail"]

    async def test_patient_and_room_cannot_be_in_two_places(
        self, client: httpx.AsyncClient
    ) -> None:
        agenda = await create_agenda(client)
        room = (
            await client.post(
                "/api/v1/rooms", json={"name": "Sala 1"}, headers=agenda.admin.headers
            )
        ).json()
        await booked(client, agenda, at(agenda.monday, 9), room_id=room["id"])
        colleague = await create_practitioner(client, agenda.admin, full_name="Dr. Outro")
        same_patient = await book(
            client,
            agenda.admin,
            patient_id=agenda.patient_id,
            practitioner_id=colleague["id"],
            starts_at=at(agenda.monday, 9, 15),
        )
        assert same_patient.status_code == 409
        assert same_patient.json()["conflicts"][0]["resource"] == "patient"
        other = await create_patient(client, agenda.admin, full_name="Davi Sala")
        same_room = await book(
            client,
            agenda.admin,
            patient_id=other["id"],
            practitioner_id=colleague["id"],
            starts_at=at(agenda.monday, 9, 15),
            room_id=room["id"],
        )
        assert same_room.status_code == 409
        assert same_room.json()["conflicts"][0]["resource"] == "room"

    async def test_a_cancelled_slot_can_be_booked_again(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        first = await booked(client, agenda, at(agenda.monday, 9))
        cancelled = await client.post(
            f"{APPOINTMENTS}/{first['id']}/cancel",
            json={"reason": "Viagem", "cancelled_by": "patient"},
            headers=agenda.admin.headers,
        )
        assert cancelled.status_code == 200
        await booked(client, agenda, at(agenda.monday, 9))


class TestBadInput:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"duration_minutes": None, "ends_at": "START-30"}, "ends_at"),
            ({"duration_minutes": 0}, "duration_minutes"),
            ({"duration_minutes": 241}, "duration_minutes"),
            ({"duration_minutes": None, "ends_at": "START+0"}, "ends_at"),
            ({"duration_minutes": None, "ends_at": "START+300"}, "ends_at"),
            ({"duration_minutes": None}, "duration_minutes"),
            ({"starts_at": "2027-03-01T10:00:00"}, "starts_at"),
            ({"type": "group"}, "capacity"),
            ({"capacity": 3}, "capacity"),
            ({"price": "-1"}, "price"),
            ({"type": "massage"}, "type"),
            ({"channel": "carrier-pigeon"}, "channel"),
        ],
    )
    async def test_rejected_and_nothing_written(
        self,
        client: httpx.AsyncClient,
        owner_engine: AsyncEngine,
        change: dict[str, object],
        field: str,
    ) -> None:
        agenda = await create_agenda(client)
        start = at(agenda.monday, 9)
        body: dict[str, object] = {
            "patient_id": agenda.patient_id,
            "practitioner_id": agenda.practitioner_id,
            "starts_at": start.isoformat(),
            "duration_minutes": 50,
        }
        for key, value in change.items():
            if isinstance(value, str) and value.startswith("START"):
                value = (start + dt.timedelta(minutes=int(value[5:]))).isoformat()
            body[key] = value
        response = await client.post(APPOINTMENTS, json=body, headers=agenda.admin.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
        assert await _count(owner_engine, agenda.admin.clinic_id) == 0

    async def test_past_start_is_refused_unless_an_admin_back_fills(
        self, client: httpx.AsyncClient
    ) -> None:
        agenda = await create_agenda(client)
        past = dt.datetime.now(SAO_PAULO).replace(microsecond=0) - dt.timedelta(days=3)
        refused = await book(
            client,
            agenda.admin,
            patient_id=agenda.patient_id,
            practitioner_id=agenda.practitioner_id,
            starts_at=past,
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "starts_at"
        receptionist = await create_user(client, agenda.admin, role="receptionist")
        forbidden = await book(
            client,
            receptionist,
            patient_id=agenda.patient_id,
            practitioner_id=agenda.practitioner_id,
            starts_at=past,
            backfill=True,
        )
        assert forbidden.status_code == 403
        flagged = await booked(client, agenda, past, backfill=True)
        assert flagged["backfilled"] is True
        future = await booked(client, agenda, at(agenda.monday, 9), backfill=True)
        assert future["backfilled"] is False

    async def test_unknown_patient_or_practitioner_is_404(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        for field in ("patient_id", "practitioner_id"):
            ids = {"patient_id": agenda.patient_id, "practitioner_id": agenda.practitioner_id}
            ids[field] = str(uuid.uuid4())
            response = await book(client, agenda.admin, starts_at=at(agenda.monday, 9), **ids)
            assert response.status_code == 404
            assert response.json()["errors"][0]["field"] == field
        other_clinic = await create_agenda(client)
        foreign = await book(
            client,
            agenda.admin,
            patient_id=other_clinic.patient_id,
            practitioner_id=agenda.practitioner_id,
            starts_at=at(agenda.monday, 9),
        )
        assert foreign.status_code == 404
        assert await _count(owner_engine, agenda.admin.clinic_id) == 0


class TestLifecycle:
    async def _past(self, client: httpx.AsyncClient) -> tuple[object, dict[str, object]]:
        agenda = await create_agenda(client)
        start = dt.datetime.now(SAO_PAULO).replace(microsecond=0) - dt.timedelta(hours=2)
        return agenda, await booked(client, agenda, start, backfill=True)

    async def test_full_visit(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        appointment = await booked(client, agenda, at(agenda.monday, 9))
        for action, status in [
            ("confirm", "confirmed"),
            ("check-in", "checked_in"),
            ("start", "in_progress"),
            ("complete", "completed"),
        ]:
            response = await client.post(
                f"{APPOINTMENTS}/{appointment['id']}/{action}", headers=agenda.admin.headers
            )
            assert response.status_code == 200, response.text
            assert response.json()["status"] == status
            assert response.json()["status_changed_at"] is not None

    @pytest.mark.parametrize(
        ("steps", "action", "current"),
        [
            ([], "check-in", "scheduled"),
            ([], "complete", "scheduled"),
            (["confirm"], "confirm", "confirmed"),
            (["confirm", "check-in"], "cancel", "checked_in"),
            (["confirm", "check-in", "start"], "no-show", "in_progress"),
        ],
    )
    async def test_illegal_transition_names_the_current_status(
        self, client: httpx.AsyncClient, steps: list[str], action: str, current: str
    ) -> None:
        agenda = await create_agenda(client)
        appointment = await booked(client, agenda, at(agenda.monday, 9))
        url = f"{APPOINTMENTS}/{appointment['id']}"
        for step in steps:
            assert (await client.post(f"{url}/{step}", headers=agenda.admin.headers)).is_success
        body = {"reason": "x", "cancelled_by": "clinic"} if action == "cancel" else None
        response = await client.post(f"{url}/{action}", json=body, headers=agenda.admin.headers)
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_transition"
        assert response.json()["current_status"] == current
        assert current in response.json()["detail"]

    async def test_cancel_records_reason_and_who(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        appointment = await booked(client, agenda, at(agenda.monday, 9))
        response = await client.post(
            f"{APPOINTMENTS}/{appointment['id']}/cancel",
            json={"reason": "Paciente com febre", "cancelled_by": "patient"},
            headers=agenda.admin.headers,
        )
        assert response.json()["status"] == "cancelled"
        assert response.json()["cancel_reason"] == "Paciente com febre"
        assert response.json()["cancelled_by"] == "patient"
        missing = await client.post(
            f"{APPOINTMENTS}/{appointment['id']}/cancel",
            json={"reason": "x", "cancelled_by": "nobody"},
            headers=agenda.admin.headers,
        )
        assert missing.status_code == 422

    async def test_no_show_only_after_the_start(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        future = await booked(client, agenda, at(agenda.monday, 9))
        early = await client.post(
            f"{APPOINTMENTS}/{future['id']}/no-show", headers=agenda.admin.headers
        )
        assert early.status_code == 409
        assert early.json()["code"] == "too_early"
        start = dt.datetime.now(SAO_PAULO).replace(microsecond=0) - dt.timedelta(hours=2)
        past = await booked(client, agenda, start, backfill=True)
        late = await client.post(
            f"{APPOINTMENTS}/{past['id']}/no-show", headers=agenda.admin.headers
        )
        assert late.status_code == 200
        assert late.json()["status"] == "no_show"
        patient = await client.get(
            f"/api/v1/patients/{agenda.patient_id}", headers=agenda.admin.headers
        )
        assert patient.json()["attendance"] == {
            "no_shows": 1,
            "cancellations": 0,
            "cancelled_by_patient": 0,
            "completed": 0,
        }

    async def test_database_refuses_an_illegal_status_change(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        appointment = await booked(client, agenda, at(agenda.monday, 9))
        async with app_engine.connect() as conn:
            await conn.execute(
                text(
                    "select set_config('app.tenant_id', :t, false), set_config('app.role', 'admin', false)"
                ),
                {"t": str(agenda.admin.clinic_id)},
            )
            with pytest.raises(IntegrityError, match="cannot go from scheduled to completed"):
                await conn.execute(
                    text("update appointment set status = 'completed' where id = :id"),
                    {"id": appointment["id"]},
                )
            await conn.rollback()
            with pytest.raises(Exception, match="permission denied"):
                await conn.execute(
                    text("delete from appointment where id = :id"), {"id": appointment["id"]}
                )


class TestReschedule:
    async def test_moves_and_a_confirmed_visit_goes_back_to_scheduled(
        self, client: httpx.AsyncClient
    ) -> None:
        agenda = await create_agenda(client)
        appointment = await booked(client, agenda, at(agenda.monday, 9))
        url = f"{APPOINTMENTS}/{appointment['id']}"
        await client.post(f"{url}/confirm", headers=agenda.admin.headers)
        moved = await client.patch(
            url,
            json={"starts_at": at(agenda.monday, 14).isoformat(), "duration_minutes": 30},
            headers={**agenda.admin.headers, "If-Match": '"2"'},
        )
        assert moved.status_code == 200, moved.text
        assert dt.datetime.fromisoformat(moved.json()["starts_at"]) == at(agenda.monday, 14)
        assert dt.datetime.fromisoformat(moved.json()["ends_at"]) == at(agenda.monday, 14, 30)
        assert moved.json()["status"] == "scheduled"
        assert moved.headers["ETag"] == '"3"'
        stale = await client.patch(
            url, json={"notes": "x"}, headers={**agenda.admin.headers, "If-Match": '"2"'}
        )
        assert stale.status_code == 412

    async def test_into_an_occupied_slot_is_409_and_changes_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        agenda = await create_agenda(client)
        other = await create_patient(client, agenda.admin, full_name="Elisa Ocupada")
        blocker = await booked(client, agenda, at(agenda.monday, 14), patient_id=other["id"])
        appointment = await booked(client, agenda, at(agenda.monday, 9))
        url = f"{APPOINTMENTS}/{appointment['id']}"
        response = await client.patch(
            url,
            json={"starts_at": at(agenda.monday, 14, 20).isoformat(), "notes": "mudou"},
            headers=agenda.admin.headers,
        )
        assert response.status_code == 409
        assert response.json()["conflicts"][0]["appointment_id"] == blocker["id"]
        after = (await client.get(url, headers=agenda.admin.headers)).json()
        assert after == appointment

    async def test_attended_visits_cannot_move(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        appointment = await booked(client, agenda, at(agenda.monday, 9))
        url = f"{APPOINTMENTS}/{appointment['id']}"
        for action in ("confirm", "check-in"):
            await client.post(f"{url}/{action}", headers=agenda.admin.headers)
        response = await client.patch(
            url, json={"starts_at": at(agenda.monday, 10).isoformat()}, headers=agenda.admin.headers
        )
        assert response.status_code == 409
        assert response.json()["current_status"] == "checked_in"


class TestGroupSessions:
    async def test_members_share_the_slot_up_to_capacity(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        group = await booked(
            client, agenda, at(agenda.monday, 9), type="group", capacity=2, minutes=60
        )
        second = await create_patient(client, agenda.admin, full_name="Fábio Grupo")
        third = await create_patient(client, agenda.admin, full_name="Gabi Grupo")
        url = f"{APPOINTMENTS}/{group['id']}/participants"
        joined = await client.post(
            url, json={"patient_id": second["id"]}, headers=agenda.admin.headers
        )
        assert joined.status_code == 201, joined.text
        assert joined.json()["slot_id"] == group["slot_id"]
        assert joined.json()["starts_at"] == group["starts_at"]
        full = await client.post(
            url, json={"patient_id": third["id"]}, headers=agenda.admin.headers
        )
        assert full.status_code == 409
        assert full.json()["code"] == "group_full"
        solo = await book(
            client,
            agenda.admin,
            patient_id=third["id"],
            practitioner_id=agenda.practitioner_id,
            starts_at=at(agenda.monday, 9, 30),
        )
        assert solo.status_code == 409
        assert solo.json()["conflicts"][0]["resource"] == "practitioner"

    async def test_only_group_sessions_take_participants(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        single = await booked(client, agenda, at(agenda.monday, 9))
        other = await create_patient(client, agenda.admin, full_name="Hugo Sozinho")
        response = await client.post(
            f"{APPOINTMENTS}/{single['id']}/participants",
            json={"patient_id": other["id"]},
            headers=agenda.admin.headers,
        )
        assert response.status_code == 409
        assert response.json()["code"] == "not_a_group"


class TestAccess:
    async def test_anonymous_is_401(self, client: httpx.AsyncClient) -> None:
        for method, path in [
            ("GET", APPOINTMENTS),
            ("POST", APPOINTMENTS),
            ("GET", "/api/v1/agenda?date=2027-01-04"),
        ]:
            response = await client.request(method, path, json={})
            assert response.status_code == 401

    async def test_patient_sees_only_their_own(
        self, client: httpx.AsyncClient, database: object
    ) -> None:
        agenda = await create_agenda(client)
        appointment = await booked(client, agenda, at(agenda.monday, 9))
        user = await create_patient_user(client, database.app_url, agenda.admin)  # type: ignore[attr-defined]
        assert (await client.get(APPOINTMENTS, headers=user.headers)).status_code == 200
        assert (await client.get(APPOINTMENTS, headers=user.headers)).json()["items"] == []
        assert (
            await client.get(f"{APPOINTMENTS}/{appointment['id']}", headers=user.headers)
        ).status_code == 404
        booking = await book(
            client,
            user,
            patient_id=agenda.patient_id,
            practitioner_id=agenda.practitioner_id,
            starts_at=at(agenda.monday, 11),
        )
        assert booking.status_code == 403
        mine = await client.get("/api/v1/me/appointments", headers=user.headers)
        assert mine.json()["items"] == []
        staff = await client.get("/api/v1/me/appointments", headers=agenda.admin.headers)
        assert staff.status_code == 403

    async def test_receptionist_books_practitioner_reads(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        receptionist = await create_user(client, agenda.admin, role="receptionist")
        made = await book(
            client,
            receptionist,
            patient_id=agenda.patient_id,
            practitioner_id=agenda.practitioner_id,
            starts_at=at(agenda.monday, 9),
        )
        assert made.status_code == 201
        practitioner = await create_user(client, agenda.admin, role="practitioner")
        listed = await client.get(APPOINTMENTS, headers=practitioner.headers)
        assert [a["id"] for a in listed.json()["items"]] == [made.json()["id"]]

    async def test_other_clinic_is_404(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        appointment = await booked(client, agenda, at(agenda.monday, 9))
        intruder = await create_clinic(client)
        response = await client.get(f"{APPOINTMENTS}/{appointment['id']}", headers=intruder.headers)
        assert response.status_code == 404
        listed = await client.get(APPOINTMENTS, headers=intruder.headers)
        assert listed.json()["items"] == []


class TestList:
    async def test_filters_and_pages_in_start_order(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        other = await create_patient(client, agenda.admin, full_name="Íris Lista")
        made = [
            await booked(client, agenda, at(agenda.monday, hour), patient_id=pid)
            for hour, pid in [(15, other["id"]), (9, agenda.patient_id), (11, other["id"])]
        ]
        url = (
            f"{APPOINTMENTS}?from={agenda.monday}&to={agenda.monday + dt.timedelta(days=1)}&limit=2"
        )
        first = (await client.get(url, headers=agenda.admin.headers)).json()
        assert [a["id"] for a in first["items"]] == [made[1]["id"], made[2]["id"]]
        second = (
            await client.get(f"{url}&cursor={first['next_cursor']}", headers=agenda.admin.headers)
        ).json()
        assert [a["id"] for a in second["items"]] == [made[0]["id"]]
        assert second["next_cursor"] is None
        by_patient = await client.get(
            f"{APPOINTMENTS}?patient_id={other['id']}&status=scheduled",
            headers=agenda.admin.headers,
        )
        assert [a["id"] for a in by_patient.json()["items"]] == [made[2]["id"], made[0]["id"]]
        naive = await client.get(
            f"{APPOINTMENTS}?from=2027-01-01T10:00:00", headers=agenda.admin.headers
        )
        assert naive.status_code == 422
