"""Access tokens and API keys: issued, refused when forged, expired or revoked, and re-checked on every call."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from portal import PASSWORD

from billing import api_access, signing, users
from billing.errors import AuthenticationError, SessionEndedError, ValidationError
from billing.permissions import SYSTEM, Actor
from billing.store.db import Database, utcnow

Headers = dict[str, str]
CUSTOMERS = "/api/v1/customers"


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def claims(role: str = "admin", **changes: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": role, "role": role, "aud": api_access.AUDIENCE, "iat": now, "exp": now + 600, "jti": "x", **changes}


def assert_unauthenticated(client: TestClient, headers: Headers, code: str = "unauthenticated") -> None:
    answer = client.get(CUSTOMERS, headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json()["code"] == code


def test_a_token_is_issued_for_fifteen_minutes_with_the_pinned_claims(client: TestClient, api_db: Database) -> None:
    answer = client.post("/api/v1/auth/token", json={"username": "accountant", "password": PASSWORD})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["token_type"], body["expires_in"], body["role"]) == ("bearer", 900, "accountant")
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    decoded = jwt.decode(body["access_token"], signing.api_token_key(api_db.url), algorithms=["HS256"],
                         audience=api_access.AUDIENCE)
    assert decoded["sub"] == "accountant" and decoded["role"] == "accountant" and decoded["jti"]
    assert 899 < decoded["exp"] - decoded["iat"] <= 900
    assert client.get(CUSTOMERS, headers=bearer(body["access_token"])).status_code == 200


def test_a_wrong_password_is_refused_and_counts_towards_the_same_lockout(client: TestClient) -> None:
    for _ in range(users.MAX_FAILURES):
        answer = client.post("/api/v1/auth/token", json={"username": "analyst", "password": "wrong password here"})
        assert answer.status_code == 401 and answer.json()["detail"] == "Wrong username or password."
    locked = client.post("/api/v1/auth/token", json={"username": "analyst", "password": PASSWORD})
    assert locked.status_code == 401 and "locked" in locked.json()["detail"]


def test_no_credentials_and_a_malformed_one_are_refused(client: TestClient) -> None:
    assert_unauthenticated(client, {})
    assert_unauthenticated(client, bearer("not-a-token"))
    assert_unauthenticated(client, bearer("bk_0123456789ab_guessed"))


def test_a_token_signed_with_another_key_is_refused(client: TestClient) -> None:
    assert_unauthenticated(client, bearer(jwt.encode(claims(), "another installation's key, 48 characters long!!",
                                                     algorithm="HS256")))


def test_an_unsigned_token_alg_none_is_refused(client: TestClient) -> None:
    assert_unauthenticated(client, bearer(jwt.encode(claims(), None, algorithm="none")))


@pytest.mark.parametrize("changes", [{"exp": int(time.time()) - 1}, {"aud": "someone-else"}, {"sub": None},
                                     {"exp": None}, {"iat": None}])
def test_an_expired_or_incomplete_token_is_refused(client: TestClient, api_db: Database,
                                                   changes: dict[str, object]) -> None:
    payload = {k: v for k, v in claims(**changes).items() if v is not None}
    assert_unauthenticated(client, bearer(jwt.encode(payload, signing.api_token_key(api_db.url), algorithm="HS256")))


def test_a_deleted_users_token_is_refused(client: TestClient, api_db: Database) -> None:
    token = jwt.encode(claims("ghost"), signing.api_token_key(api_db.url), algorithm="HS256")
    assert_unauthenticated(client, bearer(token), "credentials_ended")


def test_disabling_a_user_or_resetting_their_password_ends_their_token_at_once(
        client: TestClient, api_db: Database, auth: Callable[[str], Headers]) -> None:
    headers = auth("analyst")
    assert client.get(CUSTOMERS, headers=headers).status_code == 200
    users.update_user(api_db, Actor("admin", "admin"), "analyst", active=False)
    assert_unauthenticated(client, headers, "credentials_ended")
    users.update_user(api_db, Actor("admin", "admin"), "analyst", active=True)
    assert_unauthenticated(client, headers, "credentials_ended")  # enabled again: a new sign-in, not the old token
    fresh = client.post("/api/v1/auth/token", json={"username": "analyst", "password": PASSWORD}).json()
    assert client.get(CUSTOMERS, headers=bearer(fresh["access_token"])).status_code == 200
    accountant = auth("accountant")
    users.update_user(api_db, Actor("admin", "admin"), "accountant", password="a brand new passphrase 42")
    assert_unauthenticated(client, accountant, "credentials_ended")


def test_a_lowered_role_takes_effect_at_once(client: TestClient, api_db: Database,
                                             auth: Callable[[str], Headers]) -> None:
    headers = auth("accountant")
    created = client.post(CUSTOMERS, headers=headers, json={"name": "Before", "currency": "EUR"})
    assert created.status_code == 201
    users.update_user(api_db, Actor("admin", "admin"), "accountant", role="analyst")
    refused = client.post(CUSTOMERS, headers=headers, json={"name": "After", "currency": "EUR"})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_an_api_key_acts_until_it_is_revoked(client: TestClient, api_db: Database) -> None:
    key, secret = api_access.create_key(api_db, SYSTEM, "accountant", "accountant", "shop")
    assert secret.startswith(f"bk_{key.id}_")
    assert client.get(CUSTOMERS, headers=bearer(secret)).status_code == 200
    listed = api_access.list_keys(api_db, SYSTEM)
    assert [(k.id, k.role) for k in listed] == [(key.id, "accountant")] and listed[0].last_used_at is not None
    assert_unauthenticated(client, bearer(secret[:-1] + ("A" if secret[-1] != "A" else "B")))
    api_access.revoke_key(api_db, SYSTEM, key.id)
    assert_unauthenticated(client, bearer(secret))


def test_only_the_keys_hash_is_stored(api_db: Database) -> None:
    _, secret = api_access.create_key(api_db, SYSTEM, "analyst", "analyst", "report script")
    with api_db.connect() as conn:
        stored = conn.exec_driver_sql("SELECT * FROM api_keys").fetchall()
    assert secret not in repr(stored) and secret.split("_", 2)[2] not in repr(stored)


def test_a_keys_role_is_never_above_its_users_or_its_creators(api_db: Database) -> None:
    with pytest.raises(ValidationError):
        api_access.create_key(api_db, SYSTEM, "analyst", "accountant", "too high")
    with pytest.raises(ValidationError):
        api_access.create_key(api_db, Actor("admin", "admin"), "ghost", "analyst", "nobody")
    key, _ = api_access.create_key(api_db, SYSTEM, "admin", "analyst", "read only")
    assert key.role == "analyst"


def test_a_key_acts_with_the_lower_of_its_role_and_its_users_current_one(client: TestClient,
                                                                          api_db: Database) -> None:
    _, secret = api_access.create_key(api_db, SYSTEM, "accountant", "accountant", "crm")
    users.update_user(api_db, Actor("admin", "admin"), "accountant", role="analyst")
    refused = client.post(CUSTOMERS, headers=bearer(secret), json={"name": "X", "currency": "EUR"})
    assert refused.status_code == 403
    users.update_user(api_db, Actor("admin", "admin"), "accountant", active=False)
    assert_unauthenticated(client, bearer(secret))


def test_a_revoked_key_cannot_finish_what_it_started(api_db: Database) -> None:
    """The actor a key resolved to is checked again at the moment of acting (require), like a browser's."""
    key, secret = api_access.create_key(api_db, SYSTEM, "accountant", "accountant", "crm")
    actor = api_access.key_actor(api_db, secret)
    api_access.revoke_key(api_db, SYSTEM, key.id)
    with pytest.raises(SessionEndedError):
        api_access.live_role(api_db, actor.username, actor.api)  # type: ignore[arg-type]


def test_a_token_issued_before_a_password_change_is_refused(api_db: Database) -> None:
    token = api_access.issue_token(api_db, "analyst", PASSWORD, utcnow() - timedelta(minutes=5))
    users.update_user(api_db, Actor("admin", "admin"), "analyst", password="a brand new passphrase 42")
    with pytest.raises((SessionEndedError, AuthenticationError)):
        api_access.token_actor(api_db, token.token)
