"""The server's share of the invoice editor and of the sidebar pages: one script run each, through AppTest.

Usage: python -m benchmarks.bench_editor --database PATH [--runs 5] [--profile editor|PAGE]

PATH is a database that the code under test may migrate and write (a copy: never a shared benchmark file); it
needs a user `bench` (benchmarks/bench_browser.py's PREPARE adds one, or pass --create-user). Printed per step,
in ms: the median wall time and CPU time (this process) of the script run, so a loaded machine's waiting can be
told apart from work. Steps: the editor opened for a new invoice, the customer picked, a quantity typed, a
product picked; then each report page opened (a full run). --profile prints cProfile's top functions of one run
of that step.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("dashboard", "cash_collections", "payments", "revenue", "aging", "invoices", "customers")


_PROFILER: list[cProfile.Profile] = []  # the profiler of the step being profiled (the script runs in its own thread)
_run_script = ScriptRunner._run_script


def _profiled_run_script(self: ScriptRunner, *args: Any, **kwargs: Any) -> Any:
    for profiler in _PROFILER:
        profiler.enable()
    try:
        return _run_script(self, *args, **kwargs)
    finally:
        for profiler in _PROFILER:
            profiler.disable()


ScriptRunner._run_script = _profiled_run_script  # type: ignore[method-assign]


def _timed(at: AppTest, step: Callable[[AppTest], AppTest], profile: bool) -> tuple[float, float]:
    """Wall and CPU ms of one step (CPU of the whole process: the script's thread and AppTest's)."""
    if profile:
        _PROFILER.append(cProfile.Profile())
    wall, cpu = time.perf_counter(), time.process_time()
    step(at)
    wall, cpu = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    if profile:
        stats = pstats.Stats(_PROFILER.pop()).sort_stats("cumulative")
        stats.print_stats(60)
        stats.print_callees("invoice_editor")
    return wall, cpu


def _editor(customer: int, product: int) -> dict[str, Callable[[AppTest], AppTest]]:
    return {"open new invoice": lambda at: at.run(),
            "pick customer": lambda at: at.selectbox(key="ie_customer").set_value(customer).run(),
            "field edit": lambda at: at.text_input(key="ie_l0_qty").set_value(str(time.monotonic_ns() % 97 + 2)).run(),
            "pick product": lambda at: at.selectbox(key="ie_l0_product").set_value(product).run()}


def _new_editor() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["auth_username"] = "bench"
    at.query_params["edit"] = "new"
    at.switch_page("app_pages/invoices.py")
    return at


def bench_editor(runs: int, profile: str | None, customer: int, product: int) -> None:
    steps = _editor(customer, product)
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in steps}
    for attempt in range(runs + 1):  # the first round warms imports and caches
        at = _new_editor()
        for name, step in steps.items():
            wall_cpu = _timed(at, step, profile == name and attempt == runs)
            if attempt:
                figures[name].append(wall_cpu)
    _show("editor", figures)


def bench_pages(runs: int, profile: str | None) -> None:
    figures: dict[str, list[tuple[float, float]]] = {page: [] for page in PAGES}
    for attempt in range(runs + 1):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["auth_username"] = "bench"
        at.run()
        for page in PAGES:
            at.switch_page(f"app_pages/{page}.py")
            wall_cpu = _timed(at, AppTest.run, profile == page and attempt == runs)
            if attempt:
                figures[page].append(wall_cpu)
    _show("page", figures)


def _show(kind: str, figures: dict[str, list[tuple[float, float]]]) -> None:
    for name, samples in figures.items():
        if samples:
            print(f"  {kind} {name:<20} wall {statistics.median(w for w, _ in samples):7.0f}  "
                  f"cpu {statistics.median(c for _, c in samples):7.0f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", help="'field edit', 'pick product', ... or a page name")
    parser.add_argument("--customer", type=int, default=1)
    parser.add_argument("--product", type=int, default=1)
    parser.add_argument("--only", choices=["editor", "pages"])
    args = parser.parse_args()
    os.environ["BILLING_DATABASE_URL"] = f"duckdb:///{args.database.resolve()}"
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    print(f"load average before: {os.getloadavg()[0]:.2f}; ms per script run (median of {args.runs}):", flush=True)
    if args.only != "pages":
        bench_editor(args.runs, args.profile, args.customer, args.product)
    if args.only != "editor":
        bench_pages(args.runs, args.profile)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
