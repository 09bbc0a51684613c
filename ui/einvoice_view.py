"""An e-invoice that was checked, on screen: VALID or INVALID with each failed rule in words, then the document."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pandas as pd
import streamlit as st

from billing.einvoice.check import CheckResult
from billing.einvoice.records import ParsedInvoice, Party
from billing.einvoice.validation import PROFILES
from billing.money import plain_number
from ui import format as fmt
from ui.format import plain
from ui.widgets import amount_rows


def show_result(name: str, result: CheckResult) -> None:
    """The verdict, the problems and the document (`name`: the uploaded file's name, shown as text)."""
    report = result.report
    rule_sets = " + ".join(PROFILES[profile] for profile in report.profiles)
    source = f"{report.syntax}{' in a Factur-X PDF' if result.from_pdf else ''}"
    if result.valid:
        st.success(f"**VALID**: {plain(name)} ({source}) passes the XML schema and the rules of {rule_sets}.",
                   icon=":material/verified:")
    else:
        count = len(report.schema_errors) + len(result.problems)
        broken = "its XML schema" if not report.rules_checked else rule_sets if not report.schema_errors else \
            f"the XML schema and {rule_sets}"
        st.error(f"**INVALID**: {plain(name)} ({source}) breaks {count} rule{'s' if count != 1 else ''} "
                 f"of {broken}.", icon=":material/gpp_bad:")
        if not report.rules_checked:
            st.caption(f"The rules of {rule_sets} were not checked: they apply to a file that conforms to its "
                       "XML schema. Fix the schema errors first.")
        st.markdown("\n".join([*(f"- XML schema, {plain(error)}" for error in report.schema_errors),
                               *(f"- {plain(problem.text)}" for problem in result.problems)]))
    if result.warnings:
        with st.expander(f"{len(result.warnings)} warning{'s' if len(result.warnings) != 1 else ''} "
                         "(allowed, but worth a look)"):
            st.markdown("\n".join(f"- {plain(warning.text)}" for warning in result.warnings))
    if result.invoice is None:
        st.warning("The document cannot be shown: it lacks parts every e-invoice has (see the problems above).",
                   icon=":material/visibility_off:")
        return
    show_document(result.invoice)


def money(amount: Decimal | None, currency: str) -> str:
    """An amount exactly as the file states it, with at least the currency's decimals."""
    return fmt.price(amount, currency)


def show_document(invoice: ParsedInvoice) -> None:
    """The document read back: header, parties, lines, allowances and charges, VAT breakdown, totals."""
    kind = "Credit note" if invoice.is_credit_note else "Invoice"
    st.subheader(f"{kind} {plain(invoice.number)}", anchor=False)
    facts = [("Issued", fmt.day(invoice.issue_date)), ("Due", fmt.day(invoice.due_date)),
             ("Currency", invoice.currency), ("Type code", invoice.type_code),
             ("Buyer reference", invoice.buyer_reference)]
    st.markdown(" · ".join(f"{label}: **{plain(value)}**" for label, value in facts if value))
    seller, buyer = st.columns(2)
    with seller:
        show_party("Seller", invoice.seller)
    with buyer:
        show_party("Buyer", invoice.buyer)
    currency = invoice.currency
    st.markdown("**Lines**")
    st.dataframe(pd.DataFrame([{
        "#": line.id, "Item": line.name, "Quantity": plain_number(line.quantity), "Unit": line.unit_code,
        "Net price": money(line.net_price, currency), "VAT": vat_text(line.vat_category, line.vat_rate),
        "Net amount": money(line.net_amount, currency)} for line in invoice.lines]),
        hide_index=True, width="stretch", key="einvoice:lines")
    if invoice.allowances_charges:
        st.markdown("**Document allowances and charges**")
        st.dataframe(pd.DataFrame([{
            "Kind": "Charge" if item.is_charge else "Allowance", "Reason": item.reason or item.reason_code,
            "VAT": vat_text(item.vat_category, item.vat_rate), "Amount": money(item.amount, currency)}
            for item in invoice.allowances_charges]), hide_index=True, width="stretch", key="einvoice:allowances")
    st.markdown("**VAT breakdown**")
    st.dataframe(pd.DataFrame([{
        "VAT": vat_text(vat.category, vat.rate), "Taxable": money(vat.taxable, currency),
        "VAT amount": money(vat.tax, currency), "Exemption": vat.exemption_reason or vat.exemption_code}
        for vat in invoice.vat_breakdown]), hide_index=True, width="stretch", key="einvoice:vat")
    show_totals(invoice)


def vat_text(category: str, rate: Decimal | None) -> str:
    return f"{category} {plain_number(rate)}%" if rate is not None else category


def show_party(title: str, party: Party) -> None:
    with st.container(border=True):
        st.markdown(f"**{title}**")
        address = party.address
        rows = [party.name, *dataclasses.replace(address, country="").lines(), fmt.country(address.country)]
        if party.vat_id:
            rows.append(f"VAT id {party.vat_id}")
        if party.legal_id:
            rows.append(f"Registration {party.legal_id}")
        if party.electronic_address:
            rows.append(f"Electronic address {party.electronic_address} (scheme {party.electronic_scheme or '?'})")
        st.markdown("  \n".join(plain(row) for row in rows if row))


def show_totals(invoice: ParsedInvoice) -> None:
    totals, currency = invoice.totals, invoice.currency
    rows = [("Sum of lines (BT-106)", totals.line_total, False), ("Allowances (BT-107)", totals.allowances, False),
            ("Charges (BT-108)", totals.charges, False), ("Total without VAT (BT-109)", totals.tax_exclusive, False),
            ("VAT (BT-110)", totals.tax_total, False), ("Total with VAT (BT-112)", totals.tax_inclusive, True),
            ("Paid (BT-113)", totals.prepaid, False), ("Rounding (BT-114)", totals.rounding, False),
            ("Amount due (BT-115)", totals.payable, True)]
    _, right = st.columns([1, 1])
    with right:
        amount_rows([(label, money(value, currency), strong) for label, value, strong in rows if value is not None],
                    "einvoice")
