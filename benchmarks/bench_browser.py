"""The portal as felt in real headless Chromium: click to "page no longer changing", and script runs per page load.

Usage: python -m benchmarks.bench_browser [--scale S] [--database PATH] [--app-root DIR] [--runs 3] [--no-loads]

Works on a copy: of PATH with the key files beside it (PATH itself is never opened), else of a demo database
built at --scale in a temporary folder. A user `bench` (admin, random password) and a company profile are added
to the copy by the code under test (--app-root, default this checkout: point it at another checkout to compare).
Then `streamlit run app.py` serves the copy and Chromium (Debian's, see tests/README.md) signs in and clicks
every page of the sidebar, then types a quantity into a new invoice's first line and picks a product for it.
Printed, in ms from the click: when the page stopped changing (the last change to the page's DOM, once the
script run is over and nothing changed for QUIET_MS), and how many full script runs the click caused (counted
from the server's messages: each run ends with a `script_finished` message; a fragment's run is not counted, so
an edit in the invoice editor's fragment shows 0), and the CPU time the server process used meanwhile (on a
shared machine the wall time waits for CPU; this does not) and the browser's (Chromium's processes, from the click
to the end of the quiet wait), the cumulative layout shift (CLS, as web-vitals count
it) and the longest a grey skeleton (stAppSkeleton, stSkeleton, stSkeletonElement) stayed visible. Sign-in is
measured from the click on "Sign in" to the dashboard settled, the form having been open TYPING_MS (the user types;
the page prefetches the portal's files meanwhile); "load" is opening the page's URL afresh.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, WebSocket, sync_playwright
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUIET_MS = 800  # no DOM change for this long after the run: the page has stopped changing
TIMEOUT_S = 60
KEY_FILES = (".audit_key", ".backup_key", ".installation_id", ".cookie_key", ".api_token_key")
USERNAME = "bench"
# Run with the checkout under test's own code (its schema version): no import of this checkout's billing.
PREPARE = """
import sys
from billing import settings, users
from billing.permissions import SYSTEM
from billing.store.db import forget_database, get_database
db = get_database(sys.argv[1])  # migrated to the schema of the code under test
if settings.get_company(db) is None:
    settings.save_company(db, SYSTEM, {"legal_name": "Benchmark GmbH", "country": "DE", "base_currency": "EUR",
                                       "timezone": "Europe/Berlin"})
if users.get_user(db, "bench") is None:
    users.create_user(db, SYSTEM, "bench", sys.argv[2], "admin", name="Bench Mark")
forget_database(sys.argv[1])
"""
# Streamlit's grey placeholders: the app's while it connects, an element's while its code loads, st.skeleton.
SKELETONS = "[data-testid='stAppSkeleton'], [data-testid='stSkeleton'], [data-testid='stSkeletonElement']"
# Records the time of the page's last DOM change, each layout shift (as web-vitals count them for CLS: not within
# 0.5 s of the user's input) and each time a skeleton was visible [from, to] (Date.now() ms; installed again in
# every new document).
WATCH = f"""
window.__lastChange = Date.now();
window.__shifts = [];
window.__skeletons = [];
const skeletonShown = () => Array.from(document.querySelectorAll("{SKELETONS}"))
  .some(element => element.getClientRects().length > 0);
