from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.app import create_app
from fisioflow.core.database import DatabaseLocation
from fisioflow.core.migrations import SchemaBehindError
from fisioflow.settings import Settings


class TestLiveness:
    async def test_live_answers_ok(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health/live")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


class TestReadiness:
    async def test_ready_reports_database_ok(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health/ready")
        assert response.status_code == 200
        assert response.json()["checks"]["database"]["status"] == "ok"

    async def test_ready_is_503_when_schema_falls_behind(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        async with owner_engine.begin() as conn:
            await conn.execute(text("update alembic_version set version_num = 'older'"))
        response = await client.get("/health/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["database"]["error"] == "schema_behind"


class TestStartupRefusesStaleSchema:
    async def test_lifespan_raises_with_migrate_hint(
        self, settings: Settings, database: DatabaseLocation, owner_engine: AsyncEngine
    ) -> None:
        async with owner_engine.begin() as conn:
            await conn.execute(text("delete from alembic_version"))
        app = create_app(settings, database)
        with pytest.raises(SchemaBehindError, match="fisioflow migrate"):
            async with app.router.lifespan_context(app):
                pass


class TestMetrics:
    async def test_metrics_expose_requests_by_route_template_and_pool(
        self, client: httpx.AsyncClient
    ) -> None:
        await client.get("/health/ready")
        await client.get("/no/such/path")
        body = (await client.get("/metrics")).text
        assert (
            'fisioflow_http_requests_total{method="GET",route="/health/ready",status="200"} 1.0'
            in body
        )
        assert 'route="unmatched",status="404"' in body
        assert "fisioflow_http_request_duration_seconds_bucket" in body
        assert "fisioflow_db_pool_connections_in_use" in body
        assert "fisioflow_build_info" in body


class TestOpenAPI:
    async def test_docs_and_schema_are_served(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/docs")).status_code == 200
        schema = (await client.get("/openapi.json")).json()
        assert "/health/ready" in schema["paths"]
