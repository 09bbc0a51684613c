"""Search text is matched literally: % and _ typed by a user are not wildcards."""

from __future__ import annotations

from pathlib import Path

from billing import customers
from billing.permissions import SYSTEM
from billing.store.db import Database


def test_percent_and_underscore_are_literal(tmp_path: Path) -> None:
    db = Database(f"duckdb:///{tmp_path}/s.duckdb")
    db.migrate()
    for name in ("100% Organic", "Snake_case Ltd", "Plain Ltd"):
        customers.create_customer(db, SYSTEM, {"name": name})
    rows, total = customers.search_customers(db, SYSTEM, "%")
    assert (total, [r["name"] for r in rows]) == (1, ["100% Organic"])
    rows, total = customers.search_customers(db, SYSTEM, "_")
    assert (total, [r["name"] for r in rows]) == (1, ["Snake_case Ltd"])
    assert customers.search_customers(db, SYSTEM, "plain")[1] == 1
