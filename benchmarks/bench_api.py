"""REST API load test over real HTTP: concurrent clients create and issue 5-line invoices and record payments.

Usage: python -m benchmarks.bench_api [--scale S] [--clients 16] [--seconds 60] [--server streamlit|uvicorn|both]
                                      [--database PATH]
A copy of the demo database at the scale (built once at /tmp/bench_api_<scale>/app.duckdb; or a copy of PATH and the
dot-files beside it, which is never written) is served by `python -m streamlit run app.py` (or `uvicorn app:app`, or
one after the other: `both`) on 127.0.0.1; each client is a thread with its own API key (its own rate limit) and
keep-alive connection. Prints throughput, p50/p95 per operation and the errors, then, on the quiet server, one
client alone (wall time, and the server's CPU time per call): `GET /invoices/{id}`, a page of 100 invoices, create +
issue and record a payment; with the machine's load average before and after. Finally checks that the invoice
numbers handed out are gapless and runs `verify` on the database. Exit code 1 if anything failed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from billing import api_access, signing, users
from billing.demo import load_demo
from billing.permissions import SYSTEM
from billing.store import series as series_store
from billing.store.db import Database
from billing.verify import verify_database

AS_OF = date(2026, 11, 25)
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figures:
    """Latencies (ms) per operation, and the failures, of all clients."""

    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cpu: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # server CPU ms, quiet calls
    errors: Counter[str] = field(default_factory=Counter)
    throttled: int = 0
    numbers: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """One API client: a keep-alive HTTP connection with an API key."""

    def __init__(self, port: int, key: str, figures: Figures, server_pid: int | None = None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.figures = figures
        self.server_pid = server_pid  # given: the server's CPU time per call is recorded too

    def call(self, operation: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The answer's JSON, its time recorded under `operation`; None (an error counted) on a failure. A 429
        waits as Retry-After says and tries again (counted, not timed)."""
        while True:
            start, cpu_start = time.perf_counter(), server_cpu(self.server_pid)
            try:
                self.connection.request(method, "/api/v1" + path, None if body is None else json.dumps(body),
                                        self.headers)
                answer = self.connection.getresponse()
                payload = answer.read()
            except (OSError, http.client.HTTPException) as exc:
                self.connection.close()
                with self.figures.lock:
                    self.figures.errors[f"{operation}: {type(exc).__name__}"] += 1
                return None
            elapsed = (time.perf_counter() - start) * 1000
            cpu = server_cpu(self.server_pid) - cpu_start
            with self.figures.lock:
                if answer.status == 429:
                    self.figures.throttled += 1
                elif answer.status >= 400:
                    self.figures.errors[f"{operation}: {answer.status} {payload[:120]!r}"] += 1
                else:
                    self.figures.samples[operation].append(elapsed)
                    if self.server_pid is not None:
                        self.figures.cpu[operation].append(cpu)
            if answer.status != 429:
                return json.loads(payload) if answer.status < 400 else None
            time.sleep(float(answer.getheader("Retry-After") or 1))


