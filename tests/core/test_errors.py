from __future__ import annotations

import httpx


class TestProblemJson:
    async def test_unknown_route_is_problem_json(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/nowhere")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "not_found"
        assert body["status"] == 404
        assert body["instance"] == "/nowhere"

    async def test_wrong_method_is_problem_json(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/health/live")
        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"


class TestRequestId:
    async def test_generated_when_absent(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health/live")
        assert len(response.headers["x-request-id"]) == 32

    async def test_echoed_when_well_formed(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
        assert response.headers["x-request-id"] == "abc-123"

    async def test_replaced_when_malformed(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
        assert response.headers["x-request-id"] != "bad id\twith spaces"
