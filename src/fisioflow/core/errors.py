"""Domain errors and their RFC 9457 problem+json rendering.

Every error a client sees goes through `problem()`: a stable `code`, a human `detail`,
and for validation errors the field path of every problem. Unexpected exceptions are
logged with their traceback and answered with a bare 500: no stack trace, no SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


class ProblemField(BaseModel):
    field: str
    message: str
    location: str | None = None
    type: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, as every error is answered."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str
    errors: list[ProblemField] | None = None


def add_problem_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas["Problem"].pop("$defs", {}))
    return openapi


class FisioflowError(Exception):
    """Base of every domain error: a stable code, an HTTP status and a message."""

    code = "error"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        commit: bool = False,
    ) -> None:
        super().__init__(message)
        self.commit = commit
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.field = field
        self.extra = extra or {}
        self.headers = headers or {}


class NotFound(FisioflowError):
    code, status = "not_found", 404


class Conflict(FisioflowError):
    code, status = "conflict", 409


class InvalidInput(FisioflowError):
    code, status = "validation_error", 422


class Unauthorized(FisioflowError):
    code, status = "unauthorized", 401


class Forbidden(FisioflowError):
    code, status = "forbidden", 403


class PreconditionFailed(FisioflowError):
    code, status = "precondition_failed", 412


class TooManyRequests(FisioflowError):
    code, status = "rate_limited", 429


def problem(
    *,
    status: int,
    code: str,
    detail: str,
    request: Request,
    errors: Sequence[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://fisioflow.dev/problems/{code}",
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "code": code,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] or parts
    return ".".join(parts)


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": _field_path(err.get("loc", ())),
            "location": str(err.get("loc", ("body",))[0]),
            "message": _clean_message(str(err.get("msg", "invalid value"))),
            "type": err.get("type", "value_error"),
        }
        for err in exc.errors()
    ]
    first = errors[0]["field"] if errors else "body"
    return problem(
        status=422,
        code="validation_error",
        detail=f"Invalid input: {first}: {errors[0]['message']}" if errors else "Invalid input",
        request=request,
        errors=errors,
    )


def _clean_message(message: str) -> str:
    return message.removeprefix("Value error, ")


async def _domain_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FisioflowError)
    errors = [{"field": exc.field, "message": exc.message}] if exc.field else None
    return problem(
        status=exc.status,
        code=exc.code,
        detail=exc.message,
        request=request,
        errors=errors,
        extra=exc.extra,
        headers=exc.headers,
    )


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "payload_too_large",
        415: "unsupported_media_type",
        429: "rate_limited",
    }.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return problem(
        status=exc.status_code,
        code=code,
        detail=detail,
        request=request,
        headers=dict(exc.headers or {}),
    )


async def _integrity_handler(request: Request, exc: Exception) -> JSONResponse:
    """Constraint violations that a service did not translate itself: 409, never 500."""
    assert isinstance(exc, IntegrityError)
    diag = getattr(exc.orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    log.warning("untranslated_integrity_error", constraint=constraint)
    return problem(
        status=409,
        code="conflict",
        detail="The request conflicts with existing data",
        request=request,
        extra={"constraint": constraint} if constraint else None,
    )


async def _database_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if isinstance(exc, DataError):
        return problem(
            status=422, code="invalid_value", detail="A value is out of range", request=request
        )
    if not isinstance(exc, OperationalError | InterfaceError) and not exc.connection_invalidated:
        return await _unexpected_handler(request, exc)
    log.error("database_unavailable", error_type=type(exc).__name__)
    return problem(
        status=503,
        code="database_unavailable",
        detail="The database is unavailable; try again shortly",
        request=request,
        headers={"Retry-After": "5"},
    )


async def _unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", error_type=type(exc).__name__, exc_info=exc)
    # Answered by the outermost middleware, past the one that adds X-Request-ID.
    request_id = getattr(request.state, "request_id", "")
    return problem(
        status=500,
        code="internal_error",
        detail="Internal server error",
        request=request,
        headers={"X-Request-ID": request_id} if request_id else None,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(FisioflowError, _domain_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(IntegrityError, _integrity_handler)
    app.add_exception_handler(DBAPIError, _database_handler)
    app.add_exception_handler(Exception, _unexpected_handler)


_DESCRIPTIONS = {
    401: "Missing, invalid or expired credentials",
    403: "The role may not do this",
    404: "Not found (or not visible to this clinic or user)",
    409: "Conflicts with existing data",
    412: "Stale If-Match version",
    428: "If-Match is required",
    422: "Invalid input; `errors` names each field",
    429: "Too many attempts; see Retry-After",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problem+json errors an endpoint can answer."""
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
