"""The API's route class: unknown query parameters refused; `Idempotency-Key` on every POST (the key claimed,
the operation run once, its answer stored).

A repeat with the same key, method, path and body gets the first answer (status and body; header
`Idempotent-Replayed: true`) without acting again; another body with that key is a 409, and so is a
repeat while the first is still running (billing.idempotency has the rules and the table).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.auth import authenticate, bearer, database
from api.errors import MEDIA_TYPE, billing_problem
from billing import idempotency
from billing.errors import BillingError

HEADER = "Idempotency-Key"
# Answers a retry may change (credentials, rights, a conflict, the rate): not stored, the key released.
_RETRYABLE = frozenset({401, 403, 409, 429})


def body_hash(body: bytes) -> str:
    """SHA-256 of the body, of its canonical JSON when it is JSON (key order and spacing do not matter)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters an operation declares, its dependencies' included."""
    names = {param.alias for param in dependant.query_params}
    for inner in dependant.dependencies:
        names |= _query_names(inner)
    return names


class ApiRoute(APIRoute):
    """An API route: a query parameter it does not know is a 422 (never silently ignored); its POSTs honour
    Idempotency-Key (other methods pass through)."""

    idempotent = True  # False for a route that acts for nobody yet (the token's)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        known = _query_names(self.dependant)

        async def handler(request: Request) -> Response:
            unknown = [name for name in request.query_params if name not in known]
            if unknown:
                raise RequestValidationError([{"type": "extra_forbidden", "loc": ("query", name),
                                               "msg": "unknown parameter", "input": None} for name in unknown])
            key = request.headers.get(HEADER)
            if request.method != "POST" or key is None or not self.idempotent:
                return await handle(request)
            actor = await run_in_threadpool(authenticate, request, await bearer(request))
            db = database()
            claim = (key, actor.audit_name)
            stored = await run_in_threadpool(idempotency.claim, db, *claim, request.method, request.url.path,
                                              body_hash(await request.body()))
            if stored is not None:
                media = MEDIA_TYPE if stored.status >= 400 else "application/json"
                return Response(stored.body, stored.status, media_type=media, headers={"Idempotent-Replayed": "true"})
            try:
                response = await handle(request)
            except BillingError as exc:  # a refusal is the answer too: a repeat gets it again
                response = billing_problem(request, exc)
            except BaseException:
                await run_in_threadpool(idempotency.release, db, *claim)
                raise
            if response.status_code in _RETRYABLE or response.status_code >= 500:
                await run_in_threadpool(idempotency.release, db, *claim)
            else:
                await run_in_threadpool(idempotency.complete, db, *claim, response.status_code,
                                        bytes(response.body).decode())
            return response

        return handler


class PublicRoute(ApiRoute):
    """A route called without credentials (issuing a token): Idempotency-Key does not apply."""

    idempotent = False
