"""`python -m billing webhooks run [--once]`: the webhook delivery worker from the command line."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date

from billing.store.db import Database
from billing.webhooks import worker


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], database: Callable[[], Database]) -> None:
    """Register `webhooks run`; `database` opens the installation's database."""
    hooks = sub.add_parser("webhooks", help="deliver webhook events")
    actions = hooks.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="report overdue invoices and deliver due events, under the lease (a "
                                         "running server's worker holds it while it runs)")
    run.add_argument("--once", action="store_true", help="one round, then stop (default: until interrupted)")
    run.add_argument("--interval", type=float, default=2.0, help="seconds between rounds (default 2)")
    run.add_argument("--as-of", type=date.fromisoformat, help="the day overdue is judged on (default: today)")
    run.set_defaults(func=lambda args: _run(database(), args))


def _run(db: Database, args: argparse.Namespace) -> int:
    try:
        while True:
            summary = worker.run_once(db, as_of=args.as_of)
            if not summary.held:
                print("Another process holds the webhook lease (a running server?); nothing done.", flush=True)
            elif args.once or summary.overdue or summary.delivered or summary.retrying or summary.failed:
                print(f"Overdue events {summary.overdue}, delivered {summary.delivered}, to retry "
                      f"{summary.retrying}, failed {summary.failed}.", flush=True)
            if args.once:
                return 0 if summary.held else 1
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0
    finally:
        worker.release_lease(db, worker.holder_id())
