"""Whole-page speed at a demo scale: each report page's script run through AppTest, as an analyst.

Usage: python -m benchmarks.bench_pages --scale L [--db PATH] [--runs 5]
Builds the demo database at PATH (default /tmp/bench_reports_<scale>.duckdb, shared with
bench_reports) if it does not exist, and adds a company profile and an `analyst` user if missing.
Prints, per page, the first run in this process (imports and caches cold) and the median of the
following runs, each a fresh AppTest session (what a new browser tab costs the server), in ms.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import statistics
import time
from pathlib import Path

from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

from benchmarks.bench_reports import open_database
from billing import settings, users
from billing.errors import BillingError
from billing.permissions import SYSTEM
from billing.store.db import forget_database

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("dashboard", "revenue", "aging", "collections", "statements", "tax_report")


def prepare(path: Path, scale: str) -> str:
    db = open_database(scale, path)
    if settings.get_company(db) is None:
        settings.save_company(db, SYSTEM, {"legal_name": "Benchmark GmbH", "country": "DE", "base_currency": "EUR",
                                           "timezone": "Europe/Berlin"})
    with contextlib.suppress(BillingError):  # the user is already there
        users.create_user(db, SYSTEM, "analyst", os.urandom(16).hex(), "analyst", name="Analyst")
    db.dispose()
    return f"duckdb:///{path}"


def run_page(page: str) -> float:
    start = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["auth_username"] = "analyst"
    if page != "dashboard":  # the dashboard is the home page: the first run shows it
        at.run()
        start = time.perf_counter()
        at.switch_page(f"app_pages/{page}.py")
    at.run()
    elapsed = (time.perf_counter() - start) * 1000
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].value}")
    if page == "dashboard" and not at.metric:
        raise RuntimeError("the dashboard showed no figures")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="S", choices=["S", "M", "L"])
    parser.add_argument("--db", default=None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    url = prepare(Path(args.db or f"/tmp/bench_reports_{args.scale}.duckdb"), args.scale)
    os.environ["BILLING_DATABASE_URL"] = url
    forget_database(url)
    # Every new AppTest scans the installed packages for components; a server does that once.
    manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)
    # AppTest runs outside a server: Streamlit warns about the missing script-run context on each run.
    logging.disable(logging.WARNING)
    print(f"scale {args.scale}: AppTest run() of each page as an analyst, ms (first run, then median of {args.runs})")
    for page in PAGES:
        first = run_page(page)
        warm = statistics.median(run_page(page) for _ in range(args.runs))
        print(f"  {page:<12} first {first:8.1f}   median {warm:8.1f}")


if __name__ == "__main__":
    main()
