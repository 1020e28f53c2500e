"""Name search with several words (migration 0019): each word is a whole word of the
name, its start (last word) or one letter off; adjacent words rank first."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.clinical import create_patient, create_practitioner
from tests.fixtures.identity import create_clinic

PATIENTS = "/api/v1/patients"


async def _search(
    client: httpx.AsyncClient, admin: Any, q: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(PATIENTS, params={"q": q, **params}, headers=admin.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _names(client: httpx.AsyncClient, admin: Any, q: str, **params: Any) -> list[str]:
    return [p["full_name"] for p in await _search(client, admin, q, **params)]


class TestTypos:
    async def test_a_typo_finds_the_patient_on_the_first_page_of_a_crowd(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await create_clinic(client)
        for i in range(25):
            await create_patient(client, admin, full_name=f"Maria Santos {chr(65 + i)}ires")
        target = await create_patient(client, admin, full_name="Maria Conceição Silva Rocha")
        for q in ("maria slva", "Maria Silvaa", "maria cilva", "mari silva rocha"):
            found = await _search(client, admin, q)
            assert found, q
            assert found[0]["id"] == target["id"], q

    async def test_accents_and_case_do_not_matter(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        await create_patient(client, admin, full_name="Conceição Araújo")
        assert await _names(client, admin, "CONCEICAO araujo") == ["Conceição Araújo"]
        assert await _names(client, admin, "conceiçao Araúju") == ["Conceição Araújo"]

    async def test_a_word_further_off_falls_back_to_trigrams(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await create_clinic(client)
        await create_patient(client, admin, full_name="Maria Aparecida dos Santos")
        # "aparecidinha" is four letters off any word: trigram word similarity still finds it
        assert await _names(client, admin, "maria aparecidinha") == ["Maria Aparecida dos Santos"]
        assert await _names(client, admin, "maria xyzwq") == []


class TestRanking:
    @pytest.fixture
    async def admin(self, client: httpx.AsyncClient) -> Any:
        admin = await create_clinic(client)
        for name in (
            "Mariana Silva Costa",  # "maria" only starts "mariana": not the last word
            "Maria Rocha Silva",  # both words, not next to each other
            "Maria da Silva Rocha",  # next to each other, the connector skipped
            "Maria Silveira Lima",
            "Ana Souza",
        ):
            await create_patient(client, admin, full_name=name)
        return admin

    async def test_adjacent_words_first_then_whole_words_then_the_rest(
        self, client: httpx.AsyncClient, admin: Any
    ) -> None:
        assert await _names(client, admin, "maria silva") == [
            "Maria da Silva Rocha",
            "Maria Rocha Silva",
            "Mariana Silva Costa",
        ]

    async def test_the_last_word_may_be_the_start_of_a_name(
        self, client: httpx.AsyncClient, admin: Any
    ) -> None:
        names = await _names(client, admin, "Maria Sil")
        assert set(names[:2]) == {"Maria da Silva Rocha", "Maria Silveira Lima"}
        assert "Maria Rocha Silva" in names
        assert "Ana Souza" not in names

    async def test_a_connector_typed_must_be_there(
        self, client: httpx.AsyncClient, admin: Any
    ) -> None:
        assert (await _names(client, admin, "maria da silva"))[0] == "Maria da Silva Rocha"

    async def test_a_repeated_word_must_appear_twice(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        await create_patient(client, admin, full_name="Ana Luiza Ana Souza")
        await create_patient(client, admin, full_name="Ana Luiza Souza")
        assert await _names(client, admin, "ana ana") == ["Ana Luiza Ana Souza"]

    async def test_pages_follow_the_ranking_and_visit_each_once(
        self, client: httpx.AsyncClient, admin: Any
    ) -> None:
        whole = [p["id"] for p in await _search(client, admin, "maria silva")]
        seen: list[str] = []
        params: dict[str, Any] = {"q": "maria silva", "limit": 1}
        while True:
            page = (await client.get(PATIENTS, params=params, headers=admin.headers)).json()
            seen += [p["id"] for p in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == whole


class TestFiltersAndUpkeep:
    async def test_status_practitioner_and_archived_filters(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await create_clinic(client)
        pract = await create_practitioner(client, admin)
        mine = await create_patient(
            client, admin, full_name="Paula Ramos Um", practitioner_id=pract["id"]
        )
        discharged = await create_patient(
            client, admin, full_name="Paula Ramos Dois", status="discharged"
        )
        archived = await create_patient(client, admin, full_name="Paula Ramos Tres")
        response = await client.post(f"{PATIENTS}/{archived['id']}/archive", headers=admin.headers)
        assert response.status_code == 200, response.text
        by_id = [p["id"] for p in await _search(client, admin, "paula ramos")]
        assert set(by_id) == {mine["id"], discharged["id"]}
        assert [
            p["id"]
            for p in await _search(client, admin, "paula ramos", practitioner_id=pract["id"])
        ] == [mine["id"]]
        assert [
            p["id"] for p in await _search(client, admin, "paula ramos", status="discharged")
        ] == [discharged["id"]]

    async def test_a_renamed_patient_is_found_by_its_new_words_with_a_typo(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin, full_name="Fulano Antigo")
        response = await client.patch(
            f"{PATIENTS}/{patient['id']}",
            json={"full_name": "Beltrano Novíssimo"},
            headers={**admin.headers, "If-Match": '"1"'},
        )
        assert response.status_code == 200, response.text
        assert await _names(client, admin, "beltrano novisimo") == ["Beltrano Novíssimo"]
        assert await _names(client, admin, "fulano antigo") == []

    async def test_another_clinics_names_stay_out(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        mine, other = await create_clinic(client), await create_clinic(client)
        await create_patient(client, other, full_name="Zuleica Prado Vieira")
        await create_patient(client, mine, full_name="Zuleika Pardo")
        assert await _names(client, mine, "zuleica prado") == []
        async with app_engine.begin() as conn:
            with pytest.raises(DBAPIError, match="permission denied"):
                await conn.execute(text("select * from patient_search_word"))
