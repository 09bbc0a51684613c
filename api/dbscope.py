"""Each API request on one database connection (billing.store.db.request_scope), with a bound on requests at once.

A request holds its connection from its first read to its answer, also while it waits between its worker-thread
steps. Were every pooled connection held by requests waiting for a worker thread while every worker thread waited
for a connection, all would wait until the pool timed out; so at most `MAX_REQUESTS` requests run at once (the
pool has 24 connections, the portal's sessions and the webhook worker use the rest), and the others wait here,
in the event loop, before they hold anything.
"""

from __future__ import annotations

import asyncio
import weakref

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from billing.store.db import request_scope

MAX_REQUESTS = 16


class DatabaseScopeMiddleware:
    """Run each HTTP request in a request scope (one connection per database, closed after the answer)."""

    def __init__(self, app: ASGIApp, max_requests: int = MAX_REQUESTS) -> None:
        self.app = app
        self.max_requests = max_requests
        # One semaphore per event loop: the portal's server has one; a test client may start one per request.
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(self.max_requests)
        async with slots:
            with request_scope() as held:
                try:
                    await self.app(scope, receive, send)
                finally:
                    await run_in_threadpool(held.close)  # a rollback: not in the event loop's thread
