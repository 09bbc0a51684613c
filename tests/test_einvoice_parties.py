"""E-invoices from the stored party data: an XRechnung with a Leitweg-ID and full addresses passes the official
XRechnung rules (and Peppol's with Peppol addresses); missing data is named in the bookkeeper's words."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from lxml import etree

from billing import customers, settings
from billing.einvoice.export import export_document, format_of
from billing.einvoice.validation import validate_bytes
from billing.errors import ValidationError
from billing.store.db import Database
from tests.conftest import ADMIN, Templates, copy_template, database_url, issued, line
from tests.test_einvoice_export import _failures
from tests.test_parties import BUYER, COMPANY


@dataclass(frozen=True)
class World:
    db: Database
    ids: dict[str, int]


@pytest.fixture(scope="module")
def world(templates: Templates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path = copy_template(templates.seeded, tmp_path_factory.mktemp("parties") / "parties.duckdb")
    db = Database(database_url(path))
    db.migrate()
    seed = templates.seed
    settings.save_company(db, ADMIN, COMPANY)
    customers.update_customer(db, ADMIN, seed.acme, BUYER)
    peppol = customers.create_customer(db, ADMIN, {**BUYER, "name": "Beta B.V.", "country": "NL",
                                                   "street": "Kerkstraat 4", "postcode": "1012 AB",
                                                   "city": "Amsterdam", "tax_id": "NL004495445B01",
                                                   "electronic_address": "0106:12345678",
                                                   "electronic_scheme": "0106"})
    settings.save_company(db, ADMIN, {**COMPANY, "electronic_address": "DE136695976", "electronic_scheme": "9930"})
    details = {"buyer_reference": "05315-12345-67", "order_reference": "PO-4711", "delivery_date": "2025-03-01",
               "payment_terms": "Payable within 30 days without deduction."}
    ids = {
        "leitweg": issued(db, seed.acme, line(seed.s19, "2", "150.00"), **details),
        "period": issued(db, seed.acme, line(seed.s19, "1", "90.00"), buyer_reference="05315-12345-67",
                         period_start="2025-02-01", period_end="2025-02-28"),
        "exempt": issued(db, seed.acme, line(seed.e0, "1", "80.00"), buyer_reference="05315-12345-67",
                         exemption_reason="Steuerfrei nach § 4 Nr. 21 UStG", exemption_code="VATEX-EU-132-1I"),
        "no_leitweg": issued(db, seed.acme, line(seed.s19, "1", "10.00")),
        "peppol": issued(db, peppol, line(seed.s19, "1", "10.00"), order_reference="PO-12"),
    }
    yield World(db, ids)
    db.dispose()


@pytest.mark.parametrize("fmt", ["xrechnung-ubl", "xrechnung-cii"])
@pytest.mark.parametrize("name", ["leitweg", "period", "exempt"])
def test_xrechnung_with_a_leitweg_id_and_full_addresses_passes_the_official_rules(world: World, name: str,
                                                                                  fmt: str) -> None:
    _, _, xml = export_document(world.db, ADMIN, world.ids[name], fmt, validate=False)
    report = validate_bytes(xml, format_of(fmt).rules)
    assert report.valid, _failures(report)


def test_the_xml_carries_the_party_data_and_the_details(world: World) -> None:
    _, _, xml = export_document(world.db, ADMIN, world.ids["leitweg"], "xrechnung-ubl")
    root = etree.fromstring(xml)
    ns = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
          "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}

    def text(path: str) -> str:
        return str(root.xpath(f"string({path})", namespaces=ns))

    assert text("cbc:BuyerReference") == "05315-12345-67"
    assert text("cac:OrderReference/cbc:ID") == "PO-4711"
    assert text("cac:Delivery/cbc:ActualDeliveryDate") == "2025-03-01"
    assert text("cac:PaymentTerms/cbc:Note") == "Payable within 30 days without deduction."
    buyer = "cac:AccountingCustomerParty/cac:Party"
    assert text(f"{buyer}/cbc:EndpointID") == "05315-12345-67"
    assert text(f"{buyer}/cbc:EndpointID/@schemeID") == "0204"
    assert text(f"{buyer}/cac:PostalAddress/cbc:StreetName") == "Domkloster 4"
    assert text(f"{buyer}/cac:PostalAddress/cbc:PostalZone") == "50667"
    assert text(f"{buyer}/cac:PartyTaxScheme/cbc:CompanyID") == "DE811569869"
    assert text(f"{buyer}/cac:PartyLegalEntity/cbc:CompanyID") == "HRB 1234"
    seller = "cac:AccountingSupplierParty/cac:Party"
    assert text(f"{seller}/cac:Contact/cbc:Name") == "Erika Muster"
    assert text("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == "DE89370400440532013000"
    _, _, cii = export_document(world.db, ADMIN, world.ids["exempt"], "xrechnung-cii")
    assert b"<ram:ExemptionReasonCode>VATEX-EU-132-1I</ram:ExemptionReasonCode>" in cii
    assert "Steuerfrei nach § 4 Nr. 21 UStG".encode() in cii


@pytest.mark.parametrize("fmt", ["peppol", "ubl", "cii"])
def test_peppol_passes_with_electronic_addresses_of_the_eas_list(world: World, fmt: str) -> None:
    _, _, xml = export_document(world.db, ADMIN, world.ids["peppol"], fmt, validate=False)
    report = validate_bytes(xml, format_of(fmt).rules)
    assert report.valid, _failures(report)


def test_xrechnung_without_a_leitweg_id_names_the_field(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        export_document(world.db, ADMIN, world.ids["no_leitweg"], "xrechnung-ubl")
    assert caught.value.message == "An e-invoice in XRechnung 3.0 (UBL) needs: Leitweg-ID (buyer reference, BT-10)."


def test_a_plain_en16931_export_does_not_ask_for_the_leitweg_id(world: World) -> None:
    for fmt in ("ubl", "cii"):
        export_document(world.db, ADMIN, world.ids["no_leitweg"], fmt)
