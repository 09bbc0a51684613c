"""Proposing what a statement line pays (pure: open invoices, customers and past payments in, proposals out).

Best evidence first: an RF reference or invoice number in the text; then the amount together with the
counterparty (an IBAN the customer paid from before, or a name like the customer's); then the amount
alone. Only an exact reference whose open amounts the transfer fits is "sure"; a line's currency only
ever meets invoices of that currency.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from billing.bank.clues import Clue, NumberIndex
from billing.bank.lines import StatementLine

ZERO = Decimal(0)
SURE, LIKELY, POSSIBLE, NONE = "sure", "likely", "possible", "none"
CONFIDENCES = (SURE, LIKELY, POSSIBLE, NONE)
PAYMENT, REVERSAL, OTHER, NOTHING = "payment", "reversal", "other", "none"
SUBSET_LIMIT = 18  # open invoices of one customer searched for amounts adding up (2^18 sums at most)
SUBSET_SIZE = 5
NAME_SIMILARITY = 0.82
_LEGAL_FORMS = re.compile(r"\b(gmbh|ag|kg|ohg|ug|ek|ltd|limited|inc|llc|plc|sarl|sas|sa|bv|nv|co|kgaa|se|"
                          r"haftungsbeschrankt|mbh|corp|corporation|company)\b")
# German words of fees are often parts of compounds ("Kontoführungsgebühr"): no word boundary for them.
_FEE_WORDS = re.compile(r"\b(fee|fees|charges?|interest)\b|geb[üu]e?hr|entgelt|kontof[üu]e?hrung|spesen|zinsen",
                        re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    """An issued invoice with money still due: `balance` in `currency`."""

    id: int
    number: str
    customer_id: int
    currency: str
    balance: Decimal
    due_date: date | None = None


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer as the matcher knows them: name and the IBANs they paid from before."""

    id: int
    name: str
    ibans: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PastPayment:
    """A payment recorded from an earlier statement line, which a return may take back."""

    payment_id: int
    customer_id: int
    amount: Decimal
    currency: str
    end_to_end_id: str = ""
    counterparty_iban: str = ""


@dataclass(frozen=True, slots=True)
class Proposal:
    """What a line is proposed to be, how sure, and why in words.

    kind: `payment` (of `customer_id`: `allocations` (invoice id, amount), the rest `credit`), `reversal`
    (of payment `reverses`), `other` (not a customer payment: `category`), or `none` (no idea).
    """

    kind: str
    confidence: str
    reason: str
    customer_id: int | None = None
    allocations: tuple[tuple[int, Decimal], ...] = ()
    credit: Decimal = ZERO
    reverses: int | None = None
    category: str = ""

    @property
    def invoice_ids(self) -> frozenset[int]:
        return frozenset(invoice_id for invoice_id, _ in self.allocations)


NO_IDEA = Proposal(NOTHING, NONE, "no invoice, customer or earlier payment fits this line")


def normal_name(name: str) -> str:
    """A company name for comparing: lower case, no accents' variants, no legal form or punctuation."""
    text = name.casefold().replace("ä", "a").replace("ö", "o").replace("ü", "u").replace("ß", "ss")
    text = _LEGAL_FORMS.sub(" ", re.sub(r"[^\w\s]", " ", text.replace(".", "")))  # "S.A.R.L." is "sarl"
    return " ".join(text.split())


