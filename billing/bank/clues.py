"""Invoice references in remittance text: RF references, invoice numbers however written, and numbers
with one typing mistake (pure: an index of numbers in, the invoices a text names out)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from billing.references import compact_number, find_references, format_reference, reference_body

# Runs of letters and digits joined by single separators: "INV-2026-00042", "inv 2026/00042".
_RUN = re.compile(r"[0-9A-Z]+(?:[-/._ ][0-9A-Z]+)*")
_GROUP = re.compile(r"[0-9A-Z]+")
_NOT_DIGIT = re.compile(r"[^0-9]")
# A number's digits alone name an invoice from this length on ("2026-00042" without its prefix): shorter ones
# are too easily a date, an amount or a house number.
MIN_DIGITS = 6
MIN_FUZZY_DIGITS = 6  # one typing mistake is forgiven from this length on (shorter numbers are too alike)
WINDOW = 4  # at most this many groups of a run form one number


@dataclass(frozen=True, slots=True)
class Clue:
    """An invoice a text names: how (`rf`, `number`, `digits` or `typo`) and the words that name it."""

    invoice_id: int
    how: str
    shown: str

    @property
    def exact(self) -> bool:
        """Named without a mistake (a typo match is only a guess)."""
        return self.how != "typo"


class NumberIndex:
    """Invoice numbers by their compact form and by their digits, for finding them in text."""

    def __init__(self, numbers: Iterable[tuple[int, str]]) -> None:
        self.by_compact: dict[str, list[int]] = defaultdict(list)
        self.by_digits: dict[str, list[int]] = defaultdict(list)
        for invoice_id, number in numbers:
            self.by_compact[compact_number(number)].append(invoice_id)
            digits = _NOT_DIGIT.sub("", number)
            if len(digits) >= MIN_DIGITS:
                self.by_digits[digits].append(invoice_id)

    def clues(self, text: str) -> list[Clue]:
        """The invoices `text` names, best evidence first: RF references, numbers as written, their digits;
        then the numbers one mistake away from a number in the text that names no invoice."""
        found: dict[int, Clue] = {}
        hit_digits: set[str] = set()

        def add(ids: Iterable[int], how: str, shown: str) -> None:
            for invoice_id in ids:
                found.setdefault(invoice_id, Clue(invoice_id, how, shown))
                if how != "typo":
                    hit_digits.add(_NOT_DIGIT.sub("", shown))

        upper = text.upper()
        for reference in find_references(upper):
            add(self.by_compact.get(reference_body(reference), ()), "rf", format_reference(reference))
        windows = [(shown, compact, _NOT_DIGIT.sub("", compact)) for shown, compact in _windows(upper)]
        for shown, compact, _ in windows:
            add(self.by_compact.get(compact, ()), "number", shown)
        for shown, _, digits in windows:
            if len(digits) >= MIN_DIGITS:
                add(self.by_digits.get(digits, ()), "digits", shown)
        for shown, _, digits in windows:
            if len(digits) >= MIN_FUZZY_DIGITS and not any(digits in hit or hit in digits for hit in hit_digits):
                for variant in _one_mistake(digits):
                    add(self.by_digits.get(variant, ()), "typo", shown)
        return list(found.values())


def _windows(text: str) -> Iterable[tuple[str, str]]:
    """Each run of up to WINDOW adjacent groups that ends in digits, as written and compact: 'INV 2026 00042 and'
    gives 'INV 2026', '2026', 'INV 2026 00042', '2026 00042', '00042'."""
    for run in _RUN.finditer(text):
        written = run.group()
        groups = [(m.start(), m.end(), m.group()) for m in _GROUP.finditer(written)]
        for last, (_, end, group) in enumerate(groups):
            if not group[-1].isdigit():
                continue
            compact = ""
            for first in range(last, max(-1, last - WINDOW), -1):
                compact = groups[first][2] + compact
                yield written[groups[first][0]:end], compact


_DIGITS = "0123456789"


def _one_mistake(digits: str) -> Iterable[str]:
    """Every string one typing mistake away: a digit left out, added, changed, or two swapped."""
    for i in range(len(digits)):
        yield digits[:i] + digits[i + 1:]
        for d in _DIGITS:
            if d != digits[i]:
                yield digits[:i] + d + digits[i + 1:]
        if i + 1 < len(digits) and digits[i] != digits[i + 1]:
            yield digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
    for i in range(len(digits) + 1):
        for d in _DIGITS:
            yield digits[:i] + d + digits[i:]
