"""The name search reads patient_search through a SECURITY DEFINER function: it must
stay exactly as isolated as the RLS-protected tables."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.clinical import create_patient
from tests.fixtures.identity import create_clinic

_MATCHES = text("select patient_id from patient_name_search('maria', null, null, false, 20, 0)")


async def _as_tenant(conn: object, tenant: object) -> None:
    await conn.execute(  # type: ignore[attr-defined]
        text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)}
    )


class TestSearchFunctionIsolation:
    async def test_only_the_current_clinic_and_nothing_without_one(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        a, b = await create_clinic(client), await create_clinic(client)
        mine = await create_patient(client, a, full_name="Maria das Dores")
        await create_patient(client, b, full_name="Maria das Dores")
        async with app_engine.begin() as conn:
            assert (await conn.execute(_MATCHES)).all() == []
            await _as_tenant(conn, a.clinic_id)
            assert [str(r[0]) for r in await conn.execute(_MATCHES)] == [mine["id"]]

    async def test_app_role_cannot_read_the_table(self, app_engine: AsyncEngine) -> None:
        async with app_engine.begin() as conn:
            with pytest.raises(DBAPIError, match="permission denied"):
                await conn.execute(text("select * from patient_search"))

    async def test_renaming_updates_the_index(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin, full_name="Fulano Antigo")
        await client.patch(
            f"/api/v1/patients/{patient['id']}",
            json={"full_name": "Beltrano Novo", "social_name": "Bel"},
            headers={**admin.headers, "If-Match": '"1"'},
        )
        found = await client.get("/api/v1/patients?q=beltrano", headers=admin.headers)
        assert [p["id"] for p in found.json()["items"]] == [patient["id"]]
        assert (await client.get("/api/v1/patients?q=antigo", headers=admin.headers)).json()[
            "items"
        ] == []
