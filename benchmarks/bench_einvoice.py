"""E-invoice checking speed: stylesheet compile times, warm validation per example and profile, reading.

Usage (from the repository root): python -m benchmarks.bench_einvoice [--runs 5] [--counts]. Reads the official
examples in ../shared (beside the clone, or beside the main checkout of a git worktree); without them, the copies in
tests/data/einvoice. Prints wall-clock figures in ms: the median over the examples of each example's best of
`--runs` warm runs. Reference (shared/einvoice/README): compile CEN UBL 0.3-1.7 s, XRechnung and Peppol < 0.2 s;
a warm validation 2-17 ms. --counts instead issues the tests' spread of documents (tests.einvoice_spread: every VAT
category, allowances and charges, JPY and KWD, credit notes, partly paid, prepaid, direct debit) into a new
database and prints how many of them pass which rule set in each format (exit 1 if any fails).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from billing.einvoice import validation
from billing.einvoice.reader import parse_document
from billing.einvoice.source import read_document
from billing.einvoice.validation import EN16931, PEPPOL, PROFILES, RULE_FILES, XRECHNUNG, schema_errors
from billing.store.db import Database
from tests.einvoice_files import ALL_EXAMPLES, DATA, facturx_pdf
from tests.einvoice_files import PEPPOL as PEPPOL_FILES
from tests.einvoice_files import XRECHNUNG as XRECHNUNG_FILES


def best_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def compile_times() -> None:
    print("Compiling each stylesheet (a fresh processor each, so nothing is cached):")
    for (profile, ubl), name in RULE_FILES.items():
        saxon = validation._Saxon()
        start = time.perf_counter()
        saxon.compile(profile, ubl)
        print(f"  {name:<32} {time.perf_counter() - start:6.2f} s")
    start = time.perf_counter()
    validation.warm_up()
    print(f"  process warm-up (3 schemas + 6 stylesheets) {time.perf_counter() - start:6.2f} s")


def validation_times(runs: int) -> None:
    corpus = {EN16931: ALL_EXAMPLES or sorted(DATA.glob("*.xml")), XRECHNUNG: XRECHNUNG_FILES or sorted(DATA.glob(
        "01.*.xml")), PEPPOL: PEPPOL_FILES}
    print(f"Warm validation per example (median over the examples of the best of {runs} runs):")
    for profile, paths in corpus.items():
        if not paths:
            continue
        documents = [read_document(path.read_bytes()) for path in paths]
        rules = [best_ms(lambda d=d, p=profile: validation.parse_svrl(validation.SAXON.svrl(p, d)), runs)
                 for d in documents]
        print(f"  {PROFILES[profile]:<24} rules {statistics.median(rules):6.1f} ms (max {max(rules):.1f}) "
              f"over {len(paths)} examples")
    documents = [read_document(path.read_bytes()) for path in corpus[EN16931]]
    schemas = [best_ms(lambda d=d: schema_errors(d), runs) for d in documents]
    print(f"  XML schema check         {statistics.median(schemas):6.2f} ms (max {max(schemas):.2f})")
    whole = [best_ms(lambda p=p: validation.validate_bytes(p.read_bytes()), runs) for p in corpus[EN16931]]
    print(f"  read + schema + EN 16931 {statistics.median(whole):6.1f} ms per file (max {max(whole):.1f})")


def reading_times(runs: int) -> None:
    paths = ALL_EXAMPLES or sorted(DATA.glob("*.xml"))
    raw = [path.read_bytes() for path in paths]
    safe = [best_ms(lambda b=b: read_document(b), runs) for b in raw]
    parsed = [best_ms(lambda b=b: parse_document(read_document(b)), runs) for b in raw]
    pdf = facturx_pdf((DATA / "01.01a-INVOICE_uncefact.xml").read_bytes())
    print("Reading:")
    print(f"  safe XML parse           {statistics.median(safe):6.2f} ms (max {max(safe):.2f})")
    print(f"  parse into ParsedInvoice {statistics.median(parsed):6.2f} ms (max {max(parsed):.2f})")
    print(f"  Factur-X PDF: XML out    {best_ms(lambda: read_document(pdf), runs):6.2f} ms; "
          f"validated (EN 16931) {best_ms(lambda: validation.validate_bytes(pdf), runs):.1f} ms")


def rule_set_counts() -> int:
    """Issue the spread into a new database, print the counts per format and rule set; 1 if any failed."""
    from tests.conftest import database_url, seed
    from tests.einvoice_spread import rule_set_counts, spread_documents

    with tempfile.TemporaryDirectory(prefix="bench_einvoice_counts_") as folder:
        db = Database(database_url(Path(folder) / "spread.duckdb"))
        db.migrate()
        ids = spread_documents(db, seed(db))
        start = time.perf_counter()
        counts, failures = rule_set_counts(db, ids)
        seconds = time.perf_counter() - start
        db.dispose()
    print(f"Generated documents through the official rules (schema + rule set, each on its own; {seconds:.1f} s):")
    for count in counts:
        print(f"  {count}")
    for failure in failures:
        print(f"  FAILED {failure}")
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--counts", action="store_true", help="count the spread's documents passing each rule set")
    args = parser.parse_args()
    if args.counts:
        sys.exit(rule_set_counts())
    compile_times()
    validation_times(args.runs)
    reading_times(args.runs)


if __name__ == "__main__":
    main()
