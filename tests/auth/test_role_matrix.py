"""Each role against each resource kind: the expected answers are written out here,
independently of the permission matrix in code, so a change to either shows up."""

from __future__ import annotations

import httpx
import pytest

from fisioflow.core.database import DatabaseLocation
from tests.fixtures.identity import Actor, create_clinic, create_patient_user, create_user

ROLES = ["admin", "practitioner", "receptionist", "patient"]
# (method, path, body) -> expected status per role, in ROLES order
EXPECTED: dict[tuple[str, str], list[int]] = {
    ("GET", "/api/v1/me"): [200, 200, 200, 200],
    ("GET", "/api/v1/clinic"): [200, 200, 200, 200],
    ("PATCH", "/api/v1/clinic"): [200, 403, 403, 403],
    ("GET", "/api/v1/users"): [200, 403, 403, 403],
    ("POST", "/api/v1/users"): [201, 403, 403, 403],
    ("GET", "/api/v1/users/{target}"): [200, 404, 404, 404],
    ("PATCH", "/api/v1/users/{target}"): [200, 404, 404, 404],
    ("POST", "/api/v1/users/{target}/invite"): [201, 404, 404, 404],
    ("POST", "/api/v1/users/{target}/deactivate"): [200, 404, 404, 404],
    ("GET", "/api/v1/sos-events"): [200, 200, 403, 403],
    # this patient user has no patient row linked: no portal of their own
    ("GET", "/api/v1/me/diary"): [403, 403, 403, 403],
}
BODIES = {
    ("PATCH", "/api/v1/clinic"): {"name": "Renomeada"},
    ("POST", "/api/v1/users"): {"full_name": "Novo", "role": "receptionist"},
    ("PATCH", "/api/v1/users/{target}"): {"full_name": "Outro Nome"},
}


async def _actor(
    client: httpx.AsyncClient, database: DatabaseLocation, admin: Actor, role: str
) -> Actor:
    if role == "admin":
        return admin
    if role == "patient":
        return await create_patient_user(client, database.app_url, admin)
    return await create_user(client, admin, role=role)


@pytest.mark.parametrize("role", ROLES)
class TestRoleMatrix:
    async def test_role_against_every_resource(
        self, client: httpx.AsyncClient, database: DatabaseLocation, role: str
    ) -> None:
        admin = await create_clinic(client)
        actor = await _actor(client, database, admin, role)
        answers: dict[tuple[str, str], int] = {}
        for n, (method, path) in enumerate(EXPECTED):
            target = await create_user(client, admin, role="practitioner")
            body = dict(BODIES.get((method, path), {}))
            if path == "/api/v1/users":
                body["email"] = f"novo{n}@{admin.clinic_slug}.com.br"
            url = path.format(target=target.user_id)
            response = await client.request(method, url, headers=actor.headers, json=body or None)
            answers[(method, path)] = response.status_code
            if response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json"
                assert str(target.email) not in response.text
        expected = {key: statuses[ROLES.index(role)] for key, statuses in EXPECTED.items()}
        assert answers == expected
