"""The SMTP URL's three forms, and a bad URL refused with a message naming what is wrong (never the password)."""

from __future__ import annotations

import pytest

from billing.config import ConfigError, Settings
from billing.errors import ValidationError
from billing.smtp import SmtpConfig, parse_smtp_url


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://localhost:2525", SmtpConfig("smtp", "localhost", 2525)),
    ("smtp://relay.internal", SmtpConfig("smtp", "relay.internal", 25)),
    ("smtp+starttls://user:pa%40ss@smtp.example.com:587", SmtpConfig("smtp+starttls", "smtp.example.com", 587,
                                                                      "user", "pa@ss")),
    ("smtps://me%40example.com:secret@mail.example.com", SmtpConfig("smtps", "mail.example.com", 465,
                                                                    "me@example.com", "secret")),
    ("SMTPS://u:p@[::1]:1465", SmtpConfig("smtps", "::1", 1465, "u", "p")),
])
def test_the_three_forms(url: str, expected: SmtpConfig) -> None:
    assert parse_smtp_url(url) == expected


def test_the_safe_url_and_repr_never_hold_the_password() -> None:
    config = parse_smtp_url("smtps://user:topsecret@mail.example.com:465")
    assert config.safe_url == "smtps://user@mail.example.com:465"
    assert "topsecret" not in repr(config)


@pytest.mark.parametrize(("url", "problem"), [
    ("http://mail.example.com", "must start with smtp://, smtp+starttls:// or smtps:// (scheme 'http')"),
    ("mail.example.com:25", "must start with smtp://"),
    ("smtp://", "names no server"),
    ("smtp://host:notaport", "is not a valid URL"),
    ("smtp://host:99999", "is not a valid URL"),
    ("smtp://user:secret@host:25", "sends a password without encryption"),
    ("smtps://:secret@host", "has a password but no user name"),
    ("smtp://host:25/path", "has a path or query"),
])
def test_a_bad_url_is_named_clearly(url: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")) \
            as refused:
        parse_smtp_url(url)
    assert "secret" not in refused.value.message


def test_billing_smtp_url_is_checked_at_start_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"BILLING_SMTP_URL": "smtp://user:hunter2hunter2@host:25"})
    assert refused.value.message.startswith("BILLING_SMTP_URL is not a usable SMTP URL: it sends a password")
    assert "hunter2" not in refused.value.message
    assert Settings.from_env({"BILLING_SMTP_URL": "smtps://u:p@host:465"}).smtp_url == "smtps://u:p@host:465"
    assert "smtps" not in repr(Settings.from_env({"BILLING_SMTP_URL": "smtps://u:p@host:465"}))
