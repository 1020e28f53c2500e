"""`/r/{token}`: the reminder's link, for the patient, without logging in.

GET shows the appointment with two buttons; POST confirms or cancels. A GET never
changes anything: mail scanners and link previews open links on their own. An expired,
used, or void link (the appointment moved or is no longer open) shows a clear page
and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import trusted_tenant
from fisioflow.auth.state import auth_state
from fisioflow.core import events
from fisioflow.core.database import Tenancy, transaction
from fisioflow.core.deps import request_id
from fisioflow.core.state import app_state
from fisioflow.notification.links import BadToken, read_token
from fisioflow.notification.render import when_text
from fisioflow.scheduling import lifecycle

router = APIRouter(tags=["reminder link"], include_in_schema=False)

_LINK = text(
    """
    select r.id, r.link_used_at, r.link_action, r.status as reminder_status,
           r.due_at + make_interval(mins => r.offset_minutes) = a.starts_at as same_time,
           a.id as appointment_id, a.starts_at, a.status, pr.full_name as practitioner_name,
           c.name as clinic_name, c.timezone
      from reminder r
      join appointment a on a.tenant_id = r.tenant_id and a.id = r.appointment_id
      join practitioner pr on pr.tenant_id = a.tenant_id and pr.id = a.practitioner_id
      join clinic c on c.id = r.tenant_id
     where r.tenant_id = :tenant and r.id = :reminder
       for update of r
    """
)


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    message: str
    actions: bool = False
    details: dict[str, Any] | None = None


@cache
def _pages() -> Environment:
    return Environment(
        loader=PackageLoader("fisioflow.notification", "templates/pages"),
        autoescape=select_autoescape(["html"]),
    )


def _html(page: Page) -> HTMLResponse:
    details = page.details or {}
    body = (
        _pages()
        .get_template("link.html")
        .render(title=page.title, message=page.message, actions=page.actions, **details)
    )
    return HTMLResponse(body, status_code=page.status, headers={"Cache-Control": "no-store"})


INVALID = Page(404, "Link inválido", "Este link não é válido. Confira se ele foi copiado inteiro.")


@router.get("/r/{token}")
async def show(token: str, request: Request) -> HTMLResponse:
    return _html(await _handle(request, token, action=None))


@router.post("/r/{token}")
async def act(
    token: str, request: Request, action: Annotated[Literal["confirm", "cancel"], Form()]
) -> HTMLResponse:
    return _html(await _handle(request, token, action=action))


async def _handle(request: Request, token: str, *, action: str | None) -> Page:
    try:
        tenant, reminder_id = read_token(auth_state(request).signing_key, token)
    except BadToken:
        return INVALID
    tenancy = Tenancy(
        tenant_id=tenant, actor=f"link:reminder:{reminder_id}", request_id=request_id(request)
    )
    async with transaction(app_state(request).sessionmaker, tenancy) as session:
        row = (await session.execute(_LINK, {"tenant": tenant, "reminder": reminder_id})).first()
        if row is None:
            return INVALID
        refusal = _refusal(row)
        if refusal is not None or action is None:
            return refusal or _offer(row)
        return await _apply(session, tenant, row, action)


def _details(row: Any) -> dict[str, Any]:
    return {
        "when": when_text(row.starts_at, row.timezone),
        "practitioner_name": row.practitioner_name,
        "clinic_name": row.clinic_name,
    }


def _refusal(row: Any) -> Page | None:
    details = _details(row)
    if row.link_used_at is not None:
        done = "confirmada" if row.link_action == "confirm" else "cancelada"
        return Page(
            410,
            "Link já utilizado",
            f"Este link já foi usado: a consulta foi {done}.",
            details=details,
        )
    if row.starts_at <= dt.datetime.now(dt.UTC):
        return Page(
            410,
            "Link expirado",
            "O horário desta consulta já passou; este link não vale mais.",
            details=details,
        )
    if not row.same_time or row.status not in ("scheduled", "confirmed"):
        return Page(
            410,
            "Link sem efeito",
            "Esta consulta foi alterada ou cancelada depois do lembrete. Fale com a clínica.",
            details=details,
        )
    return None


def _offer(row: Any) -> Page:
    return Page(
        200, "Sua consulta", "Você confirma a sua presença?", actions=True, details=_details(row)
    )


async def _apply(session: AsyncSession, tenant: uuid.UUID, row: Any, action: str) -> Page:
    details = _details(row)
    if action == "confirm" and row.status == "confirmed":
        changed = True
    else:
        changed = await lifecycle.advance_by_link(
            session,
            trusted_tenant(tenant),
            row.appointment_id,
            "confirm" if action == "confirm" else "cancel",
        )
    if not changed:
        return _refusal(row) or INVALID
    await session.execute(
        text(
            "update reminder set link_used_at = now(), link_action = :action, updated_at = now()"
            " where tenant_id = :tenant and appointment_id = :appointment"
            " and (id = :reminder or status <> 'cancelled')"
        ),
        {"action": action, "tenant": tenant, "appointment": row.appointment_id, "reminder": row.id},
    )
    kind = "appointment.confirmed" if action == "confirm" else "appointment.cancelled"
    await events.publish(session, tenant=tenant, kind=kind, id=row.appointment_id)
    if action == "confirm":
        return Page(
            200, "Presença confirmada", "Obrigado! Sua consulta está confirmada.", details=details
        )
    return Page(
        200,
        "Consulta cancelada",
        "Sua consulta foi cancelada. Para remarcar, fale com a clínica.",
        details=details,
    )
