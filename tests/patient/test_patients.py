from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest

from tests.fixtures.clinical import create_patient, create_practitioner, new_cpf
from tests.fixtures.identity import create_clinic, create_user

TODAY = dt.date.today()


class TestCreate:
    async def test_normalizes_cpf_phone_and_address(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        cpf = new_cpf(punctuated=True)
        created = await create_patient(
            client,
            admin,
            cpf=cpf,
            phone="(21) 99876-5432",
            email="Joao@Example.com",
            birth_on="1980-05-17",
            address={"cep": "01310-100", "uf": "sp", "city": "São Paulo"},
            consent_version="2026-01",
        )
        assert created["cpf"] == cpf.replace(".", "").replace("-", "")
        assert created["phone"] == "+5521998765432"
        assert created["address"]["cep"] == "01310100"
        assert created["address"]["uf"] == "SP"
        assert created["consent_at"] is not None
        assert created["version"] == 1
        assert created["warnings"] == []

    async def test_duplicate_cpf_points_at_existing(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        cpf = new_cpf()
        first = await create_patient(client, admin, cpf=cpf)
        again = await client.post(
            "/api/v1/patients",
            json={"full_name": "Outra Pessoa", "cpf": cpf},
            headers=admin.headers,
        )
        assert again.status_code == 409
        body = again.json()
        assert body["code"] == "duplicate_cpf"
        assert body["existing_patient_id"] == first["id"]
        assert body["errors"][0]["field"] == "cpf"

    async def test_near_duplicate_is_a_warning(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        first = await create_patient(
            client, admin, full_name="Maria José Conceição", birth_on="1990-02-03"
        )
        second = await create_patient(
            client, admin, full_name="Maria Jose Conceicao", birth_on="1990-02-03"
        )
        assert [w["patient_id"] for w in second["warnings"]] == [first["id"]]
        other_day = await create_patient(
            client, admin, full_name="Maria Jose Conceicao", birth_on="1991-02-03"
        )
        assert other_day["warnings"] == []


VALID_CPF = "529.982.247-25"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cpf": "529.982.247-24"}, "cpf"),
        ({"cpf": "111.111.111-11"}, "cpf"),
        ({"cpf": "1234"}, "cpf"),
        ({"birth_on": (TODAY + dt.timedelta(days=1)).isoformat()}, "birth_on"),
        ({"birth_on": "1880-01-01"}, "birth_on"),
        ({"birth_on": "2023-02-30"}, "birth_on"),
        ({"birth_on": (TODAY - dt.timedelta(days=365 * 10)).isoformat()}, "guardian"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "(11) 0000"}, "phone"),
        ({"email": "joao@"}, "email"),
        ({"address": {"uf": "XX"}}, "address.uf"),
        ({"address": {"cep": "123"}}, "address.cep"),
        ({"status": "dead"}, "status"),
        ({"sex": "x"}, "sex"),
        ({"emergency_contact": {"name": "Ana", "phone": "nope"}}, "emergency_contact.phone"),
        ({"practitioner_id": "00000000-0000-0000-0000-000000000000"}, "practitioner_id"),
        ({"consent_at": "2026-01-01T10:00:00"}, "consent_at"),
    ],
)
async def test_invalid_input_names_the_field_and_writes_nothing(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    admin = await create_clinic(client)
    response = await client.post(
        "/api/v1/patients", json={"full_name": "Pessoa Teste", **body}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    listed = await client.get("/api/v1/patients", headers=admin.headers)
    assert listed.json()["items"] == []


@pytest.mark.parametrize("cpf", [VALID_CPF, "52998224725", "529 982 247 25"])
async def test_valid_cpf_formats(client: httpx.AsyncClient, cpf: str) -> None:
    admin = await create_clinic(client)
    created = await create_patient(client, admin, cpf=cpf)
    assert created["cpf"] == "52998224725"


async def test_minor_with_guardian_is_accepted(client: httpx.AsyncClient) -> None:
    admin = await create_clinic(client)
    created = await create_patient(
        client,
        admin,
        birth_on=(TODAY - dt.timedelta(days=365 * 10)).isoformat(),
        guardian={"name": "Mãe Responsável", "cpf": VALID_CPF, "phone": "11987654321"},
    )
    assert created["guardian"]["cpf"] == "52998224725"
    assert created["guardian"]["phone"] == "+5511987654321"


class TestSearch:
    @pytest.fixture
    async def seeded(
        self, client: httpx.AsyncClient
    ) -> tuple[object, dict[str, dict[str, object]]]:
        admin = await create_clinic(client)
        people = {
            "joao": await create_patient(
                client,
                admin,
                full_name="João Conceição Araújo",
                cpf=VALID_CPF,
                phone="(11) 98765-4321",
                email="joao.araujo@example.com",
            ),
            "maria": await create_patient(
                client, admin, full_name="Maria Aparecida dos Santos", social_name="Duda Santos"
            ),
            "jose": await create_patient(client, admin, full_name="José Carlos Pereira"),
            "ana": await create_patient(client, admin, full_name="Ana Luísa Ferreira"),
        }
        return admin, people

    async def _names(self, client: httpx.AsyncClient, admin: object, q: str) -> list[str]:
        response = await client.get("/api/v1/patients", params={"q": q}, headers=admin.headers)  # type: ignore[attr-defined]
        assert response.status_code == 200
        return [p["full_name"] for p in response.json()["items"]]

    @pytest.mark.parametrize(
        ("q", "expected_first"),
        [
            ("joao", "João Conceição Araújo"),
            ("JOÃO", "João Conceição Araújo"),
            ("conceicao", "João Conceição Araújo"),
            ("Joao Conseicao", "João Conceição Araújo"),
            ("araujo", "João Conceição Araújo"),
            ("aparecida", "Maria Aparecida dos Santos"),
            ("Aparesida", "Maria Aparecida dos Santos"),
            ("duda", "Maria Aparecida dos Santos"),
            ("jose pereira", "José Carlos Pereira"),
            ("luisa", "Ana Luísa Ferreira"),
            ("529.982.247-25", "João Conceição Araújo"),
            ("52998224725", "João Conceição Araújo"),
            ("(11) 98765-4321", "João Conceição Araújo"),
            ("+55 11 98765 4321", "João Conceição Araújo"),
            ("JOAO.ARAUJO@example.com", "João Conceição Araújo"),
        ],
    )
    async def test_finds(
        self,
        client: httpx.AsyncClient,
        seeded: tuple[object, dict[str, object]],
        q: str,
        expected_first: str,
    ) -> None:
        admin, _ = seeded
        names = await self._names(client, admin, q)
        assert names, f"nothing found for {q!r}"
        assert names[0] == expected_first

    @pytest.mark.parametrize(
        "q", ["xyzw", "000.000.000-00", "nobody@example.com", "(11) 1111-1111"]
    )
    async def test_finds_nothing(
        self, client: httpx.AsyncClient, seeded: tuple[object, dict[str, object]], q: str
    ) -> None:
        admin, _ = seeded
        assert await self._names(client, admin, q) == []

    async def test_ranked_pagination_visits_each_once(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        for i in range(9):
            await create_patient(client, admin, full_name=f"Silva Souza {chr(65 + i)}{'a' * i}")
        seen: list[str] = []
        params: dict[str, object] = {"q": "silva", "limit": 4}
        while True:
            page = (
                await client.get("/api/v1/patients", params=params, headers=admin.headers)
            ).json()
            seen += [p["id"] for p in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert len(seen) == 9
        assert len(set(seen)) == 9

    async def test_filters(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        pract = await create_practitioner(client, admin)
        mine = await create_patient(
            client, admin, full_name="Paciente Um", practitioner_id=pract["id"]
        )
        await create_patient(client, admin, full_name="Paciente Dois", status="discharged")
        by_pract = await client.get(
            "/api/v1/patients", params={"practitioner_id": pract["id"]}, headers=admin.headers
        )
        assert [p["id"] for p in by_pract.json()["items"]] == [mine["id"]]
        discharged = await client.get(
            "/api/v1/patients", params={"status": "discharged"}, headers=admin.headers
        )
        assert [p["full_name"] for p in discharged.json()["items"]] == ["Paciente Dois"]


class TestUpdate:
    async def test_patch_with_if_match_bumps_version(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin)
        response = await client.patch(
            f"/api/v1/patients/{patient['id']}",
            json={"phone": "11 3333-4444", "notes": "prefere manhã"},
            headers={**admin.headers, "If-Match": '"1"'},
        )
        assert response.status_code == 200
        assert response.headers["etag"] == '"2"'
        assert response.json()["phone"] == "+551133334444"
        assert response.json()["version"] == 2

    async def test_stale_version_is_412(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin)
        url = f"/api/v1/patients/{patient['id']}"
        await client.patch(url, json={"notes": "a"}, headers={**admin.headers, "If-Match": '"1"'})
        stale = await client.patch(
            url, json={"notes": "b"}, headers={**admin.headers, "If-Match": '"1"'}
        )
        assert stale.status_code == 412
        assert stale.json()["current_version"] == 2
        assert (await client.get(url, headers=admin.headers)).json()["notes"] == "a"

    async def test_missing_if_match_is_428(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin)
        response = await client.patch(
            f"/api/v1/patients/{patient['id']}", json={"notes": "x"}, headers=admin.headers
        )
        assert response.status_code == 428
        assert response.json()["errors"][0]["field"] == "If-Match"

    async def test_two_concurrent_patches_exactly_one_wins(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin)
        url = f"/api/v1/patients/{patient['id']}"
        headers = {**admin.headers, "If-Match": '"1"'}
        results = await asyncio.gather(
            client.patch(url, json={"notes": "recepção 1"}, headers=headers),
            client.patch(url, json={"notes": "recepção 2"}, headers=headers),
        )
        assert sorted(r.status_code for r in results) == [200, 412]
        winner = next(r for r in results if r.status_code == 200).json()["notes"]
        current = (await client.get(url, headers=admin.headers)).json()
        assert current["notes"] == winner
        assert current["version"] == 2

    async def test_patch_revalidates_merged_patient(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin)
        minor = (TODAY - dt.timedelta(days=365 * 5)).isoformat()
        response = await client.patch(
            f"/api/v1/patients/{patient['id']}",
            json={"birth_on": minor},
            headers={**admin.headers, "If-Match": '"1"'},
        )
        assert response.status_code == 422
        assert (
            await client.get(f"/api/v1/patients/{patient['id']}", headers=admin.headers)
        ).json()["version"] == 1

    async def test_archive_hides_from_list(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin)
        archived = await client.post(
            f"/api/v1/patients/{patient['id']}/archive", headers=admin.headers
        )
        assert archived.status_code == 200
        assert archived.json()["archived_at"] is not None
        assert (await client.get("/api/v1/patients", headers=admin.headers)).json()["items"] == []
        everything = await client.get(
            "/api/v1/patients?include_archived=true", headers=admin.headers
        )
        assert len(everything.json()["items"]) == 1


class TestWhoSeesWhom:
    async def test_practitioner_sees_only_assigned(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        user = await create_user(client, admin, role="practitioner")
        pract = await create_practitioner(client, admin, user_id=str(user.user_id))
        mine = await create_patient(
            client, admin, full_name="Meu Paciente", practitioner_id=pract["id"]
        )
        other = await create_patient(client, admin, full_name="Paciente de Outro")
        listed = await client.get("/api/v1/patients", headers=user.headers)
        assert [p["id"] for p in listed.json()["items"]] == [mine["id"]]
        assert (
            await client.get(f"/api/v1/patients/{other['id']}", headers=user.headers)
        ).status_code == 404
        assert (
            await client.get(f"/api/v1/patients/{mine['id']}", headers=user.headers)
        ).status_code == 200

    async def test_receptionist_sees_all_demographics(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        receptionist = await create_user(client, admin, role="receptionist")
        created = await create_patient(client, receptionist, full_name="Cadastro Recepção")
        listed = await client.get("/api/v1/patients", headers=receptionist.headers)
        assert [p["id"] for p in listed.json()["items"]] == [created["id"]]

    async def test_patient_invited_through_record_sees_only_self(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await create_clinic(client)
        me = await create_patient(
            client, admin, full_name="Paula Paciente", email="paula@example.com"
        )
        other = await create_patient(client, admin, full_name="Outra Pessoa")
        invite = await client.post(f"/api/v1/patients/{me['id']}/invite", headers=admin.headers)
        assert invite.status_code == 201
        accepted = await client.post(
            "/api/v1/auth/accept-invite",
            json={"token": invite.json()["token"], "password": "uma senha bem longa"},
        )
        assert accepted.status_code == 200
        headers = {"Authorization": f"Bearer {accepted.json()['access_token']}"}
        whoami = (await client.get("/api/v1/me", headers=headers)).json()
        assert whoami["user"]["role"] == "patient"
        assert (
            await client.get(f"/api/v1/patients/{me['id']}", headers=headers)
        ).status_code == 200
        assert (
            await client.get(f"/api/v1/patients/{other['id']}", headers=headers)
        ).status_code == 404
        assert (await client.get("/api/v1/patients", headers=headers)).status_code == 403
        patch = await client.patch(
            f"/api/v1/patients/{me['id']}",
            json={"notes": "x"},
            headers={**headers, "If-Match": '"1"'},
        )
        assert patch.status_code == 404
        # a second invitation reuses the same portal account
        again = await client.post(f"/api/v1/patients/{me['id']}/invite", headers=admin.headers)
        assert again.status_code == 201
        users = (await client.get("/api/v1/users", headers=admin.headers)).json()["items"]
        assert [u["role"] for u in users].count("patient") == 1

    async def test_invite_needs_email(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin)
        response = await client.post(
            f"/api/v1/patients/{patient['id']}/invite", headers=admin.headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "email"
