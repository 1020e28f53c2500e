"""Malformed input anywhere answers 4xx problem+json naming the field, never 500."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.identity import create_clinic


def _assert_problem(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert "Traceback" not in response.text
    assert "SELECT" not in response.text.upper().replace("SELECTED", "")
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body


class TestBadInput:
    async def test_malformed_json(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
        )
        _assert_problem(response, 422)

    async def test_wrong_types(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/api/v1/auth/login", json={"clinic_slug": 5, "email": ["x"], "password": None}
        )
        _assert_problem(response, 422, "email")
        fields = {e["field"] for e in response.json()["errors"]}
        assert {"clinic_slug", "email", "password"} <= fields

    async def test_unknown_field_rejected(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.post(
            "/api/v1/users",
            json={
                "email": "a@b.com.br",
                "full_name": "A B",
                "role": "receptionist",
                "is_admin": True,
            },
            headers=admin.headers,
        )
        _assert_problem(response, 422, "is_admin")

    async def test_overlong_string(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.post(
            "/api/v1/users",
            json={"email": "a@b.com.br", "full_name": "x" * 5000, "role": "receptionist"},
            headers=admin.headers,
        )
        _assert_problem(response, 422, "full_name")

    @pytest.mark.parametrize("bad", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"])
    async def test_invalid_uuid_in_path(self, client: httpx.AsyncClient, bad: str) -> None:
        admin = await create_clinic(client)
        response = await client.get(f"/api/v1/users/{bad}", headers=admin.headers)
        _assert_problem(response, 422, "user_id")

    async def test_invalid_email(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.post(
            "/api/v1/users",
            json={"email": "not an email", "full_name": "A B", "role": "receptionist"},
            headers=admin.headers,
        )
        _assert_problem(response, 422, "email")

    async def test_nul_byte_in_string_is_not_a_500(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.patch(
            "/api/v1/clinic", json={"name": "Clinica\u0000Nula"}, headers=admin.headers
        )
        _assert_problem(response, 422, "name")
