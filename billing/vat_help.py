"""VAT help while writing an invoice: which VAT treatment the seller's and the customer's countries and the
customer's VAT ID point to (reverse charge for a business elsewhere in the EU, a note for a consumer abroad).

Advice only: the user picks the tax rates; the rule is the one of Council Directive 2006/112/EC for services
between businesses (Art. 44 and 196) and the common case of goods and services to consumers.
"""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.eu import vat as eu_vat

from billing import i18n, vat_ids

# EU member states by ISO 3166 code (Greece's VAT IDs start with EL; XI is Northern Ireland's goods scheme,
# not a country code a customer has).
EU_COUNTRIES = frozenset(code.upper() for code in eu_vat.MEMBER_STATES if code != "xi")

DOMESTIC = "domestic"
REVERSE_CHARGE = "reverse_charge"
EU_CONSUMER = "eu_consumer"
EXPORT_BUSINESS = "export_business"
EXPORT_CONSUMER = "export_consumer"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class VatAdvice:
    """What the invoice's VAT should be, in words.

    kind: DOMESTIC, REVERSE_CHARGE, EU_CONSUMER, EXPORT_BUSINESS, EXPORT_CONSUMER or UNKNOWN (a country missing).
    note: one or two sentences for the person writing the invoice (English, as the portal is).
    category: the EN 16931 VAT category to offer ("AE" for reverse charge), None when nothing is offered.
    exemption_text: the text the invoice must print for that category, in the customer's language.
    """

    kind: str
    note: str
    category: str | None = None
    exemption_text: str = ""


def has_valid_vat_id(vat_id: str, country: str) -> bool:
    """Whether `vat_id` is a valid EU VAT identifier of `country`: the check every VAT ID the portal stores passes
    (`billing.vat_ids`: format and check digits by python-stdnum), with the country's own prefix."""
    compact = "".join(vat_id.split()).upper()
    prefix = "EL" if country.upper() == "GR" else country.upper()
    return compact.startswith(prefix) and vat_ids.is_vat_id(compact)


def vat_advice(seller_country: str, customer_country: str, customer_vat_id: str,
               language: str = i18n.DEFAULT_LANGUAGE) -> VatAdvice:
    """The VAT treatment an invoice from a seller in `seller_country` to a customer in `customer_country`
    with `customer_vat_id` ('' for none) calls for; `language` is the invoice's, for the exemption text."""
    seller, buyer, vat_id = seller_country.upper(), customer_country.upper(), customer_vat_id.strip()
    if not seller or not buyer:
        missing = "your company's country (Settings)" if not seller else "the customer's country"
        return VatAdvice(UNKNOWN, f"Enter {missing} to get VAT help for this invoice.")
    if seller == buyer:
        return VatAdvice(DOMESTIC, "A customer in your own country: charge your usual VAT rates.")
    if seller not in EU_COUNTRIES:
        return VatAdvice(UNKNOWN, "VAT help covers sellers in the EU: check the VAT rules of your country.")
    if buyer in EU_COUNTRIES:
        if vat_id and has_valid_vat_id(vat_id, buyer):
            return VatAdvice(REVERSE_CHARGE, f"A business in another EU country ({buyer}) with a valid VAT ID: "
                             "invoice services without VAT under the reverse charge (category AE); the customer "
                             "accounts for the VAT. The invoice must say so.", "AE",
                             i18n.translate(language, "vat.reverse_charge"))
        why = (f"The VAT ID {vat_id} is not a valid {buyer} VAT number, so the customer counts as a consumer: "
               if vat_id else f"No VAT ID: the customer counts as a consumer in {buyer}: ")
        return VatAdvice(EU_CONSUMER, why + "charge VAT. Once your EU-wide sales to consumers exceed €10,000 a "
                         f"year, or for digital services, that is the VAT of {buyer} (declared through OSS), "
                         "not your own rate.")
    if vat_id:
        return VatAdvice(EXPORT_BUSINESS, f"A business outside the EU ({buyer}): services to it are usually outside "
                         "the scope of EU VAT (category O), goods shipped there are exports (category G); both "
                         "need an exemption text on the invoice.")
    return VatAdvice(EXPORT_CONSUMER, f"A consumer outside the EU ({buyer}): goods shipped there are exports "
                     "without VAT (category G, with proof of export); most services to consumers still carry your "
                     "own VAT.")
