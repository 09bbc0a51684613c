"""billing.config: every BILLING_* variable read and checked once, refused at start-up with a clear message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from billing import auth_keys, cli, config, signing, users
from billing.config import Settings
from billing.errors import BillingError, ConfigError
from billing.store.db import database_url
from ui.format import plain

ROOT = Path(__file__).resolve().parents[1]
STRONG = "k" * 32


def refusal(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(environ)
    return raised.value.message


# --- defaults and good values ----------------------------------------------------------------------------------------

def test_an_empty_environment_gives_the_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings(database_url="duckdb:///data/billing.duckdb", cookie_key=None, session_hours=24.0,
                                audit_key=None, backup_key=None, bcrypt_rounds=12)
    assert settings.session_lifetime == timedelta(hours=24)


def test_variables_of_other_programs_are_not_read() -> None:
    assert Settings.from_env({"BILLING_UNKNOWN": "x", "HOME": "/root"}) == Settings()


@pytest.mark.parametrize(("variable", "raw", "field", "value"), [
    ("BILLING_DATABASE_URL", "duckdb:///tmp/a.duckdb", "database_url", "duckdb:///tmp/a.duckdb"),
    ("BILLING_DATABASE_URL", "duckdb:///:memory:", "database_url", "duckdb:///:memory:"),
    ("BILLING_DATABASE_URL", "postgresql+psycopg://billing:pw@db/billing", "database_url",
     "postgresql+psycopg://billing:pw@db/billing"),
    ("BILLING_COOKIE_KEY", "c" * 32, "cookie_key", "c" * 32),
    ("BILLING_SESSION_HOURS", "8", "session_hours", 8.0),
    ("BILLING_SESSION_HOURS", "0.5", "session_hours", 0.5),
    ("BILLING_SESSION_HOURS", "2160", "session_hours", 2160.0),
    ("BILLING_AUDIT_KEY", "a" * 40, "audit_key", "a" * 40),
    ("BILLING_BACKUP_KEY", "b" * 32, "backup_key", "b" * 32),
    ("BILLING_BCRYPT_ROUNDS", "4", "bcrypt_rounds", 4),
    ("BILLING_BCRYPT_ROUNDS", "31", "bcrypt_rounds", 31),
])
def test_a_good_value_is_taken(variable: str, raw: str, field: str, value: object) -> None:
    assert getattr(Settings.from_env({variable: raw}), field) == value


# --- bad values ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("variable", "raw", "rule"), [
    ("BILLING_SESSION_HOURS", "abc", "must be a number of hours above 0 and at most 2160 (90 days), not 'abc'."),
    ("BILLING_SESSION_HOURS", "0", "not '0'."),
    ("BILLING_SESSION_HOURS", "-1", "not '-1'."),
    ("BILLING_SESSION_HOURS", "2161", "not '2161'."),
    ("BILLING_SESSION_HOURS", "nan", "not 'nan'."),
    ("BILLING_SESSION_HOURS", "", "not ''."),
    ("BILLING_BCRYPT_ROUNDS", "3", "must be a whole number from 4 to 31, not '3'."),
    ("BILLING_BCRYPT_ROUNDS", "32", "not '32'."),
    ("BILLING_BCRYPT_ROUNDS", "4.5", "not '4.5'."),
    ("BILLING_BCRYPT_ROUNDS", "twelve", "not 'twelve'."),
    ("BILLING_DATABASE_URL", "mysql://root@localhost/billing", "uses the unsupported database 'mysql'; use "
     "duckdb:///path/to/file.duckdb or postgresql+psycopg://user:password@host/database."),
    ("BILLING_DATABASE_URL", "sqlite:///billing.db", "uses the unsupported database 'sqlite'"),
    ("BILLING_DATABASE_URL", "data/billing.duckdb", "is not a database URL; use duckdb:///"),
    ("BILLING_DATABASE_URL", "", "is not a database URL"),
])
def test_a_bad_value_is_refused_naming_the_variable_and_the_rule(variable: str, raw: str, rule: str) -> None:
    message = refusal({variable: raw})
    assert message.startswith(f"{variable} ") and rule in message


def test_a_long_bad_value_is_shown_shortened() -> None:
    message = refusal({"BILLING_SESSION_HOURS": "x" * 500})
    assert "x" * 40 + "…" in message and "x" * 41 not in message


COOKIE_RULE = "is too short or well known; use at least 32 random characters."
KEY_RULE = "is too short; use at least 32 random characters."


@pytest.mark.parametrize(("variable", "weak", "rule"), [
    ("BILLING_COOKIE_KEY", "k" * 31, COOKIE_RULE),
    ("BILLING_COOKIE_KEY", "some_signature_key", COOKIE_RULE),
    ("BILLING_COOKIE_KEY", "", COOKIE_RULE),
    ("BILLING_AUDIT_KEY", "a-secret-of-31-characters-here!", KEY_RULE),
    ("BILLING_BACKUP_KEY", "short-backup-secret", KEY_RULE),
])
def test_a_weak_key_is_refused_without_showing_it(variable: str, weak: str, rule: str) -> None:
    message = refusal({variable: weak})
    assert message == f"{variable} {rule}"
    assert not weak or weak not in message


def test_the_password_in_a_refused_database_url_is_not_shown() -> None:
    message = refusal({"BILLING_DATABASE_URL": "mysql://billing:hunter2-secret@db/billing"})
    assert "hunter2" not in message and "db/billing" not in message


def test_every_bad_variable_is_named_in_one_error() -> None:
    message = refusal({"BILLING_SESSION_HOURS": "soon", "BILLING_BCRYPT_ROUNDS": "0", "BILLING_AUDIT_KEY": "x",
                       "BILLING_COOKIE_KEY": STRONG})
    assert [name for name in config.VARIABLES if name in message] == [
        "BILLING_SESSION_HOURS", "BILLING_AUDIT_KEY", "BILLING_BCRYPT_ROUNDS"]
    assert "\n" not in message


def test_a_config_error_is_a_billing_error_with_a_default_message() -> None:
    assert issubclass(ConfigError, BillingError)
    assert ConfigError().message == "The server is not configured correctly."


def test_keys_are_not_in_the_settings_repr() -> None:
    settings = Settings.from_env({"BILLING_COOKIE_KEY": "c" * 40, "BILLING_AUDIT_KEY": "a" * 40,
                                  "BILLING_BACKUP_KEY": "b" * 40})
    assert not any(letter * 40 in repr(settings) for letter in "cab")


# --- the current environment -----------------------------------------------------------------------------------------

def test_current_settings_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_BCRYPT_ROUNDS", "5")
    monkeypatch.setenv("BILLING_DATABASE_URL", "duckdb:///one.duckdb")
    first = config.current_settings()
    assert (first.bcrypt_rounds, first.database_url) == (5, "duckdb:///one.duckdb")
    assert config.current_settings() is first  # read once while nothing changed
    monkeypatch.setenv("BILLING_BCRYPT_ROUNDS", "6")
    assert config.current_settings().bcrypt_rounds == 6
    monkeypatch.delenv("BILLING_BCRYPT_ROUNDS")
    assert config.current_settings().bcrypt_rounds == 12
    monkeypatch.setenv("BILLING_BCRYPT_ROUNDS", "1")
    with pytest.raises(ConfigError, match="BILLING_BCRYPT_ROUNDS"):
        config.current_settings()


def test_the_services_read_their_settings_through_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"duckdb:///{tmp_path}/app.duckdb"
    for variable, value in [("BILLING_DATABASE_URL", url), ("BILLING_COOKIE_KEY", "c" * 32),
                            ("BILLING_AUDIT_KEY", "a" * 32), ("BILLING_BACKUP_KEY", "b" * 32),
                            ("BILLING_SESSION_HOURS", "3"), ("BILLING_BCRYPT_ROUNDS", "5")]:
        monkeypatch.setenv(variable, value)
    assert database_url() == url
    assert auth_keys.cookie_key(url) == "c" * 32 and auth_keys.session_lifetime() == timedelta(hours=3)
    assert signing.audit_key(url) == b"a" * 32 and signing.backup_key(url) == b"b" * 32
    assert users.hash_password("a long enough secret").startswith("$2b$05$")
    assert not list(tmp_path.iterdir())  # no key file written when the environment gives the key


def test_only_billing_config_reads_the_environment() -> None:
    readers = [path.relative_to(ROOT).as_posix() for path in sorted(ROOT.glob("billing/**/*.py"))
               + sorted(ROOT.glob("ui/**/*.py")) + sorted(ROOT.glob("app_pages/**/*.py")) + [ROOT / "app.py"]
               if re.search(r"\benviron\b|\bgetenv\b", path.read_text())]
    assert readers == ["billing/config.py"]


# --- the README's configuration table --------------------------------------------------------------------------------

class _Recording(dict[str, str]):
    """An environment that notes every variable looked up in it."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def readme_variables() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(BILLING_[A-Z_]+)` \|", section, flags=re.MULTILINE)


