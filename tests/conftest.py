"""Shared fixtures for the domain service tests: a real DuckDB file per test, seeded reference data.

Migrating a fresh DuckDB file takes ~0.4 s and each write transaction ~20-40 ms, so the schema, the
seed data (`seeded`) and three issued invoices (`billed`) are built once per session into template
files that each test copies (~0.05 s). Tests that only try refused operations share one database
(`refusals`). `snapshot` and `assert_refused` check that a refused operation left every table as it
was. `pg_url` starts a throwaway PostgreSQL cluster. Tests import the helpers with
`from tests.conftest import ...` (a plain `conftest` module name is ambiguous: tests/pages/conftest.py and
tests/browser/conftest.py replace it in sys.modules during collection).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from billing import customers, invoices, settings, signing
from billing.catalog import create_product, create_tax_rate
from billing.documents import InvoiceHeader
from billing.errors import BillingError
from billing.permissions import Actor
from billing.store.db import Database
from billing.store.schema import audit_events, metadata

ADMIN = Actor("alice", "admin")
ACCOUNTANT = Actor("bob", "accountant")
ANALYST = Actor("carol", "analyst")

TODAY = date(2025, 3, 10)
PG_BIN = Path("/usr/lib/postgresql/15/bin")  # PostgreSQL 15 server binaries, for `pg_url`


def database_url(path: Path) -> str:
    return f"duckdb:///{path}"


@dataclass(frozen=True)
class Templates:
    """Database files built once per session and copied by the tests, and the ids they hold."""

    empty: Path
    seeded: Path
    billed: Path
    seed: Seed
    bill: Billed


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    folder = tmp_path_factory.mktemp("templates")
    empty, seeded_file, billed_file = folder / "empty.duckdb", folder / "seeded.duckdb", folder / "billed.duckdb"
    database = Database(database_url(empty))
    database.migrate()
    database.dispose()
    database = Database(database_url(copy_template(empty, seeded_file)))
    seed_ids = seed(database)
    database.dispose()
    database = Database(database_url(copy_template(seeded_file, billed_file)))
    bill_ids = bill(database, seed_ids)
    database.dispose()
    return Templates(empty, seeded_file, billed_file, seed_ids, bill_ids)


@pytest.fixture
def db_path(request: pytest.FixtureRequest, tmp_path: Path, templates: Templates) -> Path:
    """A fresh copy of the template the test asks for: `billed`, `seeded`, or else an empty schema."""
    names = request.fixturenames
    template = templates.billed if "billed" in names else templates.seeded if "seeded" in names else templates.empty
    return copy_template(template, tmp_path / "t.duckdb")


def copy_template(template: Path, path: Path) -> Path:
    shutil.copyfile(template, path)
    wal = template.with_name(template.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, path.with_name(path.name + ".wal"))
    # The audit chain is keyed, and its head recorded, by files beside the database: they go with it.
    signing.copy_installation_files(database_url(template), database_url(path))
    return path


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = Database(database_url(db_path))
    database.migrate()
    yield database
    database.dispose()


@dataclass(frozen=True)
class Shared:
    """One billed database for the whole session, for tests that only try operations that must be refused."""

    db: Database
    seed: Seed
    bill: Billed


@pytest.fixture(scope="session")
def refusals(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Iterator[Shared]:
    """Shared by the many refusal tests to save opening a database each (~45 ms of CPU). Safe because
    every such test asserts with `assert_refused` that the database is exactly as before; one that
    wrote anything fails itself, whatever it leaves behind."""
    path = copy_template(templates.billed, tmp_path_factory.mktemp("refusals") / "shared.duckdb")
    database = Database(database_url(path))
    yield Shared(database, templates.seed, templates.bill)
    database.dispose()


def _as_postgres(args: list[str]) -> list[str]:
    # initdb refuses to run as root; the Debian package brings a 'postgres' user.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL 15 cluster on 127.0.0.1 (initdb + pg_ctl, about a second): its URL."""
    # Not under pytest's tmp dir: its parents are private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="billing-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = folder / "data"
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "billing"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
                                 f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]),
                   check=True, capture_output=True)
    try:
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "billing", "-d", "postgres", "-c",
                        "CREATE DATABASE billing"], check=True, capture_output=True)
        url = f"postgresql+psycopg://billing@127.0.0.1:{port}/billing"
        yield url
        head = signing.head_path(url)  # ./data keeps the chain's head per URL: a later run may get this port
        if head is not None:
            head.unlink(missing_ok=True)
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def stop_process(process: subprocess.Popen[Any], grace: float = 5) -> None:
    """Terminate a server process the test started; kill it if it has not ended after `grace` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def snapshot(db: Database) -> dict[str, list[str]]:
    """Every row of every table, each rendered as text, in primary key order: to assert that a refused
    operation changed nothing. One DuckDB query (a table alias cast to VARCHAR is its whole row):
    ~4x cheaper than a SELECT per table through SQLAlchemy, and tests take hundreds of snapshots."""
    parts = []
    for table in metadata.sorted_tables:
        order = ", ".join(f'x."{column.name}"' for column in (table.primary_key.columns or table.columns))
        parts.append(f"SELECT '{table.name}' AS t, row_number() OVER (ORDER BY {order}) AS n, x::VARCHAR AS r"
                     f' FROM "{table.name}" x')
    result: dict[str, list[str]] = {table.name: [] for table in metadata.sorted_tables}
    with db.connect() as conn:
        for name, _, row in conn.exec_driver_sql(" UNION ALL ".join(parts) + " ORDER BY t, n").all():
            result[name].append(row)
    return result


def event_count(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one())


@dataclass(frozen=True)
class Seed:
    """Ids of the reference data every domain test starts from."""

    s19: int
    s7: int
    e0: int
    acme: int  # EUR, 14 days
    beta: int  # EUR, 30 days
    usd: int  # USD, 30 days
    jpy: int  # JPY, 30 days
    product: int  # EUR 49.90 at 19 %


def seed(db: Database) -> Seed:
    """Company profile, tax rates, customers in EUR/USD/JPY and a product."""
    settings.save_company(db, ADMIN, {"legal_name": "Example GmbH", "country": "DE", "tax_id": "DE136695976",
                                      "base_currency": "EUR", "timezone": "Europe/Berlin"})
    s19 = create_tax_rate(db, ADMIN, {"name": "Standard 19%", "category": "S", "percent": "19"})
    s7 = create_tax_rate(db, ADMIN, {"name": "Reduced 7%", "category": "S", "percent": "7"})
    e0 = create_tax_rate(db, ADMIN, {"name": "Exempt", "category": "E", "percent": "0",
                                     "exemption_reason": "Exempt under section 4 UStG"})
    acme = customers.create_customer(db, ADMIN, {"name": "Acme GmbH", "email": "ap@acme.example", "country": "DE",
                                                 "currency": "EUR", "terms_days": 14})
    beta = customers.create_customer(db, ADMIN, {"name": "Beta SARL", "country": "FR", "currency": "EUR",
                                                 "terms_days": 30})
    usd = customers.create_customer(db, ADMIN, {"name": "Gamma Inc", "country": "US", "currency": "USD"})
    jpy = customers.create_customer(db, ADMIN, {"name": "Delta KK", "country": "JP", "currency": "JPY"})
    product = create_product(db, ADMIN, {"name": "Widget", "sku": "W-1", "unit": "pcs", "unit_price": "49.90",
                                         "currency": "EUR", "tax_rate_id": s19})
    return Seed(s19=s19, s7=s7, e0=e0, acme=acme, beta=beta, usd=usd, jpy=jpy, product=product)


@pytest.fixture
def seeded(db: Database, templates: Templates) -> Seed:
    """The ids of `seed`: the test's database file is a copy of the seeded template."""
    return templates.seed


