from __future__ import annotations

import httpx

from tests.fixtures.identity import create_clinic, create_user, login


class TestUserManagement:
    async def test_admin_creates_lists_and_reads(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        created = await client.post(
            "/api/v1/users",
            json={
                "email": "Fisio@Clinica.com.br",
                "full_name": "Fábio Fisio",
                "role": "practitioner",
            },
            headers=admin.headers,
        )
        assert created.status_code == 201
        user_id = created.json()["id"]
        listed = (await client.get("/api/v1/users", headers=admin.headers)).json()
        assert {u["id"] for u in listed["items"]} == {str(admin.user_id), user_id}
        one = await client.get(f"/api/v1/users/{user_id}", headers=admin.headers)
        assert one.json()["full_name"] == "Fábio Fisio"

    async def test_email_unique_per_clinic_case_insensitive(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await create_clinic(client)
        body = {"email": "dup@clinica.com.br", "full_name": "Dup", "role": "receptionist"}
        assert (
            await client.post("/api/v1/users", json=body, headers=admin.headers)
        ).status_code == 201
        body["email"] = "DUP@clinica.com.br"
        again = await client.post("/api/v1/users", json=body, headers=admin.headers)
        assert again.status_code == 409
        assert again.json()["errors"][0]["field"] == "email"

    async def test_same_email_in_two_clinics_is_fine(self, client: httpx.AsyncClient) -> None:
        a = await create_clinic(client)
        b = await create_clinic(client)
        body = {"email": "same@pessoa.com.br", "full_name": "Same", "role": "receptionist"}
        assert (await client.post("/api/v1/users", json=body, headers=a.headers)).status_code == 201
        assert (await client.post("/api/v1/users", json=body, headers=b.headers)).status_code == 201

    async def test_pagination_walks_every_user_once(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        for i in range(7):
            await client.post(
                "/api/v1/users",
                json={"email": f"u{i}@c.com.br", "full_name": f"User {i}", "role": "receptionist"},
                headers=admin.headers,
            )
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/users", params=params, headers=admin.headers)).json()
            seen += [u["id"] for u in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 8
        assert len(set(seen)) == 8

    async def test_bad_cursor_is_422(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.get("/api/v1/users?cursor=%%%", headers=admin.headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "cursor"


class TestRoleChange:
    async def test_role_change_invalidates_existing_tokens(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        user = await create_user(client, admin, role="receptionist")
        changed = await client.patch(
            f"/api/v1/users/{user.user_id}", json={"role": "practitioner"}, headers=admin.headers
        )
        assert changed.status_code == 200
        assert changed.json()["role"] == "practitioner"
        assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 401
        relogin = await login(client, user)
        me = await client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {relogin.json()['access_token']}"}
        )
        assert me.json()["user"]["role"] == "practitioner"

    async def test_last_admin_cannot_be_demoted(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.patch(
            f"/api/v1/users/{admin.user_id}", json={"role": "receptionist"}, headers=admin.headers
        )
        assert response.status_code == 409

    async def test_patient_role_cannot_be_assigned_here(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.post(
            "/api/v1/users",
            json={"email": "p@c.com.br", "full_name": "Paciente", "role": "patient"},
            headers=admin.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "role"


class TestDeactivation:
    async def test_revokes_access_and_refresh_at_once(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        user = await create_user(client, admin, role="practitioner")
        assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 200
        response = await client.post(
            f"/api/v1/users/{user.user_id}/deactivate", headers=admin.headers
        )
        assert response.status_code == 200
        assert response.json()["is_active"] is False
        assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 401
        refresh = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
        )
        assert refresh.status_code == 401
        assert (await login(client, user)).status_code == 401

    async def test_last_admin_cannot_deactivate_self(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.post(
            f"/api/v1/users/{admin.user_id}/deactivate", headers=admin.headers
        )
        assert response.status_code == 409
