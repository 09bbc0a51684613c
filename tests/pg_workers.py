"""Worker processes for tests/test_pg_concurrency.py: `python -m tests.pg_workers issue|pay URL ...` writes to
a PostgreSQL database from threads of its own and prints what happened as one JSON line."""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from billing import invoices, payments
from billing.errors import ValidationError
from billing.permissions import SYSTEM
from billing.store.db import Database

TODAY = date(2026, 11, 2)


def issue(db: Database, drafts: list[int], threads: int) -> dict[str, list[str]]:
    """Issue the drafts from `threads` threads at once: the numbers given, and any error."""
    start = threading.Barrier(threads)
    numbers: list[str] = []
    errors: list[str] = []

    def work(chunk: list[int]) -> None:
        start.wait()
        for draft in chunk:
            try:
                numbers.append(invoices.issue_invoice(db, SYSTEM, draft, today=TODAY))
            except Exception as exc:  # reported to the test, which fails on it
                errors.append(repr(exc))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, [drafts[i::threads] for i in range(threads)]))
    return {"numbers": numbers, "errors": errors}


def pay(db: Database, customer: int, invoice: int, amount: str, attempts: int) -> dict[str, list[str]]:
    """Try `attempts` times to pay `amount` against the invoice: each payment recorded, or refused because it
    is more than what is left."""
    paid: list[str] = []
    refused: list[str] = []
    errors: list[str] = []
    for _ in range(attempts):
        try:
            payments.record_payment(db, SYSTEM, {"customer_id": customer, "amount": amount, "currency": "EUR",
                                                 "received_on": TODAY}, allocate=[(invoice, amount)])
            paid.append(amount)
        except ValidationError as exc:
            refused.append(exc.message)
        except Exception as exc:  # reported to the test, which fails on it
            errors.append(repr(exc))
    return {"paid": paid, "refused": refused, "errors": errors}


def main(argv: list[str]) -> int:
    command, url, *args = argv
    db = Database(url)
    try:
        if command == "issue":
            result = issue(db, [int(a) for a in args[1:]], int(args[0]))
        else:
            result = pay(db, int(args[0]), int(args[1]), args[2], int(args[3]))
    finally:
        db.dispose()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
