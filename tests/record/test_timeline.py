"""The patient's timeline: newest first, filters, cursor pagination."""

from __future__ import annotations

import httpx

from tests.fixtures.records import create_team, sign_entry, write_entry

CONTENTS = {
    "anamnesis": {"chief_complaint": "Dor cervical"},
    "evaluation": {"physical_exam": "Rotação cervical limitada"},
    "evolution": {"subjective": "Melhora parcial"},
    "discharge": {"reason": "goals_achieved", "summary": "Alta"},
}


class TestTimeline:
    async def test_newest_first_with_filters(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        ids = {}
        for kind, content in CONTENTS.items():
            ids[kind] = (await write_entry(client, team, kind=kind, content=content))["id"]
        await sign_entry(client, team, ids["anamnesis"])
        await sign_entry(client, team, ids["evolution"])
        other = await create_team(client, team.admin)
        await write_entry(client, other)  # another patient's entry never shows up
        headers = team.practitioner.headers

        listed = (await client.get(team.records(), headers=headers)).json()
        assert [e["id"] for e in listed["items"]] == [ids[k] for k in reversed(CONTENTS)]
        assert listed["next_cursor"] is None

        evolutions = await client.get(team.records(), params={"kind": "evolution"}, headers=headers)
        assert [e["id"] for e in evolutions.json()["items"]] == [ids["evolution"]]
        two_kinds = await client.get(
            team.records(), params=[("kind", "anamnesis"), ("kind", "discharge")], headers=headers
        )
        assert [e["id"] for e in two_kinds.json()["items"]] == [
            ids["discharge"],
            ids["anamnesis"],
        ]
        signed = await client.get(team.records(), params={"status": "signed"}, headers=headers)
        assert [e["id"] for e in signed.json()["items"]] == [ids["evolution"], ids["anamnesis"]]

    async def test_addenda_are_in_the_timeline(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        entry = await write_entry(client, team)
        await sign_entry(client, team, entry["id"])
        addendum = await client.post(
            f"{team.records()}/{entry['id']}/addenda",
            json={"content": {"text": "Complemento"}},
            headers=team.practitioner.headers,
        )
        listed = await client.get(
            team.records(), params={"kind": "addendum"}, headers=team.admin.headers
        )
        assert [e["id"] for e in listed.json()["items"]] == [addendum.json()["id"]]
        assert listed.json()["items"][0]["parent_id"] == entry["id"]

    async def test_cursor_pages_cover_everything_once(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        created = [(await write_entry(client, team))["id"] for _ in range(5)]
        seen: list[str] = []
        cursor = None
        for _ in range(5):
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (
                await client.get(team.records(), params=params, headers=team.admin.headers)
            ).json()
            seen += [e["id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(created))

    async def test_bad_filters(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        headers = team.admin.headers
        for params, field in (
            ({"kind": "surgery"}, "kind.0"),
            ({"status": "deleted"}, "status"),
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"limit": "0"}, "limit"),
        ):
            response = await client.get(team.records(), params=params, headers=headers)
            assert response.status_code == 422, params
            assert response.json()["errors"][0]["field"] == field
