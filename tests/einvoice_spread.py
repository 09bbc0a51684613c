"""A spread of issued documents for the e-invoice tests and benchmark (every VAT category, allowances and charges,
JPY and KWD, credit notes, partly paid, direct debit), and how many of them pass which official rule sets."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from billing import credit_notes, customers, invoices, payments, settings
from billing.catalog import create_tax_rate
from billing.documents import InvoiceDocument
from billing.einvoice.content import Facts
from billing.einvoice.export import FORMATS, facts_of, packaged, render
from billing.einvoice.validation import EN16931, PROFILES, validate_bytes
from billing.einvoice.wording import explain
from billing.errors import ValidationError
from billing.store.db import Database
from tests.conftest import ADMIN, TODAY, Seed, draft, issued, line

COMPANY = {"legal_name": "Example GmbH", "country": "DE", "tax_id": "DE 136 695 976", "email": "billing@example.de",
           "address": "Hauptstraße 1\nHinterhaus\n10115 Berlin",
           "bank_details": "Example Bank, IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX",
           "creditor_id": "DE98ZZZ09999999999", "base_currency": "EUR", "timezone": "Europe/Berlin"}
# The issued documents of the spread ("kwd_fine" is issued too, but has amounts no e-invoice can carry).
ISSUED = ["mixed", "zero", "reverse_charge", "intra_community", "export", "not_subject", "jpy", "kwd",
          "partly_paid", "direct_debit", "credit_note", "credit_lines"]


def spread_documents(db: Database, seed_ids: Seed) -> dict[str, int]:
    """Issue the spread into a seeded database (tests.conftest.seed); the ids by name, with a draft."""
    settings.save_company(db, ADMIN, COMPANY)
    s19, s7, e0 = seed_ids.s19, seed_ids.s7, seed_ids.e0

    def rate(category: str, reason: str = "") -> int:
        return create_tax_rate(db, ADMIN, {"name": f"{category} 0%", "category": category, "percent": "0",
                                           "exemption_reason": reason})

    def customer(name: str, country: str, currency: str = "EUR", tax_id: str = "", iban: str = "") -> int:
        return customers.create_customer(db, ADMIN, {"name": name, "country": country, "currency": currency,
                                                     "tax_id": tax_id, "email": "ap@buyer.example",
                                                     "address": "Rue de la Paix 2\n75002 Paris", "iban": iban})

    z0, ae0 = rate("Z"), rate("AE", "Reverse charge")
    k0, g0 = rate("K", "Intra-community supply"), rate("G", "Export outside the EU")
    o0 = rate("O", "Not subject to VAT")
    fr = customer("Beta SARL", "FR", tax_id="FR 40 303 265 045", iban="FR7630006000011234567890189")
    us = customer("Gamma Inc", "US", "USD")
    jp = customer("Delta KK", "JP", "JPY")
    kw = customer("Kuwait Trading", "KW", "KWD")
    acme = seed_ids.acme
    ids = {
        "mixed": issued(db, acme, line(s19, "3", "19.99", discount_percent="10"),
                        line(s7, "2.5", "12.345678", unit="h", discount_amount="1.00"),
                        line(e0, "1", "80.00", description="Exempt course"),
                        allowance_charges=[{"reason": "Loyalty", "amount": "5.00", "tax_rate_id": s19},
                                           {"is_charge": True, "reason": "Shipping", "percent": "2.5",
                                            "tax_rate_id": s7}], notes="Thank you\nfor your order"),
        "zero": issued(db, acme, line(z0, "4", "25.00")),
        "reverse_charge": issued(db, fr, line(ae0, "10", "99.90")),
        "intra_community": issued(db, fr, line(k0, "1", "1500.00"),
                                  allowance_charges=[{"reason": "Volume", "percent": "5", "tax_rate_id": k0}]),
        "export": issued(db, us, line(g0, "2", "310.25")),
        "not_subject": issued(db, acme, line(o0, "1", "200.00")),
        "jpy": issued(db, jp, line(s19, "3", "1234"), line(s7, "1", "999", discount_percent="7")),
        "kwd": issued(db, kw, line(e0, "2", "10.125"), line(e0, "1", "3.330"),
                      exemption_reason="Exempt educational services"),
        "kwd_fine": issued(db, kw, line(s19, "2", "10.125"), line(e0, "1", "3.333")),
        "partly_paid": issued(db, acme, line(s19, "1", "1000.00")),
        "direct_debit": issued(db, fr, line(s19, "2", "49.90"), line(s7, "1", "12.00"),
                               payment_means="direct_debit", mandate_reference="MANDATE-2025-17"),
        "draft": draft(db, acme, line(s19)),
    }
    ids["credit_note"] = credit_notes.create_credit_note(db, ADMIN, ids["mixed"], today=TODAY, reason="Returned")
    ids["credit_lines"] = credit_notes.create_credit_note(db, ADMIN, ids["jpy"], today=TODAY, quantities={1: "1"})
    payments.record_payment(db, ADMIN, {"customer_id": acme, "amount": "300.00", "currency": "EUR",
                                        "received_on": TODAY.isoformat()}, [(ids["partly_paid"], Decimal("300.00"))])
    return ids


def with_prepaid(document: InvoiceDocument, prepaid: Decimal) -> InvoiceDocument:
    header = document.header
    return replace(document, header=replace(header, prepaid=prepaid, payable=header.tax_inclusive - prepaid))


def line_charged(document: InvoiceDocument) -> InvoiceDocument:
    """A line charge (imported documents carry them) on the first line, its net and the totals moved with it."""
    first, charge = document.lines[0], Decimal("2.50")
    lines = (replace(first, charge_amount=charge, net_amount=first.net_amount + charge), *document.lines[1:])
    taxes = tuple(replace(t, taxable=t.taxable + charge) if t.vat_category == first.vat_category
                  and t.vat_rate == first.vat_rate else t for t in document.taxes)
    header = document.header
    header = replace(header, line_total=header.line_total + charge, tax_exclusive=header.tax_exclusive + charge,
                     tax_inclusive=header.tax_inclusive + charge, payable=header.payable + charge)
    return replace(document, lines=lines, taxes=taxes, header=header)


def completed(facts: Facts) -> Facts:
    """The facts with what XRechnung and Peppol add: Leitweg-ID, seller contact, electronic addresses
    (and a structured buyer address where the customer has none)."""
    buyer = facts.buyer
    address = buyer.address if buyer.address.city else replace(buyer.address, street="Domkloster 4", city="Köln",
                                                                 postcode="50667")
    return replace(facts, buyer_reference="04011000-12345-67",
                   seller=replace(facts.seller, contact_name="Erika Muster", contact_phone="+49 30 1234567",
                                  electronic_address="DE136695976", electronic_scheme="9930"),
                   buyer=replace(buyer, address=address, electronic_address="FR40303265045",
                                 electronic_scheme="9957"))


def spread_variants(db: Database, ids: dict[str, int]) -> list[tuple[str, InvoiceDocument]]:
    """The issued documents of the spread as stored, and two more made from one (prepaid amount, line charge)."""
    documents = [(name, invoices.get_invoice(db, ADMIN, ids[name], as_of=TODAY)) for name in ISSUED]
    zero = dict(documents)["zero"]
    return [*documents, ("prepaid", with_prepaid(zero, Decimal("40.00"))), ("line_charge", line_charged(zero))]


@dataclass
class RuleSetCount:
    """How many documents of one format passed (schema and rules) one rule set, of how many checked."""

    fmt: str
    profile: str
    passed: int = 0
    checked: int = 0

    def __str__(self) -> str:
        return f"{FORMATS[self.fmt].label}: {self.passed}/{self.checked} passed {PROFILES[self.profile]}"


def rule_set_counts(db: Database, ids: dict[str, int]) -> tuple[list[RuleSetCount], list[str]]:
    """Every spread document in every format (Factur-X: the PDF), each rule set of the format run on its own:
    the counts per format and rule set, and a line per failure (document, format, rule in words)."""
    company = settings.get_company(db) or {}
    counts = {(fmt, profile): RuleSetCount(fmt, profile) for fmt, chosen in FORMATS.items()
              for profile in chosen.rules}
    failures: list[str] = []
    credited = invoices.get_invoice(db, ADMIN, ids["mixed"], as_of=TODAY).header.issue_date
    for name, document in spread_variants(db, ids):
        preceding = credited if document.credited_invoice else None
        for fmt, chosen in FORMATS.items():
            facts = facts_of(document, company, preceding)
            if chosen.rules != (EN16931,):
                facts = completed(facts)
            try:
                data = packaged(document, company, render(document, facts, chosen), chosen)
            except ValidationError as exc:  # counted as failed: every spread document must export
                failures.append(f"{name} {fmt}: {exc.message}")
                for profile in chosen.rules:
                    counts[fmt, profile].checked += 1
                continue
            for profile in chosen.rules:
                report = validate_bytes(data, [profile])
                count = counts[fmt, profile]
                count.checked += 1
                count.passed += report.valid
                failures += [f"{name} {fmt} {profile}: {problem}" for problem in
                             [*report.schema_errors, *(explain(failure).text for failure in report.failures)]]
    return list(counts.values()), failures
