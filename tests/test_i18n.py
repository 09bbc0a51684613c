"""billing.i18n: every language has every text, with the same placeholders; the locale a document is
formatted in."""

from __future__ import annotations

import string

import pytest

from billing import i18n
from billing.errors import ValidationError


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("language", sorted(i18n.LANGUAGES))
def test_every_key_is_translated_with_the_same_placeholders(language: str) -> None:
    english, catalogue = i18n.CATALOGUES["en"], i18n.CATALOGUES[language]
    assert set(catalogue) == set(english), set(catalogue) ^ set(english)
    for key, template in english.items():
        assert catalogue[key].strip(), key
        assert _placeholders(catalogue[key]) == _placeholders(template), key


def test_the_seven_languages_have_catalogues() -> None:
    assert set(i18n.LANGUAGES) == set(i18n.CATALOGUES) == {"en", "de", "fr", "es", "it", "nl", "pl"}


def test_translate_fills_placeholders_and_falls_back_to_english() -> None:
    assert i18n.translate("de", "email.invoice.subject", number="R-1", company="Acme") == "Rechnung R-1 von Acme"
    assert i18n.translate("ru", "invoice.title") == "INVOICE"
    assert i18n.translate(None, "total.balance") == "Balance due"
    with pytest.raises(KeyError):
        i18n.translate("de", "no.such.key")


@pytest.mark.parametrize(("language", "country", "locale"), [
    ("de", "DE", "de_DE"), ("de", "AT", "de_AT"), ("de", "US", "de_DE"), ("fr", "BE", "fr_BE"),
    ("nl", "BE", "nl_BE"), ("en", "DE", "en_US"), ("en", "GB", "en_GB"), ("pl", "", "pl_PL"), ("en", None, "en_US"),
])
def test_document_locale(language: str, country: str | None, locale: str) -> None:
    assert i18n.document_locale(language, country) == locale


def test_check_language() -> None:
    assert i18n.check_language(" DE ") == "de"
    with pytest.raises(ValidationError, match="Unknown language 'xx'"):
        i18n.check_language("xx")