def server_cpu(pid: int | None) -> float:
    """CPU milliseconds (user + system, all threads) the process has used; 0 without a pid."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def prepare(scale: str, folder: Path, clients: int,
            database: Path | None = None) -> tuple[str, list[str], list[int], int]:
    """A copy of the demo database (or of `database`) with a user and one API key per client: its URL, the keys,
    EUR customers and the standard tax rate."""
    # a folder of its own: its keys and installation id
    template = database or Path(f"/tmp/bench_api_{scale}/app.duckdb")
    if database is not None:
        for file in database.parent.glob(f".{database.name}.*"):
            shutil.copyfile(file, folder / file.name)
        if not (database.parent / ".audit_key").exists():
            # its audit chain's key was not kept beside it: a throwaway key appends to the chain (verify is skipped)
            os.environ["BILLING_AUDIT_KEY"] = "bench-" + "k" * 40
    elif not template.exists():
        template.parent.mkdir(exist_ok=True)
        built = Database(f"duckdb:///{template}")
        built.migrate()
        summary = load_demo(built, SYSTEM, scale, AS_OF)
        built.dispose()
        print(f"built scale {scale} in {summary.seconds} s: {summary.invoices:,} invoices")
    for file in template.parent.glob(template.name + "*"):
        shutil.copyfile(file, folder / file.name)
    signing.copy_installation_files(f"duckdb:///{template}", f"duckdb:///{folder / template.name}")
    db = Database(f"duckdb:///{folder / template.name}")
    db.migrate()
    if users.get_user(db, "bench") is None:
        users.create_user(db, SYSTEM, "bench", "a long benchmark passphrase 42", "accountant", name="Load test")
    keys = [api_access.create_key(db, SYSTEM, "bench", "accountant", f"client {n}")[1] for n in range(clients)]
    with db.connect() as conn:
        customers = [int(r[0]) for r in conn.exec_driver_sql(
            "SELECT id FROM customers WHERE currency = 'EUR' AND NOT archived ORDER BY id LIMIT 500")]
        rate = int(conn.exec_driver_sql(
            "SELECT id FROM tax_rates WHERE category = 'S' AND active ORDER BY percent DESC, id LIMIT 1").scalar_one())
    url = db.url
    db.dispose()
    return url, keys, customers, rate


def start(kind: str, url: str, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The server on a free port of 127.0.0.1, once its API answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    command = ([sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "warning"] if kind == "uvicorn" else
               [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
                str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none"])
    env = {**os.environ, "BILLING_DATABASE_URL": url, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{(folder / 'server.log').read_text()[-3000:]}")
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            probe.request("GET", "/api/v1/openapi.json")
            if probe.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not answer within 60 s")


def work(client: Client, customers: list[int], rate: int, until: float, seed: int) -> None:
    """Create and issue 5-line invoices and pay each in full, until `until`."""
    rng = random.Random(seed)
    while time.monotonic() < until:
        customer = rng.choice(customers)
        lines = [{"description": f"Item {n}", "quantity": str(rng.randint(1, 9)),
                  "unit_price": f"{rng.randint(100, 99999) / 100:.2f}", "tax_rate_id": rate} for n in range(5)]
        started, cpu_started = time.perf_counter(), server_cpu(client.server_pid)
        draft = client.call("create draft", "POST", "/invoices", {"customer_id": customer, "lines": lines})
        invoice = draft and client.call("issue", "POST", f"/invoices/{draft['id']}/issue", {})
        if invoice is None:
            continue
        with client.figures.lock:
            client.figures.samples["create + issue"].append((time.perf_counter() - started) * 1000)
            if client.server_pid is not None:
                client.figures.cpu["create + issue"].append(server_cpu(client.server_pid) - cpu_started)
            client.figures.numbers.append(invoice["number"])
        client.call("record payment", "POST", "/payments", {
            "customer_id": customer, "amount": invoice["balance"], "currency": "EUR",
            "received_on": invoice["issue_date"], "allocate": [{"invoice_id": invoice["id"],
                                                                "amount": invoice["balance"]}]})


def quiet(client: Client, ids: list[int], customers: list[int], rate: int, rounds: int) -> None:
    """One client alone on the quiet server: one invoice at a time, pages of 100 (each after the one before),
    then invoices created, issued and paid one after the other."""
    for invoice_id in random.Random(3).sample(ids, min(rounds, len(ids))):
        client.call("GET /invoices/{id}", "GET", f"/invoices/{invoice_id}")
    cursor = ""
    for _ in range(max(1, rounds // 4)):
        page = client.call("GET /invoices?limit=100", "GET", f"/invoices?limit=100{cursor}")
        cursor = f"&starting_after={page['next_cursor']}" if page and page["next_cursor"] else ""
    alone = Figures()
    work(Client(client.connection.port, client.headers["Authorization"].split()[1], alone, client.server_pid),
         customers, rate, time.monotonic() + rounds / 20, 7)
    for operation in ("create + issue", "record payment"):
        client.figures.samples[f"alone: {operation}"] = alone.samples[operation]
        client.figures.cpu[f"alone: {operation}"] = alone.cpu[operation]
    client.figures.numbers += alone.numbers


def gapless(db: Database, numbers: list[str], before: int) -> str | None:
    """None if the run's numbers are exactly the next ones of the series, each on one invoice; else what is wrong."""
    with db.connect() as conn:
        after = series_store.highest_used(conn, "INV")
        stored = [str(n) for (n,) in conn.exec_driver_sql(
            "SELECT number FROM invoices WHERE kind = 'invoice' AND number IS NOT NULL")]
    sequence = sorted(int(re.findall(r"\d+", number)[-1]) for number in numbers)
    if sequence != list(range(before + 1, after + 1)):
        return f"numbers {before + 1}..{after} expected, {len(sequence)} handed out"
    if len(stored) != len(set(stored)) or not set(numbers) <= set(stored):
        return "a number is on two invoices or missing from the database"
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="S", choices=["S", "M", "L"])
    parser.add_argument("--clients", type=int, default=16, help="0: one client alone only")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--server", default="streamlit", choices=["streamlit", "uvicorn", "both"])
    parser.add_argument("--database", type=Path, help="a prebuilt database to copy (its dot-files too)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        url, keys, customers, rate = prepare(args.scale, folder, max(1, args.clients), args.database)
        db = Database(url)
        with db.connect() as conn:
            before = series_store.highest_used(conn, "INV")
            ids = [int(r[0]) for r in conn.exec_driver_sql("SELECT id FROM invoices ORDER BY id DESC LIMIT 2000")]
        db.dispose()
        numbers: list[str] = []
        failed = False
        for kind in ("streamlit", "uvicorn") if args.server == "both" else (args.server,):
            figures = served(kind, url, folder, args, keys, (ids, customers, rate))
            numbers += figures.numbers
            failed = failed or bool(figures.errors)
        db = Database(url)
        problem = gapless(db, numbers, before)
        verified = None if args.database else verify_database(db, SYSTEM)
        db.dispose()
    print(f"numbers: {problem or f'gapless ({len(numbers)} issued)'}")
    if verified is None:
        print("verify: skipped (a copy of a prebuilt database)")
    else:
        print(f"verify: {'clean' if verified.ok else verified.problems[:5]} ({verified.documents_checked:,} documents)")
    if problem or (verified is not None and not verified.ok) or failed:
        raise SystemExit(1)


def served(kind: str, url: str, folder: Path, args: argparse.Namespace, keys: list[str],
           data: tuple[list[int], list[int], int]) -> Figures:
    """The load (unless --clients 0) and the quiet calls against one server started as `kind`; its figures printed."""
    ids, customers, rate = data
    process, port = start(kind, url, folder)
    figures = Figures()
    load = [Path("/proc/loadavg").read_text().split()[0]]
    elapsed = 0.0
    try:
        if args.clients:
            until = time.monotonic() + args.seconds
            threads = [threading.Thread(target=work, args=(Client(port, key, figures), customers, rate, until, n))
                       for n, key in enumerate(keys)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
        quiet(Client(port, keys[0], figures, process.pid), ids, customers, rate, 200)
        load.append(Path("/proc/loadavg").read_text().split()[0])
    finally:
        process.terminate()
        process.wait(30)
    report(args, kind, figures, elapsed, load)
    return figures


def report(args: argparse.Namespace, kind: str, figures: Figures, elapsed: float, load: list[str]) -> None:
    data = args.database or f"scale {args.scale}"
    print(f"{kind} on 127.0.0.1, {data} (CPUs: {os.cpu_count()}; load average {' -> '.join(load)}; the figures "
          "include the clients' own Python threads)")
    if elapsed:
        issued = len(figures.samples["create + issue"])
        requests = sum(len(v) for k, v in figures.samples.items()
                       if k != "create + issue" and not k.startswith(("GET", "alone")))
        print(f"{args.clients} clients, {elapsed:.1f} s: {issued / elapsed:.1f} invoices created+issued+paid/s; "
              f"{requests / elapsed:.1f} requests/s during the load")
    for operation, values in figures.samples.items():
        cpu = figures.cpu.get(operation)
        # the mean: the kernel counts CPU time in ticks (10 ms), so one call's figure is 0, 10, 20 ...
        server = f"  server CPU mean {statistics.fmean(cpu):6.1f} ms" if cpu else ""
        print(f"  {operation:<26} n={len(values):>6}  p50 {statistics.median(values):7.1f} ms  "
              f"p95 {percentile(values, 0.95):7.1f} ms{server}")
    print(f"errors: {sum(figures.errors.values())}; rate limited (retried): {figures.throttled}")
    for error, count in figures.errors.most_common(5):
        print(f"  {count} x {error}")


if __name__ == "__main__":
    main()
