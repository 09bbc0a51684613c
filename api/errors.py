"""Every failure as RFC 9457 problem details (application/problem+json), mapped in this one place.

A BillingError becomes its status and machine code; a refused request body or parameter a 422 naming
the field; anything unexpected a 500 that says only that (the traceback goes to the server's log, with
the request id the answer carries). No HTML error page, no traceback, ever.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from billing import errors, idempotency
from billing.models import friendly_message

log = logging.getLogger("api")
MEDIA_TYPE = "application/problem+json"
REQUEST_ID = "X-Request-Id"

# The first class in an error's MRO found here gives its status and code.
_STATUS: dict[type[errors.BillingError], tuple[int, str]] = {
    errors.ValidationError: (422, "validation_error"),
    errors.NotFoundError: (404, "not_found"),
    errors.StateError: (409, "invalid_state"),
    errors.SessionEndedError: (401, "credentials_ended"),
    errors.PermissionDeniedError: (403, "forbidden"),
    errors.AuthenticationError: (401, "unauthenticated"),
    idempotency.IdempotencyKeyReusedError: (409, "idempotency_key_reused"),
    idempotency.IdempotencyKeyInUseError: (409, "idempotency_key_in_use"),
    errors.ChangedMeanwhileError: (409, "changed_meanwhile"),
    errors.ConflictError: (409, "conflict"),
    errors.StorageError: (503, "storage_unavailable"),
    errors.ConfigError: (500, "server_misconfigured"),
    errors.BillingError: (400, "invalid_request"),
}
_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           409: "Conflict", 413: "Content too large", 415: "Unsupported media type", 422: "Unprocessable content",
           429: "Too many requests", 500: "Internal server error", 503: "Service unavailable"}


class RateLimitedError(errors.BillingError):
    """Too many requests: slow down and retry after the time the Retry-After header gives."""

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class ParamError(errors.ValidationError):
    """A parameter the API checks itself (not through a pydantic model): the error names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}.", param)


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


def problem(request: Request, status: int, code: str, detail: str, param: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status, "detail": detail,
            "code": code, "param": param, "request_id": request_id(request), **extra}
    return JSONResponse(body, status, headers={REQUEST_ID: request_id(request), **(headers or {})},
                        media_type=MEDIA_TYPE)


def billing_problem(request: Request, exc: errors.BillingError) -> JSONResponse:
    status, code = next(_STATUS[cls] for cls in type(exc).__mro__ if cls in _STATUS)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if isinstance(exc, RateLimitedError):
        status, code, headers = 429, "rate_limited", {"Retry-After": str(exc.retry_after)}
    return problem(request, status, code, exc.message, getattr(exc, "param", None), headers=headers)


def _field(loc: tuple[Any, ...]) -> str | None:
    parts = [str(part) for part in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header") else []
    return ".".join(parts) or None


def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    found = [{"param": None if _is_bad_json(e) else _field(tuple(e.get("loc", ()))), "message": _message(e),
              "type": str(e.get("type", ""))} for e in exc.errors()]
    first = found[0] if found else {"param": None, "message": "the request is not valid", "type": ""}
    code = {"extra_forbidden": "unknown_field", "missing": "missing_field",
            "json_invalid": "invalid_json"}.get(str(first["type"]), "invalid_field")
    message = str(first["message"])
    detail = f"{first['param']}: {message}." if first["param"] else f"{message[:1].upper()}{message[1:]}."
    return problem(request, 422, code, detail, first["param"], errors=found)


def _is_bad_json(error: dict[str, Any]) -> bool:
    """The body is not JSON at all: its error's location is a character offset, not a field."""
    return error.get("type") == "json_invalid"


def _message(error: dict[str, Any]) -> str:
    if _is_bad_json(error):
        loc, reason = tuple(error.get("loc", ())), str(error.get("ctx", {}).get("error", "")).rstrip(".")
        where = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
        return f"the request body is not valid JSON ({reason or 'unreadable'}{where})"
    if error.get("type") == "extra_forbidden":
        return "unknown field or parameter (not part of this operation)"
    try:
        return friendly_message(error)
    except (KeyError, TypeError):
        return str(error.get("msg", "not valid"))


def _allowed_methods(request: Request) -> set[str]:
    return {method for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
            if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in request.app.routes)}


def install(app: FastAPI) -> None:
    """Register the handlers and the request-id middleware on the API."""

    async def on_billing(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.BillingError)
        return billing_problem(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _validation_problem(request, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only those of the route that matched first
            headers["Allow"] = ", ".join(sorted(_allowed_methods(request)))
        return problem(request, exc.status_code, code, detail, headers=headers)

    async def on_anything(request: Request, exc: Exception) -> Response:
        log.exception("Unexpected failure of %s %s (request %s)", request.method, request.url.path,
                      request_id(request), exc_info=exc)
        return problem(request, 500, "internal_error",
                       "The server failed unexpectedly; nothing more is said here. Quote request "
                       f"{request_id(request)} to the administrator.")

    app.add_exception_handler(errors.BillingError, on_billing)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_anything)
    app.add_middleware(RequestIdMiddleware)


class RequestIdMiddleware:
    """Give every request an id (request.state.request_id) and every answer the X-Request-Id header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID.lower().encode()]
                message = {**message, "headers": [*headers, (REQUEST_ID.lower().encode(), rid.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_id)
