"""The HTML of the customer's page: one document, how much is still due and how to pay it; every value escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from html import escape

from billing.customer_view import CustomerDocument
from billing.documents import StoredLine
from billing.einvoice.export import FORMATS
from billing.money import format_money
from billing.payment_qr import PaymentDetails, qr_modules
from billing.references import format_reference

STYLE = ("body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}"
         "table{border-collapse:collapse;width:100%}td,th{padding:.35rem .5rem;border-bottom:1px solid #ddd;"
         "text-align:left}td.n,th.n{text-align:right}.status{display:inline-block;padding:.15rem .6rem;"
         "border-radius:1rem;background:#eef}.box{border:1px solid #ddd;border-radius:.5rem;padding:1rem;"
         "margin:1rem 0}a.button{display:inline-block;padding:.5rem 1rem;background:#1d4ed8;color:#fff;"
         "border-radius:.4rem;text-decoration:none}button{font:inherit;padding:.5rem 1rem;border-radius:.4rem;"
         "border:1px solid #1d4ed8;background:#fff;color:#1d4ed8;cursor:pointer;margin-right:.5rem}"
         "button.primary{background:#1d4ed8;color:#fff}form{display:inline}")
NOT_VALID = ("<!doctype html><html lang=en><head><meta charset=utf-8><title>Link not valid</title>"
             f"<style>{STYLE}</style></head><body><h1>This link is not valid</h1><p>It may have expired or been "
             "withdrawn. Please ask the sender for a new one.</p></body></html>")
STATUS_WORDS = {"paid": "Paid", "unpaid": "Open", "partially_paid": "Partly paid", "overdue": "Overdue",
                "credited": "Credited", "void": "Void", "credit_note": "Credit note", "issued": "Issued"}


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def lines_table(lines: Sequence[StoredLine], currency: str, sums: Sequence[tuple[str, Decimal]]) -> str:
    """The lines of a document or quote as a table, with its sums (label, amount) in the footer."""
    rows = "".join(
        f"<tr><td>{_text(line.description)}</td><td class=n>{_text(line.quantity.normalize())}</td>"
        f"<td class=n>{_text(format_money(line.unit_price, currency))}</td>"
        f"<td class=n>{_text(format_money(line.net_amount, currency))}</td></tr>" for line in lines)
    footer = "".join(f"<tr><th colspan=3 class=n>{label}</th><td class=n>{_text(format_money(amount, currency))}"
                     "</td></tr>" for label, amount in sums)
    return ("<table><thead><tr><th>Description</th><th class=n>Quantity</th><th class=n>Unit price</th>"
            f"<th class=n>Amount</th></tr></thead><tbody>{rows}</tbody><tfoot>{footer}</tfoot></table>")


def _lines_html(view: CustomerDocument) -> str:
    document = view.document
    totals = document.totals
    sums = [("Net", totals.tax_exclusive), ("VAT", totals.tax_total), ("Total", totals.payable)]
    if not document.is_credit_note:
        sums.append(("Still due", document.balance))
    return lines_table(document.lines, document.currency, sums)


def page(title: str, company: dict[str, object], content: str) -> str:
    """A whole page: the seller's name and address, the title, the content (already escaped HTML)."""
    address = _text(company.get("address") or "").replace(chr(10), "<br>")
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            f"<meta name=robots content=noindex><title>{_text(title)}</title><style>{STYLE}</style></head><body>"
            f"<p>{_text(company.get('legal_name') or '')}<br>{address}</p><h1>{_text(title)}</h1>{content}"
            "</body></html>")


def qr_svg(payload: str, scale: int = 4) -> str:
    """The EPC QR code as inline SVG (no script, no external image: the page's CSP allows neither)."""
    code = qr_modules(payload)
    side = (code.size + 8) * scale  # a quiet zone of 4 modules around it
    rects = "".join(f'<rect x="{(column + 4) * scale}" y="{(row + 4) * scale}" width="{length * scale}" '
                    f'height="{scale}"/>' for row, column, length in code.runs)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" role="img" '
            f'aria-label="EPC payment QR code"><rect width="{side}" height="{side}" fill="#fff"/>'
            f'<g fill="#000">{rects}</g></svg>')


def _payment_html(payment: PaymentDetails, company_name: str) -> str:
    facts = [("Amount", format_money(payment.amount, payment.currency)), ("Beneficiary", company_name)]
    if payment.iban:
        facts.append(("IBAN", " ".join(payment.iban[i:i + 4] for i in range(0, len(payment.iban), 4))))
    if payment.bic:
        facts.append(("BIC", payment.bic))
    if payment.reference:
        facts.append(("Reference", format_reference(payment.reference)))
    rows = "".join(f"<tr><th>{label}</th><td>{_text(value)}</td></tr>" for label, value in facts)
    qr = (f"<p>Scan with your banking app to pay:</p>{qr_svg(payment.qr_payload)}" if payment.qr_payload else "")
    return f'<div class=box><h2>How to pay</h2><table>{rows}</table>{qr}</div>'


def render_page(view: CustomerDocument, today: date) -> str:
    """The page of one document (`today` for the due-date wording)."""
    document, header = view.document, view.document.header
    company_name = str(view.company.get("legal_name") or "")
    kind = "Credit note" if document.is_credit_note else "Invoice"
    title = f"{kind} {header.number or ''} from {company_name}"
    status = STATUS_WORDS.get(document.status, document.status.replace("_", " ").capitalize())
    facts = [("Issued", header.issue_date), ("Due", header.due_date)] if not document.is_credit_note else [
        ("Issued", header.issue_date)]
    fact_html = " · ".join(f"{label} {_text(value)}" for label, value in facts if value)
    paid = document.totals.payable - document.balance if not document.is_credit_note else Decimal(0)
    paid_html = (f"<p>Paid or credited so far: {_text(format_money(paid, document.currency))}</p>"
                 if paid > 0 else "")
    overdue = (f"<p><strong>Overdue since {_text(header.due_date)}.</strong></p>"
               if document.status == "overdue" and header.due_date and header.due_date < today else "")
    payment = _payment_html(view.payment, company_name) if view.payment is not None else ""
    token = escape(view.token, quote=True)  # relative: the page is /d/<token>, its PDF /d/<token>/pdf
    return page(title, view.company,
                f"<p><span class=status>{_text(status)}</span> {fact_html}</p>"
                f"<p>For {_text(document.customer.name)}</p>{overdue}{_lines_html(view)}{paid_html}{payment}"
                f'<p><a class=button href="{token}/pdf" download>Download PDF</a>{_einvoice_html(view, token)}</p>')


def _einvoice_html(view: CustomerDocument, token: str) -> str:
    chosen = FORMATS.get(view.einvoice_format)
    return (f' <a class=button href="{token}/einvoice" download>Download e-invoice ({_text(chosen.label)})</a>'
            if chosen else "")
