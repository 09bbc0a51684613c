"""`python -m billing copy-to URL`: DuckDB -> PostgreSQL -> DuckDB gives the same tables, proven and verified.

On the throwaway PostgreSQL cluster of `pg_url`; the commands run as `python -m billing` would (`cli`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from billing.store import schema
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