new MutationObserver(() => {{
  const now = Date.now(), spans = window.__skeletons, open = spans.length && spans[spans.length - 1][1] === null;
  window.__lastChange = now;
  const shown = skeletonShown();
  if (shown && !open) spans.push([now, null]);
  if (!shown && open) spans[spans.length - 1][1] = now;
}}).observe(document, {{subtree: true, childList: true, attributes: true, characterData: true}});
new PerformanceObserver(list => {{
  for (const shift of list.getEntries()) {{
    if (!shift.hadRecentInput) window.__shifts.push([performance.timeOrigin + shift.startTime, shift.value]);
  }}
}}).observe({{type: "layout-shift", buffered: true}});
"""
# What the page shows since `started`: the layout shifts' sum (CLS) and the longest a skeleton stayed visible.
SINCE = """started => ({
  cls: window.__shifts.filter(([at]) => at >= started).reduce((sum, [, value]) => sum + value, 0),
  skeleton: Math.max(0, ...window.__skeletons.filter(([, to]) => to === null || to >= started)
    .map(([from, to]) => (to === null ? Date.now() : to) - Math.max(from, started))),
})"""
TYPING_MS = 3000  # the user types name and password: the sign-in page is open this long before the click
CLS_TARGET, SKELETON_TARGET_MS = 0.1, 500  # web-vitals' "good" CLS; the issue's longest grey skeleton
BUSY = "[data-testid='stSkeleton'], [data-testid='stStatusWidget'], [data-stale='true']"


@dataclass
class RunCounter:
    """Script runs reported by the server over the page's WebSockets."""

    full: int = 0
    fragments: int = 0
    sockets: list[WebSocket] = field(default_factory=list)
    server_pid: int | None = None  # the server process, whose CPU time each click costs is read from /proc

    def attach(self, socket: WebSocket) -> None:
        self.sockets.append(socket)
        socket.on("framereceived", self._frame)

    def _frame(self, payload: str | bytes) -> None:
        if isinstance(payload, str):
            return
        message = ForwardMsg.FromString(payload)
        if message.WhichOneof("type") != "script_finished":
            return
        if message.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            self.fragments += 1
        else:
            self.full += 1

    def reset(self) -> None:
        self.full = self.fragments = 0


@dataclass(frozen=True)
class Sample:
    ms: float
    runs: int
    server_cpu_ms: float = 0.0
    browser_cpu_ms: float = 0.0  # the browser's CPU time meanwhile (all its processes)
    cls: float = 0.0  # cumulative layout shift from the click to settled
    skeleton_ms: float = 0.0  # the longest a grey skeleton was visible meanwhile


def process_cpu_ms(pid: int | None) -> float:
    """CPU time (user + system) a process has used so far, in ms (0 where /proc cannot tell)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """Every process started (directly or not) by process `pid`."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], list(children.get(pid, []))
    while queue:
        child = queue.pop()
        found.append(child)
        queue.extend(children.get(child, []))
    return found


def browser_cpu_ms(server_pid: int | None) -> float:
    """CPU time used so far by the processes this benchmark started other than the server: Chromium's (and
    Playwright's driver, a small part)."""
    return sum(process_cpu_ms(pid) for pid in descendants(os.getpid()) if pid != server_pid)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_database(source: Path, folder: Path) -> Path:
    """A copy of `source` and of the installation's files beside it (keys, installation id, audit head)."""
    target = folder / source.name
    shutil.copyfile(source, target)
    for name in (source.name + ".wal", *KEY_FILES):
        if (source.parent / name).exists():
            shutil.copy2(source.parent / name, folder / name)
    head = source.parent / f".{source.name}.audit_head"
    if head.exists():
        shutil.copy2(head, folder / head.name)
    return target


