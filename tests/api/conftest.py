"""Fixtures for the REST API tests: the API (mounted at /api as the portal mounts it) on a copy of a real
DuckDB portal database, through FastAPI's TestClient.

`api_template`: a closed database made once, with the company, one user per role (username = role, password
`portal.PASSWORD`), a tax rate, a customer and a product (ids in `Seeded`). `client`: a TestClient on a fresh
copy of it (BILLING_DATABASE_URL through monkeypatch), with generous rate limits; `auth(role)` the headers of
an access token of that role's user, `key_auth(role)` those of a new API key of that role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api_harness import Seeded, mounted
from fastapi.testclient import TestClient
from portal import PASSWORD, copy_portal, seeded_database

from billing import api_access, catalog, customers
from billing.permissions import SYSTEM
from billing.store.db import Database, forget_database, get_database

Headers = dict[str, str]


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BILLING_BCRYPT_ROUNDS", "4")
        yield


@pytest.fixture(scope="session")
def api_template(tmp_path_factory: pytest.TempPathFactory, cheap_password_hashing: None) -> tuple[Path, Seeded]:
    folder = tmp_path_factory.mktemp("api")
    db = seeded_database(folder, demo=False)
    rate = catalog.create_tax_rate(db, SYSTEM, {"name": "Standard 19%", "category": "S", "percent": "19"})
    customer = customers.create_customer(db, SYSTEM, {"name": "Globex GmbH", "email": "ap@globex.example",
                                                      "country": "DE", "currency": "EUR"})
    product = catalog.create_product(db, SYSTEM, {"name": "Consulting hour", "sku": "CONS-1", "unit": "h",
                                                  "unit_price": "120.50", "currency": "EUR", "tax_rate_id": rate})
    forget_database(db.url)
    return folder, Seeded(rate, customer, product)


@pytest.fixture
def seeded(api_template: tuple[Path, Seeded]) -> Seeded:
    return api_template[1]


@pytest.fixture
def api_db(api_template: tuple[Path, Seeded], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    url = copy_portal(api_template[0], tmp_path)
    monkeypatch.setenv("BILLING_DATABASE_URL", url)
    yield get_database(url)
    forget_database(url)


@pytest.fixture
def client(api_db: Database) -> Iterator[TestClient]:
    with TestClient(mounted(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def auth(client: TestClient) -> Callable[[str], Headers]:
    """Headers with an access token for the user named after the role."""
    tokens: dict[str, Headers] = {}

    def headers(role: str) -> Headers:
        if role not in tokens:
            answer = client.post("/api/v1/auth/token", json={"username": role, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            tokens[role] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return tokens[role]

    return headers


@pytest.fixture
def key_auth(api_db: Database) -> Callable[[str], Headers]:
    """Headers with a new API key of the user named after the role, with that role."""

    def headers(role: str) -> Headers:
        _, secret = api_access.create_key(api_db, SYSTEM, role, role, f"{role} integration")
        return {"Authorization": f"Bearer {secret}"}

    return headers
