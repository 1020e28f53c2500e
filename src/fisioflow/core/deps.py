"""FastAPI dependencies shared by every module: the request's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.core.database import Tenancy, transaction
from fisioflow.core.state import app_state

API_V1 = "/api/v1"


def request_id(request: Request) -> str:
    value: str = getattr(request.state, "request_id", "")
    return value


async def anonymous_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A transaction with no clinic set: RLS shows no tenant rows through it."""
    tenancy = Tenancy(request_id=request_id(request), actor="anonymous")
    async with transaction(app_state(request).sessionmaker, tenancy) as session:
        yield session


# scope="function": the commit runs before the response is sent, so a failed commit
# answers an error instead of an acknowledged write that never happened.
AnonymousSession = Annotated[AsyncSession, Depends(anonymous_session, scope="function")]
