"""Matching precision on the demo (billing.bank.matching): a month of the demo's payments as a bank statement
with realistic noise (no reference in 30 %, numbers written in many ways or with a typo, transfers paying
several invoices, partial payments, fees and interest): the proposal is right for at least 95 % of the lines
that have a right answer, and a sure proposal is never wrong."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from billing.bank.matching import PAYMENT, SURE, Matcher
from billing.demo import load_demo
from billing.permissions import SYSTEM
from billing.store.db import Database
from tests.bank_statements import DemoStatement, demo_month

AS_OF = date(2026, 11, 25)


@pytest.fixture(scope="module")
def statement(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStatement]:
    path: Path = tmp_path_factory.mktemp("demo_s") / "demo.duckdb"
    db = Database(f"duckdb:///{path}")
    db.migrate()
    load_demo(db, SYSTEM, "S", AS_OF)
    yield demo_month(db, date(2026, 10, 1), date(2026, 10, 31))
    db.dispose()


def test_proposals_are_right_for_95_percent_and_sure_ones_never_wrong(statement: DemoStatement) -> None:
    matcher = Matcher(statement.invoices, statement.customers)
    right = wrong_sure = sure = 0
    for index, line in enumerate(statement.lines):
        proposal = matcher.propose(line)
        answer = statement.truth.get(index)
        correct = answer is not None and proposal.kind == PAYMENT and proposal.customer_id == answer[0] \
            and dict(proposal.allocations) == answer[1]
        right += correct
        sure += proposal.confidence == SURE
        wrong_sure += proposal.confidence == SURE and not correct
    assert len(statement.truth) >= 150 and len(statement.lines) > len(statement.truth)
    precision = right / len(statement.truth)
    print(f"\n{len(statement.lines)} lines, {len(statement.truth)} with a right answer: {precision:.1%} right, "
          f"{sure} sure, {wrong_sure} sure and wrong")
    assert wrong_sure == 0
    assert precision >= 0.95