def test_the_readme_table_lists_exactly_the_variables_the_config_reads() -> None:
    environ = _Recording()
    Settings.from_env(environ)
    assert environ.read == set(config.VARIABLES)
    documented = readme_variables()
    assert len(documented) == len(set(documented))
    assert set(documented) == environ.read


# --- checked at start-up ---------------------------------------------------------------------------------------------

@pytest.fixture
def bad_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A bad session lifetime beside a database URL whose file must never be created."""
    database = tmp_path / "never.duckdb"
    monkeypatch.setenv("BILLING_DATABASE_URL", f"duckdb:///{database}")
    monkeypatch.setenv("BILLING_SESSION_HOURS", "abc")
    yield database
    assert not database.exists() and not (tmp_path / ".cookie_key").exists()


MESSAGE = "BILLING_SESSION_HOURS must be a number of hours above 0 and at most 2160 (90 days), not 'abc'."


def test_the_cli_prints_one_line_and_exits_2(bad_environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["init"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"Error: {MESSAGE}\n" and captured.out == ""


def test_the_app_shows_the_message_and_stops(bad_environment: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    assert not at.exception
    assert [error.value for error in at.error] == [plain(MESSAGE)]
    assert not at.text_input and not at.button  # no sign-in form, no set-up page


def test_secrets_are_read_from_the_files_their_file_variables_name(tmp_path: Path) -> None:
    (tmp_path / "cookie").write_text("c" * 40 + "\n")
    (tmp_path / "password").write_text("s3cret/pass\n")
    settings = Settings.from_env({"BILLING_COOKIE_KEY_FILE": str(tmp_path / "cookie"),
                                  "BILLING_AUDIT_KEY": "a" * 40, "BILLING_AUDIT_KEY_FILE": str(tmp_path / "cookie"),
                                  "BILLING_DATABASE_URL": "postgresql+psycopg://billing@db:5432/billing",
                                  "BILLING_DATABASE_PASSWORD_FILE": str(tmp_path / "password")})
    assert settings.cookie_key == "c" * 40
    assert settings.audit_key == "a" * 40  # the variable itself wins
    assert sa.engine.make_url(settings.database_url).password == "s3cret/pass"
    message = refusal({"BILLING_BACKUP_KEY_FILE": str(tmp_path / "missing")})
    assert message == "BILLING_BACKUP_KEY_FILE names a file that cannot be read (No such file or directory)."
