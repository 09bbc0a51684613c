"""Invoice and credit-note PDFs (fpdf2), drawn on billing.pdf_document's Document: company header and
logo, customer block, numbered lines, VAT breakdown, totals, payment instructions and a status stamp."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, cast

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from fpdf.enums import Align, XPos, YPos

from billing import logic
from billing.bank_accounts import format_iban
from billing.discounts import format_discount
from billing.document_details import detail_rows, identifier_texts
from billing.document_totals import total_rows
from billing.documents import DocumentParty, InvoiceDocument, StoredAllowanceCharge, StoredLine
from billing.i18n import CATALOGUES, Wording, wording_for
from billing.money import decimals_of, format_money, minor_unit
from billing.parties import company_as_issued, seller_of_company
from billing.payment_qr import PaymentDetails, payment_details, qr_modules
from billing.pdf_document import FONT_FAMILY, GREY, LIGHT_FILL, LINE_COLOUR, Document, build_pdf
from billing.references import format_reference

STAMP_COLOURS = {"VOID": (200, 30, 30), "PAID": (20, 140, 60), "DRAFT": (120, 120, 120),
                 "CREDIT NOTE": (30, 80, 180), "CREDITED": (30, 80, 180)}
STAMP_KEYS = {"VOID": "stamp.void", "PAID": "stamp.paid", "DRAFT": "stamp.draft", "CREDIT NOTE": "stamp.credit_note",
              "CREDITED": "stamp.credited"}
REVERSE_CHARGE_TEXTS = frozenset(catalogue["vat.reverse_charge"] for catalogue in CATALOGUES.values())
# billing.document_totals' rows by label -> their text in the catalogue (VAT rows are worded apart)
TOTAL_KEYS = {"Lines": "total.lines", "Discounts": "total.discounts", "Charges": "total.charges",
              "Net amount": "total.net", "Total": "total.total", "Prepaid": "total.prepaid",
              "Rounding": "total.rounding", "Amount payable": "total.payable", "Paid": "total.paid",
              "Credited": "total.credited", "Balance due": "total.balance"}
QR_SIDE = 30  # mm: the EPC QR code, at least 2.5 cm for a phone camera at reading distance
QR_CAPTION_WIDTH = 34
QR_QUIET = 4  # mm of white beside the code: more than the four modules ISO/IEC 18004 asks for


# --- formatting --------------------------------------------------------------------------------

def _quantity(value: Decimal, locale: str) -> str:
    return format_decimal(value, locale=locale, decimal_quantization=False)


def _percent(value: Decimal, locale: str) -> str:
    """19 -> '19%' in English, '19 %' in German and French (the locale's percent sign and spacing)."""
    return format_percent(value / 100, locale=locale, decimal_quantization=False)


def _price(value: Decimal, currency: str, locale: str) -> str:
    # Unit prices may carry more decimals than the currency (up to 6): print them exactly
    # rather than rounded, which format_money (an amount's formatting) would do.
    if decimals_of(value) <= minor_unit(currency):
        return format_money(value, currency, locale)
    return format_currency(value, currency, locale=locale, currency_digits=True, decimal_quantization=False)


def _date(value: date | None, locale: str) -> str:
    """A date in words, as letters write it: '4. Dezember 2026', 'December 4, 2026'."""
    return format_date(value, "long", locale=locale) if value else "—"


def _category(code: str, words: Wording) -> str:
    return words.text(f"category.{code}") if code in logic.VAT_CATEGORIES else code


def _country(code: str | None, locale: str) -> str:
    """The country of a postal address by name in the document's language ('PL' -> 'Poland')."""
    return str(_territories(locale).get(code.upper(), code)) if code else ""


@functools.cache
def _territories(locale: str) -> dict[str, str]:
    return dict(Locale.parse(locale).territories)


def _exemption_text(reason: str, words: Wording) -> str:
    """A tax rate's exemption reason; the catalogue's reverse-charge text (any language) in the document's."""
    return words.text("vat.reverse_charge") if reason in REVERSE_CHARGE_TEXTS else reason


def _discount(line: StoredLine, currency: str, locale: str) -> str:
    return format_discount(line.discount_percent, line.discount_amount, currency,
                           money=functools.partial(format_money, locale=locale),
                           number=functools.partial(_quantity, locale=locale))


QUOTE_KIND = "quote"  # billing.quotes renders a quote as a document of this kind


def stamp_of(document: InvoiceDocument) -> str | None:
    """The stamp a document carries, if any: VOID, PAID, CREDIT NOTE or DRAFT."""
    return {logic.VOID: "VOID", logic.PAID: "PAID", logic.CREDIT_NOTE: "CREDIT NOTE", logic.CREDITED: "CREDITED",
            logic.DRAFT: "DRAFT"}.get(document.status)


def _allowance_charge_amount(item: StoredAllowanceCharge, document: InvoiceDocument) -> Decimal:
    """One allowance or charge's amount, by the rule `compute_totals` applies (percent of line total)."""
    single = replace(item.to_logic(base_amount=document.totals.line_total), is_charge=False)
    return logic.compute_totals((), [single], document.currency).allowance_total


# --- the invoice -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Column:
    title: str
    width: float
    align: Align = Align.L


def render_invoice_pdf(document: InvoiceDocument, company: dict[str, Any], *, language: str | None = None,
                       locale: str | None = None, compliance: str | None = None,
                       finish: Callable[[Document], None] | None = None) -> bytes:
    """The invoice, credit note or quote as a PDF, laid out for printing and sending, in the customer's language
    (or `language`), its amounts and dates formatted for the customer's country (or `locale`). `compliance` (e.g.
    "PDF/A-3B") as fpdf2 enforces it; `finish` is called on the drawn document (to attach files, set its XMP)."""
    company = company_as_issued(document.seller, company)  # the seller as frozen when it was issued
    seller = document.seller or seller_of_company(company)
    words = wording_for(language or document.customer.language, document.customer.country, locale=locale)
    footer = "  ·  ".join(part for part in (
        seller.name, words.text("document.vat_id", vat_id=seller.tax_id) if seller.tax_id else "", seller.email)
        if part)
    is_quote = document.header.kind == QUOTE_KIND
    kind = "credit_note" if document.is_credit_note else "quote" if is_quote else "invoice"
    number = document.header.number or words.text("document.draft")

    def draw(pdf: Document) -> None:
        pdf.set_title(f"{words.text(kind + '.name')} {number}")
        pdf.set_author(seller.name)
        pdf.add_page()
        _draw_header(pdf, document, company, seller, (words.text(kind + ".title"), number), words)
        _draw_lines(pdf, document, words)
        _draw_allowance_charges(pdf, document, words)
        _draw_summary(pdf, document, words)
        if not is_quote:  # a quote asks for no payment yet
            _draw_payment(pdf, document, company, number, words)
        stamp = stamp_of(document)
        if stamp:
            _draw_stamp(pdf, stamp, words.text(STAMP_KEYS[stamp]))
        if finish is not None:
            finish(pdf)

    return build_pdf(draw, text=_printed_text(document, company), page_size=company.get("page_size") or "A4",
                     footer_text=footer, page_label=words.text("document.page", page="{page}", pages="{pages}"),
                     compliance=compliance)


def _printed_text(document: InvoiceDocument, company: dict[str, Any]) -> str:
    """The free text a document prints (names, addresses, descriptions): it picks the font cut."""
    return "".join([*(value for value in company.values() if isinstance(value, str)), *document.texts()])


def _text_block(pdf: Document, x: float, width: float, lines: Sequence[str], size: float = 9) -> None:
    pdf.set_font(FONT_FAMILY, "", size)
    for text in lines:
        for part in text.splitlines() or [""]:
            pdf.set_x(x)
            pdf.cell(width, size * 0.45, part, new_x=XPos.LEFT, new_y=YPos.NEXT)


def _label(pdf: Document, x: float, width: float, text: str) -> None:
    with pdf.local_context(text_color=GREY):
        pdf.set_font(FONT_FAMILY, "B", 7.5)
        pdf.set_x(x)
        pdf.cell(width, 4.5, text.upper(), new_x=XPos.LEFT, new_y=YPos.NEXT)


def _party_lines(party: DocumentParty, words: Wording) -> list[str]:
    """A party block under its name: address, country, identifiers."""
    return [party.address, _country(party.country, words.locale), *identifier_texts(party, words.text)]


def _draw_header(pdf: Document, document: InvoiceDocument, company: dict[str, Any], seller: DocumentParty,
                 heading: tuple[str, str], words: Wording) -> None:
    title, number = heading
    locale = words.locale
    left, top, half = pdf.l_margin, pdf.t_margin, pdf.epw / 2
    right = left + half + 10
    if company.get("logo"):
        pdf.image(io.BytesIO(company["logo"]), x=pdf.w - pdf.r_margin - 45, y=top, w=45, h=20, keep_aspect_ratio=True)
    pdf.set_xy(left, top)
    pdf.set_font(FONT_FAMILY, "B", 13)
    pdf.cell(half, 7, seller.name, new_x=XPos.LEFT, new_y=YPos.NEXT)
    contact = " · ".join(part for part in (seller.contact_name, seller.contact_phone) if part)
    _text_block(pdf, left, half, [line for line in (*_party_lines(seller, words), seller.email, contact) if line])
    company_bottom = pdf.get_y()

    pdf.set_xy(right, top + 24)
    pdf.set_font(FONT_FAMILY, "B", 20)
    pdf.cell(pdf.w - pdf.r_margin - right, 10, title, align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, "", 10)
    pdf.cell(pdf.w - pdf.r_margin - right, 6, words.text("document.number", number=number), align=Align.R,
             new_x=XPos.LEFT, new_y=YPos.NEXT)
    facts = [(words.text("document.issue_date"), _date(document.header.issue_date, locale))]
    if document.is_credit_note:
        credited = document.credited_invoice.number if document.credited_invoice else None
        if credited:
            facts.append((words.text("document.credits_invoice"), credited))
    else:
        due_key = "quote.valid_until" if document.header.kind == QUOTE_KIND else "document.due_date"
        facts.append((words.text(due_key), _date(document.header.due_date, locale)))
    facts.append((words.text("document.currency"), document.currency))
    facts += detail_rows(document.header, lambda day: _date(day, locale), words.text)
    pdf.ln(1)
    for name, value in facts:
        pdf.set_x(right)
        with pdf.local_context(text_color=GREY):
            pdf.set_font(FONT_FAMILY, "", 9)
            pdf.cell(34, 5, name)
        pdf.set_font(FONT_FAMILY, "B", 9)
        pdf.cell(pdf.w - pdf.r_margin - right - 34, 5, value, align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)
    facts_bottom = pdf.get_y()

    pdf.set_xy(left, max(company_bottom + 8, top + 34))
    customer = document.customer
    _label(pdf, left, half, words.text("document.credit_to" if document.is_credit_note else "document.bill_to"))
    pdf.set_font(FONT_FAMILY, "B", 10)
    pdf.cell(half, 5.5, customer.name, new_x=XPos.LEFT, new_y=YPos.NEXT)
    _text_block(pdf, left, half, [line for line in _party_lines(customer, words) if line])
    pdf.set_xy(left, max(pdf.get_y(), facts_bottom) + 8)
    if document.header.payment_terms:
        _text_block(pdf, left, pdf.epw, [words.text("document.payment_terms", terms=document.header.payment_terms)])
        pdf.ln(4)


def _draw_stamp(pdf: Document, stamp: str, text: str) -> None:
    """A tilted, translucent boxed word: in the free space below the content when the last page has
    room for it, else across the first page over what is there."""
    colour, last_page = STAMP_COLOURS[stamp], pdf.page
    below = pdf.get_y() + 12
    room = pdf.page_break_trigger - below >= 40
    if not room:
        pdf.page = 1
    with pdf.local_context(text_color=colour, draw_color=colour, line_width=1.2, fill_opacity=0.35,
                           stroke_opacity=0.35):
        pdf.set_font(FONT_FAMILY, "B", 34)
        width, height = pdf.get_string_width(text) + 14, 17
        x, y = (pdf.w - width) / 2, below + 8 if room else 100
        with pdf.rotation(angle=12, x=x + width / 2, y=y + height / 2):
            pdf.set_xy(x, y)
            pdf.cell(width, height, text, border=1, align=Align.C)
    pdf.page = last_page  # the footer of the last page is drawn on output, on the current page


def _line_columns(pdf: Document, words: Wording) -> list[_Column]:
    fixed = [_Column(words.text("column.position"), 7, Align.R), _Column(words.text("column.quantity"), 16, Align.R),
             _Column(words.text("column.unit"), 13), _Column(words.text("column.unit_price"), 24, Align.R),
             _Column(words.text("column.discount"), 19, Align.R), _Column(words.text("column.vat"), 13, Align.R),
             _Column(words.text("column.net"), 27, Align.R)]
    description = _Column(words.text("column.description"), pdf.epw - sum(column.width for column in fixed))
    return [fixed[0], description, *fixed[1:]]


def _table_header(pdf: Document, columns: Sequence[_Column]) -> None:
    pdf.set_font(FONT_FAMILY, "B", 8)
    with pdf.local_context(fill_color=LIGHT_FILL):
        pdf.set_x(pdf.l_margin)
        for column in columns:
            pdf.cell(column.width, 6.5, pdf.fitted(column.title, column.width), align=column.align, fill=True)
    pdf.ln(6.5)
    pdf.set_font(FONT_FAMILY, "", 8.5)


def _wrapped(pdf: Document, text: str, width: float) -> list[str]:
    """`text` broken into lines that fit `width` (multi_cell's dry run only when it does not fit)."""
    if "\n" not in text and pdf.get_string_width(text) <= width - 2 * pdf.c_margin:
        return [text]
    lines = cast(list[str], pdf.multi_cell(width, 4, text, dry_run=True, output="LINES"))
    return lines or [""]


def _draw_lines(pdf: Document, document: InvoiceDocument, words: Wording) -> None:
    currency, locale = document.currency, words.locale
    columns = _line_columns(pdf, words)
    _table_header(pdf, columns)
    line_height = 4.4
    for position, line in enumerate(document.lines, start=1):
        description = _wrapped(pdf, line.description, columns[1].width)
        values = [str(position), description[0], _quantity(line.quantity, locale), line.unit,
                  _price(line.unit_price, currency, locale), _discount(line, currency, locale),
                  _percent(line.vat_rate, locale), format_money(line.net_amount, currency, locale)]
        height = len(description) * line_height + 1.6
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            _table_header(pdf, columns)
        top = pdf.get_y()
        pdf.set_xy(pdf.l_margin, top + 0.8)
        for column, value in zip(columns, values, strict=True):
            pdf.cell(column.width, line_height, value, align=column.align)
        for more in description[1:]:
            pdf.set_xy(pdf.l_margin + columns[0].width, pdf.get_y() + line_height)
            pdf.cell(columns[1].width, line_height, more)
        pdf.set_xy(pdf.l_margin, top + height)
        with pdf.local_context(draw_color=LINE_COLOUR, line_width=0.15):
            pdf.line(pdf.l_margin, top + height, pdf.l_margin + pdf.epw, top + height)


def _draw_allowance_charges(pdf: Document, document: InvoiceDocument, words: Wording) -> None:
    if not document.allowance_charges:
        return
    currency, locale = document.currency, words.locale
    pdf.ln(3)
    _label(pdf, pdf.l_margin, pdf.epw, words.text("allowances.title"))
    pdf.set_font(FONT_FAMILY, "", 8.5)
    for item in document.allowance_charges:
        if pdf.get_y() + 5 > pdf.page_break_trigger:
            pdf.add_page()
        amount = _allowance_charge_amount(item, document)
        line_total = format_money(document.totals.line_total, currency, locale)
        basis = (" (" + words.text("allowances.basis", percent=_percent(item.percent, locale), amount=line_total) + ")"
                 if item.amount is None and item.percent is not None else "")
        kind = words.text("allowances.charge" if item.is_charge else "allowances.discount")
        pdf.set_x(pdf.l_margin)
        pdf.cell(pdf.epw - 53, 5, f"{kind}: {item.reason or kind}{basis}")
        pdf.cell(26, 5, f"{words.text('column.vat')} {item.vat_category} {_percent(item.vat_rate, locale)}",
                 align=Align.R)
        pdf.cell(27, 5, format_money(amount if item.is_charge else -amount, currency, locale), align=Align.R,
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _total_rows(document: InvoiceDocument, words: Wording) -> list[tuple[str, str, bool]]:
    """The rows of billing.document_totals (as on screen) in the document's language; a VAT row's taxable
    amount is in the VAT table beside."""
    currency = document.currency
    rows = total_rows(document.totals, kind=document.header.kind, status=document.status,
                      paid=document.header.paid_amount, credited=document.header.credited_amount,
                      balance=document.balance)
    vat_entries = iter(document.totals.tax_breakdown)  # the VAT rows come in the breakdown's order
    shown = []
    for row in rows:
        if row.taxable is None:
            label = words.text(TOTAL_KEYS[row.label]) if row.label in TOTAL_KEYS else row.label
        else:
            label = _vat_label(next(vat_entries), words)
        shown.append((label, format_money(row.amount, currency, words.locale), row.strong))
    return shown


def _vat_label(entry: logic.TaxSubtotal, words: Wording) -> str:
    """'USt. 19 %' for the standard rate, else the category's name and rate (as document_totals.vat_label)."""
    percent = _percent(logic.rate_key(entry.vat_rate), words.locale)
    if entry.vat_category == "S":
        return words.text("total.vat", percent=percent)
    return words.text("total.vat_category", category=_category(entry.vat_category, words), percent=percent)


def _draw_summary(pdf: Document, document: InvoiceDocument, words: Wording) -> None:
    """The VAT breakdown (left) beside the totals (right)."""
    breakdown, locale = document.totals.tax_breakdown, words.locale
    rows = _total_rows(document, words)
    height = max(6.5 + 5 * len(breakdown), 5.5 * len(rows)) + 6
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(5)
    top, left = pdf.get_y(), pdf.l_margin
    currency = document.currency
    vat_columns = [_Column(words.text("column.vat"), 40), _Column(words.text("column.rate"), 14, Align.R),
                   _Column(words.text("column.taxable"), 24, Align.R),
                   _Column(words.text("column.vat_amount"), 22, Align.R)]
    pdf.set_font(FONT_FAMILY, "B", 8)
    with pdf.local_context(fill_color=LIGHT_FILL):
        for column in vat_columns:
            pdf.cell(column.width, 6, pdf.fitted(column.title, column.width), align=column.align, fill=True)
    pdf.set_font(FONT_FAMILY, "", 8)
    for entry in breakdown:
        pdf.set_xy(left, pdf.get_y() + (6 if entry is breakdown[0] else 5))
        values = [pdf.fitted(_category(entry.vat_category, words), vat_columns[0].width),
                  _percent(entry.vat_rate, locale),
                  format_money(entry.taxable, currency, locale), format_money(entry.tax, currency, locale)]
        for column, value in zip(vat_columns, values, strict=True):
            pdf.cell(column.width, 5, value, align=column.align)
    vat_bottom = pdf.get_y() + 5

    width = 78  # beside the VAT table (100 mm): room for the longest label of every language
    x = pdf.l_margin + pdf.epw - width
    pdf.set_xy(x, top)
    for name, value, strong in rows:
        pdf.set_font(FONT_FAMILY, "B" if strong else "", 10 if strong else 9)
        if strong:
            with pdf.local_context(draw_color=LINE_COLOUR, line_width=0.2):
                pdf.line(x, pdf.get_y(), x + width, pdf.get_y())
        pdf.set_x(x)
        pdf.cell(width - 32, 5.5, pdf.fitted(name, width - 32))
        pdf.cell(32, 5.5, value, align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(left, max(vat_bottom, pdf.get_y()) + 6)


def _draw_payment(pdf: Document, document: InvoiceDocument, company: dict[str, Any], number: str,
                  words: Wording) -> None:
    header = document.header
    paragraphs: list[tuple[str, str, str | None]] = []  # title, text, the QR code's payload beside it
    charged = {entry.vat_category for entry in document.totals.tax_breakdown}
    exemptions = [f"{_category(category, words)}: {_exemption_text(reason, words)}"
                  for category, reason in sorted(document.exemption_reasons.items()) if category in charged]
    if exemptions:  # EN 16931 BT-120: why no VAT is charged
        paragraphs.append((words.text("section.vat"), "\n".join(exemptions), None))
    details = payment_details(document, company)
    if document.is_credit_note:
        credited = document.credited_invoice.number if document.credited_invoice else None
        if credited:
            paragraphs.append((words.text("section.credited_invoice"),
                               words.text("credit_note.reduces", number=credited), None))
    elif document.status == logic.PAID:
        paragraphs.append((words.text("section.payment"), words.text("payment.paid"), None))
    elif details is not None:
        paragraphs.append((words.text("section.payment"), _payment_text(document, company, details, number, words),
                           details.qr_payload))
    if header.notes:
        paragraphs.append((words.text("section.notes"), header.notes, None))
    if document.status == logic.VOID and header.void_reason:
        paragraphs.append((words.text("section.void"), words.text("void.reason", reason=header.void_reason), None))
    for title, text, payload in paragraphs:
        width = pdf.epw - (QR_SIDE + QR_QUIET + QR_CAPTION_WIDTH + 2 if payload else 0)
        pdf.set_font(FONT_FAMILY, "", 9)
        height = 14.0
        if payload:  # the QR code is drawn beside the text once it is written: both must fit on this page
            height = max(QR_SIDE, 5 + cast(float, pdf.multi_cell(width, 4.6, text, dry_run=True, output="HEIGHT")))
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
        top = pdf.get_y()
        _label(pdf, pdf.l_margin, width, title)
        pdf.set_font(FONT_FAMILY, "", 9)
        pdf.multi_cell(width, 4.6, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if payload:
            _draw_qr(pdf, payload, top, words)
        pdf.ln(3)


def _payment_text(document: InvoiceDocument, company: dict[str, Any], details: PaymentDetails, number: str,
                  words: Wording) -> str:
    """Please pay what, by when, to which account, quoting which reference; or what is collected by direct debit
    from which account, under which mandate (the SEPA pre-notification)."""
    due, amount = document.header.due_date, format_money(details.amount, details.currency, words.locale)
    if details.direct_debit:
        collected = [words.text("payment.direct_debit", amount=amount, date=_date(due, words.locale))]
        if details.debited_iban:
            collected.append(words.text("payment.debited_account", iban=format_iban(details.debited_iban)))
        if details.mandate:
            collected.append(words.text("payment.mandate", mandate=details.mandate))
        if details.creditor_id:
            collected.append(words.text("payment.creditor_id", creditor_id=details.creditor_id))
        return "\n".join(collected)
    if document.status == logic.OVERDUE:
        lines = [words.text("payment.overdue", amount=amount, date=_date(due, words.locale))]
    elif due:
        lines = [words.text("payment.please_pay_by", amount=amount, date=_date(due, words.locale))]
    else:
        lines = [words.text("payment.please_pay", amount=amount)]
    if details.iban:
        lines.append(f"IBAN {format_iban(details.iban)}" + (f" · BIC {details.bic}" if details.bic else ""))
    if company.get("bank_details"):
        lines.append(company["bank_details"])
    lines.append(words.text("payment.reference", reference=format_reference(details.reference)) if details.reference
                 else words.text("payment.number_reference", number=number))
    return "\n".join(lines)


def _draw_qr(pdf: Document, payload: str, top: float, words: Wording) -> None:
    """The EPC QR code at the right margin from `top`, "Scan to pay" beside it; the cursor ends below both."""
    code = qr_modules(payload)
    module = QR_SIDE / code.size  # millimetres: floats from here on, for drawing only
    x, k = pdf.l_margin + pdf.epw - QR_SIDE, pdf.k
    # One path of rectangles, a run of dark modules each, written as PDF operators (points, from the bottom
    # left): ~0.4 ms, where fpdf2's rect() per run takes ~2.5 ms. A hair taller than a module, so that rows
    # rendered apart leave no seam between them.
    path = " ".join(f"{(x + column * module) * k:.2f} {(pdf.h - top - row * module) * k:.2f} "
                    f"{length * module * k:.2f} {-module * 1.05 * k:.2f} re" for row, column, length in code.runs)
    with pdf.local_context(fill_color=(0, 0, 0)):
        pdf._out(f"{path} f")
    text_bottom = pdf.get_y()
    pdf.set_xy(x - QR_QUIET - QR_CAPTION_WIDTH, top)
    pdf.set_font(FONT_FAMILY, "B", 9)
    pdf.cell(QR_CAPTION_WIDTH, 5, words.text("payment.scan"), align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)
    with pdf.local_context(text_color=GREY):
        pdf.set_font(FONT_FAMILY, "", 7.5)
        pdf.multi_cell(QR_CAPTION_WIDTH, 3.6, words.text("payment.scan_hint"), align=Align.R)
    pdf.set_xy(pdf.l_margin, max(text_bottom, top + QR_SIDE))
