"""Form fields a seller and a buyer share: the structured postal address and the party identifiers (EN 16931)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from billing.addresses import AddressParts, needs_completing
from billing.einvoice.schemes import eas_codes, scheme_label
from ui import format as fmt


def _parts_of(current: dict[str, Any]) -> AddressParts:
    return AddressParts(street=current.get("street") or "", additional_line=current.get("additional_line") or "",
                        city=current.get("city") or "", postcode=current.get("postcode") or "",
                        subdivision=current.get("subdivision") or "")


def address_fields(current: dict[str, Any], country: str, *, disabled: bool = False,
                   key: str = "") -> dict[str, Any]:
    """Street, additional line, post code, city, region and the country picker; the old one-box address kept as
    its text (shown with a request to fill the parts) until the parts are filled in."""
    text = current.get("address") or ""
    if needs_completing(text, _parts_of(current)):
        st.warning("This address was entered as one text and could not be split surely. Please fill in street, "
                   "post code and city (an e-invoice needs them):\n\n" + fmt.plain(text).replace("\n", "  \n"),
                   icon=":material/edit_location_alt:")
    left, right = st.columns(2)
    countries = fmt.countries_with(country)
    values = {
        "street": left.text_input("Street and number", current.get("street") or "", max_chars=200,
                                  disabled=disabled, key=f"{key}street" if key else None),
        "additional_line": right.text_input("Additional address line", current.get("additional_line") or "",
                                            max_chars=200, disabled=disabled, help="Building, floor, c/o (BT-36/51)",
                                            key=f"{key}additional" if key else None),
    }
    postcode, city, region, land = st.columns([1, 2, 1, 2])
    values |= {
        "postcode": postcode.text_input("Post code", current.get("postcode") or "", max_chars=20, disabled=disabled,
                                        key=f"{key}postcode" if key else None),
        "city": city.text_input("City", current.get("city") or "", max_chars=100, disabled=disabled,
                                key=f"{key}city" if key else None),
        "subdivision": region.text_input("Region / state", current.get("subdivision") or "", max_chars=100,
                                         disabled=disabled, key=f"{key}region" if key else None),
        "country": land.selectbox("Country", countries, countries.index(country), disabled=disabled,
                                  format_func=lambda c: fmt.country(c) or "—", key=f"{key}country" if key else None),
        "address": text,
    }
    return values


def identifier_fields(current: dict[str, Any], *, seller: bool, disabled: bool = False) -> dict[str, Any]:
    """VAT identifier (checked by country), tax registration, legal registration id and the electronic address
    with its scheme from the EAS code list."""
    terms = ("BT-31", "BT-30", "BT-34") if seller else ("BT-48", "BT-47", "BT-49")
    left, middle, right = st.columns(3)
    values = {
        "tax_id": left.text_input("VAT ID", current.get("tax_id") or "", max_chars=50, disabled=disabled,
                                  help=f"With the country prefix, e.g. DE136695976 or EL094014201 ({terms[0]}). "
                                       "Checked for its country; stored without spaces."),
        "tax_registration": middle.text_input("Tax number", current.get("tax_registration") or "", max_chars=50,
                                              disabled=disabled, help="A tax registration that is not a VAT ID "
                                              "(German Steuernummer)" + (" (BT-32)" if seller else "")),
        "legal_id": right.text_input("Company registration", current.get("legal_id") or "", max_chars=50,
                                     disabled=disabled, help=f"Trade register or company number ({terms[1]})"),
    }
    codes = ["", *eas_codes()]
    scheme = current.get("electronic_scheme") or ""
    left, right = st.columns([1, 2])
    values["electronic_scheme"] = left.selectbox(
        "Electronic address scheme", codes if scheme in codes else [scheme, *codes],
        index=(codes if scheme in codes else [scheme, *codes]).index(scheme), disabled=disabled,
        format_func=lambda c: scheme_label(c) if c else "—",
        help=f"How the electronic address is read ({terms[2]}): 0088 GLN, 0204 Leitweg-ID, 9930 German VAT ID, "
             "EM e-mail, ... (the EAS code list)")
    values["electronic_address"] = right.text_input(
        "Electronic address", current.get("electronic_address") or "", max_chars=200, disabled=disabled,
        help="Where e-invoices are delivered, e.g. a Peppol participant id or a Leitweg-ID")
    return values
