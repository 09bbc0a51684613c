"""SQL statements and pooled connections per REST API call, with in-process wall and CPU time per call.

Usage: python -m benchmarks.bench_api_queries [--scale S] [--database PATH] [--rounds 50] [--profile OPERATION]
The API (as app.py mounts it) runs in this process on a copy of the demo database at the scale (or of PATH, with
its dot-files; the original is never written), called through Starlette's TestClient with an API key: no HTTP
server, so the figures are the application's own cost. A SQLAlchemy event listener counts the statements sent
and the connections taken from the pool. `--statements` prints what one call sent (for a profile run it under
py-spy: cProfile sees only this thread, not the server's).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from starlette.applications import Starlette

from benchmarks.bench_api import prepare
from billing.store.db import get_database

OPERATIONS = ("GET /invoices/{id}", "GET /invoices?limit=100", "POST /invoices", "POST /invoices/{id}/issue",
              "POST /payments")


class Counter:
    """Statements executed and connections checked out of the pool since the last `take`."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements = self.connections = 0
        self.log: list[str] | None = None  # a list: each statement's first 160 characters are kept in it
        sa.event.listen(engine, "before_cursor_execute", self._statement)
        sa.event.listen(engine, "checkout", self._checkout)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements += 1
        if self.log is not None:
            self.log.append(" ".join(statement.split())[:160])

    def _checkout(self, *_: Any) -> None:
        self.connections += 1

    def take(self) -> tuple[int, int]:
        counts = self.statements, self.connections
        self.statements = self.connections = 0
        return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="S", choices=["S", "M", "L"])
    parser.add_argument("--database", type=Path, help="a prebuilt database to copy (its dot-files too)")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--statements", choices=OPERATIONS, help="print the statements of this operation's last call")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        url, keys, customers, rate = prepare(args.scale, Path(temp), 1, args.database)
        os.environ["BILLING_DATABASE_URL"] = url
        from api.app import api_mount, create_app  # after the URL is set
        from api.ratelimit import TokenBuckets

        app = Starlette(routes=[api_mount(create_app(TokenBuckets(rate=10_000, burst=10_000)))])
        counter = Counter(get_database(url).engine)
        client = TestClient(app, headers={"Authorization": f"Bearer {keys[0]}"})
        with get_database(url).connect() as conn:
            ids = [int(r[0]) for r in conn.exec_driver_sql("SELECT id FROM invoices ORDER BY id DESC LIMIT 500")]
        figures: dict[str, list[tuple[float, float, int, int]]] = {name: [] for name in OPERATIONS}
        log: list[str] = []

        def timed(operation: str, call: Callable[[], Any]) -> Any:
            counter.take()
            counter.log = [] if operation == args.statements else None
            wall, cpu = time.perf_counter(), time.process_time()
            response = call()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if counter.log is not None:
                log[:] = counter.log
            if response.status_code >= 400:
                raise SystemExit(f"{operation}: {response.status_code} {response.text[:300]}")
            figures[operation].append((wall * 1000, cpu * 1000, *counter.take()))
            return response.json()

        lines = [{"description": f"Item {n}", "quantity": "2", "unit_price": "12.34", "tax_rate_id": rate}
                 for n in range(5)]
        cursor = ""
        for n in range(args.rounds):
            timed(OPERATIONS[0], lambda n=n: client.get(f"/api/v1/invoices/{ids[n % len(ids)]}"))
            listed = timed(OPERATIONS[1], lambda cursor=cursor: client.get(f"/api/v1/invoices?limit=100{cursor}"))
            cursor = f"&starting_after={listed['next_cursor']}" if listed["next_cursor"] else ""
            customer = customers[n % len(customers)]
            draft = timed(OPERATIONS[2], lambda customer=customer: client.post(
                "/api/v1/invoices", json={"customer_id": customer, "lines": lines}))
            invoice = timed(OPERATIONS[3], lambda draft=draft: client.post(f"/api/v1/invoices/{draft['id']}/issue"))
            timed(OPERATIONS[4], lambda invoice=invoice, customer=customer: client.post("/api/v1/payments", json={
                "customer_id": customer, "amount": invoice["balance"], "currency": "EUR",
                "received_on": invoice["issue_date"],
                "allocate": [{"invoice_id": invoice["id"], "amount": invoice["balance"]}]}))
        client.close()
        get_database(url).dispose()
    print(f"{args.rounds} rounds, scale {args.database or args.scale}, in process (TestClient), medians:")
    for operation, values in figures.items():
        wall, cpu, statements, connections = (statistics.median(column) for column in zip(*values, strict=True))
        print(f"  {operation:<26} wall {wall:6.1f} ms  CPU {cpu:6.1f} ms  statements {statements:4.0f}  "
              f"connections {connections:3.0f}")
    if args.statements:
        print(f"statements of the last {args.statements}:", *log, sep="\n  ")


if __name__ == "__main__":
    main()
