"""Company profile and numbering series (billing.settings)."""

from __future__ import annotations

from typing import Any

import pytest

from billing import invoices, settings
from billing.errors import NotFoundError, ValidationError
from billing.store.db import Database
from tests.conftest import ADMIN, TODAY, Billed, Seed, Shared, assert_refused, draft, line


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()


def test_no_company_before_setup(db: Database) -> None:
    assert settings.get_company(db) is None


def test_save_and_update_company(db: Database) -> None:
    settings.save_company(db, ADMIN, {"legal_name": "Example GmbH", "country": "DE"}, logo=PNG)
    company = settings.get_company(db)
    assert company is not None
    assert (company["legal_name"], company["base_currency"], company["page_size"], company["logo"]) == (
        "Example GmbH", "EUR", "A4", PNG)
    settings.save_company(db, ADMIN, {"legal_name": "Example AG", "page_size": "Letter", "timezone": "Europe/Zurich"})
    company = settings.get_company(db)
    assert company is not None
    assert (company["legal_name"], company["page_size"], company["logo"]) == ("Example AG", "Letter", PNG)
    settings.save_company(db, ADMIN, {"legal_name": "Example AG"}, remove_logo=True)
    company = settings.get_company(db)
    assert company is not None and company["logo"] is None


def test_the_account_is_stored_compact_and_upper_case(db: Database) -> None:
    settings.save_company(db, ADMIN, {"legal_name": "Example GmbH", "iban": " de89 3704 0044 0532 0130 00 ",
                                      "bic": "cobadeff xxx"})
    company = settings.get_company(db)
    assert company is not None and (company["iban"], company["bic"]) == ("DE89370400440532013000", "COBADEFFXXX")
    settings.save_company(db, ADMIN, {"legal_name": "Example GmbH"})
    company = settings.get_company(db)
    assert company is not None and (company["iban"], company["bic"]) == ("", "")  # no account: no QR code


@pytest.mark.parametrize(
    ("data", "logo", "match"),
    [
        pytest.param({"legal_name": ""}, None, "Legal name", id="no-name"),
        pytest.param({"legal_name": "X", "base_currency": "XYZ"}, None, "Unknown currency", id="currency"),
        pytest.param({"legal_name": "X", "page_size": "A3"}, None, "A4 or Letter", id="page-size"),
        pytest.param({"legal_name": "X", "timezone": "Mars/Olympus"}, None, "time zone", id="timezone"),
        pytest.param({"legal_name": "X", "default_terms_days": 400}, None, "terms", id="terms"),
        pytest.param({"legal_name": "X"}, b"GIF89a" + b"\x00" * 10, "PNG or JPEG", id="logo-type"),
        pytest.param({"legal_name": "X"}, PNG + b"\x00" * 1_000_000, "1 MB", id="logo-size"),
        pytest.param({"legal_name": "X", "iban": "DE89 3704 0044 0532 0130 01"}, None,
                     "^IBAN: the check digits are wrong", id="iban-check-digits"),
        pytest.param({"legal_name": "X", "iban": "3704 0044 0532 0130 00"}, None, "^IBAN: an IBAN starts with",
                     id="iban-no-country"),
        pytest.param({"legal_name": "X", "iban": "XX46 3704 0044 0532 0130 00"}, None,
                     "^IBAN: XX is not a country with IBANs", id="iban-country"),
        pytest.param({"legal_name": "X", "iban": "DE05 3704 0044 0532 0130 0A"}, None,
                     "^IBAN: the account part is not in the format of an IBAN of DE", id="iban-format"),
        pytest.param({"legal_name": "X", "bic": "COBADE"}, None, "^BIC: a BIC has 8 or 11", id="bic-length"),
        pytest.param({"legal_name": "X", "bic": "COBAXXFF"}, None, "^BIC: XX is not a country code", id="bic-country"),
    ],
)
def test_bad_company_is_refused(refusals: Shared, data: dict[str, Any], logo: bytes | None, match: str) -> None:
    db = refusals.db
    assert_refused(db, lambda: settings.save_company(db, ADMIN, data, logo=logo), ValidationError, match=match)


