"""Bank statement speed: import and match a camt.053 statement of 10,000 lines against the open invoices at scale L.

Usage: python -m benchmarks.bench_bank [--source /tmp/bench_L.duckdb] [--lines 10000] [--precision M]
The demo database (built by benchmarks/bench_core.py --scale L, or here if missing) is copied to a temporary
folder first and never changed. Prints the time of each step and the proposals by confidence; the goal is
<= 10 s for the whole import. With --precision S|M it first builds that demo in a temporary folder and prints
the matching precision on a month of its payments (as tests/test_bank_precision.py asserts at S).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas  # noqa: F401  (loaded in the app by Streamlit; pyarrow imports it on first use, ~1 s)
import sqlalchemy as sa

from billing import signing
from billing.bank import service
from billing.bank.matching import SURE, Matcher
from billing.demo import load_demo
from billing.money import round_money
from billing.permissions import SYSTEM
from billing.references import creditor_reference, format_reference
from billing.store.db import Database
from tests.bank_statements import camt053, demo_month, iban_of

AS_OF = date(2026, 11, 25)
GOAL_SECONDS = 10.0


def copy_database(source: Path, folder: Path) -> Database:
    """A copy of the demo database (with its installation files) that the benchmark may change."""
    if not source.exists():
        db = Database(f"duckdb:///{source}")
        db.migrate()
        summary = load_demo(db, SYSTEM, "L", AS_OF)
        db.dispose()
        print(f"built scale L in {summary.seconds} s")
    target = folder / source.name
    for file in source.parent.glob(source.name + "*"):
        shutil.copyfile(file, folder / file.name)
    signing.copy_installation_files(f"duckdb:///{source}", f"duckdb:///{target}")
    db = Database(f"duckdb:///{target}")
    db.migrate()
    return db


def statement(db: Database, count: int, seed: int = 11) -> bytes:
    """`count` lines paying open invoices: 70 % with the number or RF reference, some paying two invoices at once,
    some partial, 3 % bank fees."""
    rng = random.Random(seed)
    with db.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT i.id, i.number, i.currency, i.customer_id, c.name, i.payable - i.paid_amount - i.credited_amount "
            "FROM invoices i JOIN customers c ON c.id = i.customer_id "
            "WHERE i.is_open AND i.kind = 'invoice' AND i.status = 'issued' "
            "ORDER BY i.id")).all()
    picked = rng.sample(rows, min(count, len(rows)))
    lines = []
    for index, (_, number, currency, customer_id, name, balance) in enumerate(picked[:count]):
        amount = round_money(balance, currency)
        roll = rng.random()
        if roll < 0.03:
            lines.append({"amount": f"-{rng.randint(1, 50)}.00", "currency": "EUR", "date": "2026-11-20",
                          "name": "Sparkasse", "iban": "", "text": "Kontoführungsgebühr", "ref": f"FEE-{index}"})
            continue
        if roll < 0.10:
            amount = round_money(amount / 2, currency)  # a partial payment
        text = "" if rng.random() < 0.3 else rng.choice([number, format_reference(creditor_reference(number)),
                                                         f"Invoice {number.replace('-', ' ')}"])
        lines.append({"amount": f"{amount}", "currency": currency, "date": "2026-11-20", "name": name,
                      "iban": iban_of(customer_id), "text": text, "ref": f"BENCH-{index}"})
    return camt053(lines)


def precision(scale: str) -> None:
    """The share of right proposals, and of wrong sure ones, on October's demo payments at `scale`."""
    with tempfile.TemporaryDirectory(prefix="bench_bank_demo_") as folder:
        db = Database(f"duckdb:///{folder}/demo.duckdb")
        db.migrate()
        load_demo(db, SYSTEM, scale, AS_OF)
        month = demo_month(db, date(2026, 10, 1), date(2026, 10, 31))
        db.dispose()
    matcher = Matcher(month.invoices, month.customers)
    right = sure = wrong_sure = 0
    for index, line in enumerate(month.lines):
        proposal = matcher.propose(line)
        answer = month.truth.get(index)
        correct = answer is not None and (proposal.customer_id, dict(proposal.allocations)) == answer
        right += correct
        sure += proposal.confidence == SURE
        wrong_sure += proposal.confidence == SURE and not correct
    print(f"precision at scale {scale}: {len(month.lines):,} lines, {len(month.truth):,} with a right answer, "
          f"{right / len(month.truth):.1%} proposed right; {sure:,} sure, {wrong_sure} of them wrong")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default="/tmp/bench_L.duckdb")
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--precision", choices=["S", "M"], default=None)
    args = parser.parse_args()
    if args.precision:
        precision(args.precision)
    with tempfile.TemporaryDirectory(prefix="bench_bank_") as folder:
        start = time.perf_counter()
        db = copy_database(Path(args.source), Path(folder))
        print(f"copied the demo database in {time.perf_counter() - start:.1f} s")
        data = statement(db, args.lines)
        print(f"statement: {args.lines:,} lines, {len(data) / 1e6:.1f} MB camt.053")
        start = time.perf_counter()
        _, lines = service.read_statement(data)
        parsed = time.perf_counter() - start
        with db.connect() as conn:
            start = time.perf_counter()
            matcher = service.matcher(conn, sorted({line.currency for line in lines}))
            built = time.perf_counter() - start
        start = time.perf_counter()
        for line in lines:
            matcher.propose(line)
        matched = time.perf_counter() - start
        print(f"  parse {parsed:.2f} s, load {len(matcher.invoices):,} open invoices and {len(matcher.customers):,} "
              f"customers {built:.2f} s, match {matched:.2f} s")
        start, cpu = time.perf_counter(), time.process_time()
        report = service.import_statement(db, SYSTEM, data, "bench.xml")
        total = time.perf_counter() - start
        print(f"import and match: {total:.2f} s ({time.process_time() - cpu:.2f} s of CPU, load average "
              f"{os.getloadavg()[0]:.1f}) for {report.lines_new:,} new lines "
              f"({'within' if total <= GOAL_SECONDS else 'OVER'} the {GOAL_SECONDS:.0f} s goal); proposals: "
              + ", ".join(f"{k} {v:,}" for k, v in sorted(report.confidences.items())))
        start = time.perf_counter()
        again = service.import_statement(db, SYSTEM, data, "bench.xml")
        print(f"the same file again: {time.perf_counter() - start:.2f} s, {again.lines_new} new lines")
        db.dispose()


if __name__ == "__main__":
    main()
