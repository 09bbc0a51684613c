"""ISO 11649 structured creditor references ("RF" references) derived from invoice numbers, and found in text."""

from __future__ import annotations

import re

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

# ISO 11649: "RF", two check digits, then 1 to 21 characters 0-9 and A-Z.
MAX_BODY = 21
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_START = re.compile(r"^RF[0-9]{2}[0-9A-Z]{0,21}$")
_GROUP = re.compile(r"^[0-9A-Z]{1,4}$")


def compact_number(number: str) -> str:
    """An invoice number as the alphanumerics of a reference: 'INV-2026/00042' -> 'INV202600042'.

    Longer than the 21 characters a reference holds, the last 21 are kept: the sequence number is at the end."""
    return _NOT_ALNUM.sub("", number.upper())[-MAX_BODY:]


def creditor_reference(invoice_number: str) -> str:
    """The RF creditor reference of an invoice number, without spaces: 'INV-2026-00042' -> 'RF49INV202600042'.

    Raises ValueError for a number without any letter or digit (a draft has no number)."""
    body = compact_number(invoice_number)
    if not body:
        raise ValueError(f"Invoice number {invoice_number!r} has no letters or digits for a creditor reference.")
    reference = f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"
    return str(iso11649.validate(reference))


def format_reference(reference: str) -> str:
    """A reference grouped by four as printed on paper: 'RF18 5390 0754 7034'."""
    return str(iso11649.format(reference))


def reference_body(reference: str) -> str:
    """What a reference carries after RF and its check digits: 'RF49INV202600042' -> 'INV202600042'."""
    return iso11649.compact(reference)[4:]


def _mod97(reference: str) -> int:
    """ISO 7064 mod 97-10 of a reference with RF and its check digits moved to the end (1 when valid): a quick
    test before python-stdnum's own, which is slow for the thousands of tokens of a statement."""
    try:
        return int("".join(str(int(ch, 36)) for ch in reference[4:] + reference[:4])) % 97
    except ValueError:
        return -1


def find_references(text: str) -> list[str]:
    """The valid RF references in free text, compact and in order of appearance: written together
    ('RF18539007547034') or in groups of four ('rf18 5390 0754 7034'). Check digits are verified, so a
    mistyped reference is not taken for another one."""
    words = [word.strip(".,;:()[]'\"") for word in text.upper().split()]
    found: list[str] = []
    for index, word in enumerate(words):
        if not _START.match(word):
            continue
        candidates = [word]
        # Printed groups are four characters each, the last may be shorter; the longest valid one is taken.
        for group in words[index + 1:]:
            if len(candidates[-1]) % 4 or not _GROUP.match(group) or len(candidates[-1]) + len(group) > 4 + MAX_BODY:
                break
            candidates.append(candidates[-1] + group)
        valid = [c for c in candidates if _mod97(c) == 1 and iso11649.is_valid(c)]
        if valid and valid[-1] not in found:
            found.append(valid[-1])
    return found
