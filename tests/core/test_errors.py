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


class TestUnexpectedErrors:
    async def test_crash_answers_bare_500_problem(self, app: object) -> None:
        from fastapi import FastAPI

        assert isinstance(app, FastAPI)

        async def boom() -> None:
            raise RuntimeError("select secret from patient where cpf = '52998224725'")

        app.add_api_route("/test-only/boom", boom)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/test-only/boom")
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "internal_error"
        assert "secret" not in response.text
        assert "Traceback" not in response.text
        assert response.headers["x-request-id"]
