"""Customer statement of account as a PDF: opening balance, every entry with its running balance, closing."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date
from fpdf.enums import Align, XPos, YPos

from billing.i18n import Wording, wording_for
from billing.money import ZERO, format_money
from billing.pdf_document import FONT_FAMILY, GREY, LIGHT_FILL, LINE_COLOUR, Document, build_pdf
from billing.reports import Statement
from billing.reports.statements import DESCRIPTIONS

KINDS = {"invoice": "Invoice", "credit_note": "Credit note", "payment": "Payment", "refund": "Refund",
         "reversal": "Reversal"}
# (catalogue key of the title, width in mm or None for the rest, right-aligned); the description names the
# kind of entry
COLUMNS: tuple[tuple[str, float | None, bool], ...] = (
    ("column.date", 22, False), ("column.reference", 27, False), ("column.description", None, False),
    ("column.debit", 23, True), ("column.credit", 23, True), ("column.balance", 24, True))
ROW = 5.2
FONT_SIZE = 8.0


def statement_totals(statement: Statement) -> tuple[Decimal, Decimal]:
    """Debits (what was billed) and credits (what was paid or credited) of the period."""
    entries = statement.entries
    debit = sum((value for value in entries["debit"] if value is not None), ZERO) if len(entries) else ZERO
    credit = sum((value for value in entries["credit"] if value is not None), ZERO) if len(entries) else ZERO
    return debit, credit


def statement_pdf(statement: Statement, company: dict[str, Any], *, language: str | None = None,
                  locale: str | None = None, today: date | None = None) -> bytes:
    """The statement as an A4 document in the customer's language (or `language`), formatted for its country
    (or `locale`), in the font cut its text needs (names may be in any script)."""
    currency, customer = statement.currency, statement.customer
    words = wording_for(language or str(customer.get("language") or ""), str(customer.get("country") or ""),
                        locale=locale)
    locale = words.locale

    def money(amount: Decimal | None) -> str:
        return "" if amount is None else format_money(amount, currency, locale)

    def day(value: date | None) -> str:
        return format_date(value, "medium", locale=locale) if value else ""

    rows = [[day(row["date"]), str(row.get("number") or ""),
             _description(str(row["kind"]), str(row.get("description") or ""), words),
             money(row["debit"]) if row.get("debit") else "", money(row["credit"]) if row.get("credit") else "",
             money(row["balance"])] for row in statement.entries.to_dict("records")]
    debit, credit = statement_totals(statement)
    notes = [words.text("statement.voided", numbers=", ".join(statement.voided))] if statement.voided else []
    period = f"{day(statement.date_from)} – {day(statement.date_to)}"

    def draw(pdf: Document) -> None:
        pdf.set_title(f"{words.text('statement.title')} {customer.get('name') or ''}")
        pdf.add_page()
        _header(pdf, company, customer, words, [(words.text("statement.period"), period),
                                                (words.text("document.currency"), currency),
                                                (words.text("statement.date"), day(today or statement.date_to))])
        _summary(pdf, [(words.text("statement.opening"), money(statement.opening_balance)),
                       (words.text("statement.invoiced"), money(debit)),
                       (words.text("statement.paid_credited"), money(credit)),
                       (words.text("statement.closing"), money(statement.closing_balance))])
        widths = _widths(pdf)
        _table_header(pdf, widths, words)
        _row(pdf, widths, [day(statement.date_from), "", words.text("statement.opening"), "", "",
                           money(statement.opening_balance)], bold=True)
        for row in rows:
            if pdf.get_y() + ROW > pdf.page_break_trigger:
                pdf.add_page()
                _table_header(pdf, widths, words)
            _row(pdf, widths, row)
        _row(pdf, widths, [day(statement.date_to), "", words.text("statement.closing"), money(debit), money(credit),
                           money(statement.closing_balance)], bold=True, rule=True)
        for note in notes:
            pdf.ln(2)
            pdf.set_font(FONT_FAMILY, "", 8.5)
            pdf.multi_cell(pdf.epw, 4.4, note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if statement.closing_balance > 0 and company.get("bank_details"):
            pdf.ln(4)
            pdf.set_font(FONT_FAMILY, "B", 9)
            pdf.cell(pdf.epw, 5, words.text("statement.amount_due", amount=money(statement.closing_balance)),
                     new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_font(FONT_FAMILY, "", 9)
            pdf.multi_cell(pdf.epw, 4.6, words.text("statement.pay_to", details=company["bank_details"]),
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    printed = "".join(str(value) for record in (company, customer) for value in record.values()
                      if isinstance(value, str)) + "".join(cell for row in rows for cell in row)
    footer = " · ".join(part for part in (company.get("legal_name"), words.text("statement.title"), period) if part)
    return build_pdf(draw, text=printed + "".join(notes), page_size=company.get("page_size") or "A4",
                     footer_text=footer, page_label=words.text("document.page", page="{page}", pages="{pages}"))


def _description(kind: str, description: str, words: Wording) -> str:
    """An entry's description in the document's language: its kind translated, what follows it (a payment's
    method and reference) kept; a credit note names the invoice it credits."""
    english = DESCRIPTIONS.get(kind)  # how billing.reports.statements starts the description, in English
    if english is None:
        return description or kind
    rest = description[len(english):] if description.startswith(english) else ""
    credited = " for invoice "
    if kind == "credit_note" and rest.startswith(credited):
        return words.text("statement.credit_note_for", number=rest[len(credited):])
    return words.text(f"kind.{kind}") + rest


def _lines(pdf: Document, x: float, width: float, lines: Sequence[str], size: float = 9) -> None:
    pdf.set_font(FONT_FAMILY, "", size)
    for text in lines:
        for part in text.splitlines():
            pdf.set_x(x)
            pdf.cell(width, size * 0.45, part, new_x=XPos.LEFT, new_y=YPos.NEXT)


def _header(pdf: Document, company: dict[str, Any], customer: dict[str, Any], words: Wording,
            facts: list[tuple[str, str]]) -> None:
    left, top, half = pdf.l_margin, pdf.t_margin, pdf.epw / 2
    if company.get("logo"):
        pdf.image(io.BytesIO(company["logo"]), x=pdf.w - pdf.r_margin - 45, y=top, w=45, h=18, keep_aspect_ratio=True)
    pdf.set_xy(left, top)
    pdf.set_font(FONT_FAMILY, "B", 13)
    pdf.cell(half, 7, company.get("legal_name") or "", new_x=XPos.LEFT, new_y=YPos.NEXT)
    _lines(pdf, left, half, [company.get("address") or "", company.get("email") or "",
                             words.text("document.vat_id", vat_id=company["tax_id"]) if company.get("tax_id") else ""])
    pdf.set_xy(left, max(pdf.get_y() + 8, top + 32))
    with pdf.local_context(text_color=GREY):
        pdf.set_font(FONT_FAMILY, "B", 7.5)
        pdf.cell(half, 4.5, words.text("statement.for").upper(), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, "B", 10)
    pdf.cell(half, 5.5, str(customer.get("name") or ""), new_x=XPos.LEFT, new_y=YPos.NEXT)
    country = str(customer.get("country") or "")
    _lines(pdf, left, half, [str(customer.get("address") or ""),
                             Locale.parse(words.locale).territories.get(country, country)])
    customer_bottom = pdf.get_y()

    right, width = left + half + 10, half - 10
    pdf.set_xy(right, top + 24)
    pdf.set_font(FONT_FAMILY, "B", 18)
    pdf.cell(width, 9, words.text("statement.title"), align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.ln(2)
    for name, value in facts:
        pdf.set_x(right)
        with pdf.local_context(text_color=GREY):
            pdf.set_font(FONT_FAMILY, "", 9)
            pdf.cell(28, 5, name)
        pdf.set_font(FONT_FAMILY, "B", 9)
        pdf.cell(width - 28, 5, value, align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(left, max(customer_bottom, pdf.get_y()) + 6)


def _summary(pdf: Document, figures: list[tuple[str, str]]) -> None:
    """Four boxes in a row: opening, invoiced, paid, closing."""
    width, top = pdf.epw / len(figures), pdf.get_y()
    with pdf.local_context(fill_color=LIGHT_FILL):
        for position, (name, value) in enumerate(figures):
            x = pdf.l_margin + position * width
            pdf.rect(x + 0.5, top, width - 1, 14, style="F")
            pdf.set_xy(x + 2.5, top + 1.8)
            with pdf.local_context(text_color=GREY):
                pdf.set_font(FONT_FAMILY, "", 7.5)
                pdf.cell(width - 5, 4, name)
            pdf.set_xy(x + 2.5, top + 6.5)
            pdf.set_font(FONT_FAMILY, "B", 11)
            pdf.cell(width - 5, 6, value)
    pdf.set_xy(pdf.l_margin, top + 20)


def _widths(pdf: Document) -> list[float]:
    fixed = sum(width for _, width, _ in COLUMNS if width)
    return [width if width else pdf.epw - fixed for _, width, _ in COLUMNS]


def _table_header(pdf: Document, widths: list[float], words: Wording) -> None:
    pdf.set_font(FONT_FAMILY, "B", 8)
    with pdf.local_context(fill_color=LIGHT_FILL):
        pdf.set_x(pdf.l_margin)
        for (key, _, right), width in zip(COLUMNS, widths, strict=True):
            pdf.cell(width, 6.5, pdf.fitted(words.text(key), width), align=Align.R if right else Align.L, fill=True)
    pdf.ln(6.5)


def _row(pdf: Document, widths: list[float], cells: list[str], *, bold: bool = False, rule: bool = False) -> None:
    if rule:
        with pdf.local_context(draw_color=LINE_COLOUR, line_width=0.3):
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.set_font(FONT_FAMILY, "B" if bold else "", FONT_SIZE)
    pdf.set_x(pdf.l_margin)
    for (_, _, right), width, text in zip(COLUMNS, widths, cells, strict=True):
        pdf.cell(width, ROW, pdf.fitted(text, width), align=Align.R if right else Align.L)
    pdf.ln(ROW)
    with pdf.local_context(draw_color=LINE_COLOUR, line_width=0.1):
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
