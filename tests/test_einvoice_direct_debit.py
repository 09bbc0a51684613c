"""SEPA direct debit in e-invoices: mandate (BT-89), creditor identifier (BT-90) and debited account (BT-91) in UBL,
CII and Factur-X, through the official rules of every format; asked for only when direct debit is chosen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from billing import customers, invoices, settings
from billing.einvoice.export import FORMATS, export_document, format_of
from billing.einvoice.preissue import check_before_issue
from billing.einvoice.source import read_document
from billing.einvoice.validation import XRECHNUNG, validate_bytes
from billing.errors import ValidationError
from billing.models import CompanyIn, CustomerIn, parse
from billing.payment_qr import payment_details
from billing.store.db import Database
from tests.conftest import ADMIN, TODAY, Templates, copy_template, database_url, draft, issued, line
from tests.test_einvoice_export import _failures
from tests.test_parties import BUYER, COMPANY

CREDITOR_ID = "DE98ZZZ09999999999"  # the Bundesbank's example creditor identifier
DEBITED = "DE02120300000000202051"
SELLER = {**COMPANY, "electronic_address": "DE136695976", "electronic_scheme": "9930", "creditor_id": CREDITOR_ID}
DEBIT = {"buyer_reference": "05315-12345-67", "payment_means": "direct_debit", "mandate_reference": "MANDATE-0815"}
NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


@dataclass(frozen=True)
class World:
    db: Database
    customer: int
    debit: int


def _database(templates: Templates, folder: Path, company: dict[str, Any], buyer: dict[str, Any]) -> Database:
    """A copy of the seeded database with the company profile and the customer Acme's profile given."""
    db = Database(database_url(copy_template(templates.seeded, folder / "debit.duckdb")))
    db.migrate()
    settings.save_company(db, ADMIN, company)
    customers.update_customer(db, ADMIN, templates.seed.acme, buyer)
    return db


