"""E-mail subject and body templates per document kind and language, with their placeholders.

Templates are keyed by (kind, language); 'en' is the default every kind has here, a stored template of
the same key replaces it, and a language without its own template falls back to 'en'. Placeholders are
`{name}` for the names in PLACEHOLDERS only (no attribute access, no format specs): a template naming
another is refused when saved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing import i18n
from billing.errors import ValidationError
from billing.store.mail_schema import mail_templates

DEFAULT_LANGUAGE = "en"
PLACEHOLDERS = {
    "number": "the document's number",
    "total": "its total with currency",
    "balance": "the amount still due with currency",
    "due_date": "the due date (a quote's: the date it is valid until)",
    "customer": "the customer's name",
    "company": "your company's name",
    "link": "the customer's link to the document (filled in when the e-mail is sent)",
    "period": "a statement's period",
}
LINK_MARK = "{link}"
_PLACEHOLDER = re.compile(r"\{(\w*)\}")
_BRACED = re.compile(r"\{([^{}\s]*)\}")  # what looks like a placeholder when checking: {total:>10}, {x.y}
MAX_SUBJECT = 200
MAX_BODY = 20_000


@dataclass(frozen=True, slots=True)
class MailTemplate:
    """Subject and body of the e-mail for one document kind in one language; `stored` is False for the
    built-in default."""

    kind: str
    language: str
    subject: str
    body: str
    stored: bool = False


DEFAULTS: dict[str, tuple[str, str]] = {
    "invoice": ("Invoice {number} from {company}",
                "Hello {customer},\n\nplease find attached invoice {number} for {total}, due on {due_date}.\n"
                "You can view it, download it and see how to pay here:\n{link}\n\nKind regards,\n{company}"),
    "credit_note": ("Credit note {number} from {company}",
                    "Hello {customer},\n\nplease find attached credit note {number} for {total}.\n"
                    "You can view and download it here:\n{link}\n\nKind regards,\n{company}"),
    "quote": ("Quote {number} from {company}",
              "Hello {customer},\n\nplease find attached quote {number} for {total}, valid until {due_date}.\n"
              "You can view it and accept or decline it here:\n{link}\n\nKind regards,\n{company}"),
    "statement": ("Statement of account from {company}",
                  "Hello {customer},\n\nplease find attached your statement of account for {period}; "
                  "the balance is {balance}.\n\nKind regards,\n{company}"),
    "test": ("Test e-mail from {company}",
             "This is a test e-mail from the billing portal of {company}. E-mail delivery works."),
}
KINDS = tuple(DEFAULTS)


def check_template(subject: str, body: str) -> None:
    """Refuse an empty or over-long subject or body, a line break in the subject, or an unknown placeholder."""
    check_message(subject, body)
    for text in (subject, body):
        for name in _BRACED.findall(text):
            if name not in PLACEHOLDERS:
                known = ", ".join("{" + known + "}" for known in PLACEHOLDERS)
                raise ValidationError(f"Unknown placeholder {{{name}}}; use {known}.")


def check_message(subject: str, body: str) -> None:
    """Refuse an empty or over-long subject or body, or a line break in the subject. (Braces in a message as
    typed, or in the names filled in, stay as they are.)"""
    if not subject.strip() or not body.strip():
        raise ValidationError("An e-mail needs a subject and a body.")
    if len(subject) > MAX_SUBJECT or "\n" in subject or "\r" in subject:
        raise ValidationError(f"The subject must be one line of at most {MAX_SUBJECT} characters.")
    if len(body) > MAX_BODY:
        raise ValidationError(f"The body can have at most {MAX_BODY} characters.")


def fill(text: str, values: Mapping[str, str]) -> str:
    """The text with each known placeholder replaced by its value; {link} is kept for the sender."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "link" or name not in values:
            return match.group(0)
        return values[name]
    return _PLACEHOLDER.sub(value, text)


def template_for(conn: Connection, kind: str, language: str = DEFAULT_LANGUAGE) -> MailTemplate:
    """The stored template of (kind, language), else the built-in one of that language (billing.i18n), else the
    stored template of (kind, 'en'), else the built-in English default."""
    for lang in dict.fromkeys((language, DEFAULT_LANGUAGE)):
        row = conn.execute(sa.select(mail_templates).where(mail_templates.c.kind == kind,
                                                           mail_templates.c.language == lang)).mappings().all()
        if row:
            return MailTemplate(kind, lang, str(row[0]["subject"]), str(row[0]["body"]), stored=True)
        if lang != DEFAULT_LANGUAGE and kind in TRANSLATED:
            return translated_default(kind, lang)
    subject, body = DEFAULTS.get(kind, DEFAULTS["test"])
    return MailTemplate(kind, DEFAULT_LANGUAGE, subject, body)


TRANSLATED = ("invoice", "credit_note", "quote", "statement")  # kinds whose wording billing.i18n has in every language
# The catalogue's placeholders, as this module's placeholders are named.
_CATALOGUE_NAMES = {"{name}": "{customer}", "{amount}": "{total}", "{date}": "{due_date}"}


def translated_default(kind: str, language: str) -> MailTemplate:
    """The built-in template of a kind in another language than English: the catalogue's greeting, sentence
    and closing, then the customer link (an invoice, credit note or quote) and the company."""
    def text(key: str) -> str:
        value = i18n.translate(language, key)
        for name, ours in _CATALOGUE_NAMES.items():
            value = value.replace(name, ours)
        return value

    sentence = text(f"email.{kind}.body")
    link = "\n{link}" if kind != "statement" else ""
    body = f"{text('email.greeting')}\n\n{sentence}{link}\n\n{text('email.closing')}\n{{company}}"
    return MailTemplate(kind, language, text(f"email.{kind}.subject"), body)


def save_template(conn: Connection, template: MailTemplate, username: str, now: datetime) -> None:
    check_template(template.subject, template.body)
    key = (mail_templates.c.kind == template.kind) & (mail_templates.c.language == template.language)
    values = {"subject": template.subject, "body": template.body, "updated_at": now, "updated_by": username}
    if conn.execute(sa.select(sa.func.count()).select_from(mail_templates).where(key)).scalar_one():
        conn.execute(mail_templates.update().where(key).values(**values))
    else:
        conn.execute(mail_templates.insert().values(kind=template.kind, language=template.language, **values))


def reset_template(conn: Connection, kind: str, language: str) -> None:
    """Back to the built-in default (or to 'en' for another language)."""
    conn.execute(mail_templates.delete().where(mail_templates.c.kind == kind, mail_templates.c.language == language))
