"""`python -m billing outbox run [--once]` and `outbox list`: sending the outbox from cron or a shell."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import datetime

from billing import outbox_worker
from billing.outbox import FAILED, QUEUED, SENDING, SENT
from billing.store import outbox as store
from billing.store.db import Database, utcnow


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], database: Callable[[], Database]) -> None:
    """Register `outbox` and its subcommands; `database` opens the installation's database."""
    box = sub.add_parser("outbox", help="send the e-mail outbox, or list it")
    actions = box.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="send what is due (until stopped, or once with --once)")
    run.add_argument("--once", action="store_true", help="send everything due, then exit (for cron)")
    run.add_argument("--interval", type=float, default=5.0, help="seconds between rounds (default 5)")
    run.add_argument("--now", type=datetime.fromisoformat, help="the moment to act as of (UTC; tests)")
    run.set_defaults(func=lambda args: _run(database(), args))
    listing = actions.add_parser("list", help="the newest messages and their status")
    listing.add_argument("--status", choices=[QUEUED, SENDING, SENT, FAILED])
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=lambda args: _list(database(), args))


def _run(db: Database, args: argparse.Namespace) -> int:
    while True:
        report = outbox_worker.send_due(db, args.now or utcnow())
        if report.busy:
            print("Another runner holds the outbox lease; nothing sent.")
        elif report.not_configured:
            print(f"Nothing sent: {report.problem}")
        else:
            print(f"Sent {report.sent}, to retry {report.retried}, failed {report.failed}.", flush=True)
        if report.more_due:
            continue  # a full batch: the next one at once
        if args.once:
            return 1 if report.not_configured else 0
        time.sleep(args.interval)


def _list(db: Database, args: argparse.Namespace) -> int:
    with db.connect() as conn:
        rows = store.list_messages(conn, status=args.status, limit=args.limit)
    if not rows:
        print("The outbox is empty.")
    for row in rows:
        error = f"  {row['last_error']}" if row["last_error"] else ""
        print(f"{row['id']:>6} {row['status']:<8} {row['attempts']:>2} {row['created_at']:%Y-%m-%d %H:%M} "
              f"{row['recipients']:<30} {row['subject']}{error}")
    return 0
