"""Markdown injection: payloads in every stored text field, and a check that none of it renders as markup.

Each field gets its own tag (ZqCustomer, ZqLine, ...) inside a payload of everything Streamlit's Markdown
would render: bold, LaTeX, a colour directive, a remote image, HTML, a URL, "www.", an e-mail address (the
last three become links), a Material icon, the Streamlit logo and an HTML entity. `markup_in` mirrors how
Streamlit's renderer reads a Markdown body; the AppTest page walk and the browser test share both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from billing import catalog, credit_notes, customers, invoices, mailing, payments, quotes, recurring, settings, users
from billing.permissions import SYSTEM
from billing.store.db import Database, utcnow

USERNAME = "zq"  # an admin whose full name is a payload: the sidebar shows it on every page
PASSWORD = "Zq injection 4f1c9e27"
HOST = "ev.il"  # every URL of the payloads points here; a browser must never ask for it


def company_today() -> date:
    """Today where the seeded company is (Europe/Berlin): the payload documents are dated today."""
    return datetime.now(ZoneInfo("Europe/Berlin")).date()


def payload(tag: str, limit: int = 200) -> str:
    """One line of every Markdown construct around `tag`, cut to the field's length."""
    text = (f"{tag} **{tag}** ${tag}$ :red[{tag}] ![{tag}](http://{HOST}/{tag}.png) <b>{tag}</b> "
            f"http://{HOST}/{tag} www.{HOST} {tag}@{HOST} :material/home: :streamlit: &amp; _{tag}_")
    return text[:limit]


def lines(tag: str) -> str:
    """A multi-line payload (addresses, notes): block syntax at the start of each line."""
    return "\n".join([payload(tag), f"# {tag}", f"- {tag}", f"1. {tag}", f"> {tag}", f"    {tag}", tag, "---",
                      tag, "==="])


def compact(tag: str) -> str:
    """A payload without spaces, for fields that refuse them (e-mail addresses)."""
    return f"**{tag}**${tag}$:red[{tag}]![{tag}](http://{HOST}/i.png){tag}@{HOST}"


@dataclass(frozen=True)
class Payloads:
    """The ids of the records holding payloads, and the payloads the views look for by name."""

    customer: int
    product: int
    rate: int
    draft: int
    issued: int
    voided: int
    credit_note: int
    payment: int
    refund: int
    reversal: int
    customer_name: str
    product_name: str
    rate_name: str


