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
MIN_DIGITS = 4  # a number's digits alone name an invoice from this length on ("2026-00042" without its prefix)
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
        numbers with one mistake only when nothing else is found."""
        found: dict[int, Clue] = {}

        def add(ids: Iterable[int], how: str, shown: str) -> None:
            for invoice_id in ids:
                found.setdefault(invoice_id, Clue(invoice_id, how, shown))

        upper = text.upper()
        for reference in find_references(upper):
            add(self.by_compact.get(reference_body(reference), ()), "rf", format_reference(reference))
        windows = list(_windows(upper))
        for shown, compact in windows:
            add(self.by_compact.get(compact, ()), "number", shown)
        for shown, compact in windows:
            digits = _NOT_DIGIT.sub("", compact)
            if len(digits) >= MIN_DIGITS:
                add(self.by_digits.get(digits, ()), "digits", shown)
        if not found:
            for shown, compact in windows:
                digits = _NOT_DIGIT.sub("", compact)
                if len(digits) >= MIN_FUZZY_DIGITS:
                    for variant in _one_mistake(digits):
                        add(self.by_digits.get(variant, ()), "typo", shown)
        return list(found.values())


def _windows(text: str) -> Iterable[tuple[str, str]]:
    """Each run of up to WINDOW adjacent groups, as written and compact: 'INV 2026 00042 and' gives
    'INV', 'INV 2026', 'INV 2026 00042', '2026', '2026 00042', '00042', 'AND', ..."""
    for run in _RUN.finditer(text):
        groups = [(m.start(), m.end()) for m in _GROUP.finditer(run.group())]
        for first in range(len(groups)):
            for last in range(first, min(first + WINDOW, len(groups))):
                shown = run.group()[groups[first][0]:groups[last][1]]
                compact = "".join(ch for ch in shown if ch.isalnum())
                if any(ch.isdigit() for ch in compact):
                    yield shown, compact


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
