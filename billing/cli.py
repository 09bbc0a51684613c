"""Command line: `python -m billing init|create-user|demo|backup|restore|copy-to|import|verify|run-due|webhooks|...`."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from billing import cli_api_keys, cli_outbox, cli_run_due, cli_webhooks
from billing.config import current_settings
from billing.einvoice import cli as einvoice_cli
from billing.errors import BillingError
from billing.permissions import ROLES, SYSTEM
from billing.store.db import Database, database_url, storage_error

_OPENED: list[Database] = []


def _opened() -> Database:
    db = Database(database_url())
    _OPENED.append(db)
    return db


def _db() -> Database:
    """The installation's database, migrated; refused if it is not this installation's (billing.installation)."""
    db = _opened()
    db.migrate()
    return db


def cmd_init(args: argparse.Namespace) -> int:
    db = _db()
    print(f"Database ready at {db.url}")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise BillingError("The passwords do not match.")
    return first


def cmd_create_user(args: argparse.Namespace) -> int:
    from billing import users

    db = _db()
    password = _read_password(args)
    actor = None if not users.has_users(db) else SYSTEM
    user = users.create_user(db, actor, args.username, password, args.role, name=args.name or "",
                             email=args.email or "")
    print(f"Created {user.role} '{user.username}'.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from billing.demo import load_demo

    db = _db()
    as_of = date.fromisoformat(args.as_of) if args.as_of else date.today()
    if args.sandbox:
        from billing.sandbox import create_sandbox, sandbox_folder

        create_sandbox(db, SYSTEM, as_of, args.scale.upper())
        print(f"Created the demo sandbox (scale {args.scale.upper()}) in {sandbox_folder(db.url)}; "
              "the books are untouched. Open it from the portal's sidebar.")
        return 0
    summary = load_demo(db, SYSTEM, args.scale.upper(), as_of=as_of)
    print(f"Loaded scale {args.scale.upper()}: {summary.customers:,} customers, {summary.invoices:,} invoices, "
          f"{summary.credit_notes:,} credit notes, {summary.lines:,} lines, {summary.payments:,} payments "
          f"in {summary.seconds} s.")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from billing.backup import backup_database

    try:
        report = backup_database(_db(), SYSTEM, Path(args.path))
    except OSError as exc:
        raise BillingError(f"The backup could not be written to {args.path} ({exc.strerror}).") from exc
    print(f"Signed backup written to {report.path}: "
          + ", ".join(f"{k} {v:,}" for k, v in report.tables.items() if v))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from billing.backup import restore_database

    counts = restore_database(_db(), SYSTEM, Path(args.path), trust_unsigned=args.trust_unsigned)
    print("Restored and verified: " + ", ".join(f"{k} {v:,}" for k, v in counts.items() if v))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from billing.imports import import_csv

    path = Path(args.file)
    if not path.is_file():
        raise BillingError(f"No file at {path}.")
    count = import_csv(_db(), SYSTEM, args.kind, path.read_bytes())
    print(f"Imported {count} {args.kind}.")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from billing.verify import verify_database

    report = verify_database(_db(), SYSTEM)
    print(f"Checked {report.documents_checked:,} documents and {report.audit_events:,} audit events.")
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print("All checks passed." if report.ok else f"{len(report.problems)} problem(s) found.")
    return 0 if report.ok else 1


def cmd_copy_to(args: argparse.Namespace) -> int:
    from billing.database_copy import copy_database

    report = copy_database(_db(), SYSTEM, args.url, _progress_bar)
    print(f"Copied to {report.target} and proved table by table (rows, SHA-256 of the content):")
    for name, proof in report.tables.items():
        if proof.rows:
            print(f"  {name:<24} {proof.rows:>12,}  {proof.checksum[:16]}")
    print(f"Verified on the target: {report.documents_verified:,} documents, {report.audit_events:,} audit events. "
          "All checks passed.")
    return 0


def _progress_bar(done: int, total: int, table: str) -> None:
    """One line on stderr, redrawn in place on a terminal."""
    share = done / total if total else 1.0
    bar = "#" * int(share * 30)
    line = f"[{bar:<30}] {share:4.0%} {done:,}/{total:,} rows  {table}"
    if sys.stderr.isatty():
        print(f"\r{line:<90}", end="" if table != "done" else "\n", file=sys.stderr, flush=True)
    elif table in ("checking", "done"):
        print(line, file=sys.stderr)


def cmd_adopt_database(args: argparse.Namespace) -> int:
    from billing.installation import adopt_database

    db = _opened()
    before, now = adopt_database(db, SYSTEM)
    if before == now:
        print("The database already belongs to this installation; nothing changed.")
    else:
        carried = f"installation {before[:8]}" if before else "no installation id"
        print(f"This installation ({now[:8]}) now uses the database at {db.url} (it carried {carried}).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m billing", description="Billing portal administration.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="create or migrate the database").set_defaults(func=cmd_init)
    user = sub.add_parser("create-user", help="create a user (password read from a prompt or stdin)")
    user.add_argument("username")
    user.add_argument("--role", choices=ROLES, default="admin")
    user.add_argument("--name")
    user.add_argument("--email")
    user.set_defaults(func=cmd_create_user)
    demo = sub.add_parser("demo", help="load a synthetic dataset into an empty database (benchmarks, tests)")
    demo.add_argument("--scale", choices=["S", "M", "L", "s", "m", "l"], default="S")
    demo.add_argument("--as-of", help="the dataset's 'today' (YYYY-MM-DD)")
    demo.add_argument("--sandbox", action="store_true",
                      help="create the portal's demo sandbox beside the books instead (they stay untouched)")
    demo.set_defaults(func=cmd_demo)
    backup = sub.add_parser("backup", help="write a verified backup (.zip)")
    backup.add_argument("path")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="replace the database with a backup")
    restore.add_argument("path")
    restore.add_argument("--trust-unsigned", action="store_true",
                         help="restore a backup this installation did not sign (another installation's, or an "
                              "older version's): only one you know where it comes from")
    restore.set_defaults(func=cmd_restore)
    imp = sub.add_parser("import", help="import customers or products from CSV (all or nothing)")
    imp.add_argument("kind", choices=["customers", "products"])
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)
    sub.add_parser("verify", help="check the audit chain, every document's totals and balances") \
        .set_defaults(func=cmd_verify)
    sub.add_parser("adopt-database", help="bind this installation to the database file it is configured with "
                   "(after it was replaced, or to restore a backup into a new one)") \
        .set_defaults(func=cmd_adopt_database)
    copy_to = sub.add_parser("copy-to", help="copy the whole database into another, empty one (DuckDB <-> "
                             "PostgreSQL), proving every table and verifying the copy")
    copy_to.add_argument("url", help="the target's URL, e.g. postgresql+psycopg://billing@db/billing or "
                         "duckdb:///data/billing.duckdb")
    copy_to.set_defaults(func=cmd_copy_to)
    einvoice_cli.add_parser(sub, _db)
    cli_api_keys.add_parser(sub, _db)
    cli_outbox.add_parser(sub, _db)
    cli_run_due.add_parser(sub, _db)
    cli_webhooks.add_parser(sub, _db)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A failure is one line on stderr ("Error: ..."), not that line and its log record (the server logs them).
    logging.getLogger("billing").addHandler(logging.NullHandler())
    try:
        current_settings()  # a bad BILLING_* value: its message, before anything opens the database
        return int(args.func(args))
    except BillingError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return 2
    except sa.exc.DBAPIError as exc:  # a locked file or a full disk met outside Database's own translation
        failure = storage_error(exc)
        if failure is None:
            raise
        print(f"Error: {failure.message}", file=sys.stderr)
        return 2
    finally:
        # Close DuckDB before the interpreter shuts down: a connection left to finalisation can
        # abort the process ("terminate called without an active exception") after the work is done.
        while _OPENED:
            _OPENED.pop().dispose()


if __name__ == "__main__":
    raise SystemExit(main())
