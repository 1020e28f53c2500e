"""FastAPI dependencies shared by every module: the request's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, TypedDict

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.core.database import Tenancy, transaction
from fisioflow.core.state import app_state

API_V1 = "/api/v1"


def request_id(request: Request) -> str:
    value: str = getattr(request.state, "request_id", "")
    return value


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Origin(TypedDict):
    request_id: str
    ip: str
    user_agent: str


def origin(request: Request) -> Origin:
    """Where a request came from, as Tenancy fields (the audit trail records them)."""
    return {
        "request_id": request_id(request),
        "ip": client_ip(request),
        "user_agent": request.headers.get("user-agent", ""),
    }


async def anonymous_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A transaction with no clinic set: RLS shows no tenant rows through it."""
    tenancy = Tenancy(actor="anonymous", **origin(request))
    async with transaction(app_state(request).sessionmaker, tenancy) as session:
        yield session


# scope="function": the commit runs before the response is sent, so a failed commit
# answers an error instead of an acknowledged write that never happened.
AnonymousSession = Annotated[AsyncSession, Depends(anonymous_session, scope="function")]
