"""Router assembly: every module's router, mounted once."""

from __future__ import annotations

from fastapi import APIRouter

from fisioflow.auth.endpoints import router as auth_router
from fisioflow.clinic.endpoints import router as clinic_router
from fisioflow.health.endpoints import router as health_router
from fisioflow.user.endpoints import router as user_router

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for module_router in (auth_router, clinic_router, user_router):
        router.include_router(module_router)
    return router


def root_routers() -> list[APIRouter]:
    return [health_router]