@pytest.fixture(scope="module")
def world(templates: Templates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    seed = templates.seed
    db = _database(templates, tmp_path_factory.mktemp("debit"), SELLER, {**BUYER, "iban": DEBITED})
    yield World(db, seed.acme, issued(db, seed.acme, line(seed.s19, "2", "150.00"), **DEBIT))
    db.dispose()


def _xml(data: bytes) -> etree._Element:
    return read_document(data).root  # the XML itself, or the one a Factur-X PDF carries


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_direct_debit_passes_the_official_rules_of_every_format(world: World, fmt: str) -> None:
    _, _, data = export_document(world.db, ADMIN, world.debit, fmt, validate=False)
    report = validate_bytes(data, format_of(fmt).rules)
    assert report.valid, _failures(report)
    root = _xml(data)

    def text(path: str) -> str:
        return str(root.xpath(f"string({path})", namespaces=NS))

    if format_of(fmt).ubl:
        assert text("cac:PaymentMeans/cbc:PaymentMeansCode") == "59"
        assert text("cac:PaymentMeans/cac:PaymentMandate/cbc:ID") == "MANDATE-0815"
        assert text("cac:PaymentMeans/cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID") == DEBITED
        assert text("cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID[@schemeID='SEPA']") == (
            CREDITOR_ID)
    else:
        settlement = "//ram:ApplicableHeaderTradeSettlement"
        assert text(f"{settlement}/ram:CreditorReferenceID") == CREDITOR_ID
        assert text(f"{settlement}/ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "59"
        assert text(f"{settlement}/ram:SpecifiedTradeSettlementPaymentMeans/ram:PayerPartyDebtorFinancialAccount"
                    "/ram:IBANID") == DEBITED
        assert text(f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:DirectDebitMandateID") == "MANDATE-0815"


def test_without_the_creditor_id_and_the_iban_the_export_names_both(templates: Templates, tmp_path: Path) -> None:
    seed = templates.seed
    db = _database(templates, tmp_path, COMPANY, BUYER)
    invoice_id = issued(db, seed.acme, line(seed.s19, "1", "10.00"), **DEBIT)
    for fmt in ("xrechnung-cii", "ubl"):
        with pytest.raises(ValidationError) as caught:
            export_document(db, ADMIN, invoice_id, fmt)
        assert caught.value.message.endswith(
            "needs: Company SEPA creditor identifier (BT-90) in settings, for payment by direct debit; Customer's "
            "IBAN to debit (BT-91), for payment by direct debit.")
    db.dispose()


def test_the_official_xrechnung_rules_ask_for_both(world: World) -> None:
    from billing.einvoice.wording import explain

    _, _, xml = export_document(world.db, ADMIN, world.debit, "xrechnung-ubl", validate=False)
    root = etree.fromstring(xml)
    for element in root.xpath("//cac:PayerFinancialAccount | //cac:PartyIdentification[cbc:ID/@schemeID='SEPA']",
                              namespaces=NS):
        element.getparent().remove(element)
    report = validate_bytes(etree.tostring(root), [XRECHNUNG])
    assert {"BR-DE-30", "BR-DE-31"} <= set(report.failed_rules)
    assert [explain(f).text for f in report.failures if f.rule_id == "BR-DE-30"] == [
        "Creditor identifier (BT-90) is required for a direct debit: BR-DE-30"]


def test_creditor_id_and_debited_account_are_frozen_at_issue(world: World) -> None:
    _, _, before = export_document(world.db, ADMIN, world.debit, "cii")
    settings.save_company(world.db, ADMIN, {**SELLER, "creditor_id": "ES23ZZZ47690558N"})
    customers.update_customer(world.db, ADMIN, world.customer, {**BUYER, "iban": "DE02100100100006820101"})
    try:
        assert export_document(world.db, ADMIN, world.debit, "cii")[2] == before
    finally:
        settings.save_company(world.db, ADMIN, SELLER)
        customers.update_customer(world.db, ADMIN, world.customer, {**BUYER, "iban": DEBITED})


def test_the_pdf_and_the_payment_details_announce_the_direct_debit_without_a_transfer(world: World) -> None:
    from billing.parties import company_as_issued
    from billing.pdf import render_invoice_pdf
    from tests.test_pdf import pdf_text

    document = invoices.get_invoice(world.db, ADMIN, world.debit, as_of=TODAY)
    company = company_as_issued(document.seller, settings.get_company(world.db) or {})
    details = payment_details(document, company)
    assert details is not None and details.direct_debit and details.qr_payload is None and details.iban == ""
    assert (details.mandate, details.creditor_id, details.debited_iban) == ("MANDATE-0815", CREDITOR_ID, DEBITED)
    text = " ".join(pdf_text(render_invoice_pdf(document, company)).split())
    assert "€357.00 will be collected by SEPA direct debit on or after" in text
    assert all(part in text for part in ("From account: DE02 1203 0000 0000 2020 51",
                                         "Mandate reference: MANDATE-0815", f"Creditor identifier: {CREDITOR_ID}"))
    assert "Please pay" not in text and "Scan to pay" not in text and "DE89 3704" not in text
    german = " ".join(pdf_text(render_invoice_pdf(document, company, language="de")).split())
    assert "per SEPA-Lastschrift eingezogen" in german and "Mandatsreferenz: MANDATE-0815" in german


def test_the_check_before_issue_asks_for_the_creditor_id_only_for_a_direct_debit(templates: Templates,
                                                                                  tmp_path: Path) -> None:
    seed = templates.seed
    db = _database(templates, tmp_path, COMPANY, {**BUYER, "einvoice_format": "xrechnung-ubl"})
    debit = draft(db, seed.acme, line(seed.s19), **DEBIT)
    transfer = draft(db, seed.acme, line(seed.s19), buyer_reference="05315-12345-67")
    assert check_before_issue(db, ADMIN, transfer, TODAY).passed
    assert check_before_issue(db, ADMIN, debit, TODAY).problems == (
        "Company SEPA creditor identifier (BT-90) in settings, for payment by direct debit.",
        "Customer's IBAN to debit (BT-91), for payment by direct debit.")
    settings.save_company(db, ADMIN, {**COMPANY, "creditor_id": CREDITOR_ID})
    customers.update_customer(db, ADMIN, seed.acme, {**BUYER, "einvoice_format": "xrechnung-ubl", "iban": DEBITED})
    assert check_before_issue(db, ADMIN, debit, TODAY).passed
    db.dispose()


@pytest.mark.parametrize(("typed", "stored"), [("de98 zzz0 9999 9999 99", CREDITOR_ID), ("", ""),
                                               ("ES 23 ZZZ 47690558N", "ES23ZZZ47690558N")])
def test_the_creditor_id_is_stored_compact(typed: str, stored: str) -> None:
    assert parse(CompanyIn, {**COMPANY, "creditor_id": typed}).creditor_id == stored


@pytest.mark.parametrize(("typed", "message"), [
    ("DE99ZZZ09999999999", "Creditor identifier (BT-90): the check digits are wrong"),
    ("DE98", "Creditor identifier (BT-90): a SEPA creditor identifier starts with a two-letter country code"),
])
def test_a_wrong_creditor_id_is_named(typed: str, message: str) -> None:
    with pytest.raises(ValidationError, match="^" + re.escape(message)):
        parse(CompanyIn, {**COMPANY, "creditor_id": typed})


def test_the_customers_iban_is_checked_and_compact() -> None:
    assert parse(CustomerIn, {**BUYER, "iban": "de02 1203 0000 0000 2020 51"}).iban == DEBITED
    with pytest.raises(ValidationError, match=r"^IBAN: the check digits are wrong"):
        parse(CustomerIn, {**BUYER, "iban": "DE03120300000000202051"})
