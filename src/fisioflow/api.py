"""Router assembly: every module's router, mounted once."""

from __future__ import annotations

from fastapi import APIRouter

from fisioflow.health.endpoints import router as health_router

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    return APIRouter(prefix=API_PREFIX)


def root_routers() -> list[APIRouter]:
    return [health_router]