def test_list_series(db: Database) -> None:
    assert [(row["code"], row["pattern"], row["next_seq"]) for row in settings.list_series(db, ADMIN)] == [
        ("CN", "CN-{YYYY}-{SEQ:05}", 1), ("INV", "INV-{YYYY}-{SEQ:05}", 1), ("QUO", "QUO-{YYYY}-{SEQ:05}", 1)]


def issue_one(db: Database, seeded: Seed) -> str:
    return invoices.issue_invoice(db, ADMIN, draft(db, seeded.acme, line(seeded.s19)), today=TODAY)


@pytest.mark.parametrize("next_seq", [1, 2, 3])
def test_next_number_at_or_below_a_used_one_is_refused(refusals: Shared, next_seq: int) -> None:
    db = refusals.db  # INV-2025-00001..3 are used
    error = assert_refused(db, lambda: settings.set_series(db, ADMIN, "INV", "INV-{YYYY}-{SEQ:05}", next_seq),
                           ValidationError)
    assert "above 3" in str(error)


def test_next_number_above_the_used_ones_is_used_by_the_next_issue(db: Database, seeded: Seed,
                                                                   billed: Billed) -> None:
    settings.set_series(db, ADMIN, "INV", "INV-{YYYY}-{SEQ:05}", 4)  # unchanged: allowed
    assert issue_one(db, seeded) == "INV-2025-00004"
    settings.set_series(db, ADMIN, "INV", "R{YY}{MM}-{SEQ:06}", 1000)
    assert issue_one(db, seeded) == "R2503-001000"
    assert issue_one(db, seeded) == "R2503-001001"
    assert_refused(db, lambda: settings.set_series(db, ADMIN, "INV", "R{YY}{MM}-{SEQ:06}", 1001), ValidationError)


def test_next_number_on_a_fresh_series(db: Database, seeded: Seed) -> None:
    settings.set_series(db, ADMIN, "CN", "GS-{SEQ}", 1)
    settings.set_series(db, ADMIN, "INV", "INV-{YYYY}-{SEQ:05}", 500)
    assert issue_one(db, seeded) == "INV-2025-00500"


def test_pattern_change_alone_keeps_the_counter(db: Database, seeded: Seed, billed: Billed) -> None:
    settings.set_series(db, ADMIN, "INV", "F-{SEQ:04}")
    assert issue_one(db, seeded) == "F-0004"


@pytest.mark.parametrize(
    ("code", "pattern", "next_seq", "error", "match"),
    [
        pytest.param("INV", "INV-{YYYY}", None, ValidationError, "SEQ", id="no-seq"),
        pytest.param("INV", "X" * 41 + "{SEQ}", None, ValidationError, "40 characters", id="too-long"),
        pytest.param("INV", "INV-{SEQ}", 10**12 + 1, ValidationError, "too large", id="next-too-large"),
        pytest.param("XX", "XX-{SEQ}", None, NotFoundError, "XX", id="unknown-series"),
    ],
)
def test_bad_series_change_is_refused(refusals: Shared, code: str, pattern: str, next_seq: int | None,
                                      error: type[Exception], match: str) -> None:
    db = refusals.db
    assert_refused(db, lambda: settings.set_series(db, ADMIN, code, pattern, next_seq), error, match=match)


def test_a_series_pattern_may_not_copy_another_series(db: Database) -> None:
    with pytest.raises(ValidationError, match="collide"):
        settings.set_series(db, ADMIN, "CN", "INV-{YYYY}-{SEQ:05}")


def test_a_logo_must_decode_as_an_image(db: Database) -> None:
    import io

    from PIL import Image

    profile = {"legal_name": "Acme", "base_currency": "EUR", "timezone": "UTC"}
    with pytest.raises(ValidationError, match="damaged"):
        settings.save_company(db, ADMIN, profile, logo=b"\x89PNG\r\n\x1a\n" + b"junk" * 50)
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "navy").save(buffer, format="PNG")
    settings.save_company(db, ADMIN, profile, logo=buffer.getvalue())
    assert (settings.get_company(db) or {})["logo"] == buffer.getvalue()
