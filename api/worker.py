"""The server's background work: the outbox sender thread, started once per server process by st.App's lifespan.

BILLING_OUTBOX_WORKER=0 leaves it off (a process that should not send, e.g. one of several web processes
when a cron job runs `python -m billing outbox run` instead). With several processes on PostgreSQL each
starts one; the lease lets one of them send at a time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from billing.errors import BillingError
from billing.outbox_worker import OutboxRunner
from billing.store.db import get_database

log = logging.getLogger("billing.outbox")
SWITCH = "BILLING_OUTBOX_WORKER"


@asynccontextmanager
async def outbox_lifespan(_app: Any) -> AsyncIterator[dict[str, Any] | None]:
    runner: OutboxRunner | None = None
    if os.environ.get(SWITCH, "1").strip() not in ("0", "false", "no", "off"):
        try:
            runner = OutboxRunner(get_database())
            runner.start()
        except BillingError as exc:  # no usable database yet (set-up, a refused file): the portal says why
            log.warning("The outbox sender did not start: %s", exc.message)
            runner = None
    try:
        yield None
    finally:
        if runner is not None:
            runner.stop()
