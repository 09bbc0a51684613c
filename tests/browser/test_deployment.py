"""Two app servers on one PostgreSQL database behind NGINX (deploy/nginx.conf), all on 127.0.0.1: a browser signs in
through NGINX and creates a customer, the server it is connected to is killed, and the browser carries on through
the other one still signed in, with its work there; an API client meanwhile gets nothing it cannot retry.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from portal import PASSWORD

from billing import settings, users
from billing.permissions import SYSTEM
from billing.store.db import Database
from browser.harness import ROOT, pick, settle, wait_for_cookie
from tests.conftest import PG_BIN, stop_process

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("nginx") is None or not (PG_BIN / "initdb").exists(),
                                 reason="needs nginx and PostgreSQL 15 (apt-get install -y nginx postgresql)")]
CUSTOMER = "Failover Fabrics Ltd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    """NGINX's address and the app servers behind it (port -> process)."""

    url: str
    replicas: dict[int, subprocess.Popen[bytes]]
    folder: Path


def start_replica(folder: Path, url: str) -> tuple[int, subprocess.Popen[bytes]]:
    """`streamlit run app.py` in `folder` (its data/ holds the keys every replica shares) on a port of its own."""
    port = free_port()
    env = {**os.environ, "BILLING_DATABASE_URL": url, "BILLING_BCRYPT_ROUNDS": "4", "PYTHONPATH": str(ROOT),
           "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    env.pop("BILLING_COOKIE_KEY", None)
    with (folder / f"streamlit-{port}.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                    "--server.address", "127.0.0.1", "--server.headless", "true",
                                    "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
                                   cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    return port, process


def wait_healthy(url: str, process: subprocess.Popen[bytes], verify: bool = True) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{url} exited with {process.returncode}"
        try:
            if httpx.get(f"{url}/_stcore/health", verify=verify, timeout=2).text.strip() == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not become healthy")


def nginx_config(folder: Path, replicas: list[int], http_port: int, https_port: int) -> Path:
    """deploy/nginx.conf with these servers, ports and files: every replacement must apply."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(folder / "privkey.pem"), "-out", str(folder / "fullchain.pem")],
                   check=True, capture_output=True)
    for old, new in (("app1:8501", f"127.0.0.1:{replicas[0]}"), ("app2:8501", f"127.0.0.1:{replicas[1]}"),
                     ("listen 80;", f"listen 127.0.0.1:{http_port};"),
                     ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
                     ("/etc/nginx/certs/", f"{folder}/"), ("pid /tmp/nginx.pid;", f"pid {folder}/nginx.pid;")):
        assert text.count(old) >= 1, old
        text = text.replace(old, new)
    config = folder / "nginx.conf"
    config.write_text(text)
    return config


@pytest.fixture
def site(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    folder = tmp_path / "site"
    folder.mkdir()
    for name in ("app.py", "app_pages", ".streamlit"):  # the portal, run from a folder whose data/ is the site's
        (folder / name).symlink_to(ROOT / name)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("BILLING_BCRYPT_ROUNDS", "4")
    db = Database(pg_url)
    db.migrate()
    settings.save_company(db, SYSTEM, {"legal_name": "Acme GmbH", "base_currency": "EUR", "country": "DE",
                                       "timezone": "Europe/Berlin"})
    users.create_user(db, None, "admin", PASSWORD, "admin", name="Ada Admin")
    db.dispose()
    replicas = dict(start_replica(folder, pg_url) for _ in range(2))
    http_port, https_port = free_port(), free_port()
    config = nginx_config(folder, list(replicas), http_port, https_port)
    with (folder / "nginx.log").open("wb") as log:
        # As root its workers would run as nobody, who cannot enter pytest's private temporary folders.
        directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
        nginx = subprocess.Popen(["nginx", "-c", str(config), "-p", str(folder), "-g", directives],
                                 stdout=log, stderr=subprocess.STDOUT)
    try:
        for port, process in replicas.items():
            wait_healthy(f"http://127.0.0.1:{port}", process)
        wait_healthy(f"https://127.0.0.1:{https_port}", nginx, verify=False)
        yield Site(f"https://127.0.0.1:{https_port}", replicas, folder)
    finally:
        for process in [nginx, *replicas.values()]:
            stop_process(process)


def connected_replica(site: Site) -> int:
    """The replica holding the browser's websocket: the only one with an open connection from NGINX."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        holding = [port for port in site.replicas
                   if subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{port} )"],
                                     capture_output=True, text=True, check=True).stdout.strip()]
        if len(holding) == 1:
            return holding[0]
        time.sleep(0.2)
    raise AssertionError(f"not one replica holds the browser's connection: {holding}")


class ApiClient(threading.Thread):
    """Lists customers through NGINX until stopped, as an integration would: the status of every answer."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=f"{url}/api/v1", verify=False, timeout=10)
        token = self.client.post("/auth/token", json={"username": "admin", "password": PASSWORD})
        assert token.status_code == 200, token.text
        self.client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        self.statuses: list[int] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.statuses.append(self.client.get("/customers", params={"limit": 5}).status_code)
            except httpx.HTTPError:
                self.statuses.append(0)
            time.sleep(0.05)


def test_a_signed_in_user_carries_on_when_the_replica_serving_them_dies(site: Site, browser: Browser) -> None:
    api = ApiClient(site.url)
    api.start()
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(site.url)
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    wait_for_cookie(page)

    page.goto(f"{site.url}/customers")
    settle(page)
    page.get_by_role("tab", name="New customer").click()
    form = page.get_by_test_id("stForm")
    form.get_by_label("Name *", exact=True).fill(CUSTOMER)
    form.get_by_label("Name *", exact=True).press("Tab")
    pick(page, form.get_by_role("combobox", name="Currency"), "EUR · Euro")
    form.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", name=CUSTOMER)).to_be_visible()

    serving = connected_replica(site)
    site.replicas[serving].send_signal(signal.SIGKILL)
    site.replicas[serving].wait(10)
    # The browser reconnects by itself, through NGINX, to the replica left: still signed in, the customer there.
    expect(page.get_by_text("Signed in as")).to_be_visible(timeout=30_000)
    page.goto(f"{site.url}/customers")
    expect(page.get_by_text("Signed in as")).to_be_visible(timeout=30_000)
    settle(page)
    expect(page.get_by_text("1–1 of 1")).to_be_visible()  # the list (a canvas) holds the one customer
    assert connected_replica(site) != serving

    time.sleep(1)
    api.stopped.set()
    api.join(15)
    assert api.statuses and set(api.statuses) <= {200}, sorted(set(api.statuses))
    listed = api.client.get("/customers").json()
    assert [customer["name"] for customer in listed["data"]] == [CUSTOMER]
    context.close()

    # A customer link's token never reaches NGINX's access log.
    httpx.get(f"{site.url}/d/some-secret-token/pdf", verify=False, timeout=10)
    deadline = time.monotonic() + 10  # NGINX writes the line after the answer is sent: the client can be first
    while "/d/<link>/pdf" not in (logged := (site.folder / "nginx.log").read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "/d/<link>/pdf" in logged and "some-secret-token" not in logged
