"""Documents and e-mails in the customer's language: the texts (one catalogue module per language), and
the Babel locale that formats their numbers, amounts and dates.

The catalogues are plain Python dicts rather than gettext .po/.mo files: nothing to compile at build or
install time, mypy and the tests read them like any module, and a test checks that every language has
every key of English with the same placeholders. Keys name what a text is for ("total.balance"), values
are `str.format` templates ("Invoice {number} from {company}").

`translate(language, key, **values)` is the one way in, for the invoice, credit-note and statement
PDFs here, and for quotes, reminders and e-mail templates elsewhere.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError
from babel.languages import get_official_languages

from billing.errors import ValidationError
from billing.i18n import de, en, es, fr, it, nl, pl

DEFAULT_LANGUAGE = "en"
# Language code -> the language's name in itself, as a picker shows it.
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español",
                             "it": "Italiano", "nl": "Nederlands", "pl": "Polski"}
CATALOGUES: dict[str, dict[str, str]] = {"en": en.MESSAGES, "de": de.MESSAGES, "fr": fr.MESSAGES,
                                         "es": es.MESSAGES, "it": it.MESSAGES, "nl": nl.MESSAGES,
                                         "pl": pl.MESSAGES}
# The locale of a language when the customer's country does not speak it officially (an English-speaking
# customer in Germany gets en_US's "€1,234.56", not CLDR's en_DE "1.234,56 €").
DEFAULT_LOCALES: dict[str, str] = {"en": "en_US", "de": "de_DE", "fr": "fr_FR", "es": "es_ES", "it": "it_IT",
                                   "nl": "nl_NL", "pl": "pl_PL"}


def check_language(value: str) -> str:
    """A language code the documents can be written in ('DE ' -> 'de'), or a ValidationError naming them."""
    code = (value or "").strip().lower()
    if code not in LANGUAGES:
        raise ValidationError(f"Unknown language '{value}'. Use one of {', '.join(LANGUAGES)}.")
    return code


def translate(language: str | None, key: str, **values: object) -> str:
    """The text `key` in `language` (English for a language without a catalogue), placeholders filled.

    A key unknown to English is a programming error (KeyError): the completeness test guards the rest.
    """
    catalogue = CATALOGUES.get((language or DEFAULT_LANGUAGE).lower(), en.MESSAGES)
    template = catalogue.get(key) or en.MESSAGES[key]
    return template.format(**values) if values else template


def document_locale(language: str | None, country: str | None = None) -> str:
    """The Babel locale a document in `language` for a customer in `country` is formatted with: the
    language as spoken there where it is an official language ('fr', 'BE' -> 'fr_BE'; 'de', 'AT' ->
    'de_AT'), else the language's home locale ('de', 'US' -> 'de_DE')."""
    code = (language or DEFAULT_LANGUAGE).lower()
    territory = (country or "").upper()
    if territory and code in get_official_languages(territory) and _exists(f"{code}_{territory}"):
        return f"{code}_{territory}"
    return DEFAULT_LOCALES.get(code, DEFAULT_LOCALES[DEFAULT_LANGUAGE])


@functools.cache
def _exists(locale: str) -> bool:
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return False
    return True


def language_of_locale(locale: str) -> str:
    """'de_DE' -> 'de'; a locale of a language without a catalogue -> English."""
    code = locale.split("_")[0].lower()
    return code if code in CATALOGUES else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Wording:
    """How one document speaks: its language (the texts) and its Babel locale (numbers, amounts, dates)."""

    language: str = DEFAULT_LANGUAGE
    locale: str = DEFAULT_LOCALES[DEFAULT_LANGUAGE]

    def text(self, key: str, **values: object) -> str:
        """`translate` in this document's language."""
        return translate(self.language, key, **values)


def wording_for(language: str | None, country: str | None = None, *, locale: str | None = None) -> Wording:
    """The wording of a document for a customer speaking `language` in `country`; `locale` (when given)
    overrides the formatting, and names the language when `language` is not given."""
    code = (language or (language_of_locale(locale) if locale else DEFAULT_LANGUAGE)).lower()
    code = code if code in CATALOGUES else DEFAULT_LANGUAGE
    return Wording(code, locale or document_locale(code, country))
