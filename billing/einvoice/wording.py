"""Failed e-invoice rules in words a bookkeeper understands, naming the field to fix (with its EN 16931 number)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from billing.einvoice.validation import RuleFailure

REQUIRED, XR = "is required", "is required for XRechnung"
# rule -> (the field in words, with its business term number; what is wrong with it)
RULES: dict[str, tuple[str, str]] = {
    "BR-01": ("Specification identifier (BT-24)", REQUIRED), "BR-02": ("Invoice number (BT-1)", REQUIRED),
    "BR-03": ("Issue date (BT-2)", REQUIRED), "BR-04": ("Invoice type code (BT-3)", REQUIRED),
    "BR-05": ("Invoice currency (BT-5)", REQUIRED), "BR-06": ("Seller name (BT-27)", REQUIRED),
    "BR-07": ("Buyer name (BT-44)", REQUIRED), "BR-08": ("Seller postal address (BG-5)", REQUIRED),
    "BR-09": ("Seller country (BT-40)", REQUIRED), "BR-10": ("Buyer postal address (BG-8)", REQUIRED),
    "BR-11": ("Buyer country (BT-55)", REQUIRED),
    "BR-12": ("Sum of line net amounts (BT-106)", REQUIRED), "BR-13": ("Total without VAT (BT-109)", REQUIRED),
    "BR-14": ("Total with VAT (BT-112)", REQUIRED), "BR-15": ("Amount due (BT-115)", REQUIRED),
    "BR-16": ("Invoice lines (BG-25)", "are required: at least one line"),
    "BR-17": ("Payee name (BT-59)", "is required when the payee is not the seller"),
    "BR-18": ("Seller's tax representative name (BT-62)", REQUIRED),
    "BR-19": ("Seller's tax representative address (BG-12)", REQUIRED),
    "BR-20": ("Seller's tax representative country (BT-69)", REQUIRED),
    "BR-21": ("Line number (BT-126)", "is required on every line"),
    "BR-22": ("Quantity (BT-129)", "is required on every line"),
    "BR-23": ("Unit of measure (BT-130)", "is required on every line"),
    "BR-24": ("Line net amount (BT-131)", "is required on every line"),
    "BR-25": ("Item name (BT-153)", "is required on every line"),
    "BR-26": ("Net price (BT-146)", "is required on every line"),
    "BR-27": ("Net price (BT-146)", "must not be negative"), "BR-28": ("Gross price (BT-148)", "must not be negative"),
    "BR-29": ("Invoicing period (BT-73, BT-74)", "must not end before it starts"),
    "BR-30": ("Line period (BT-134, BT-135)", "must not end before it starts"),
    "BR-31": ("Document allowance amount (BT-92)", REQUIRED),
    "BR-32": ("Document allowance VAT category (BT-95)", REQUIRED),
    "BR-33": ("Document allowance reason (BT-97 or BT-98)", REQUIRED),
    "BR-36": ("Document charge amount (BT-99)", REQUIRED),
    "BR-37": ("Document charge VAT category (BT-102)", REQUIRED),
    "BR-38": ("Document charge reason (BT-104 or BT-105)", REQUIRED),
    "BR-41": ("Line allowance amount (BT-136)", REQUIRED),
    "BR-42": ("Line allowance reason (BT-139 or BT-140)", REQUIRED),
    "BR-43": ("Line charge amount (BT-141)", REQUIRED), "BR-44": ("Line charge reason (BT-144 or BT-145)", REQUIRED),
    "BR-45": ("VAT breakdown: taxable amount (BT-116)", REQUIRED),
    "BR-46": ("VAT breakdown: VAT amount (BT-117)", REQUIRED),
    "BR-47": ("VAT breakdown: VAT category (BT-118)", REQUIRED),
    "BR-48": ("VAT breakdown: VAT rate (BT-119)", REQUIRED), "BR-49": ("Payment means (BT-81)", REQUIRED),
    "BR-50": ("IBAN / account number (BT-84)", "is required for a credit transfer"),
    "BR-52": ("Supporting document reference (BT-122)", REQUIRED),
    "BR-53": ("VAT total in accounting currency (BT-111)", "is required when a VAT accounting currency is given"),
    "BR-55": ("Preceding invoice reference (BT-25)", REQUIRED),
    "BR-56": ("Tax representative's VAT identifier (BT-63)", REQUIRED),
    "BR-57": ("Delivery country (BT-80)", REQUIRED),
    "BR-61": ("IBAN / account number (BT-84)", "is required for a credit transfer"),
    "BR-62": ("Seller electronic address scheme (BT-34)", REQUIRED),
    "BR-63": ("Buyer electronic address scheme (BT-49)", REQUIRED),
    "BR-51": ("Card number (BT-87)", "must not be given in full (at most the first 6 and last 4 digits)"),
    "BR-54": ("Item attribute (BG-32)", "needs a name (BT-160) and a value (BT-161)"),
    "BR-64": ("Item standard identifier scheme (BT-157)", REQUIRED),
    "BR-65": ("Item classification scheme (BT-158)", REQUIRED),
    "BR-CO-05": ("Document allowance reason (BT-97) and its code (BT-98)", "must mean the same"),
    "BR-CO-06": ("Document charge reason (BT-104) and its code (BT-105)", "must mean the same"),
    "BR-CO-07": ("Line allowance reason (BT-139) and its code (BT-140)", "must mean the same"),
    "BR-CO-08": ("Line charge reason (BT-144) and its code (BT-145)", "must mean the same"),
    "BR-CO-21": ("Document allowance reason (BT-97 or BT-98)", REQUIRED),
    "BR-CO-22": ("Document charge reason (BT-104 or BT-105)", REQUIRED),
    "BR-CO-23": ("Line allowance reason (BT-139 or BT-140)", REQUIRED),
    "BR-CO-24": ("Line charge reason (BT-144 or BT-145)", REQUIRED),
    "BR-CO-03": ("Tax point date (BT-7)", "and its date code (BT-8) exclude each other"),
    "BR-CO-04": ("VAT category of each line (BT-151)", REQUIRED),
    "BR-CO-09": ("VAT identifiers (BT-31, BT-48, BT-63)", "must start with the country code (e.g. DE, EL)"),
    "BR-CO-10": ("Sum of line net amounts (BT-106)", "must equal the sum of the lines' net amounts"),
    "BR-CO-11": ("Sum of allowances (BT-107)", "must equal the sum of the document allowances"),
    "BR-CO-12": ("Sum of charges (BT-108)", "must equal the sum of the document charges"),
    "BR-CO-13": ("Total without VAT (BT-109)", "must equal line total - allowances + charges"),
    "BR-CO-14": ("VAT total (BT-110)", "must equal the sum of the VAT breakdown's VAT amounts"),
    "BR-CO-15": ("Total with VAT (BT-112)", "must equal total without VAT + VAT total"),
    "BR-CO-16": ("Amount due (BT-115)", "must equal total with VAT - paid amount + rounding"),
    "BR-CO-17": ("VAT amount of a VAT breakdown line (BT-117)", "must equal taxable amount x rate, rounded"),
    "BR-CO-18": ("VAT breakdown (BG-23)", "is required: at least one"),
    "BR-CO-19": ("Invoicing period (BG-14)", "needs a start or an end date"),
    "BR-CO-20": ("Line period (BG-26)", "needs a start or an end date"),
    "BR-CO-26": ("Seller identifier (BT-29), legal registration id (BT-30) or VAT identifier (BT-31)", REQUIRED),
    "BR-CL-10": ("Identifier scheme (e.g. of the seller or buyer identifier)",
                 "is not in the ISO 6523 code list of EN 16931"),
    "BR-CL-21": ("Item standard identifier scheme (BT-157)", "is not in the ISO 6523 code list of EN 16931"),
    "BR-DE-1": ("Payment instructions (BG-16)", XR), "BR-DE-2": ("Seller contact (BG-6)", XR),
    "BR-DE-3": ("Seller city (BT-37)", XR), "BR-DE-4": ("Seller post code (BT-38)", XR),
    "BR-DE-5": ("Seller contact name (BT-41)", XR), "BR-DE-6": ("Seller contact phone (BT-42)", XR),
    "BR-DE-7": ("Seller contact e-mail (BT-43)", XR), "BR-DE-8": ("Buyer city (BT-52)", XR),
    "BR-DE-9": ("Buyer post code (BT-53)", XR), "BR-DE-10": ("Delivery city (BT-77)", XR),
    "BR-DE-11": ("Delivery post code (BT-78)", XR), "BR-DE-14": ("VAT rate (BT-119)", XR),
    "BR-DE-15": ("Leitweg-ID (buyer reference, BT-10)", XR),
    "BR-DE-16": ("Seller VAT identifier or tax number (BT-31, BT-32)", XR),
    "BR-DE-17": ("Invoice type code (BT-3)", "is not one XRechnung allows"),
    "BR-DE-18": ("Payment terms (BT-20)", "must follow XRechnung's #SKONTO# format for a discount"),
    "BR-DE-19": ("IBAN (BT-84)", "is not a valid IBAN"), "BR-DE-20": ("Debited IBAN (BT-91)", "is not a valid IBAN"),
    "BR-DE-21": ("Specification identifier (BT-24)", "must name XRechnung 3.0"),
    "BR-DE-22": ("Attachment file names (BT-125)", "must be unique"),
    "BR-DE-23-a": ("Credit transfer account (BG-17)", XR), "BR-DE-24-a": ("Card payment (BG-18)", XR),
    "BR-DE-25-a": ("Direct debit (BG-19)", XR),
    "BR-DE-26": ("Preceding invoice reference (BT-25)", "is required for a corrected invoice"),
    "BR-DE-27": ("Seller contact phone (BT-42)", "needs at least three digits"),
    "BR-DE-28": ("Seller contact e-mail (BT-43)", "is not a valid e-mail address"),
    "BR-DE-30": ("Creditor identifier (BT-90)", "is required for a direct debit"),
    "BR-DE-31": ("Debited account (BT-91)", "is required for a direct debit"),
    "PEPPOL-EN16931-R001": ("Business process (BT-23)", "is required for Peppol"),
    "PEPPOL-EN16931-R002": ("Invoice note (BT-22)", "may appear only once for Peppol"),
    "PEPPOL-EN16931-R003": ("Buyer reference (BT-10) or purchase order reference (BT-13)", "is required for Peppol"),
    "PEPPOL-EN16931-R004": ("Specification identifier (BT-24)", "must name Peppol BIS Billing 3.0"),
    "PEPPOL-EN16931-R005": ("VAT accounting currency (BT-6)", "must differ from the invoice currency"),
    "PEPPOL-EN16931-R007": ("Business process (BT-23)", "must be in Peppol's format"),
    "PEPPOL-EN16931-R008": ("Empty elements", "are not allowed in a Peppol document"),
    "PEPPOL-EN16931-R010": ("Buyer electronic address (BT-49)", "is required for Peppol"),
    "PEPPOL-EN16931-R020": ("Seller electronic address (BT-34)", "is required for Peppol"),
    "PEPPOL-EN16931-R040": ("Allowance or charge amount (BT-92, BT-99)", "must equal base amount x percentage / 100"),
    "PEPPOL-EN16931-R043": ("Allowance or charge indicator", "must be true or false"),
    "PEPPOL-EN16931-R046": ("Net price (BT-146)", "must equal gross price - price discount"),
    "PEPPOL-EN16931-R053": ("VAT total (BT-110)", "must appear once, with the VAT breakdown"),
    "PEPPOL-EN16931-R054": ("VAT total in accounting currency (BT-111)", "must appear once, without a VAT breakdown"),
    "PEPPOL-EN16931-R101": ("Document reference (BT-18, BT-122)", "may name only the invoiced object on a line"),
    "PEPPOL-EN16931-R120": ("Line net amount (BT-131)", "must equal quantity x net price + charges - allowances"),
    "PEPPOL-EN16931-R121": ("Price base quantity (BT-149)", "must be positive"),
    "PEPPOL-EN16931-R130": ("Unit of the price base quantity (BT-150)", "must be the line's unit (BT-130)"),
    "PEPPOL-EN16931-CL008": ("Electronic address scheme (BT-34, BT-49)", "is not in the EAS code list"),
}

# The VAT category rules (BR-S-01 ... BR-S-10, likewise Z, E, AE, IC, G, O, AF, AG) share one numbering for 1 to
# 10: the rule prefix -> the category code and its name.
VAT_CATEGORIES = {"S": "S (standard rate)", "Z": "Z (zero rate)", "E": "E (exempt)", "AE": "AE (reverse charge)",
                  "IC": "K (intra-community supply)", "G": "G (export outside the EU)",
                  "O": "O (not subject to VAT)", "AF": "L (Canary Islands IGIC)", "AG": "M (Ceuta and Melilla IPSI)"}
SELLER_VAT = "Seller VAT identifier or tax registration (BT-31, BT-32, BT-63)"
CATEGORY_RULES: dict[int, tuple[str, str]] = {
    1: ("VAT breakdown (BG-23)", "needs a line for VAT category {name}"),
    2: (SELLER_VAT, "is required with VAT category {name} on a line"),
    3: (SELLER_VAT, "is required with an allowance in VAT category {name}"),
    4: (SELLER_VAT, "is required with a charge in VAT category {name}"),
    5: ("VAT rate of a line (BT-152)", "does not fit VAT category {name}"),
    6: ("VAT rate of an allowance (BT-96)", "does not fit VAT category {name}"),
    7: ("VAT rate of a charge (BT-103)", "does not fit VAT category {name}"),
    8: ("Taxable amount of the VAT breakdown (BT-116)", "does not match the lines in VAT category {name}"),
    9: ("VAT amount of the VAT breakdown (BT-117)", "does not fit VAT category {name}"),
    10: ("VAT exemption reason (BT-120, BT-121)", "is wrong or missing for VAT category {name}"),
}
# Outside the scope of VAT, the identifiers must be absent rather than present.
NOT_SUBJECT = {number: ("VAT identifiers (BT-31, BT-48, BT-63)", "must be left out with VAT category {name}")
               for number in (2, 3, 4)}
_CATEGORY_RULE = re.compile(r"^BR-(S|Z|E|AE|IC|G|O|AF|AG)-(\d+)$")
_OWN_PREFIX = re.compile(r"^\[[^\]]+\]\s*-?\s*")


@dataclass(frozen=True, slots=True)
class Explained:
    """A failed rule in words: the field to fix (None when the table does not know the rule) and the sentence."""

    rule_id: str
    field: str | None
    text: str


def rule_words(rule_id: str) -> tuple[str, str] | None:
    """(field, what is wrong) for a known rule, else None."""
    if rule_id in RULES:
        return RULES[rule_id]
    match = _CATEGORY_RULE.match(rule_id)
    if match:  # "BR-AE-02": rule 2 of category AE
        table = {**CATEGORY_RULES, **NOT_SUBJECT} if match[1] == "O" else CATEGORY_RULES
        words = table.get(int(match[2]))
        if words is not None:
            return words[0], words[1].format(name=VAT_CATEGORIES[match[1]])
    return None


def explain(failure: RuleFailure) -> Explained:
    """'Leitweg-ID (buyer reference, BT-10) is required for XRechnung: BR-DE-15'; an unknown rule in its own words."""
    words = rule_words(failure.rule_id)
    if words is not None:
        return Explained(failure.rule_id, words[0], f"{words[0]} {words[1]}: {failure.rule_id}")
    own = _OWN_PREFIX.sub("", failure.message).strip() or "The rule failed"
    return Explained(failure.rule_id, None, f"{own}: {failure.rule_id}" if failure.rule_id else own)
