from __future__ import annotations

import httpx
import pytest

from fisioflow.app import create_app
from fisioflow.core.database import DatabaseLocation
from fisioflow.settings import Settings
from tests.fixtures.identity import PASSWORD, create_clinic, unique_slug


def _signup(slug: str, **clinic: object) -> dict[str, object]:
    return {
        "clinic": {"name": "Clínica Teste", "slug": slug, **clinic},
        "admin": {"full_name": "Ana", "email": f"ana@{slug}.com.br", "password": PASSWORD},
    }


class TestSignup:
    async def test_creates_clinic_admin_and_tokens(self, client: httpx.AsyncClient) -> None:
        slug = unique_slug()
        response = await client.post(
            "/api/v1/signup",
            json=_signup(slug, cnpj="11.222.333/0001-81", timezone="America/Manaus"),
        )
        assert response.status_code == 201
        body = response.json()
        assert body["clinic"]["cnpj"] == "11222333000181"
        assert body["clinic"]["timezone"] == "America/Manaus"
        assert body["clinic"]["locale"] == "pt-BR"
        assert body["user"]["role"] == "admin"
        me = await client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {body['tokens']['access_token']}"}
        )
        assert me.json()["clinic"]["slug"] == slug

    async def test_duplicate_slug_is_409_on_the_field(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.post("/api/v1/signup", json=_signup(admin.clinic_slug))
        assert response.status_code == 409
        assert response.json()["errors"][0]["field"] == "clinic.slug"

    @pytest.mark.parametrize(
        ("clinic", "field"),
        [
            ({"cnpj": "11.222.333/0001-82"}, "clinic.cnpj"),
            ({"cnpj": "abc"}, "clinic.cnpj"),
            ({"timezone": "Mars/Olympus"}, "clinic.timezone"),
            ({"locale": "xx"}, "clinic.locale"),
            ({"slug": "Bad Slug!"}, "clinic.slug"),
            ({"name": "x" * 201}, "clinic.name"),
        ],
    )
    async def test_invalid_clinic_fields(
        self, client: httpx.AsyncClient, clinic: dict[str, object], field: str
    ) -> None:
        body = _signup(unique_slug())
        body["clinic"].update(clinic)  # type: ignore[attr-defined]
        response = await client.post("/api/v1/signup", json=body)
        assert response.status_code == 422
        assert field in [e["field"] for e in response.json()["errors"]]

    async def test_weak_admin_password_writes_nothing(self, client: httpx.AsyncClient) -> None:
        slug = unique_slug()
        body = _signup(slug)
        body["admin"]["password"] = "password1234"  # type: ignore[index]
        response = await client.post("/api/v1/signup", json=body)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "admin.password"
        # nothing half-written: the slug is still free
        assert (await client.post("/api/v1/signup", json=_signup(slug))).status_code == 201

    async def test_signup_is_rate_limited(
        self, settings: Settings, database: DatabaseLocation
    ) -> None:
        app = create_app(settings.model_copy(update={"signup_rate_limit": "2/hour"}), database)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                codes = [
                    (await http.post("/api/v1/signup", json=_signup(unique_slug()))).status_code
                    for _ in range(3)
                ]
        assert codes == [201, 201, 429]


class TestClinicSettings:
    async def test_admin_updates_clinic(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.patch(
            "/api/v1/clinic",
            json={"name": "Novo Nome", "timezone": "America/Recife"},
            headers=admin.headers,
        )
        assert response.status_code == 200
        assert response.json()["name"] == "Novo Nome"
        assert (await client.get("/api/v1/clinic", headers=admin.headers)).json()["timezone"] == (
            "America/Recife"
        )
