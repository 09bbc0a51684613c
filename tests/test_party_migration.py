"""Migration 10 on a database of version 8: free-text addresses split where sure and listed where not, tax ids
compacted or kept as tax numbers, issued documents frozen as they are; backups of version 8 restore the same way."""

from __future__ import annotations

from pathlib import Path

import duckdb
import sqlalchemy as sa

from billing import customers, invoices, settings, signing
from billing.store.db import Database
from billing.store.migrations import MIGRATIONS
from tests.conftest import ADMIN, TODAY, Seed, database_url, draft, issued, line

NEW_COLUMNS = {
    "customers": ("street", "additional_line", "city", "postcode", "subdivision", "legal_id", "tax_registration",
                  "electronic_address", "electronic_scheme"),
    "company": ("street", "additional_line", "city", "postcode", "subdivision", "legal_id", "tax_registration",
                "electronic_address", "electronic_scheme", "contact_name", "contact_phone", "contact_email"),
    "invoices": ("buyer_reference", "order_reference", "delivery_date", "period_start", "period_end",
                 "payment_means", "mandate_reference", "payment_terms", "exemption_reason", "exemption_code",
                 "seller_party", "buyer_party"),
}
LATER_COLUMNS = {"customers": ("language",), "invoices": ("updated_at",)}  # added by migrations 11 and 14
OLD = {  # customer: (address as typed before migration 10, tax id as typed)
    "acme": ("Hauptstraße 5\n10115 Berlin", "de 136 695 976"),
    "beta": ("2 rue de la Paix\nBâtiment B\n75002 Paris", "FR40303265045"),
    "usd": ("Somewhere near the lake, Ohio", "EIN 12-3456789"),
    "jpy": ("", ""),
}


def _as_version_8(db: Database, seeded: Seed, path: Path) -> tuple[Path, int, int]:
    """A copy of the test database as version 8 left it: without the new columns, addresses and tax ids free
    text (copied table by table, as tests/test_reports.py builds a version 1 file). Returns its path, an issued
    invoice and a draft of Acme."""
    settings.save_company(db, ADMIN, {"legal_name": "Example GmbH", "country": "DE", "tax_id": "DE136695976",
                                      "address": "Hauptstraße 1\n10115 Berlin", "base_currency": "EUR",
                                      "timezone": "Europe/Berlin"})
    sent = issued(db, seeded.acme, line(seeded.s19))
    pending = draft(db, seeded.acme, line(seeded.s19))
    with db.engine.begin() as conn:
        for name, (address, tax_id) in OLD.items():
            conn.execute(sa.text("UPDATE customers SET address = :a, tax_id = :t WHERE id = :id"),
                         {"a": address, "t": tax_id, "id": getattr(seeded, name)})
        conn.execute(sa.text("UPDATE company SET tax_id = 'DE 136 695 976'"))
    db.dispose()
    old = path.with_name("version8.duckdb")
    con = duckdb.connect(str(old))
    con.execute(f"ATTACH '{path}' AS w (READ_ONLY)")
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_catalog = 'w'").fetchall()]
    for name in tables:
        later = (*NEW_COLUMNS.get(name, ()), *LATER_COLUMNS.get(name, ()))
        dropped = f" EXCLUDE ({', '.join(later)})" if later else ""
        where = " WHERE version <= 8" if name == "schema_version" else ""
        con.execute(f"CREATE TABLE {name} AS SELECT *{dropped} FROM w.{name}{where}")
    con.close()
    signing.copy_installation_files(database_url(path), database_url(old))
    return old, sent, pending


def test_migration_10_moves_free_text_addresses_over(db: Database, db_path: Path, seeded: Seed) -> None:
    old, sent, pending = _as_version_8(db, seeded, db_path)
    migrated = Database(database_url(old))
    try:
        assert migrated.migrate() == MIGRATIONS[-1][0]
        acme = customers.get_customer(migrated, ADMIN, seeded.acme)
        assert (acme["street"], acme["postcode"], acme["city"]) == ("Hauptstraße 5", "10115", "Berlin")
        assert acme["tax_id"] == "DE136695976" and acme["address"] == OLD["acme"][0]
        beta = customers.get_customer(migrated, ADMIN, seeded.beta)
        assert (beta["street"], beta["additional_line"], beta["city"]) == ("2 rue de la Paix", "Bâtiment B", "Paris")
        usd = customers.get_customer(migrated, ADMIN, seeded.usd)
        assert (usd["street"], usd["city"], usd["address"]) == ("", "", OLD["usd"][0])  # the text is kept
        assert (usd["tax_id"], usd["tax_registration"]) == ("", "EIN 12-3456789")  # not a VAT id: a tax number
        assert customers.incomplete_addresses(migrated, ADMIN) == ([(seeded.usd, "Gamma Inc")], 1)
        company = settings.get_company(migrated) or {}
        assert (company["street"], company["city"], company["tax_id"]) == ("Hauptstraße 1", "Berlin", "DE136695976")
        # The issued invoice is frozen as the data stood at migration; the draft follows later changes.
        customers.update_customer(migrated, ADMIN, seeded.acme, {"name": "Acme AG", "country": "DE",
                                                                 "street": "Neuer Weg 1", "postcode": "20095",
                                                                 "city": "Hamburg"})
        frozen = invoices.get_invoice(migrated, ADMIN, sent, as_of=TODAY)
        assert (frozen.customer.name, frozen.customer.street) == ("Acme GmbH", "Hauptstraße 5")
        live = invoices.get_invoice(migrated, ADMIN, pending, as_of=TODAY)
        assert (live.customer.name, live.customer.city) == ("Acme AG", "Hamburg")
        assert live.header.buyer_reference == "" and live.header.delivery_date is None
    finally:
        migrated.dispose()
