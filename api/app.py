"""The FastAPI application of the REST API: routes under /v1, OpenAPI 3.1 at /v1/openapi.json, docs at /docs.

Mounted at /api beside the portal (app.py), so the URLs are /api/v1/... and /api/docs.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.routing import Mount

from api import errors
from api.bodylimit import BodyLimitMiddleware
from api.dbscope import DatabaseScopeMiddleware
from api.ratelimit import TokenBuckets
from api.routes import admin, auth, catalog, customers, einvoices, invoices, payments, reports, webhooks
from api.schemas import Problem
from billing.store.db import get_database
from billing.webhooks.worker import Worker

_PROBLEM = {"model": Problem, "content": {errors.MEDIA_TYPE: {}}}
_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {**_PROBLEM, "description": text} for status, text in (
        (400, "The request cannot be read (a body that is not JSON, a bad Idempotency-Key)"),
        (401, "No valid access token or API key"), (403, "The role does not allow this"),
        (404, "No such record"), (409, "Conflict (state, idempotency key)"),
        (413, "The request body is over 1 MB"), (422, "The request is not valid"),
        (429, "Too many requests (see Retry-After)"), (500, "Unexpected failure"),
        (503, "The database cannot be written now (nothing was saved)"))}


def create_app(rate_limits: TokenBuckets | None = None) -> FastAPI:
    """The API: every operation authenticated (but the token's), rate limited, failing as problem details."""
    app = FastAPI(title="Billing portal API", version="1.0.0", openapi_url="/v1/openapi.json", docs_url="/docs",
                  redoc_url=None, responses=_RESPONSES,
                  description="Customers, products, tax rates, invoices, credit notes, payments, balances, statements, "
                              "reports, users, the audit log and webhooks of the "
                              "billing portal. Authenticate with `Authorization: Bearer <token or API key>`. "
                              "Money is a decimal string; every POST takes an `Idempotency-Key` header.")
    app.state.rate_limits = rate_limits or TokenBuckets()
    app.add_middleware(DatabaseScopeMiddleware)  # innermost: a request is refused by the others before it connects
    app.add_middleware(BodyLimitMiddleware)  # before install: inside its request-id middleware
    errors.install(app)
    for module in (auth, customers, catalog, invoices, einvoices, payments, reports, admin, webhooks):
        app.include_router(module.router, prefix="/v1")
    return app


api_app = create_app()


def api_mount(app: FastAPI) -> Mount:
    """The API mounted at /api, for every path below it: Starlette's mount pattern (`.*`) stops at a newline, so
    a path holding %0A would fall through to the outer server's plain-text 404 instead of a problem."""
    mount = Mount("/api", app=app)
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    return mount


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The server's lifespan (st.App's: a mounted app's own does not run): the webhook delivery worker runs in a
    background thread while the server does (one process delivers at a time: billing.webhooks.worker's lease)."""
    worker = Worker(get_database)
    worker.start()
    try:
        yield
    finally:
        worker.stop()
