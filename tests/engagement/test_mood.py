"""Mood check-ins from the portal, and the practitioner's mood trend."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.core.database import Tenancy
from tests.fixtures.engagement import (
    DIARY,
    MOOD,
    Care,
    create_care,
    other_patient_portal,
    post,
    sql_as,
    staff_principal,
)
from tests.fixtures.identity import create_clinic, create_user
from tests.fixtures.records import practitioner_user


async def own_check_ins(client: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    listed = await client.get(MOOD, headers=headers)
    assert listed.status_code == 200, listed.text
    items: list[Any] = listed.json()["items"]
    return items


class TestCheckIn:
    async def test_check_in_and_list(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        first = await post(client, MOOD, {"mood": 3}, care.portal)
        second = await post(
            client, MOOD, {"mood": 5, "energy": 0, "note": " Dia leve. "}, care.portal
        )
        assert (first["energy"], first["note"]) == (None, None)
        assert (second["mood"], second["energy"], second["note"]) == (5, 0, "Dia leve.")
        assert [c["id"] for c in await own_check_ins(client, care.portal)] == [
            second["id"],
            first["id"],
        ]

    async def test_each_patient_sees_their_own(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        await post(client, MOOD, {"mood": 1, "note": "segredo"}, care.portal)
        other = await other_patient_portal(client, care)
        assert await own_check_ins(client, other) == []

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"mood": 0}, "mood"),
            ({"mood": 6}, "mood"),
            ({"mood": 2.5}, "mood"),
            ({}, "mood"),
            ({"mood": 3, "energy": -1}, "energy"),
            ({"mood": 3, "energy": 4}, "energy"),
            ({"mood": 3, "note": "n" * 1001}, "note"),
            ({"mood": 3, "patient_id": str(uuid.uuid4())}, "patient_id"),
        ],
    )
    async def test_bad_input_names_the_field(
        self, client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        care = await create_care(client)
        response = await client.post(MOOD, json=body, headers=care.portal)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert field in {e["field"] for e in response.json()["errors"]}
        assert await own_check_ins(client, care.portal) == []

    async def test_anonymous_and_staff(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        assert (await client.post(MOOD, json={"mood": 3})).status_code == 401
        assert (await client.get(MOOD)).status_code == 401
        for actor in (care.admin, care.practitioner):
            response = await client.post(MOOD, json={"mood": 3}, headers=actor.headers)
            assert response.status_code == 403
            assert (await client.get(MOOD, headers=actor.headers)).status_code == 403

    async def test_staff_cannot_insert_or_change_check_ins_in_sql(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        await post(client, MOOD, {"mood": 2}, care.portal)
        staff = staff_principal(care.admin)
        with pytest.raises(DBAPIError, match="row-level security"):
            await sql_as(
                app_engine,
                staff,
                "insert into mood_entry (tenant_id, id, patient_id, mood)"
                " values (:t, gen_random_uuid(), :p, 5)",
                t=care.admin.clinic_id,
                p=care.patient_id,
            )
        with pytest.raises(DBAPIError, match="permission denied"):
            await sql_as(app_engine, staff, "update mood_entry set mood = 5")


async def backdate(
    engine: AsyncEngine, care: Care, table: str, row_id: str, at: dt.datetime
) -> None:
    """Rows are stamped by the server; the owner (check-ins are append-only for the
    application role), as a system actor of the clinic, moves one into the past."""
    system = Tenancy(tenant_id=care.admin.clinic_id, actor="test")
    await sql_as(
        engine, system, f"update {table} set created_at = :at where id = :id", at=at, id=row_id
    )


UTC = dt.UTC


class TestTrend:
    async def test_daily_averages_in_the_clinic_time_zone(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        # São Paulo is UTC-3: 02:00 UTC on the 11th is still the 10th at the clinic.
        placed = [
            (MOOD, {"mood": 2, "energy": 1}, dt.datetime(2026, 11, 10, 12, tzinfo=UTC)),
            (MOOD, {"mood": 4, "energy": 3}, dt.datetime(2026, 11, 11, 2, tzinfo=UTC)),
            (MOOD, {"mood": 5}, dt.datetime(2026, 11, 12, 15, tzinfo=UTC)),
            (DIARY, {"text": "Bom dia", "mood": 3}, dt.datetime(2026, 11, 10, 20, tzinfo=UTC)),
            (
                DIARY,
                {"text": "Só meu", "mood": 1, "private": True},
                dt.datetime(2026, 11, 12, 16, tzinfo=UTC),
            ),
            (MOOD, {"mood": 1}, dt.datetime(2026, 11, 20, 12, tzinfo=UTC)),  # outside
        ]
        for url, body, at in placed:
            row = await post(client, url, body, care.portal)
            table = "mood_entry" if url == MOOD else "diary_entry"
            await backdate(owner_engine, care, table, row["id"], at)

        response = await client.get(
            care.staff("mood-trend"),
            params={"from": "2026-11-10", "to": "2026-11-12"},
            headers=care.practitioner.headers,
        )
        assert response.status_code == 200, response.text
        trend = response.json()
        assert (trend["from"], trend["to"], trend["bucket"]) == ("2026-11-10", "2026-11-12", "day")
        assert trend["timezone"] == "America/Sao_Paulo"
        assert trend["points"] == [
            {
                "period_start": "2026-11-10",
                "mood_average": 3.0,
                "energy_average": 2.0,
                "check_ins": 2,
                "diary_entries": 1,
            },
            {
                "period_start": "2026-11-12",
                "mood_average": 5.0,
                "energy_average": None,
                "check_ins": 1,
                "diary_entries": 0,
            },
        ]
        assert trend["mood_average"] == 3.5  # (2 + 4 + 3 + 5) / 4: the private 1 is left out
        assert trend["energy_average"] == 2.0

        weekly = await client.get(
            care.staff("mood-trend"),
            params={"from": "2026-11-10", "to": "2026-11-22", "bucket": "week"},
            headers=care.admin.headers,
        )
        points = weekly.json()["points"]
        assert [(p["period_start"], p["check_ins"]) for p in points] == [
            ("2026-11-09", 3),
            ("2026-11-16", 1),
        ]

    async def test_empty_window_and_default_range(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        response = await client.get(care.staff("mood-trend"), headers=care.practitioner.headers)
        assert response.status_code == 200, response.text
        trend = response.json()
        span = dt.date.fromisoformat(trend["to"]) - dt.date.fromisoformat(trend["from"])
        assert span.days == 29
        assert (trend["points"], trend["mood_average"]) == ([], None)

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"from": "2026-11-12", "to": "2026-11-10"}, "from"),
            ({"from": "2025-01-01", "to": "2026-11-10"}, "from"),
            ({"from": "ontem"}, "from"),
            ({"bucket": "month"}, "bucket"),
        ],
    )
    async def test_bad_window(
        self, client: httpx.AsyncClient, params: dict[str, str], field: str
    ) -> None:
        care = await create_care(client)
        response = await client.get(
            care.staff("mood-trend"), params=params, headers=care.practitioner.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field

    @pytest.mark.parametrize(
        "who", ["anonymous", "patient", "receptionist", "other_practitioner", "other_clinic"]
    )
    async def test_who_may_not(self, client: httpx.AsyncClient, who: str) -> None:
        care = await create_care(client)
        await post(client, MOOD, {"mood": 2}, care.portal)
        headers: dict[str, str] = {}
        if who == "patient":
            headers = care.portal
        elif who == "receptionist":
            headers = (await create_user(client, care.admin, role="receptionist")).headers
        elif who == "other_practitioner":
            headers = (await practitioner_user(client, care.admin))[0].headers
        elif who == "other_clinic":
            headers = (await create_clinic(client)).headers
        response = await client.get(care.staff("mood-trend"), headers=headers)
        assert response.status_code == (401 if who == "anonymous" else 404)