def seed_payloads(db: Database, today: date) -> Payloads:
    """Payloads in the company profile, a user's name, a customer, a tax rate, a product, numbering patterns,
    invoice lines, notes, discounts, reasons (void, credit note, reversal), payment references, an accepted
    quote, a recurring schedule's name and the subject of an e-mail sent."""
    settings.save_company(db, SYSTEM, {
        "legal_name": payload("ZqCompany"), "address": lines("ZqCoAddress"), "country": "DE",
        "tax_id": "DE136695976", "tax_registration": payload("ZqCoTax", 50), "email": compact("ZqCoMail"),
        "bank_details": lines("ZqBank")[:500],
        "base_currency": "EUR", "timezone": "Europe/Berlin"})
    users.create_user(db, SYSTEM, USERNAME, PASSWORD, "admin", name=payload("ZqUserName"),
                      email=compact("ZqUserMail"))
    codes = {row["kind"]: row["code"] for row in settings.list_series(db, SYSTEM)}
    settings.set_series(db, SYSTEM, codes["invoice"], "**ZqNo**![ZqNo](http://ev.il)-{SEQ}")
    settings.set_series(db, SYSTEM, codes["credit_note"], "$ZqCn$:red[ZqCn]**ZqCn**{SEQ}")
    rate = catalog.create_tax_rate(db, SYSTEM, {"name": payload("ZqRate", 100), "category": "E", "percent": "0",
                                                "exemption_reason": payload("ZqExempt", 300)})
    product = catalog.create_product(db, SYSTEM, {"name": payload("ZqProduct"), "sku": payload("ZqSku", 64),
                                                  "unit": "**ZqUnit**:red[x]", "unit_price": "100.00",
                                                  "currency": "EUR", "tax_rate_id": rate})
    customer = customers.create_customer(db, SYSTEM, {
        "name": payload("ZqCustomer"), "email": compact("ZqCustMail"), "address": lines("ZqCustAddress"),
        "country": "DE", "tax_id": "DE136695976", "tax_registration": payload("ZqCustTax", 50), "currency": "EUR",
        "terms_days": 30,
        "notes": lines("ZqCustNotes")})

    def draft() -> int:
        return invoices.create_draft(db, SYSTEM, {
            "customer_id": customer, "notes": lines("ZqNotes"),
            "lines": [{"description": payload("ZqLine", 500), "quantity": "2", "unit_price": "100.00",
                       "tax_rate_id": rate, "unit": "**ZqUnit**:red[x]"},
                      {"description": payload("ZqProductLine"), "quantity": "1", "unit_price": "50.00",
                       "tax_rate_id": rate, "product_id": product}],
            "allowance_charges": [{"reason": payload("ZqAllowance"), "amount": "10.00", "tax_rate_id": rate}]})

    issued, voided = draft(), draft()
    for invoice_id in (issued, voided):
        invoices.issue_invoice(db, SYSTEM, invoice_id, today=today)
    invoices.void_invoice(db, SYSTEM, voided, payload("ZqVoid"), today=today)
    credit_note = credit_notes.create_credit_note(db, SYSTEM, issued, today=today, reason=payload("ZqCredit"),
                                              quantities={1: "1"})
    paid = {"customer_id": customer, "currency": "EUR", "received_on": today, "method": "bank_transfer"}
    payment = payments.record_payment(db, SYSTEM, {**paid, "amount": "50.00", "reference": payload("ZqRef")},
                                      allocate=[(issued, "20.00")])
    refund = payments.refund_credit(db, SYSTEM, customer, "EUR", "5.00", on=today, reference=payload("ZqRefund"))
    bounced = payments.record_payment(db, SYSTEM, {**paid, "amount": "7.00", "reference": payload("ZqBounced")})
    reversal = payments.reverse_payment(db, SYSTEM, bounced, on=today, reason=payload("ZqReverse"))
    quote_lines = [{"description": payload("ZqQuoteLine", 500), "quantity": "1", "unit_price": "10.00",
                    "tax_rate_id": rate}]
    quote = quotes.create_quote(db, SYSTEM, {"customer_id": customer, "notes": lines("ZqQuoteNotes"),
                                             "lines": quote_lines})
    quotes.send_quote(db, SYSTEM, quote, today)
    quotes.accept_quote(db, SYSTEM, quote, today)
    recurring.create_schedule(db, SYSTEM, {"name": payload("ZqSchedule"), "frequency": "month", "start_date": today,
                                           "template": {"customer_id": customer, "lines": quote_lines}})
    mailing.send_document(db, SYSTEM, "invoice", issued, to=["buyer@example.com"], cc=[],
                          subject=payload("ZqSubject"), body="The invoice.", now=utcnow())
    return Payloads(customer, product, rate, draft(), issued, voided, credit_note, payment, refund, reversal,
                    payload("ZqCustomer"), payload("ZqProduct"), payload("ZqRate", 100))


# --- how Streamlit reads a Markdown body -----------------------------------------------------------

# Syntax, in the source once backslash escapes are taken out (an escaped character is literal).
_SOURCE = {
    "bold": r"\*\*Zq[A-Za-z]+\*\*", "emphasis": r"_Zq[A-Za-z]+_", "LaTeX": r"\$Zq[A-Za-z]+\$",
    "colour directive": r":red\[Zq", "image": r"!\[Zq", "link": r"\]\(", "HTML": r"<b>Zq", "entity": r"&amp;",
    "heading": r"(?m)^[ \t]*#+ +Zq", "setext heading": r"(?m)^Zq[A-Za-z]+[ \t]*\n[ \t]*(?:=+|-+)[ \t]*$",
    "list": r"(?m)^[ \t]*(?:[-+*]|\d+[.)]) +Zq", "quote": r"(?m)^[ \t]*> *Zq", "code block": r"(?m)^ {4,}Zq",
}
# Streamlit turns these into links, icons and images from the TEXT, after escapes are resolved.
_TEXT = {"URL": rf"(?i)https?://{re.escape(HOST)}", "www link": rf"(?i)www\.{re.escape(HOST)}",
         "e-mail link": rf"[\w.+-]@{re.escape(HOST)}", "Material icon": r":material_home:", "logo": r":streamlit:"}


def markup_in(body: str) -> list[str]:
    """What of a payload in this Markdown body would render as markup (an empty list: nothing)."""
    rewritten = body.replace(":material/", ":material_")  # what Streamlit does to the source first
    source = re.sub(r"\\[\s\S]", "\x00", rewritten)
    text = re.sub(r"\\([\s\S])", r"\1", rewritten)
    found = [name for name, pattern in _SOURCE.items() if re.search(pattern, source)]
    return found + [name for name, pattern in _TEXT.items() if re.search(pattern, text)]


def shown_tags(body: str) -> set[str]:
    """The payload tags a reader sees in this Markdown body."""
    return set(re.findall(r"Zq[A-Za-z]+", re.sub(r"\\([\s\S])", r"\1", body)))
