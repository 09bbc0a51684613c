"""Settings (admin): the company profile printed on invoices, its logo, the numbering series, backup and verify."""

from __future__ import annotations

import io
from functools import partial
from zoneinfo import available_timezones

import streamlit as st
from PIL import Image
from streamlit.delta_generator import DeltaGenerator

from billing import settings
from billing.bank_accounts import format_iban
from billing.errors import BillingError
from billing.logic import format_number
from billing.money import KNOWN_CURRENCIES
from ui import context, mail_settings, maintenance, party_form
from ui import format as fmt
from ui import sandbox as sandbox_ui
from ui.feedback import apply

TIMEZONES = sorted(available_timezones() | {"UTC"})
CURRENCIES = sorted(KNOWN_CURRENCIES)
PAGE_SIZES = ["A4", "Letter"]


def readable_image(data: bytes) -> bool:
    """Whether Pillow can decode the bytes (billing.settings checks the type and size, not the content)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (OSError, ValueError, Image.DecompressionBombError):
        return False
    return True


def show_logo(column: DeltaGenerator, data: bytes) -> None:
    if readable_image(data):
        column.image(data, width=160)
    else:  # stored before this check existed: say so rather than break the page
        column.caption("The stored logo cannot be displayed; upload it again.")


db, actor = context.db(), context.actor()
profile = settings.get_company(db) or {}

st.title("Settings")
company_tab, numbering_tab, mail_tab, database_tab = st.tabs([":material/domain: Company profile",
                                                              ":material/tag: Invoice numbering",
                                                              ":material/mail: E-mail",
                                                              ":material/backup: Backup and verify"])

with company_tab, st.form("company"):
    left, right = st.columns(2)
    legal_name = left.text_input("Legal name", profile.get("legal_name", ""))
    email = right.text_input("Billing email", profile.get("email", ""))
    st.markdown("**Address**")
    party = party_form.address_fields(profile, profile.get("country") or "", key="company:")
    st.markdown("**Identifiers**")
    party |= party_form.identifier_fields(profile, seller=True)
    st.markdown("**Contact on invoices**", help="Seller contact (BT-41..43): XRechnung requires all three.")
    left, middle, right = st.columns(3)
    party |= {"contact_name": left.text_input("Contact name", profile.get("contact_name") or "", max_chars=200),
              "contact_phone": middle.text_input("Contact phone", profile.get("contact_phone") or "", max_chars=50),
              "contact_email": right.text_input("Contact e-mail", profile.get("contact_email") or "", max_chars=200,
                                                help="Empty: the billing email")}
    st.markdown("**Bank account**")
    bank = st.text_area("Other bank details (printed as written)", profile.get("bank_details", ""), height=80)
    left, middle, right = st.columns([2, 1, 2])
    iban = left.text_input("IBAN", format_iban(profile.get("iban") or ""),
                           help="The account invoices are paid to: printed with a payment QR code on EUR invoices.")
    bic = middle.text_input("BIC", profile.get("bic") or "", help="Optional within the SEPA area.")
    creditor_id = right.text_input("SEPA creditor identifier", profile.get("creditor_id") or "", max_chars=50,
                                   help="Needed to collect invoices by SEPA direct debit (BT-90), e.g. "
                                        "DE98ZZZ09999999999; checked and stored without spaces.")
    current = profile.get("base_currency") or "EUR"
    currency_col, left, middle, right = st.columns(4)
    currency = currency_col.selectbox("Base currency", CURRENCIES,
                                      index=CURRENCIES.index(current) if current in CURRENCIES else 0)
    zone = profile.get("timezone") or "UTC"
    timezone = left.selectbox("Time zone", TIMEZONES, index=TIMEZONES.index(zone) if zone in TIMEZONES else 0)
    terms = middle.number_input("Default payment terms (days)", min_value=0, max_value=365,
                                value=int(profile.get("default_terms_days") or 30), step=1)
    size = profile.get("page_size") or "A4"
    page_size = right.radio("Page size", PAGE_SIZES, index=PAGE_SIZES.index(size) if size in PAGE_SIZES else 0,
                            horizontal=True)
    st.markdown("**Logo**")
    logo_col, upload_col = st.columns([1, 3])
    if profile.get("logo"):
        show_logo(logo_col, profile["logo"])
    else:
        logo_col.caption("No logo yet.")
    upload = upload_col.file_uploader("Upload a new logo (PNG or JPEG, at most 1 MB)",
                                      type=["png", "jpg", "jpeg"], max_upload_size=1)
    remove_logo = upload_col.checkbox("Remove the logo", disabled=not profile.get("logo"))
    if st.form_submit_button("Save company profile", type="primary", icon=":material/save:"):
        data = {"legal_name": legal_name, **party, "country": party["country"] or "",
                "email": email, "bank_details": bank, "iban": iban, "bic": bic, "creditor_id": creditor_id,
                "base_currency": currency, "timezone": timezone, "default_terms_days": int(terms),
                "page_size": page_size}
        # Only the bytes are used: billing.settings checks they are a PNG or JPEG; the name is ignored.
        logo = upload.getvalue() if upload is not None else None
        if logo is not None and not readable_image(logo):
            st.error("The logo must be a PNG or JPEG image.", icon=":material/error:")
        else:
            apply(lambda: settings.save_company(db, actor, data, logo=logo, remove_logo=remove_logo),
                  "Company profile saved.")


with numbering_tab:
    st.caption("Patterns may use {YYYY}, {YY}, {MM} and must contain {SEQ} or {SEQ:05} (zero-padded). "
               "The next number can only move forward, past every number already issued.")
    for row in sorted(settings.list_series(db, actor), key=lambda r: (r["kind"] != "invoice", r["code"])):
        with st.form(f"series_{row['code']}"):
            label = "Invoices" if row["kind"] == "invoice" else "Credit notes"
            st.markdown(f"**{label}** · series {fmt.plain(row['code'])}")
            left, right = st.columns([2, 1])
            pattern = left.text_input("Pattern", row["pattern"], key=f"pattern_{row['code']}")
            next_seq = right.number_input("Next number", min_value=1, value=int(row["next_seq"]), step=1,
                                          key=f"next_{row['code']}")
            try:
                number = format_number(pattern, int(next_seq), context.today())
                st.caption(f"Next document number: **{fmt.plain(number)}**")
            except BillingError as exc:
                st.caption(f":red[{fmt.plain(exc.message)}]")
            if st.form_submit_button("Save numbering"):
                code, seq, old = row["code"], int(next_seq), int(row["next_seq"])
                apply(partial(settings.set_series, db, actor, code, pattern, None if seq == old else seq),
                      f"Numbering of series {code} saved.")


with mail_tab:
    mail_settings.mail_tab(db, actor)


with database_tab:
    if context.allowed("settings.write"):
        maintenance.backup_panel(db, actor)
    if context.allowed("audit.read"):
        st.divider()
        maintenance.verify_panel(db, actor)
    st.divider()
    sandbox_ui.settings_panel(context.real_db(), actor)
