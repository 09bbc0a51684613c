"""`Idempotency-Key` on every POST: a route class that claims the key, runs the operation once, stores its answer.

A repeat with the same key, method, path and body gets the first answer (status and body; header
`Idempotent-Replayed: true`) without acting again; another body with that key is a 409, and so is a
repeat while the first is still running (billing.idempotency has the rules and the table).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.auth import authenticate, bearer, database
from api.errors import MEDIA_TYPE, billing_problem
from billing import idempotency
from billing.errors import BillingError

HEADER = "Idempotency-Key"


def body_hash(body: bytes) -> str:
    """SHA-256 of the body, of its canonical JSON when it is JSON (key order and spacing do not matter)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


class IdempotentRoute(APIRoute):
    """An API route whose POSTs honour Idempotency-Key (other methods pass through)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            key = request.headers.get(HEADER)
            if request.method != "POST" or key is None:
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
            if response.status_code >= 500:
                await run_in_threadpool(idempotency.release, db, *claim)
            else:
                await run_in_threadpool(idempotency.complete, db, *claim, response.status_code,
                                        bytes(response.body).decode())
            return response

        return handler
