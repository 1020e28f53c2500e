"""The authenticated request: verified principal + its clinic's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.audit.access import AccessLog
from fisioflow.auth import repository
from fisioflow.auth.principal import Principal, tenancy_for
from fisioflow.auth.repository import Identity
from fisioflow.auth.state import auth_state
from fisioflow.core.database import transaction_reading
from fisioflow.core.deps import origin
from fisioflow.core.errors import Unauthorized
from fisioflow.core.state import app_state

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/login")


@dataclass(frozen=True)
class Context:
    principal: Principal
    session: AsyncSession
    identity: Identity
    access: AccessLog  # health data this request shows (audit/access.py)


async def auth_context(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AsyncIterator[Context]:
    if credentials is None:
        raise Unauthorized(
            "authentication required", headers={"WWW-Authenticate": 'Bearer realm="fisioflow"'}
        )
    principal = auth_state(request).access_tokens.principal(credentials.credentials)
    tenancy = tenancy_for(principal, **origin(request))
    # Deactivation and role changes take effect at once, not when the token expires.
    first = repository.identity_of(principal)
    async with transaction_reading(app_state(request).sessionmaker, tenancy, first) as (
        session,
        identity,
    ):
        if identity is None:
            raise Unauthorized("session is no longer valid; log in again", code="invalid_token")
        access = AccessLog(tenant_id=principal.tenant_id)
        yield Context(principal=principal, session=session, identity=identity, access=access)
        # Same transaction as the reads: no response goes out whose access went unrecorded.
        await access.write(session)


# scope="function": commit before the response is sent (see core/deps.py).
Auth = Annotated[Context, Depends(auth_context, scope="function")]
