"""Per-installation secrets outside the database and outside git: the HMAC-SHA256 keys of the audit
chain and of backups, and the file recording the audit chain's head.

They live beside the cookie key (billing.auth_keys.key_file: next to the DuckDB file, for PostgreSQL
in ./data), each created once, at random, with O_EXCL and mode 0600. BILLING_AUDIT_KEY and
BILLING_BACKUP_KEY supply a key instead (at least 32 characters). Whoever holds the database file
alone cannot recompute a keyed hash or a backup signature; whoever also holds these files can.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import shutil
from pathlib import Path

import sqlalchemy as sa

from billing.auth_keys import key_file
from billing.config import MIN_KEY_LENGTH, current_settings, is_weak_key
from billing.errors import ConfigError
from billing.store.audit_files import write_new

AUDIT_KEY_FILE = ".audit_key"
BACKUP_KEY_FILE = ".backup_key"
API_TOKEN_KEY_FILE = ".api_token_key"  # noqa: S105 (a file name)
MAIL_KEY_FILE = ".mail_key"
WEBHOOK_KEY_FILE = ".webhook_key"
HEAD_SUFFIX = ".audit_head"


def audit_key(database_url: str, *, create: bool = True) -> bytes | None:
    """The key of the audit chain; None if there is none yet and `create` is false."""
    return _key(database_url, current_settings().audit_key, AUDIT_KEY_FILE, create)


def backup_key(database_url: str) -> bytes:
    """The key signing this installation's backups (created on first use)."""
    key = _key(database_url, current_settings().backup_key, BACKUP_KEY_FILE, True)
    assert key is not None  # created when missing
    return key


def api_token_key(database_url: str) -> bytes:
    """The key signing the REST API's access tokens (HS256; created on first use). Replacing the file
    ends every access token issued so far (they live 15 minutes anyway); API keys are not affected."""
    key = _key(database_url, None, API_TOKEN_KEY_FILE, True)
    assert key is not None  # created when missing
    return key


def mail_key(database_url: str) -> bytes:
    """The key of e-mail delivery (created on first use): it encrypts the SMTP password in the database and
    derives the customers' link tokens, so neither can be read from a backup or a copy of the database."""
    key = _key(database_url, None, MAIL_KEY_FILE, True)
    assert key is not None  # created when missing
    return key


def installation_key(database_url: str, name: str) -> bytes:
    """The key in the file `name` beside the database (created on first use): webhooks' secrets."""
    key = _key(database_url, None, name, True)
    assert key is not None  # created when missing
    return key


def key_path(database_url: str, name: str) -> Path:
    return key_file(database_url).with_name(name)


def head_path(database_url: str) -> Path | None:
    """Where the chain's head is recorded: `.<database file>.audit_head` beside the DuckDB file; for
    PostgreSQL one file per URL in ./data; None for an in-memory database (nothing outlives it)."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "duckdb":
        if not url.database or url.database == ":memory:":
            return None
        database = Path(url.database).resolve()
        return database.with_name(f".{database.name}{HEAD_SUFFIX}")
    name = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return key_path(database_url, f".{url.get_backend_name()}-{name}{HEAD_SUFFIX}")


def sign(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of `message`, as hex."""
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def same_signature(expected: str, found: object) -> bool:
    return isinstance(found, str) and hmac.compare_digest(expected, found)


def copy_installation_files(source_url: str, target_url: str) -> None:
    """Copy the files that go with a DuckDB database (keys, recorded head) along with a copy of it.

    A database without them is another installation's: its keyed chain no longer verifies. Keys
    already in the target folder are kept (they are another installation's).
    """
    for name in (AUDIT_KEY_FILE, BACKUP_KEY_FILE, MAIL_KEY_FILE, WEBHOOK_KEY_FILE):
        source, target = key_path(source_url, name), key_path(target_url, name)
        if source.exists() and not target.exists():
            shutil.copy2(source, target)
    head_source, head_target = head_path(source_url), head_path(target_url)
    if head_source is not None and head_target is not None and head_source.exists():
        shutil.copy2(head_source, head_target)


def _key(database_url: str, configured: str | None, name: str, create: bool) -> bytes | None:
    """The key given in the environment (checked by billing.config), else the one in its file."""
    if configured is not None:
        return configured.encode()
    path = key_path(database_url, name)
    try:
        if create:
            write_new(path, secrets.token_urlsafe(48) + "\n")
        return _checked(path.read_text().strip(), str(path))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"The key file {path} cannot be read or created ({exc.strerror}).") from exc


def _checked(key: str, source: str) -> bytes:
    if is_weak_key(key):
        raise ConfigError(f"The key in {source} is too short; use at least {MIN_KEY_LENGTH} random "
                          "characters.")
    return key.encode()
