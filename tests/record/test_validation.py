"""Bad input: 422 problem+json naming the field, and nothing written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.records import EVOLUTION, Team, create_team

VALID_CID10 = [
    ("M54.5", "M54.5"),
    ("m54.5", "M54.5"),
    (" M545 ", "M54.5"),
    ("S83.51", "S83.51"),
    ("G81", "G81"),
    ("U07.1", "U07.1"),
    ("Z96.6", "Z96.6"),
]
INVALID_CID10 = ["54.5", "M5", "M54.", "M54.555", "MM4.5", "M54-5", "", "CID M54", "M5X.1"]

# (vitals, field named in the error)
BAD_VITALS: list[tuple[dict[str, Any], str]] = [
    ({"heart_rate": {"value": 300}}, "vitals.heart_rate.value"),
    ({"heart_rate": {"value": 10}}, "vitals.heart_rate.value"),
    ({"heart_rate": {"value": 72, "unit": "Hz"}}, "vitals.heart_rate.unit"),
    ({"spo2": {"value": 101}}, "vitals.spo2.value"),
    ({"spo2": {"value": 30}}, "vitals.spo2.value"),
    ({"pain": {"value": 11}}, "vitals.pain.value"),
    ({"pain": {"value": -1}}, "vitals.pain.value"),
    ({"pain": {"value": 5.5}}, "vitals.pain.value"),
    ({"weight": {"value": 0}}, "vitals.weight.value"),
    ({"weight": {"value": 900}}, "vitals.weight.value"),
    ({"weight": {"value": 70, "unit": "lb"}}, "vitals.weight.unit"),
    ({"height": {"value": 400}}, "vitals.height.value"),
    ({"blood_pressure": {"systolic": 400, "diastolic": 80}}, "vitals.blood_pressure.systolic"),
    ({"blood_pressure": {"systolic": 120, "diastolic": 130}}, "vitals.blood_pressure.diastolic"),
    ({"blood_pressure": {"systolic": 120}}, "vitals.blood_pressure.diastolic"),
    (
        {"range_of_motion": [{"joint": "knee", "movement": "flexion", "value": 200}]},
        "vitals.range_of_motion.0.value",
    ),
    (
        {"range_of_motion": [{"joint": "ankle", "movement": "dorsiflexion", "value": 95}]},
        "vitals.range_of_motion.0.value",
    ),
    (
        {"range_of_motion": [{"joint": "knee", "movement": "flexion", "value": -60}]},
        "vitals.range_of_motion.0.value",
    ),
    (
        {"range_of_motion": [{"joint": "nose", "movement": "flexion", "value": 10}]},
        "vitals.range_of_motion.0.joint",
    ),
    ({"temperature": {"value": 37}}, "vitals.temperature"),
]
GOOD_VITALS: list[dict[str, Any]] = [
    {"pain": {"value": 0}},
    {"pain": {"value": 10, "location": "joelho esquerdo"}},
    {"spo2": {"value": 100, "unit": "%"}},
    {"weight": {"value": 3.2}, "height": {"value": 49.5}},
    {"range_of_motion": [{"joint": "shoulder", "movement": "flexion", "value": 180}]},
    {"range_of_motion": [{"joint": "knee", "movement": "extension", "value": -10}]},
]
# (body changes, field named in the error)
BAD_ENTRIES: list[tuple[dict[str, Any], str]] = [
    ({"kind": "surgery"}, "kind"),
    ({"kind": None}, "kind"),
    ({"content": {}}, "content"),
    ({"content": {"subjective": "   "}}, "content"),
    ({"content": {"subjective": "ok", "diagnosis": "extra"}}, "content.diagnosis"),
    ({"content": {"subjective": "a\x00b"}}, "content.subjective"),
    ({"kind": "anamnesis", "content": {"notes": "sem queixa"}}, "content.chief_complaint"),
    ({"kind": "discharge", "content": {"summary": "alta"}}, "content.reason"),
    ({"kind": "discharge", "content": {"reason": "cured", "summary": "alta"}}, "content.reason"),
    ({"diagnoses": [{}]}, "diagnoses.0"),
    ({"diagnoses": [{"code": "M54.5", "system": "ICD-11"}]}, "diagnoses.0.system"),
    ({"appointment_id": "not-a-uuid"}, "appointment_id"),
    ({"status": "signed"}, "status"),
]


async def post_entry(client: httpx.AsyncClient, team: Team, **changes: Any) -> httpx.Response:
    body = {**EVOLUTION, **changes}
    return await client.post(team.records(), json=body, headers=team.practitioner.headers)


async def assert_rejected(
    client: httpx.AsyncClient, team: Team, response: httpx.Response, field: str
) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert field in [e["field"] for e in problem["errors"]], problem
    timeline = await client.get(team.records(), headers=team.admin.headers)
    assert timeline.json()["items"] == []


class TestCid10:
    @pytest.mark.parametrize(("given", "stored"), VALID_CID10)
    async def test_valid_codes_are_normalized(
        self, client: httpx.AsyncClient, given: str, stored: str
    ) -> None:
        team = await create_team(client)
        response = await post_entry(client, team, diagnoses=[{"code": given}])
        assert response.status_code == 201, response.text
        assert response.json()["diagnoses"] == [{"code": stored}]

    @pytest.mark.parametrize("code", INVALID_CID10)
    async def test_wrong_shape_is_rejected(self, client: httpx.AsyncClient, code: str) -> None:
        team = await create_team(client)
        response = await post_entry(client, team, diagnoses=[{"description": "ok"}, {"code": code}])
        await assert_rejected(client, team, response, "diagnoses.1.code")
        assert "CID-10" in response.json()["errors"][0]["message"]

    async def test_free_text_alone_is_a_diagnosis(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        response = await post_entry(client, team, diagnoses=[{"description": "Tendinopatia"}])
        assert response.status_code == 201
        assert response.json()["diagnoses"] == [{"description": "Tendinopatia"}]


class TestVitals:
    @pytest.mark.parametrize(("vitals", "field"), BAD_VITALS)
    async def test_out_of_bounds(
        self, client: httpx.AsyncClient, vitals: dict[str, Any], field: str
    ) -> None:
        team = await create_team(client)
        response = await post_entry(client, team, vitals=vitals)
        await assert_rejected(client, team, response, field)

    @pytest.mark.parametrize("vitals", GOOD_VITALS)
    async def test_within_bounds_with_units(
        self, client: httpx.AsyncClient, vitals: dict[str, Any]
    ) -> None:
        team = await create_team(client)
        response = await post_entry(client, team, vitals=vitals)
        assert response.status_code == 201, response.text
        stored = response.json()["vitals"]
        assert stored.keys() == vitals.keys()
        for name, measurement in stored.items():
            items = measurement if isinstance(measurement, list) else [measurement]
            assert all("unit" in m or "scale" in m for m in items), name


class TestEntries:
    @pytest.mark.parametrize(("changes", "field"), BAD_ENTRIES)
    async def test_bad_entry(
        self, client: httpx.AsyncClient, changes: dict[str, Any], field: str
    ) -> None:
        team = await create_team(client)
        response = await post_entry(client, team, **changes)
        await assert_rejected(client, team, response, field)

    async def test_bad_edit_leaves_the_draft_as_it_was(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        created = (await post_entry(client, team)).json()
        url = f"{team.records()}/{created['id']}"
        response = await client.patch(
            url,
            json={"content": {"plan": "novo"}, "vitals": {"spo2": {"value": 120}}},
            headers=team.practitioner.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "vitals.spo2.value"
        after = (await client.get(url, headers=team.practitioner.headers)).json()
        assert after["content"] == created["content"]
        assert after["vitals"] == created["vitals"]

    async def test_every_kind_has_its_content(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        contents = {
            "anamnesis": {"chief_complaint": "Dor no ombro direito há 3 meses"},
            "evaluation": {"physical_exam": "Arco doloroso 70-120°"},
            "reevaluation": {"progress": "Ganho de 30° de flexão"},
            "evolution": {"subjective": "Melhor"},
            "discharge": {"reason": "goals_achieved", "summary": "Metas atingidas"},
        }
        for kind, content in contents.items():
            response = await post_entry(client, team, kind=kind, content=content)
            assert response.status_code == 201, response.text
            assert response.json()["content"] == content
