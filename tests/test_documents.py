"""Typed document records (billing.documents): read from the store, turned into logic inputs and back into input."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import sqlalchemy as sa

from billing import invoices, logic
from billing.documents import StoredTax, computed_totals, quantized, stored_totals
from billing.models import InvoiceDraftIn
from billing.store import invoices as invoice_store
from billing.store.db import Database
from tests.conftest import ADMIN, TODAY, Seed, draft, issued, line

D = Decimal


def test_stored_lines_and_allowance_charges_give_the_stored_totals(db: Database, seeded: Seed) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19, "3", "4.115", discount_percent="10"),
                       line(seeded.s7, "1", "0.99", discount_amount="0.10"),
                       allowance_charges=[{"percent": "5", "tax_rate_id": seeded.s19},
                                          {"is_charge": True, "amount": "2.50", "tax_rate_id": seeded.s7}])
    with db.connect() as conn:
        header = invoice_store.get_header(conn, invoice_id)
        lines, allowance_charges, taxes = invoice_store.get_body(conn, invoice_id)
    assert header is not None
    assert [line.to_logic().net_price for line in lines] == [D("4.115"), D("0.99")]
    assert [item.to_logic().is_charge for item in allowance_charges] == [False, True]
    recomputed = computed_totals(lines, allowance_charges, header.currency)
    assert recomputed == stored_totals(quantized(header, "EUR"), [quantized(x, "EUR") for x in lines],
                                       [quantized(t, "EUR") for t in taxes])
    assert recomputed.payable == header.payable == D("16.15")  # 13.91 net + 2.00 and 0.24 VAT


def test_the_view_shows_the_stored_vat_breakdown_not_a_recomputed_one(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19, "1", "100.00"), line(seeded.s7, "1", "10.00"))
    with db.connect() as conn, conn.begin():
        conn.execute(sa.text("UPDATE invoice_taxes SET tax = 19.01 WHERE invoice_id = :i AND vat_category = 'S' "
                             "AND vat_rate = 19"), {"i": invoice_id})
    document = invoices.get_invoice(db, ADMIN, invoice_id, as_of=TODAY)
    assert document.taxes == (StoredTax("S", D("7.0000"), D("10.00"), D("0.70")),
                              StoredTax("S", D("19.0000"), D("100.00"), D("19.01")))
    assert [(t.vat_rate, t.tax) for t in document.totals.tax_breakdown] == [(D("7"), D("0.70")), (D("19"), D("19.01"))]
    assert str(document.totals.tax_breakdown[1].vat_rate) == "19"  # printed as 19%, not 19.0000%
    assert document.totals.payable == document.header.payable == D("129.70")


def test_money_is_shown_at_the_currency_minor_unit(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.jpy, line(seeded.s19, "1", "1000.5"))
    document = invoices.get_invoice(db, ADMIN, invoice_id, as_of=TODAY)
    assert (str(document.header.payable), str(document.lines[0].net_amount), str(document.taxes[0].tax)) == \
        ("1191", "1001", "190")
    assert document.lines[0].unit_price == D("1000.5")  # a price is not money of the document: kept exact
    assert document.balance == D("1191") and document.status == logic.UNPAID


def test_from_stored_gives_back_the_input_of_the_draft(db: Database, seeded: Seed) -> None:
    entered = InvoiceDraftIn.model_validate({
        "customer_id": seeded.acme, "currency": "EUR", "notes": "Thanks",
        "lines": [line(seeded.s19, "2", "49.95", "Widget", unit="pcs", discount_percent="10"),
                  line(seeded.s7, "1", "10.00", "Book", product_id=seeded.product, discount_amount="1.00")],
        "allowance_charges": [{"reason": "Loyalty", "percent": "5", "tax_rate_id": seeded.s19},
                              {"is_charge": True, "reason": "Shipping", "amount": "4.90", "tax_rate_id": seeded.s7}]})
    invoice_id = invoices.create_draft(db, ADMIN, entered)
    again = InvoiceDraftIn.from_stored(invoices.get_invoice(db, ADMIN, invoice_id, as_of=TODAY))
    assert again == replace_dates(entered)
    copy = invoices.get_invoice(db, ADMIN, invoices.create_draft(db, ADMIN, again), as_of=TODAY)
    assert copy.totals == invoices.get_invoice(db, ADMIN, invoice_id, as_of=TODAY).totals


def replace_dates(draft_in: InvoiceDraftIn) -> InvoiceDraftIn:
    """What from_stored leaves out: the dates (a copy is dated when issued)."""
    return draft_in.model_copy(update={"issue_date": None, "due_date": None})


def test_list_rows_are_typed_with_their_display_status(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19, "1", "100.00"))
    rows, total = invoices.list_invoices(db, ADMIN, as_of=TODAY, customer_id=seeded.acme)
    assert total == 1
    assert (rows[0].id, rows[0].display_status, rows[0].balance, rows[0].customer) == \
        (invoice_id, logic.UNPAID, D("119.00"), "Acme GmbH")
    assert replace(rows[0], display_status="") != rows[0]


def test_the_header_verify_reads_is_what_a_seal_covers() -> None:
    from dataclasses import fields

    from billing.documents import SealedHeader
    from billing.store.integrity import HEADER_COLUMNS

    assert tuple(f.name for f in fields(SealedHeader)) == HEADER_COLUMNS
