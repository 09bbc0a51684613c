"""`python -m billing copy-to URL`: DuckDB -> PostgreSQL -> DuckDB gives the same tables, proven and verified.

On the throwaway PostgreSQL cluster of `pg_url`; the commands run as `python -m billing` would (`cli`).
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from billing.store import bulk, schema
from billing.store.bank_schema import bank_lines
from billing.store.db import Database
from billing.store.migrations import apply_migrations
from tests.conftest import PG_BIN
from tests.test_postgres import OWNER_PASSWORD, cli, count_rows, new_database

pytestmark = pytest.mark.skipif(not (PG_BIN / "initdb").exists() and not os.environ.get("CI"),
                                reason="PostgreSQL 15 server binaries are not installed")

_PROOF = re.compile(r"^  (\w+)\s+([\d,]+)  ([0-9a-f]{16})$", re.MULTILINE)


def proofs(out: str) -> dict[str, tuple[str, str]]:
    """The rows and checksum the command printed for each table."""
    return {name: (rows, checksum) for name, rows, checksum in _PROOF.findall(out)}


def test_copy_to_postgresql_and_back_gives_identical_tables(pg_url: str, tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    duckdb_url = f"duckdb:///{home}/data/billing.duckdb"
    assert cli(home, duckdb_url, "init")[0] == 0
    assert cli(home, duckdb_url, "create-user", "owner", stdin=f"{OWNER_PASSWORD}\n")[0] == 0
    assert cli(home, duckdb_url, "demo", "--scale", "S", "--as-of", "2026-11-25")[0] == 0

    postgres_url = new_database(pg_url, "copy_target")
    code, there, err = cli(home, duckdb_url, "copy-to", postgres_url)
    assert code == 0, err
    assert "All checks passed." in there and "checking" in err  # the progress shown on the way
    assert proofs(there)["invoices"][0] == "10,146"

    # Back into a DuckDB file in a folder of its own: the keys and the installation id go with it.
    back_url = f"duckdb:///{elsewhere}/billing.duckdb"
    code, back, err = cli(home, postgres_url, "copy-to", back_url)
    assert code == 0, err
    assert proofs(back) == proofs(there) and len(proofs(there)) >= 14
    assert sorted(p.name for p in elsewhere.iterdir() if p.name.startswith(".")) == [
        ".audit_key", ".billing.duckdb.audit_head", ".installation_id"]  # no backup or server made the others
    assert (elsewhere / ".audit_key").read_bytes() == (home / "data" / ".audit_key").read_bytes()
    code, out, _err = cli(home, back_url, "verify")
    assert code == 0, out
    # The copy is recorded in the source's audit trail, after the copy.
    assert count_rows(duckdb_url, schema.audit_events) == count_rows(back_url, schema.audit_events) + 1
    # `verify` of the copy on PostgreSQL is a real check (its SQL half runs beside the Python half): a changed
    # line, a lost row of the report data and a changed audit event there are found.
    problems = tampered(home, postgres_url, "UPDATE invoice_lines SET quantity = quantity + 1 WHERE invoice_id = "
                        "(SELECT min(id) FROM invoices WHERE status = 'issued')",
                        "DELETE FROM sales_facts WHERE invoice_id = (SELECT max(invoice_id) FROM sales_facts)")
    assert any(p.startswith("documents 1-9,999: differ from what audit event") for p in problems), problems
    assert any(p.startswith("INV-") and "but its lines give" in p for p in problems), problems
    assert any(p.endswith("rows missing from sales_facts") for p in problems), problems
    assert tampered(home, postgres_url, "UPDATE audit_events SET actor = 'mallory' WHERE id = 1")[0] == \
        "Audit trail: event 1 was changed after it was written"


def tampered(folder: Path, url: str, *statements: str) -> list[str]:
    """Run `statements` behind the program's back; the problems `verify` then reports."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    engine.dispose()
    code, out, _err = cli(folder, url, "verify")
    assert code == 1, out
    return [line.removeprefix("PROBLEM: ") for line in out.splitlines() if line.startswith("PROBLEM: ")]


def test_copy_to_refuses_a_database_that_is_not_empty(pg_url: str, tmp_path: Path) -> None:
    duckdb_url = f"duckdb:///{tmp_path}/data/billing.duckdb"
    assert cli(tmp_path, duckdb_url, "init")[0] == 0
    assert cli(tmp_path, duckdb_url, "create-user", "owner", stdin=f"{OWNER_PASSWORD}\n")[0] == 0
    target = new_database(pg_url, "copy_busy")
    assert cli(tmp_path, target, "init")[0] == 0
    assert cli(tmp_path, target, "create-user", "someone", stdin=f"{OWNER_PASSWORD}\n")[0] == 0
    code, _out, err = cli(tmp_path, duckdb_url, "copy-to", target)
    assert code == 2 and "is not empty (its table audit_events holds rows)" in err
    assert count_rows(target, schema.users) == 1
    code, _out, err = cli(tmp_path, duckdb_url, "copy-to", duckdb_url)
    assert code == 2 and "the database being copied" in err