@dataclass(frozen=True)
class Billed:
    """Three issued Acme invoices (EUR, 14 days), issued on TODAY as INV-2025-00001..3."""

    a: int  # 100.00 + 19 % = 119.00, due 2025-03-24
    b: int  # 50.00 + 19 % = 59.50, due 2025-03-10
    c: int  # 20.00 + 19 % = 23.80, due 2025-04-30


def bill(db: Database, ids: Seed) -> Billed:
    return Billed(a=issued(db, ids.acme, line(ids.s19, "1", "100.00")),
                  b=issued(db, ids.acme, line(ids.s19, "1", "50.00"), due_date="2025-03-10"),
                  c=issued(db, ids.acme, line(ids.s19, "1", "20.00"), due_date="2025-04-30"))


@pytest.fixture
def billed(seeded: Seed, templates: Templates) -> Billed:
    """The ids of `bill`: the test's database file is a copy of the billed template."""
    return templates.bill


def line(tax_rate_id: int, quantity: str = "1", unit_price: str = "100.00", description: str = "Consulting",
         **extra: Any) -> dict[str, Any]:
    return {"description": description, "quantity": quantity, "unit_price": unit_price, "tax_rate_id": tax_rate_id,
            **extra}


def draft(db: Database, customer_id: int, *lines: dict[str, Any], actor: Actor = ADMIN, **extra: Any) -> int:
    """A saved draft with the given lines."""
    return invoices.create_draft(db, actor, {"customer_id": customer_id, "lines": list(lines), **extra})


def issued(db: Database, customer_id: int, *lines: dict[str, Any], today: date = TODAY, **extra: Any) -> int:
    invoice_id = draft(db, customer_id, *lines, **extra)
    invoices.issue_invoice(db, ADMIN, invoice_id, today=today)
    return invoice_id


def header(db: Database, invoice_id: int) -> InvoiceHeader:
    return invoices.get_invoice(db, ADMIN, invoice_id, as_of=TODAY).header


_TECHNICAL = ("Traceback", "sqlalchemy", "duckdb", "[SQL", "pydantic", "psycopg", "Decimal(", "errors.pydantic")


def assert_readable(error: BaseException) -> None:
    """A message a user can read: a sentence, no library internals."""
    message = str(error)
    assert len(message) >= 10, message
    assert message[0].isupper() or message[0].isdigit(), message
    assert not any(marker in message for marker in _TECHNICAL), message


def assert_refused(db: Database, action: Any, error: type[BaseException] = BillingError,
                   match: str | None = None) -> BaseException:
    """`action()` raises `error` with a readable message, and the database is exactly as before."""
    before = snapshot(db)
    with pytest.raises(error, match=match) as caught:
        action()
    if isinstance(caught.value, BillingError):
        assert_readable(caught.value)
    assert snapshot(db) == before
    return caught.value
