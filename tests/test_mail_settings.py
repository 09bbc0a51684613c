"""E-mail settings: the password encrypted at rest and never in a backup in clear text, checks, the test e-mail."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from billing import signing
from billing.backup import backup_database
from billing.errors import PermissionDeniedError, ValidationError
from billing.mail_settings import MailSettings, delivery, get_mail_settings, save_mail_settings, send_test_email
from billing.store.db import Database
from tests.conftest import ACCOUNTANT, ADMIN, Seed
from tests.mail_server import smtp_server

NOW = datetime(2025, 3, 10, 9, 30)
SECRET = "correct-horse-battery-staple"
SETTINGS = MailSettings(smtp_url="smtp+starttls://mailer@smtp.example.com:587", sender_name="Example GmbH",
                        sender_email="billing@example.com")


def saved_password(db: Database) -> str:
    with db.connect() as conn:
        found = delivery(conn)
    assert found is not None
    return found.smtp.password


def test_the_password_is_stored_encrypted_and_kept_unless_changed(db: Database, seeded: Seed) -> None:
    save_mail_settings(db, ADMIN, SETTINGS, password=SECRET, now=NOW)
    assert saved_password(db) == SECRET
    shown = get_mail_settings(db, ADMIN)
    assert shown.has_password and SECRET not in repr(shown)
    save_mail_settings(db, ADMIN, SETTINGS, password=None, now=NOW)
    assert saved_password(db) == SECRET
    save_mail_settings(db, ADMIN, SETTINGS, password="", now=NOW)
    assert saved_password(db) == "" and not get_mail_settings(db, ADMIN).has_password


def test_a_password_in_the_url_is_moved_out_of_it(db: Database, seeded: Seed) -> None:
    save_mail_settings(db, ADMIN, MailSettings(smtp_url=f"smtps://mailer:{SECRET}@smtp.example.com",
                                               sender_email="billing@example.com"), password=None, now=NOW)
    assert get_mail_settings(db, ADMIN).smtp_url == "smtps://mailer@smtp.example.com:465"
    assert saved_password(db) == SECRET


def test_a_backup_holds_no_clear_password_and_another_key_cannot_read_it(db: Database, seeded: Seed,
                                                                          tmp_path: Path) -> None:
    save_mail_settings(db, ADMIN, SETTINGS, password=SECRET, now=NOW)
    backup_database(db, ADMIN, tmp_path / "backup.zip")
    with zipfile.ZipFile(tmp_path / "backup.zip") as archive:
        names = archive.namelist()
        assert all(SECRET.encode() not in archive.read(name) for name in names)
        [table] = [name for name in names if "mail_settings" in name]
        row = pq.read_table(io.BytesIO(archive.read(table))).to_pylist()[0]
    assert row["password_encrypted"] and SECRET not in row["password_encrypted"]
    assert ".mail_key" not in " ".join(names)
    signing.key_path(db.url, signing.MAIL_KEY_FILE).write_text("another installation's key, long enough" * 2)
    with pytest.raises(ValidationError, match="cannot be read on this installation"):
        saved_password(db)


@pytest.mark.parametrize(("change", "problem"), [
    ({"sender_email": ""}, "sender's e-mail address"),
    ({"sender_email": "billing at example"}, "not an e-mail address"),
    ({"reply_to": "x"}, "not an e-mail address"),
    ({"public_url": "javascript:alert(1)"}, "web address"),
    ({"link_days": 0}, "1 to 3660 days"),
    ({"sender_name": "A\nBcc: x@y.z"}, "one line"),
])
def test_bad_settings_are_refused(db: Database, seeded: Seed, change: dict[str, object], problem: str) -> None:
    values = {**{name: getattr(SETTINGS, name) for name in MailSettings.__dataclass_fields__}, **change}
    with pytest.raises(ValidationError, match=problem):
        save_mail_settings(db, ADMIN, MailSettings(**values), password=None, now=NOW)  # type: ignore[arg-type]


def test_only_an_admin_changes_them(db: Database, seeded: Seed) -> None:
    with pytest.raises(PermissionDeniedError):
        save_mail_settings(db, ACCOUNTANT, SETTINGS, password=SECRET, now=NOW)


def test_the_test_email_arrives_or_says_why_not(db: Database, seeded: Seed) -> None:
    with smtp_server() as (url, mailbox):
        save_mail_settings(db, ADMIN, MailSettings(smtp_url=url, sender_name="Example GmbH",
                                                   sender_email="billing@example.com"), password=None, now=NOW)
        answer = send_test_email(db, ADMIN, "me@example.com", NOW)
        assert answer.startswith("The test e-mail was handed to 127.0.0.1")
        [item] = mailbox.received
        assert item.recipients == ["me@example.com"] and item.message["Subject"] == "Test e-mail from Example GmbH"
        mailbox.reply = "550 5.7.1 Relaying denied"
        with pytest.raises(ValidationError, match=r"not sent: 550 5\.7\.1 Relaying denied"):
            send_test_email(db, ADMIN, "me@example.com", NOW)
