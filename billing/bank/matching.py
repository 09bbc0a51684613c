"""Proposing what a statement line pays (pure: open invoices, customers and past payments in, proposals out).

Best evidence first: an RF reference or invoice number in the text; then the amount together with the
counterparty (an IBAN the customer paid from before, or a name like the customer's); then the amount
alone. Only an exact reference whose open amounts the transfer fits is "sure"; a line's currency only
ever meets invoices of that currency.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
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
MAX_PAYERS = 3  # customers of the same name looked at for amounts adding up
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
NO_MONEY = Proposal(OTHER, POSSIBLE, "the amount is zero: no money moved", category="other")


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

    def propose(self, line: StatementLine) -> Proposal:
        """The best proposal for one line (NO_IDEA when nothing fits).

        A reference whose amounts fit wins; a payer's invoices adding up to the amount exactly win over a
        reference that does not fit (a typo can name somebody else's invoice); else the reference."""
        if line.amount == 0:
            return NO_MONEY
        if line.amount < 0 or line.is_return:
            return self._outgoing(line)
        counterparty = functools.cache(lambda: self._counterparty(line))  # only worked out when needed
        by_reference = self._by_reference(line, lambda: counterparty()[0])
        if by_reference is not None and _fits(by_reference, line):
            return by_reference
        payers, how = counterparty()
        by_payer = [p for p in (self._by_customer(line, c, f"{how} of {self._names.get(c, '')}")
                                for c in self._likeliest(line, payers)) if p]
        best = min(by_payer, key=_rank, default=None)
        if best is not None and (by_reference is None or (best.confidence == LIKELY and _fits(best, line))):
            return best
        if by_reference is not None:
            return by_reference
        alone = self._by_amount.get((line.currency, line.amount), [])
        if len(alone) == 1:
            invoice = alone[0]
            return Proposal(PAYMENT, POSSIBLE, f"only invoice {invoice.number} ({self._names.get(invoice.customer_id)})"
                            " has this open amount", invoice.customer_id, ((invoice.id, line.amount),))
        return NO_IDEA

    # -- by reference ---------------------------------------------------------------------------------------

    def _by_reference(self, line: StatementLine, payers: Callable[[], list[int]]) -> Proposal | None:
        clues = [c for c in self._numbers.clues(line.remittance) if self._by_id[c.invoice_id].currency == line.currency]
        if not clues:
            return None
        by_customer: dict[int, list[Clue]] = defaultdict(list)
        for clue in clues:
            by_customer[self._by_id[clue.invoice_id].customer_id].append(clue)
        # The customer the text names most often without a mistake, the payer first among equals.
        ranked = sorted(by_customer.items(), key=lambda item: (-sum(c.exact for c in item[1]),
                                                               len(by_customer) > 1 and item[0] not in payers(),
                                                               -len(item[1]), item[0]))
        proposals = [p for customer, named in ranked
                     if (p := self._pay_named(line, customer, named, functools.partial(_among, customer, payers)))]
        fitting = [p for p in proposals if _fits(p, line)]
        return next(iter(fitting or proposals), None)

    def _pay_named(self, line: StatementLine, customer_id: int, clues: list[Clue],
                   payer: Callable[[], bool]) -> Proposal | None:
        exact = [self._by_id[c.invoice_id] for c in clues if c.exact]
        nearly = [self._by_id[c.invoice_id] for c in clues if not c.exact]
        total = sum((i.balance for i in exact), ZERO)
        found = _found_words([c for c in clues if c.exact])
        if exact and line.amount == total:
            return Proposal(PAYMENT, SURE, f"{found}; the amount fits", customer_id,
                            tuple((i.id, i.balance) for i in exact))
        # Numbers with a mistake count where their open amounts make the transfer fit exactly.
        extra = _adding_up(nearly[:SUBSET_LIMIT], line.amount - total, smallest=1, largest=3) if nearly else None
        if extra:
            words = _found_words([c for c in clues if c.invoice_id in {i.id for i in extra}])
            return Proposal(PAYMENT, LIKELY, "; ".join(filter(None, [found, words, "the amount fits"])), customer_id,
                            tuple((i.id, i.balance) for i in [*exact, *extra]))
        if not exact:
            if len(nearly) != 1 or not payer():
                return None  # a number with a mistake whose amount does not fit is no evidence
            exact, found = nearly, _found_words(clues)
            total = exact[0].balance
        subset = _adding_up(exact, line.amount) if len(exact) > 1 else None
        if subset:
            return Proposal(PAYMENT, LIKELY, f"{found}; {_numbers(subset)} add up to the amount", customer_id,
                            tuple((i.id, i.balance) for i in subset))
        if line.amount > total:
            rest = line.amount - total
            return Proposal(PAYMENT, LIKELY, f"{found}; {rest} {line.currency} more than is open, kept as credit",
                            customer_id, tuple((i.id, i.balance) for i in exact), rest)
        return Proposal(PAYMENT, LIKELY, f"{found}; a partial payment ({line.amount} of {total} {line.currency})",
                        customer_id, _oldest_first(exact, line.amount))

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
                for word in set(normal.split()):
                    self._by_word[word].add(customer_id)
        if wanted in self._by_name:
            # The same name but for the legal form: the one written exactly alike first.
            alike = [c for c in self._by_name[wanted] if self._names[c] == name]
            return alike + sorted(self._by_name[wanted] - set(alike))
        # Similar names: only names sharing the payer's rarest words are compared (fast at 100k customers).
        by_word = self._by_word
        words = sorted((w for w in set(wanted.split()) if w in by_word), key=lambda w: len(by_word[w]))
        candidates: set[int] = set().union(*(by_word[w] for w in words[:2])) if words else set()
        names = {normal_name(self._names[c]): c for c in itertools.islice(sorted(candidates), 400)}
        scored = []
        for normal, customer_id in names.items():
            similar = difflib.SequenceMatcher(None, wanted, normal)
            if similar.real_quick_ratio() >= NAME_SIMILARITY and similar.ratio() >= NAME_SIMILARITY:
                scored.append((-similar.ratio(), customer_id))
        return [customer_id for _, customer_id in sorted(scored)[:3]]

    def _likeliest(self, line: StatementLine, payers: list[int]) -> list[int]:
        """The payers worth a closer look: those with an invoice open for exactly the amount, else the first few
        (many customers may share a name)."""
        same = {i.customer_id for i in self._by_amount.get((line.currency, line.amount), ())}
        return [c for c in payers if c in same] or payers[:MAX_PAYERS]

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
        # A part of one invoice, most likely the latest one due by then (older ones still open are in dispute).
        due = [i for i in invoices if i.balance > line.amount and (i.due_date or date.min) <= line.booking_date]
        if due:
            latest = max(due, key=lambda i: (i.due_date or date.min, i.id))
            return Proposal(PAYMENT, POSSIBLE, f"{how}: a partial payment of the latest invoice due, {latest.number}",
                            customer_id, ((latest.id, line.amount),))
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


def _among(customer_id: int, payers: Callable[[], list[int]]) -> bool:
    return customer_id in payers()


def _fits(proposal: Proposal, line: StatementLine) -> bool:
    """The proposal puts the whole amount against invoices, each paid in full."""
    return proposal.kind == PAYMENT and proposal.credit == 0 and bool(proposal.allocations) and \
        sum((amount for _, amount in proposal.allocations), ZERO) == line.amount and "partial" not in proposal.reason


def _rank(proposal: Proposal) -> tuple[int, int]:
    """Better first: more sure, then one that pays invoices rather than keeping everything as credit."""
    return CONFIDENCES.index(proposal.confidence), 0 if proposal.allocations else 1


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


def _adding_up(invoices: Sequence[OpenInvoice], amount: Decimal, smallest: int = 2,
               largest: int = SUBSET_SIZE) -> list[OpenInvoice] | None:
    """The fewest invoices (`smallest` to `largest` of them, at most 5) whose balances add up to `amount`.

    Sums of pairs are looked up rather than every combination tried: a customer with 18 open invoices costs
    about a thousand steps, not the 12,000 combinations (10,000 statement lines at scale L take seconds)."""
    values = [int(i.balance.scaleb(4)) for i in invoices]
    target = int(amount.scaleb(4))
    if target <= 0 or sum(v for v in values if v <= target) < target:
        return None
    pairs: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for a, b in itertools.combinations(range(len(values)), 2):
        pairs[values[a] + values[b]].append((a, b))
    for size in range(max(smallest, 1), min(largest, 5, len(values)) + 1):
        found = _combination(values, pairs, target, size)
        if found is not None:
            return [invoices[k] for k in sorted(found)]
    return None


def _combination(values: list[int], pairs: dict[int, list[tuple[int, int]]], target: int,
                 size: int) -> tuple[int, ...] | None:
    """Indices of `size` values adding up to `target`: the first `size - 2` tried, the last two looked up."""
    if size == 1:
        return next(((k,) for k, v in enumerate(values) if v == target), None)
    for head in itertools.combinations(range(len(values)), size - 2):
        rest = target - sum(values[k] for k in head)
        for a, b in pairs.get(rest, ()):
            if a not in head and b not in head and (not head or a > head[-1]):
                return (*head, a, b)
    return None
