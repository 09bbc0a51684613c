"""Idempotency-Key on POST: a replay answers as the first request did without acting again; another body with
the key is a 409; two concurrent requests with one key act once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from billing import idempotency
from billing.store.db import Database, utcnow
from billing.store.schema import idempotency_keys

Headers = dict[str, str]
CUSTOMERS = "/api/v1/customers"


def customer_count(db: Database, name: str) -> int:
    with db.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM customers WHERE name = ?", (name,)).scalar_one())


def test_a_replay_returns_the_first_answer_without_acting_twice(client: TestClient, api_db: Database,
                                                                auth: Callable[[str], Headers]) -> None:
    headers = {**auth("accountant"), "Idempotency-Key": "order-1001"}
    first = client.post(CUSTOMERS, headers=headers, json={"name": "Initech", "currency": "EUR"})
    again = client.post(CUSTOMERS, headers=headers, json={"currency": "EUR", "name": "Initech"})  # same JSON
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert customer_count(api_db, "Initech") == 1


def test_the_same_key_with_another_body_is_a_conflict(client: TestClient, api_db: Database,
                                                      auth: Callable[[str], Headers]) -> None:
    headers = {**auth("accountant"), "Idempotency-Key": "order-1002"}
    assert client.post(CUSTOMERS, headers=headers, json={"name": "Hooli", "currency": "EUR"}).status_code == 201
    other = client.post(CUSTOMERS, headers=headers, json={"name": "Hooli XYZ", "currency": "EUR"})
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert customer_count(api_db, "Hooli XYZ") == 0


def test_keys_are_per_caller_and_a_refusal_is_replayed_but_not_one_a_retry_may_change(
        client: TestClient, api_db: Database, auth: Callable[[str], Headers]) -> None:
    missing = client.post("/api/v1/customers/999999/archive", headers={**auth("admin"), "Idempotency-Key": "a"})
    assert missing.status_code == 404
    replayed = client.post("/api/v1/customers/999999/archive", headers={**auth("admin"), "Idempotency-Key": "a"})
    assert replayed.status_code == 404 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.headers["content-type"] == "application/problem+json" and replayed.json() == missing.json()
    body = {"name": "Umbrella", "currency": "EUR"}
    refused = client.post(CUSTOMERS, headers={**auth("analyst"), "Idempotency-Key": "k"}, json=body)
    assert refused.status_code == 403
    again = client.post(CUSTOMERS, headers={**auth("analyst"), "Idempotency-Key": "k"}, json=body)
    assert again.status_code == 403 and "Idempotent-Replayed" not in again.headers  # asked again, not replayed
    assert client.post(CUSTOMERS, headers={**auth("admin"), "Idempotency-Key": "k"}, json=body).status_code == 201
    assert customer_count(api_db, "Umbrella") == 1


def test_two_concurrent_requests_with_one_key_act_once(client: TestClient, api_db: Database,
                                                       auth: Callable[[str], Headers]) -> None:
    headers = {**auth("accountant"), "Idempotency-Key": "order-1003"}
    start = threading.Barrier(4)

    def create() -> int:
        start.wait()
        return client.post(CUSTOMERS, headers=headers, json={"name": "Soylent", "currency": "EUR"}).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: create(), range(4)))
    assert customer_count(api_db, "Soylent") == 1
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}


def test_a_key_in_progress_is_refused_and_an_abandoned_one_taken_over(api_db: Database) -> None:
    claim = ("k-1", "api:admin", "POST", "/api/v1/customers", "hash")
    assert idempotency.claim(api_db, *claim) is None
    with pytest.raises(idempotency.IdempotencyKeyInUseError):
        idempotency.claim(api_db, *claim)
    api_db.transaction(lambda conn: conn.execute(idempotency_keys.update().values(
        created_at=utcnow() - idempotency.ABANDONED - timedelta(seconds=1))))
    assert idempotency.claim(api_db, *claim) is None


def test_keys_are_kept_a_day_then_forgotten(api_db: Database) -> None:
    claim = ("k-2", "api:admin", "POST", "/api/v1/customers", "hash")
    assert idempotency.claim(api_db, *claim) is None
    idempotency.complete(api_db, "k-2", "api:admin", 201, "{}")
    assert idempotency.claim(api_db, *claim) == idempotency.StoredResponse(201, "{}")
    api_db.transaction(lambda conn: conn.execute(idempotency_keys.update().values(
        created_at=utcnow() - idempotency.KEEP - timedelta(seconds=1))))
    assert idempotency.claim(api_db, *claim) is None


def test_a_bad_key_is_refused(client: TestClient, auth: Callable[[str], Headers]) -> None:
    answer = client.post(CUSTOMERS, headers={**auth("admin"), "Idempotency-Key": "x" * 300},
                         json={"name": "Too long a key", "currency": "EUR"})
    assert answer.status_code == 422 and answer.json()["code"] == "validation_error"