def test_a_row_changed_on_the_way_refuses_the_copy(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                  ) -> None:
    duckdb_url = f"duckdb:///{tmp_path}/data/billing.duckdb"
    assert cli(tmp_path, duckdb_url, "init")[0] == 0
    assert cli(tmp_path, duckdb_url, "create-user", "owner", stdin=f"{OWNER_PASSWORD}\n")[0] == 0
    load = bulk.load_arrow

    def altered(conn: Any, table: sa.Table, data: pa.Table, scaled: dict[str, str] | None = None) -> int:
        if table.name == "users":  # the engine or the wire changed one value of one row
            data = data.set_column(data.schema.get_field_index("name"), "name", pa.array(["Mallory"]))
        return load(conn, table, data, scaled)

    monkeypatch.setattr(bulk, "load_arrow", altered)
    target = new_database(pg_url, "copy_altered")
    code, _out, err = cli(tmp_path, duckdb_url, "copy-to", target)
    assert code == 2 and "The copy of table users differs from the original" in err
    assert count_rows(target, schema.users) == 0 and count_rows(target, schema.audit_events) == 0


_BANK_LINE = {"id": 1, "import_id": 7, "line_key": "k|1", "account_iban": "DE02120300000000202051",
              "booking_date": date(2026, 2, 28), "value_date": None, "amount": Decimal("-12.5"), "currency": "EUR",
              "counterparty_name": "Müller | Söhne 'GmbH' 👍🏽", "remittance": "Invoice 7\nand 8, \"paid\"",
              "is_return": False, "confidence": "sure", "proposal": "{}"}
_COMPANY = {"id": 1, "legal_name": "Acme", "base_currency": "EUR", "timezone": "UTC", "default_terms_days": 14,
            "page_size": "A4", "logo": b"\x00\xffPNG", "updated_at": datetime(1969, 12, 31, 23, 59, 59, 120)}
_CHANGES: list[tuple[sa.Table, dict[str, Any]]] = [
    (bank_lines, {"amount": Decimal("-12.5001")}), (bank_lines, {"value_date": date(2026, 3, 1)}),
    (bank_lines, {"is_return": True}), (bank_lines, {"remittance": "-"}),
    (bank_lines, {"counterparty_name": "Müller | Söhne 'GmbH' 👍"}),
    (schema.company, {"logo": b""}), (schema.company, {"logo": None}),
    (schema.company, {"updated_at": datetime(1969, 12, 31, 23, 59, 59, 121)}),
    (schema.company, {"default_terms_days": 15})]


def test_fingerprints_agree_across_engines_and_tell_any_change(pg_url: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "_COPY_READ_BLOCK", 128)  # PostgreSQL's CSV read in blocks that end inside a value
    engines = [Database(f"duckdb:///{tmp_path}/fingerprint.duckdb"), Database(new_database(pg_url, "fingerprints"))]
    try:
        for db in engines:
            apply_migrations(db)
            db.transaction(lambda conn: [conn.execute(bank_lines.insert().values(**_BANK_LINE)),
                                         conn.execute(schema.company.insert().values(**_COMPANY))])
        duck, postgres = (_fingerprints(db) for db in engines)
        for db in engines:  # read back whole, a value of two lines too (PostgreSQL's CSV quotes it)
            with db.connect() as conn:
                [read] = bulk.dump_table(conn, "bank_lines").to_pylist()
            assert {name: read[name] for name in _BANK_LINE} == _BANK_LINE
        assert duck == postgres and duck["bank_lines"][0] == duck["company"][0] == 1
        for table, change in _CHANGES:
            with engines[1].engine.connect() as conn, conn.begin() as transaction:
                conn.execute(table.update().values(**change))
                changed = _fingerprints(conn)
                transaction.rollback()
            assert changed[table.name] != postgres[table.name], change
            assert all(changed[other] == postgres[other] for other in changed if other != table.name)
    finally:
        for db in engines:
            db.dispose()


def _fingerprints(source: Database | sa.Connection) -> dict[str, tuple[int, int, int]]:
    if isinstance(source, sa.Connection):
        return {name: bulk.table_fingerprint(source, name) for name in ("bank_lines", "company")}
    with source.connect() as conn:
        return _fingerprints(conn)