@dataclass
class Matcher:
    """Proposals for statement lines against one snapshot of open invoices, customers and past payments."""

    invoices: Sequence[OpenInvoice]
    customers: Sequence[Customer]
    past: Sequence[PastPayment] = ()
    _by_id: dict[int, OpenInvoice] = field(init=False)
    _numbers: NumberIndex = field(init=False)
    _of_customer: dict[tuple[int, str], list[OpenInvoice]] = field(init=False)
    _by_amount: dict[tuple[str, Decimal], list[OpenInvoice]] = field(init=False)
    _by_iban: dict[str, set[int]] = field(init=False)
    _names: dict[int, str] = field(init=False)
    _by_name: dict[str, set[int]] | None = field(init=False, default=None)
    _by_word: dict[str, set[int]] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._by_id = {invoice.id: invoice for invoice in self.invoices}
        self._numbers = NumberIndex((invoice.id, invoice.number) for invoice in self.invoices)
        self._of_customer = defaultdict(list)
        self._by_amount = defaultdict(list)
        for invoice in sorted(self.invoices, key=lambda i: (i.due_date or date.max, i.id)):
            self._of_customer[(invoice.customer_id, invoice.currency)].append(invoice)
            self._by_amount[(invoice.currency, invoice.balance)].append(invoice)
        self._by_iban = defaultdict(set)
        self._names = {}
        for customer in self.customers:
            self._names[customer.id] = customer.name
            for iban in customer.ibans:
                self._by_iban[iban].add(customer.id)

    def number(self, invoice_id: int) -> str:
        invoice = self._by_id.get(invoice_id)
        return invoice.number if invoice else f"#{invoice_id}"

    def propose(self, line: StatementLine) -> Proposal:
        """The best proposal for one line (NO_IDEA when nothing fits)."""
        if line.amount < 0 or line.is_return:
            return self._outgoing(line)
        by_reference = self._by_reference(line)
        if by_reference is not None:
            return by_reference
        customers, how = self._counterparty(line)
        for customer_id in customers:
            proposal = self._by_customer(line, customer_id, f"{how} of {self._names.get(customer_id, '')}")
            if proposal is not None:
                return proposal
        alone = self._by_amount.get((line.currency, line.amount), [])
        if len(alone) == 1:
            invoice = alone[0]
            return Proposal(PAYMENT, POSSIBLE, f"only invoice {invoice.number} ({self._names.get(invoice.customer_id)})"
                            " has this open amount", invoice.customer_id, ((invoice.id, line.amount),))
        return NO_IDEA

    # -- by reference ---------------------------------------------------------------------------------------

    def _by_reference(self, line: StatementLine) -> Proposal | None:
        clues = [c for c in self._numbers.clues(line.remittance) if self._by_id[c.invoice_id].currency == line.currency]
        if not clues:
            return None
        known = set(self._counterparty(line)[0])
        by_customer: dict[int, list[Clue]] = defaultdict(list)
        for clue in clues:
            by_customer[self._by_id[clue.invoice_id].customer_id].append(clue)
        # The payer's own invoices first, then the customer the text names most often.
        ranked = sorted(by_customer.items(), key=lambda item: (item[0] not in known, -len(item[1]), item[0]))
        for customer_id, named in ranked:
            proposal = self._pay_named(line, customer_id, named, customer_id in known)
            if proposal is not None:
                return proposal
        return None

    def _pay_named(self, line: StatementLine, customer_id: int, clues: list[Clue], payer: bool) -> Proposal | None:
        invoices = [self._by_id[c.invoice_id] for c in clues]
        total = sum((i.balance for i in invoices), ZERO)
        exact = all(c.exact for c in clues)
        found = _found_words(clues)
        if line.amount == total:
            confidence = SURE if exact else LIKELY
            return Proposal(PAYMENT, confidence, f"{found}; the amount fits", customer_id,
                            tuple((i.id, i.balance) for i in invoices))
        if not exact and not payer:
            return None  # a number with a mistake whose amount does not fit is no evidence
        subset = _adding_up(invoices, line.amount) if len(invoices) > 1 else None
        if subset:
            return Proposal(PAYMENT, LIKELY, f"{found}; {_numbers(subset)} add up to the amount", customer_id,
                            tuple((i.id, i.balance) for i in subset))
        if line.amount > total:
            extra = line.amount - total
            return Proposal(PAYMENT, LIKELY, f"{found}; {extra} {line.currency} more than is open, kept as credit",
                            customer_id, tuple((i.id, i.balance) for i in invoices), extra)
        return Proposal(PAYMENT, LIKELY, f"{found}; a partial payment ({line.amount} of {total} {line.currency})",
                        customer_id, _oldest_first(invoices, line.amount))

    # -- by counterparty ------------------------------------------------------------------------------------

    def _counterparty(self, line: StatementLine) -> tuple[list[int], str]:
        """Customers the payer may be: by a known IBAN, else by name."""
        if line.counterparty_iban and line.counterparty_iban in self._by_iban:
            return sorted(self._by_iban[line.counterparty_iban]), "amount and IBAN"
        return self._named(line.counterparty_name), "amount and name"

    def _named(self, name: str) -> list[int]:
        wanted = normal_name(name)
        if not wanted:
            return []
        if self._by_name is None or self._by_word is None:
            self._by_name, self._by_word = defaultdict(set), defaultdict(set)
            for customer_id, customer_name in self._names.items():
                normal = normal_name(customer_name)
                self._by_name[normal].add(customer_id)
                for word in normal.split():
                    self._by_word[word].add(customer_id)
        if wanted in self._by_name:
            return sorted(self._by_name[wanted])
        # Similar names: only customers sharing the payer's rarest word are compared (fast at 100k customers).
        by_word = self._by_word
        words = sorted((w for w in wanted.split() if w in by_word), key=lambda w: len(by_word[w]))
        candidates: set[int] = set().union(*(by_word[w] for w in words[:2])) if words else set()
        scored = []
        for customer_id in itertools.islice(sorted(candidates), 200):
            ratio = difflib.SequenceMatcher(None, wanted, normal_name(self._names[customer_id])).ratio()
            if ratio >= NAME_SIMILARITY:
                scored.append((-ratio, customer_id))
        return [customer_id for _, customer_id in sorted(scored)[:3]]

    def _by_customer(self, line: StatementLine, customer_id: int, how: str) -> Proposal | None:
        invoices = self._of_customer.get((customer_id, line.currency), [])
        if not invoices:
            return Proposal(PAYMENT, POSSIBLE, f"{how}; no open {line.currency} invoice: all as credit", customer_id,
                            (), line.amount)
        same = [i for i in invoices if i.balance == line.amount]
        if same:
            confidence = LIKELY if len(same) == 1 else POSSIBLE
            several = "" if len(same) == 1 else f" (the oldest of {len(same)} with this amount)"
            return Proposal(PAYMENT, confidence, f"{how}: invoice {same[0].number}{several}", customer_id,
                            ((same[0].id, line.amount),))
        subset = _adding_up(invoices[:SUBSET_LIMIT], line.amount)
        if subset:
            return Proposal(PAYMENT, LIKELY, f"{how}: {_numbers(subset)} add up to the amount", customer_id,
                            tuple((i.id, i.balance) for i in subset))
        total = sum((i.balance for i in invoices), ZERO)
        if line.amount > total:
            return Proposal(PAYMENT, POSSIBLE, f"{how}: all open invoices, {line.amount - total} {line.currency} "
                            "as credit", customer_id, tuple((i.id, i.balance) for i in invoices), line.amount - total)
        return Proposal(PAYMENT, POSSIBLE, f"{how}: a partial payment, oldest invoice first", customer_id,
                        _oldest_first(invoices, line.amount))

    # -- money going out ------------------------------------------------------------------------------------

    def _outgoing(self, line: StatementLine) -> Proposal:
        if line.is_return:
            taken_back = -line.amount if line.amount < 0 else line.amount
            for past in self.past:
                if past.currency != line.currency or past.amount != taken_back:
                    continue
                if (line.end_to_end_id and past.end_to_end_id == line.end_to_end_id) or (
                        line.counterparty_iban and past.counterparty_iban == line.counterparty_iban):
                    via = "end-to-end id" if past.end_to_end_id == line.end_to_end_id else "IBAN"
                    return Proposal(REVERSAL, LIKELY, f"a return ({line.return_code or 'R-transaction'}) of payment "
                                    f"{past.payment_id}: same amount and {via}", past.customer_id,
                                    reverses=past.payment_id)
            return Proposal(OTHER, POSSIBLE, "a return, but of no payment recorded from a statement", category="other")
        if _FEE_WORDS.search(f"{line.remittance} {line.counterparty_name}"):
            return Proposal(OTHER, POSSIBLE, "bank charges or interest by the text", category="fee")
        return Proposal(OTHER, POSSIBLE, "money going out, not a customer payment", category="outgoing")


