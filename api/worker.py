"""The server's start and background work (the outbox sender thread), once per server process by st.App's lifespan.

BILLING_OUTBOX_WORKER=0 leaves it off (a process that should not send, e.g. one of several web processes
when a cron job runs `python -m billing outbox run` instead). With several processes on PostgreSQL each
starts one; the lease lets one of them send at a time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from api.sockets import set_nodelay_on_listeners
from billing.config import current_settings
from billing.errors import BillingError
from billing.outbox_worker import OutboxRunner
from billing.store.db import get_database

log = logging.getLogger("billing.outbox")


@asynccontextmanager
async def outbox_lifespan(_app: Any) -> AsyncIterator[dict[str, Any] | None]:
    runner: OutboxRunner | None = None
    try:
        if current_settings().outbox_worker:
            runner = OutboxRunner(get_database())
            runner.start()
    except BillingError as exc:  # a bad setting, a refused database file: the portal itself says why
        log.warning("The outbox sender did not start: %s", exc.message)
        runner = None
    try:
        yield None
    finally:
        if runner is not None:
            runner.stop()


@asynccontextmanager
async def server_lifespan(app: Any) -> AsyncIterator[None]:
    """A server process's start: TCP_NODELAY on its listening socket (api.sockets says why); its background work:
    the outbox sender and the webhook delivery worker."""
    from api.app import lifespan as webhook_lifespan

    set_nodelay_on_listeners()
    async with outbox_lifespan(app), webhook_lifespan(app):
        yield