def build_demo(scale: str, folder: Path, app_root: Path) -> Path:
    target = folder / f"demo_{scale}.duckdb"
    env = {**os.environ, "BILLING_DATABASE_URL": f"duckdb:///{target}"}
    for command in (["init"], ["demo", "--scale", scale]):
        subprocess.run([sys.executable, "-m", "billing", *command], cwd=app_root, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return target


def prepare(database: Path, app_root: Path) -> str:
    password = secrets.token_urlsafe(18)
    subprocess.run([sys.executable, "-c", PREPARE, f"duckdb:///{database}", password], cwd=app_root, check=True,
                   env={**os.environ, "PYTHONPATH": str(app_root)})
    return password


@contextmanager
def serving(database: Path, app_root: Path, log: Path) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {**os.environ, "BILLING_DATABASE_URL": f"duckdb:///{database}", "NO_PROXY": "127.0.0.1,localhost",
           "no_proxy": "127.0.0.1,localhost"}
    env.pop("BILLING_COOKIE_KEY", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"], cwd=app_root, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                with opener.open(f"{url}/_stcore/health", timeout=1) as answer:
                    if answer.read().strip() == b"ok":
                        break
            except OSError:
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def settled_after(page: Page, runs: RunCounter, started: float, ready: str) -> float:
    """ms from `started` (the page's clock) to the last DOM change, once `ready` shows, the click's script run
    has finished, nothing is busy and the page has not changed for QUIET_MS."""
    page.get_by_text(ready).first.wait_for(timeout=TIMEOUT_S * 1000)
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        state = page.evaluate(f"""() => ({{now: Date.now(), last: window.__lastChange || 0,
                                          busy: document.querySelectorAll("{BUSY}").length}})""")
        done = runs.full + runs.fragments > 0 and not state["busy"]
        if done and state["now"] - state["last"] >= QUIET_MS and state["last"] > started:
            return float(state["last"] - started)
        page.wait_for_timeout(50)
    raise RuntimeError(f"the page was still changing after {TIMEOUT_S} s: {page.url}")


def measured(page: Page, runs: RunCounter, act: str, ready: str, click: str | None = None) -> Sample:
    """One click (on the link or button named `click`, or a navigation to the URL `act`), settled."""
    if click is None:
        return timed(page, runs, lambda: page.goto(act), ready)
    if act == "link":
        return timed(page, runs, page.get_by_test_id("stSidebarNav").locator(f'a[href="{click}"]').click, ready)
    return timed(page, runs, page.get_by_role("button", name=click).click, ready)


def timed(page: Page, runs: RunCounter, action: Callable[[], object], ready: str) -> Sample:
    """One user action, from its start to the page settled (`ready` showing)."""
    runs.reset()
    started = float(page.evaluate("Date.now()"))
    cpu, browser_cpu = process_cpu_ms(runs.server_pid), browser_cpu_ms(runs.server_pid)
    action()
    ms = settled_after(page, runs, started, ready)
    # (the browser's CPU is read after the quiet wait, which costs it little: a few polls)
    spent = browser_cpu_ms(runs.server_pid) - browser_cpu
    shown = page.evaluate(SINCE, started)
    return Sample(ms, runs.full, process_cpu_ms(runs.server_pid) - cpu, spent, float(shown["cls"]),
                  float(shown["skeleton"]))


def open_editor(page: Page, runs: RunCounter, url: str) -> None:
    """A new invoice for the first customer the picker offers (the timings below are in this draft)."""
    measured(page, runs, f"{url}/invoices", "Signed in as")
    measured(page, runs, "button", "Lines", click="New invoice")
    page.get_by_role("combobox", name="Customer").last.click()
    timed(page, runs, page.get_by_role("option").first.click, "Signed in as")


def field_edit(page: Page, runs: RunCounter, value: str) -> Sample:
    """A new quantity typed into the first line and sent (Tab): the line's net and the totals follow."""
    quantity = page.get_by_label("Quantity", exact=True).first
    quantity.fill(value)
    return timed(page, runs, lambda: quantity.press("Tab"), "Signed in as")


def product_pick(page: Page, runs: RunCounter, nth: int) -> Sample:
    """The `nth` product chosen for the first line (its list opened first): the line fills in from it."""
    page.get_by_role("combobox", name="Product").first.click()
    option = page.get_by_role("option").nth(nth)
    option.wait_for()
    return timed(page, runs, option.click, "Signed in as")


def sign_in(page: Page, runs: RunCounter, url: str, password: str) -> Sample:
    page.goto(url)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password", exact=True).fill(password)
    page.wait_for_timeout(TYPING_MS)
    return measured(page, runs, "button", "Signed in as", click="Sign in")


def show(name: str, samples: list[Sample], target: float | None) -> None:
    times = [s.ms for s in samples]
    median = statistics.median(times)
    verdict = "" if target is None else ("  ok" if median <= target else f"  MISSES {target:.0f}")
    cpu = statistics.median(s.server_cpu_ms for s in samples)
    cls, skeleton = max(s.cls for s in samples), max(s.skeleton_ms for s in samples)
    browser = statistics.median(s.browser_cpu_ms for s in samples)
    if cls > CLS_TARGET or skeleton > SKELETON_TARGET_MS:
        verdict += f"  (CLS over {CLS_TARGET} or skeleton over {SKELETON_TARGET_MS} ms)"
    print(f"  {name:<22} median {median:7.0f}  min {min(times):7.0f}  max {max(times):7.0f}  server cpu {cpu:5.0f}  "
          f"browser cpu {browser:5.0f}  CLS {cls:5.3f}  skeleton {skeleton:4.0f}  "
          f"runs {'/'.join(str(s.runs) for s in samples)}{verdict}",
          flush=True)


def new_page(browser: Browser, server_pid: int | None = None) -> tuple[Page, RunCounter]:
    """A page in a new browser context (no cookies), watched for DOM changes and script runs."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_init_script(WATCH)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_S * 1000)
    runs = RunCounter(server_pid=server_pid)
    page.on("websocket", runs.attach)
    return page, runs


def bench(url: str, server_pid: int, password: str, rounds: int, loads: bool = True) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page, runs = new_page(browser, server_pid)
        sign_in(page, runs, url, password)  # warm-up: the first sign-in imports the pages' libraries
        links = page.get_by_test_id("stSidebarNav").get_by_role("link")
        # (a link's text starts with its icon's name: the title is its last line)
        hrefs = dict(links.evaluate_all("links => links.map(a => [a.innerText.trim().split('\\n').pop(), "
                                        "a.getAttribute('href')])"))
        for href in hrefs.values():  # warm-up: each page once
            measured(page, runs, "link", "Signed in as", click=href)
        print(f"click to settled, ms (median of {rounds}; quiet {QUIET_MS} ms; the sign-in form open {TYPING_MS} ms "
              f"before its click, as a user types), the server process's and the browser's CPU ms, the largest CLS "
              f"and the longest skeleton (ms) of the runs, script runs per click/load; load average "
              f"{os.getloadavg()[0]:.1f}:")
        samples = []
        for _ in range(rounds):  # each in a new browser context, as a browser that never saw the portal
            page.context.close()
            page, runs = new_page(browser, server_pid)
            samples.append(sign_in(page, runs, url, password))
        show("sign-in to dashboard", samples, 1500)
        returning = []
        for _ in range(rounds):  # signed out (cookies gone), the browser's cache of the app's files kept
            page.context.clear_cookies()
            returning.append(sign_in(page, runs, url, password))
        show("sign-in, returning", returning, 1500)
        for name, href in hrefs.items():
            show(name, [measured(page, runs, "link", "Signed in as", click=href) for _ in range(rounds)], 800)
        open_editor(page, runs, url)
        field_edit(page, runs, "2")  # warm-up
        show("editor: field edit", [field_edit(page, runs, str(n + 3)) for n in range(rounds)], 300)
        product_pick(page, runs, 0)  # warm-up
        show("editor: pick product", [product_pick(page, runs, n + 1) for n in range(rounds)], 500)
        if not loads:
            browser.close()
            return
        print("page loads by URL (a new browser session each: cookie, WebSocket, first run):")
        for name, href in hrefs.items():
            target = href if href.startswith("http") else url + "/" + href.lstrip("/")
            show(f"load {name}", [measured(page, runs, target, "Signed in as") for _ in range(rounds)], None)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", default="S", choices=["S", "M", "L"])
    parser.add_argument("--database", type=Path, help="a prebuilt database (copied with its key files)")
    parser.add_argument("--app-root", type=Path, default=ROOT, help="the checkout whose app is measured")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-loads", action="store_true", help="leave out the page loads by URL")
    args = parser.parse_args()
    app_root = args.app_root.resolve()
    with tempfile.TemporaryDirectory(prefix="bench_browser_") as folder:
        started = time.monotonic()
        if args.database:
            database = copy_database(args.database.resolve(), Path(folder))
        else:
            database = build_demo(args.scale, Path(folder), app_root)
        password = prepare(database, app_root)
        print(f"{database.name} ready in {time.monotonic() - started:.0f} s; app {app_root}", flush=True)
        log = Path(folder) / "streamlit.log"
        try:
            with serving(database, app_root, log) as (url, server_pid):
                bench(url, server_pid, password, args.runs, loads=not args.no_loads)
            print(f"load average at the end {os.getloadavg()[0]:.1f}")
        except Exception:
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise


if __name__ == "__main__":
    main()
