"""The HTML of a quote's customer page: its lines, totals and validity, and the customer's Accept / Decline forms."""

from __future__ import annotations

from datetime import date
from html import escape

from api.customer_page import lines_table, page
from billing import quotes
from billing.customer_view import CustomerQuote

NONCE_FIELD = "nonce"
STATUS_WORDS = {quotes.SENT: "Awaiting your answer", quotes.ACCEPTED: "Accepted", quotes.DECLINED: "Declined",
                quotes.EXPIRED: "Expired", quotes.CONVERTED: "Accepted"}


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _answer_html(view: CustomerQuote, today: date, nonce: str) -> str:
    """The forms while the quote can be answered, else what became of it."""
    quote, company = view.quote, str(view.company.get("legal_name") or "us")
    if view.open_for_answer(today):
        token, field = _text(view.token), f'<input type=hidden name={NONCE_FIELD} value="{_text(nonce)}">'
        return ("<div class=box><h2>Your answer</h2><p>Do you accept this quote?</p>"
                f'<form method=post action="{token}/accept">{field}'
                "<button class=primary type=submit>Accept quote</button></form>"
                f'<form method=post action="{token}/decline">{field}'
                "<button type=submit>Decline</button></form></div>")
    if quote.status in (quotes.ACCEPTED, quotes.CONVERTED):
        said = f"You accepted this quote on {_text(quote.decided_on)}. Thank you!"
    elif quote.status == quotes.DECLINED:
        said = f"You declined this quote on {_text(quote.decided_on)}."
    else:
        said = (f"This quote expired on {_text(quote.valid_until)}: it can no longer be accepted. Please ask "
                f"{_text(company)} for a new one.")
    return f"<div class=box><p><strong>{said}</strong></p></div>"


def render_quote_page(view: CustomerQuote, today: date, nonce: str) -> str:
    """The page of one quote (`today` for its validity; `nonce` goes into the answer forms)."""
    quote, company_name = view.quote, str(view.company.get("legal_name") or "")
    title = f"Quote {quote.number or ''} from {company_name}"
    expired = quote.status == quotes.SENT and not view.open_for_answer(today)
    status = "Expired" if expired else STATUS_WORDS.get(quote.status, quote.status.capitalize())
    facts = " · ".join(f"{label} {_text(value)}" for label, value in
                       (("Dated", quote.quote_date), ("Valid until", quote.valid_until)) if value)
    totals = quote.totals
    table = lines_table(quote.lines, quote.currency,
                        [("Net", totals.tax_exclusive), ("VAT", totals.tax_total), ("Total", totals.payable)])
    return page(title, view.company,
                f"<p><span class=status>{_text(status)}</span> {facts}</p><p>For {_text(quote.customer)}</p>"
                f"{table}{_answer_html(view, today, nonce)}"
                f'<p><a class=button href="{_text(view.token)}/pdf" download>Download PDF</a></p>')
