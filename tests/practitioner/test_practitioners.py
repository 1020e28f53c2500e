from __future__ import annotations

import httpx
import pytest

from tests.fixtures.clinical import create_practitioner
from tests.fixtures.identity import create_clinic, create_user


class TestPractitioners:
    async def test_create_and_read_with_working_hours(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        created = await create_practitioner(
            client,
            admin,
            phone="(11) 3456-7890",
            council="crp",
            council_state="rj",
            working_hours={
                "mon": [{"start": "13:00", "end": "18:00"}, {"start": "08:00", "end": "12:00"}]
            },
        )
        assert created["council"] == "CRP"
        assert created["council_state"] == "RJ"
        assert created["phone"] == "+551134567890"
        assert [i["start"] for i in created["working_hours"]["mon"]] == ["08:00:00", "13:00:00"]
        got = await client.get(f"/api/v1/practitioners/{created['id']}", headers=admin.headers)
        assert got.json() == created

    async def test_council_registration_unique_per_clinic(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        await create_practitioner(client, admin, council_number="12345-F")
        again = await client.post(
            "/api/v1/practitioners",
            json={
                "full_name": "Outro",
                "council": "CREFITO",
                "council_number": "12345-f",
                "council_state": "SP",
            },
            headers=admin.headers,
        )
        assert again.status_code == 409
        assert again.json()["errors"][0]["field"] == "council_number"
        other = await create_clinic(client)
        await create_practitioner(client, other, council_number="12345-F")

    async def test_link_to_user(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        user = await create_user(client, admin, role="practitioner")
        created = await create_practitioner(client, admin, user_id=str(user.user_id))
        assert created["user_id"] == str(user.user_id)
        receptionist = await create_user(client, admin, role="receptionist")
        bad = await client.post(
            "/api/v1/practitioners",
            json={
                "full_name": "X Y",
                "council": "CRP",
                "council_number": "9",
                "council_state": "SP",
                "user_id": str(receptionist.user_id),
            },
            headers=admin.headers,
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "user_id"

    @pytest.mark.parametrize(
        ("override", "field"),
        [
            ({"council": "XYZ"}, "council"),
            ({"council_state": "XX"}, "council_state"),
            ({"council_number": "!!"}, "council_number"),
            ({"phone": "12"}, "phone"),
            (
                {"working_hours": {"mon": [{"start": "10:00", "end": "09:00"}]}},
                "working_hours.mon.0",
            ),
            (
                {
                    "working_hours": {
                        "mon": [
                            {"start": "08:00", "end": "12:00"},
                            {"start": "11:00", "end": "13:00"},
                        ]
                    }
                },
                "working_hours",
            ),
            ({"working_hours": {"someday": []}}, "working_hours.someday.[key]"),
        ],
    )
    async def test_validation(
        self, client: httpx.AsyncClient, override: dict[str, object], field: str
    ) -> None:
        admin = await create_clinic(client)
        body = {
            "full_name": "Fulano",
            "council": "CREFITO",
            "council_number": "1",
            "council_state": "SP",
            **override,
        }
        response = await client.post("/api/v1/practitioners", json=body, headers=admin.headers)
        assert response.status_code == 422
        assert field in [e["field"] for e in response.json()["errors"]], response.json()

    async def test_only_admin_manages_staff_reads(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        created = await create_practitioner(client, admin)
        receptionist = await create_user(client, admin, role="receptionist")
        listed = await client.get("/api/v1/practitioners", headers=receptionist.headers)
        assert [p["id"] for p in listed.json()["items"]] == [created["id"]]
        denied = await client.post(
            "/api/v1/practitioners",
            json={
                "full_name": "X Y",
                "council": "CRP",
                "council_number": "9",
                "council_state": "SP",
            },
            headers=receptionist.headers,
        )
        assert denied.status_code == 403
        patch = await client.patch(
            f"/api/v1/practitioners/{created['id']}",
            json={"specialty": "x"},
            headers=receptionist.headers,
        )
        assert patch.status_code == 404
        updated = await client.patch(
            f"/api/v1/practitioners/{created['id']}",
            json={"specialty": "Ortopedia", "status": "inactive"},
            headers=admin.headers,
        )
        assert updated.json()["specialty"] == "Ortopedia"
        active = await client.get("/api/v1/practitioners?status=active", headers=admin.headers)
        assert active.json()["items"] == []