def _found_words(clues: list[Clue]) -> str:
    words = {"rf": "{} found in the text", "number": "invoice number {} found in the text",
             "digits": "invoice number {} found in the text", "typo": "{} in the text is nearly an invoice number"}
    return "; ".join(dict.fromkeys(words[c.how].format(c.shown) for c in clues))


def _numbers(invoices: Iterable[OpenInvoice]) -> str:
    return ", ".join(i.number for i in invoices)


def _oldest_first(invoices: Sequence[OpenInvoice], amount: Decimal) -> tuple[tuple[int, Decimal], ...]:
    plan, left = [], amount
    for invoice in sorted(invoices, key=lambda i: (i.due_date or date.max, i.id)):
        if left <= 0:
            break
        take = min(invoice.balance, left)
        plan.append((invoice.id, take))
        left -= take
    return tuple(plan)


def _adding_up(invoices: Sequence[OpenInvoice], amount: Decimal) -> list[OpenInvoice] | None:
    """The fewest invoices (at most SUBSET_SIZE, the oldest such set) whose balances add up to `amount`."""
    for size in range(2, min(SUBSET_SIZE, len(invoices)) + 1):
        for combination in itertools.combinations(invoices, size):
            if sum((i.balance for i in combination), ZERO) == amount:
                return list(combination)
    return None
