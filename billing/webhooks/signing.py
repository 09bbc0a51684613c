"""The `Billing-Signature` header (HMAC-SHA256 of "t.body") and the endpoint secrets, encrypted at rest.

A receiver checks a delivery by computing HMAC-SHA256 of `<t>.<raw body>` with its secret and comparing it
with `v1`, and refuses a `t` too far from its clock (a replayed old delivery). The secret must stay readable
to sign, so it is kept encrypted (Fernet) with the key file `.webhook_key` beside the database: a copy of the
database file or a backup alone does not give it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken

from billing import signing
from billing.errors import ConfigError

HEADER = "Billing-Signature"
KEY_FILE = signing.WEBHOOK_KEY_FILE
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">`."""
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify_signature(secret: str, body: bytes, header: str, now: int, tolerance: int = 300) -> bool:
    """Whether `header` signs `body` with `secret`, made within `tolerance` seconds of `now`."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(_digest(secret, body, timestamp), parts.get("v1", ""))


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def encrypt_secret(database_url: str, secret: str) -> str:
    return _box(database_url).encrypt(secret.encode()).decode()


def decrypt_secret(database_url: str, stored: str) -> str:
    """The secret as it was given; a ConfigError when this installation's key cannot open it (a backup of
    another installation): the endpoint then needs a new secret."""
    try:
        return _box(database_url).decrypt(stored.encode()).decode()
    except InvalidToken:
        raise ConfigError(f"The webhook secret cannot be read with this installation's key ({KEY_FILE}): "
                          "give the endpoint a new secret.") from None


def _box(database_url: str) -> Fernet:
    key = signing.installation_key(database_url, KEY_FILE)
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key).digest()))
