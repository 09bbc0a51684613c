"""signin/ (the sign-in form over HTTP, its cookie, and the page gate) through Starlette's TestClient.

The routes and the middleware are mounted as app.py mounts them on `st.App`, around a stand-in for Streamlit's
page (a route answering "portal" for every path).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from billing import auth_keys, settings, users
from billing.permissions import SYSTEM, Actor
from billing.store.db import Database
from signin import portal_page, routes
from signin.assets import STATIC
from signin.links import safe_next, sign_in_url

PASSWORD = "purple tugboat jingles at noon"
KEY = "k" * 48
COOKIE = auth_keys.COOKIE_NAME


@pytest.fixture
def people(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("BILLING_BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("BILLING_COOKIE_KEY", KEY)
    monkeypatch.setattr(routes, "_database", lambda: db)
    monkeypatch.setattr(routes, "portal_response", lambda: None)  # the route below stands for Streamlit's page
    routes._cookie_key.cache_clear()
    users.create_user(db, None, "root", PASSWORD, "admin", name="Root")
    users.create_user(db, Actor("root", "admin"), "bob", PASSWORD, "accountant", name="Bob")
    return db


def _portal(request: Request) -> PlainTextResponse:
    return PlainTextResponse("portal")


@pytest.fixture
def client(people: Database) -> Iterator[TestClient]:
    app = Starlette(routes=[*routes.routes(), Route("/{path:path}", _portal)],
                    middleware=[Middleware(routes.SignInRequired)])
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def form_of(client: TestClient, path: str = "/auth/sign-in") -> dict[str, str]:
    """The hidden fields of the form (after a GET, which also sets the CSRF cookie)."""
    page = client.get(path)
    assert page.status_code == 200
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))


def sign_in(client: TestClient, username: str = "bob", password: str = PASSWORD, **fields: str) -> object:
    return client.post("/auth/sign-in", data={**form_of(client), "username": username, "password": password,
                                              **fields})


def test_the_form_carries_a_csrf_token_and_refuses_framing_and_scripts(client: TestClient, people: Database) -> None:
    settings.save_company(people, SYSTEM, {"legal_name": "<b>Acme</b> & Co", "country": "DE",
                                           "base_currency": "EUR"})
    page = client.get("/auth/sign-in?notice=signed-out&username=bob")
    assert page.status_code == 200
    assert "&lt;b&gt;Acme&lt;/b&gt; &amp; Co" in page.text and "<b>Acme" not in page.text
    assert "You have signed out." in page.text and 'value="bob"' in page.text
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers[
        "content-security-policy"] and page.headers["cache-control"] == "no-store"
    assert client.cookies["billing_csrf"] in page.text
    assert "<script" not in page.text.lower()


def test_the_form_prefetches_the_portals_files_and_still_runs_no_script(client: TestClient) -> None:
    page = client.get("/auth/sign-in")
    prefetched = re.findall(r'<link rel="prefetch" href="\.\./(static/[^"]+)" crossorigin>', page.text)
    assert any(re.fullmatch(r"static/js/index\.[\w-]+\.js", path) for path in prefetched)
    assert any("ArrowVegaLiteChart" in path for path in prefetched)  # the dashboard's chart
    assert all((STATIC / path).is_file() for path in prefetched)  # served by Streamlit at /static/...
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "script-src" not in policy


def test_a_signed_in_page_is_streamlit_s_without_its_grey_app_skeleton(client: TestClient,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes, "portal_response", portal_page.portal_response)
    sign_in(client)
    page = client.get("/customers")
    original = (STATIC / "index.html").read_text(encoding="utf-8")
    head, body = original.split("</head>", 1)
    added = page.text.removeprefix(head).removesuffix(f"</head>{body}")
    assert added.endswith(f"{portal_page.STYLE}\n") and page.text == f"{head}{added}</head>{body}"
    preloaded = re.findall(r'<link rel="modulepreload" crossorigin href="\./(static/js/[^"]+)">', added)
    assert any("Metric" in path for path in preloaded) and all((STATIC / path).is_file() for path in preloaded)
    assert not set(preloaded) & set(re.findall(r'href="\./(static/[^"]+)"', head))  # none twice
    assert page.headers["cache-control"] == "no-cache"
    assert client.head("/customers").text == ""  # HEAD: Streamlit's own answer (here the stand-in's)
    client.cookies.clear()
    assert client.get("/customers").status_code == 303  # no session: still the form first


def test_a_first_password_to_choose_gets_streamlit_s_own_page(client: TestClient, people: Database,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes, "portal_response", portal_page.portal_response)
    users.create_user(people, Actor("root", "admin"), "newbie", PASSWORD, "analyst", name="New",
                      must_change_password=True)
    sign_in(client, "newbie")
    assert client.get("/").text == "portal"  # no sidebar on that page: nothing kept hidden for it


def test_a_notice_is_only_one_of_the_apps_own(client: TestClient) -> None:
    page = client.get("/auth/sign-in?notice=Your+account+was+hacked,+call+0800")
    assert "hacked" not in page.text


def test_signing_in_sets_a_session_cookie_and_leads_to_the_page_asked_for(client: TestClient,
                                                                           people: Database) -> None:
    answer = client.post("/auth/sign-in", data={**form_of(client, "/auth/sign-in?next=/customers%3Fcustomer%3D5"),
                                                "username": " Bob ", "password": PASSWORD})
    assert answer.status_code == 303 and answer.headers["location"] == "/customers?customer=5"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie and "Max-Age=86400" in cookie
    user = users.session_user(people, client.cookies[COOKIE])
    assert user is not None and user.username == "bob"
    assert client.get("/customers").text == "portal"


def test_over_https_the_cookie_is_secure(people: Database) -> None:
    app = Starlette(routes=routes.routes())
    with TestClient(app, base_url="https://portal.example", follow_redirects=False) as client:
        assert "Secure" in sign_in(client).headers["set-cookie"]  # type: ignore[attr-defined]
    with TestClient(app, follow_redirects=False) as client:  # TLS ended at a proxy saying so
        client.headers["X-Forwarded-Proto"] = "https"
        assert "Secure" in sign_in(client).headers["set-cookie"]  # type: ignore[attr-defined]


def test_a_wrong_password_says_so_keeps_the_username_and_sets_no_cookie(client: TestClient) -> None:
    answer = sign_in(client, password="not the password")
    assert answer.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong username or password." in answer.text and 'value="bob"' in answer.text  # type: ignore[attr-defined]
    assert "not the password" not in answer.text and COOKIE not in client.cookies  # type: ignore[attr-defined]


def test_five_failures_lock_the_account_even_for_the_right_password(client: TestClient) -> None:
    for attempt in range(5):
        sign_in(client, password=f"wrong {attempt}")
    answer = sign_in(client)
    assert answer.status_code == 401 and "locked for 15 minutes" in answer.text  # type: ignore[attr-defined]
    assert COOKIE not in client.cookies


@pytest.mark.parametrize("tamper", ["no token", "another token", "foreign origin"])
def test_a_sign_in_posted_from_elsewhere_is_refused(client: TestClient, people: Database, tamper: str) -> None:
    fields = {**form_of(client), "username": "bob", "password": PASSWORD}
    headers = {}
    if tamper == "no token":
        del fields["csrf"]
    elif tamper == "another token":
        fields["csrf"] = "x" * 43
    else:
        headers["Origin"] = "https://evil.example"
    answer = client.post("/auth/sign-in", data=fields, headers=headers)
    assert answer.status_code == 403 and "expired" in answer.text
    assert COOKIE not in client.cookies


def test_no_cookie_without_a_recorded_session(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(users, "start_session", broken)
    answer = sign_in(client)
    assert answer.status_code == 503 and "not possible right now" in answer.text  # type: ignore[attr-defined]
    assert COOKIE not in client.cookies


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "http:/x",
                                    "/auth/sign-in", "/api/v1/customers", "customers", "", None,
                                    "/customers/../api", "/%2F%2Fevil.example"])
def test_a_sign_in_leads_only_to_the_portals_pages(target: str | None) -> None:
    assert safe_next(target) == "/"


def test_the_page_and_its_query_are_kept() -> None:
    assert safe_next("/invoices?invoice=12&x=a%20b") == "/invoices?invoice=12&x=a+b"
    assert sign_in_url("/payments?payment=1", "ended") == "/auth/sign-in?next=%2Fpayments%3Fpayment%3D1&notice=ended"
    assert sign_in_url("/") == "/auth/sign-in"


def test_a_page_without_a_session_is_sent_to_the_form_and_opens_after_it(client: TestClient) -> None:
    answer = client.get("/payments?payment=1")
    assert answer.status_code == 303 and answer.headers["location"] == "/auth/sign-in?next=%2Fpayments%3Fpayment%3D1"
    fields = form_of(client, answer.headers["location"])
    assert fields["next"] == "/payments?payment=1"
    signed_in = client.post("/auth/sign-in", data={**fields, "username": "bob", "password": PASSWORD})
    assert signed_in.headers["location"] == "/payments?payment=1"
    assert client.get("/payments?payment=1").text == "portal"


def test_only_the_portals_pages_are_guarded(client: TestClient) -> None:
    for path in ("/_stcore/health", "/static/js/index.js", "/api/v1/customers", "/favicon.png"):
        assert client.get(path).text == "portal"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("kind", ["revoked", "expired", "no session", "other key", "altered", "garbage"])
def test_a_cookie_that_does_not_count_is_dropped(client: TestClient, people: Database, kind: str) -> None:
    token, expires = auth_keys.issue_token(KEY, "root", timedelta(hours=1))
    if kind == "revoked":
        users.start_session(people, "root", token, expires)
        users.end_session(people, token)
    elif kind == "expired":
        token, expires = auth_keys.issue_token(KEY, "root", timedelta(hours=-1))
        users.start_session(people, "root", token, expires)
    elif kind == "other key":
        token = auth_keys.issue_token("o" * 48, "root", timedelta(hours=1))[0]
        users.start_session(people, "root", token, expires)  # a row, but not this installation's signature
    elif kind == "altered":
        users.start_session(people, "root", token, expires)
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif kind == "garbage":
        token = "not.a.jwt"
    client.cookies[COOKIE] = token
    answer = client.get("/users")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/auth/sign-in?next=%2Fusers&notice=ended"
    assert f'{COOKIE}="";' in answer.headers["set-cookie"] or "Max-Age=0" in answer.headers["set-cookie"]


def test_the_form_drops_a_cookie_whose_session_ended(client: TestClient, people: Database) -> None:
    sign_in(client)
    token = client.cookies[COOKIE]
    users.end_session(people, token)  # signed out in a tab
    page = client.get("/auth/sign-in?notice=signed-out")
    assert COOKIE in page.headers["set-cookie"] and "Max-Age=0" in page.headers["set-cookie"]
    assert client.get("/").status_code == 303


def test_a_disabled_user_or_a_new_password_ends_the_cookie_at_once(client: TestClient, people: Database) -> None:
    sign_in(client)
    assert client.get("/").text == "portal"
    users.update_user(people, Actor("root", "admin"), "bob", password="a brand new password for bob")
    assert client.get("/").status_code == 303


def test_before_set_up_the_portal_opens_without_a_session(client: TestClient, db: Database,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "has_users", lambda database: False)
    assert client.get("/").text == "portal"
    assert client.get("/auth/sign-in").headers["location"] == "/"


def test_a_form_over_4_kB_is_refused_and_signs_nobody_in(client: TestClient) -> None:
    fields = {**form_of(client), "username": "bob", "password": PASSWORD, "padding": "x" * routes.MAX_FORM_BYTES}
    answer = client.post("/auth/sign-in", data=fields)
    assert answer.status_code == 413 and COOKIE not in answer.cookies
