"""Several processes writing to one PostgreSQL database, as several app servers do: invoice numbers stay
gapless (4 processes x 8 threads issuing), and payments on one invoice from two processes never allocate more
than its balance. The workers are tests/pg_workers.py, run as `python -m tests.pg_workers`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from billing import audit, catalog, customers, invoices, settings
from billing.permissions import SYSTEM
from billing.store.db import Database
from billing.store.schema import allocations
from billing.verify import verify_database
from tests.conftest import PG_BIN
from tests.pg_workers import TODAY
from tests.test_postgres import new_database

pytestmark = pytest.mark.skipif(not (PG_BIN / "initdb").exists() and not os.environ.get("CI"),
                                reason="PostgreSQL 15 server binaries are not installed")
REPO = Path(__file__).resolve().parent.parent
PROCESSES, THREADS, PER_THREAD = 4, 8, 4


@pytest.fixture
def shop(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, int, int]]:
    """A new database with a company, a customer and a tax rate; the test and its workers share ./data."""
    monkeypatch.chdir(tmp_path)
    db = Database(new_database(pg_url, f"conc_{os.urandom(4).hex()}"))
    db.migrate()
    settings.save_company(db, SYSTEM, {"legal_name": "Acme GmbH", "base_currency": "EUR"})
    customer = customers.create_customer(db, SYSTEM, {"name": "Parallel Ltd", "currency": "EUR"})
    rate = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 0%", "category": "Z", "percent": "0"})
    yield db, customer, rate
    db.dispose()


def run_workers(folder: Path, commands: list[list[str]]) -> list[dict[str, list[str]]]:
    """Start one worker process per command at once; what each reported."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = [subprocess.Popen([sys.executable, "-m", "tests.pg_workers", *command], cwd=folder, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for command in commands]
    results = []
    for process in started:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def draft_of(db: Database, customer: int, rate: int, price: str) -> int:
    return invoices.create_draft(db, SYSTEM, {"customer_id": customer, "lines": [
        {"description": "Item", "quantity": "1", "unit_price": price, "tax_rate_id": rate}]})


def test_numbers_stay_gapless_with_four_processes_of_eight_threads(shop: tuple[Database, int, int],
                                                                  tmp_path: Path) -> None:
    db, customer, rate = shop
    drafts = [draft_of(db, customer, rate, "10") for _ in range(PROCESSES * THREADS * PER_THREAD)]
    results = run_workers(tmp_path, [["issue", db.url, str(THREADS), *map(str, drafts[p::PROCESSES])]
                                     for p in range(PROCESSES)])
    assert [r["errors"] for r in results] == [[]] * PROCESSES
    numbers = sorted(n for r in results for n in r["numbers"])
    assert numbers == [f"INV-{TODAY.year}-{seq:05d}" for seq in range(1, len(drafts) + 1)]
    assert audit.verify_chain(db, SYSTEM).ok


def test_two_processes_paying_one_invoice_never_allocate_more_than_its_balance(shop: tuple[Database, int, int],
                                                                              tmp_path: Path) -> None:
    db, customer, rate = shop
    invoice = draft_of(db, customer, rate, "1000")
    invoices.issue_invoice(db, SYSTEM, invoice, today=TODAY)
    # 16 payments of 60.00 fit into 1,000.00; the 17th would not, whichever process tries it.
    results = run_workers(tmp_path, [["pay", db.url, str(customer), str(invoice), "60.00", "12"]] * 2)
    assert [r["errors"] for r in results] == [[], []]
    assert sum(len(r["paid"]) for r in results) == 16
    assert all("more than the balance" in message for r in results for message in r["refused"])
    view = invoices.get_invoice(db, SYSTEM, invoice, as_of=TODAY)
    assert view.balance == Decimal("40.00")
    with db.connect() as conn:
        allocated = conn.execute(sa.select(sa.func.sum(allocations.c.amount))
                                 .where(allocations.c.invoice_id == invoice)).scalar_one()
    assert allocated == Decimal("960.00")
    assert verify_database(db, SYSTEM).ok
