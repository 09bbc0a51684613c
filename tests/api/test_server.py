"""The API served by a real `streamlit run app.py`, on the portal's own port, over HTTP."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from browser.harness import prepared_database, start_server
from portal import PASSWORD

pytestmark = pytest.mark.slow


def fetch(url: str, body: dict[str, Any] | None = None, token: str | None = None) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as answer:
        return answer.status, dict(answer.headers), json.loads(answer.read())


def test_streamlit_run_serves_the_portal_and_the_api_on_one_port(tmp_path: Path) -> None:
    server = start_server(prepared_database(tmp_path))
    try:
        status, _, token = fetch(f"{server.url}/api/v1/auth/token", {"username": "admin", "password": PASSWORD})
        assert status == 200 and token["token_type"] == "bearer"
        status, headers, users = fetch(f"{server.url}/api/v1/users", token=token["access_token"])
        assert status == 200 and "admin" in [u["username"] for u in users["data"]]
        assert headers["x-request-id"]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{server.url}/", timeout=30) as portal:  # no session: the sign-in form, same port
            assert portal.status == 200 and "/auth/sign-in" in portal.url and b'<button type="submit">Sign in' \
                in portal.read()
        with opener.open(f"{server.url}/_stcore/health", timeout=30) as health:
            assert health.status == 200
    finally:
        server.stop()
