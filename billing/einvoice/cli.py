"""`python -m billing einvoice validate|export|export-all`: e-invoice files checked against the official rules, and
issued documents exported as e-invoices."""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from billing import invoices
from billing.einvoice.bulk import export_documents, period_documents
from billing.einvoice.export import FORMATS, export_document
from billing.einvoice.source import MAX_FILE_BYTES, DocumentError
from billing.einvoice.validation import EN16931, PROFILES, ValidationReport, validate_bytes
from billing.einvoice.wording import explain
from billing.errors import NotFoundError
from billing.permissions import SYSTEM

if TYPE_CHECKING:
    from billing.store.db import Database

    Commands = argparse._SubParsersAction[argparse.ArgumentParser]

PROGRESS_EVERY = 100  # documents between two progress lines of export-all


def add_parser(sub: Commands, database: Callable[[], Database] | None = None) -> Commands:
    """Add the `einvoice` command with its `validate` subcommand, and `export` and `export-all` when `database`
    (which opens the installation's database) is given; returns its subcommands (to add more to)."""
    einvoice = sub.add_parser("einvoice", help="e-invoices (UBL, CII, Peppol, XRechnung, Factur-X): validate, export")
    commands = einvoice.add_subparsers(dest="einvoice_command", required=True)
    validate = commands.add_parser("validate", help="check XML or Factur-X PDF files against the XML schema and "
                                   "the official rules; exit 0 only if all are valid")
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.add_argument("--profile", action="append", choices=list(PROFILES),
                          help="rule set (repeatable): en16931 (default), xrechnung, peppol")
    validate.set_defaults(func=cmd_validate)
    if database is not None:
        _add_export(commands, database)
    return commands


def _add_export(commands: Commands, database: Callable[[], Database]) -> None:
    one = commands.add_parser("export", help="export one issued invoice or credit note as an e-invoice, validated")
    one.add_argument("number", metavar="NUMBER", help="the document number, e.g. INV-2025-00001")
    one.add_argument("--format", required=True, choices=list(FORMATS), dest="fmt")
    one.add_argument("--output", required=True, metavar="PATH", help="the file to write (XML; a PDF for facturx)")
    one.set_defaults(func=lambda args: cmd_export(args, database()))
    many = commands.add_parser("export-all", help="export the issued documents of a period into one zip; those "
                               "that fail are listed, the others exported")
    many.add_argument("--from", required=True, dest="date_from", type=date.fromisoformat, metavar="DATE")
    many.add_argument("--to", required=True, dest="date_to", type=date.fromisoformat, metavar="DATE")
    many.add_argument("--format", required=True, choices=list(FORMATS), dest="fmt")
    many.add_argument("--output", required=True, metavar="ZIP")
    many.add_argument("--no-validate", action="store_true",
                      help="skip the rule check of each file (about 20x faster; the parties' data is still checked)")
    many.set_defaults(func=lambda args: cmd_export_all(args, database()))


def _document_id(db: Database, number: str) -> int:
    rows, _ = invoices.list_invoices(db, SYSTEM, date.today(), search=number, limit=50)
    found = [row.id for row in rows if row.number == number]
    if not found:
        raise NotFoundError(f"There is no invoice or credit note numbered {number!r}.")
    return found[0]


def cmd_export(args: argparse.Namespace, db: Database) -> int:
    name, _, xml = export_document(db, SYSTEM, _document_id(db, args.number), args.fmt)
    Path(args.output).write_bytes(xml)
    print(f"Wrote {args.output} ({FORMATS[args.fmt].label}, {len(xml):,} bytes, valid; suggested name {name})")
    return 0


def cmd_export_all(args: argparse.Namespace, db: Database) -> int:
    ids = period_documents(db, SYSTEM, args.date_from, args.date_to)
    failed: list[str] = []
    with zipfile.ZipFile(args.output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, item in enumerate(export_documents(db, SYSTEM, ids, args.fmt, validate=not args.no_validate),
                                    start=1):
            if item.xml is None:
                failed.append(f"  {item.number}: {item.problem}")
            else:
                archive.writestr(item.file_name, item.xml)
            if done % PROGRESS_EVERY == 0 or done == len(ids):
                print(f"\rExported {done - len(failed):,} of {len(ids):,} ({len(failed):,} failed)", end="",
                      file=sys.stderr, flush=True)
    print("", file=sys.stderr)
    print(f"Wrote {args.output}: {len(ids) - len(failed):,} of {len(ids):,} documents as {FORMATS[args.fmt].label}")
    if failed:
        print(f"{len(failed):,} not exported:", *failed, sep="\n")
    return 0 if not failed else 1


def cmd_validate(args: argparse.Namespace) -> int:
    profiles = args.profile or [EN16931]
    invalid = 0
    for name in args.paths:
        problems = _problems(Path(name), profiles)
        if problems is None:
            print(f"VALID {name}")
            continue
        invalid += 1
        print(f"INVALID {name}")
        for problem in problems:
            print(f"  {problem}")
    print(f"{len(args.paths) - invalid} valid, {invalid} invalid ({' + '.join(PROFILES[p] for p in profiles)})")
    return 0 if invalid == 0 else 1


def _problems(path: Path, profiles: list[str]) -> list[str] | None:
    """Each problem of the file in words (None: valid)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise DocumentError(f"The file is too large: an e-invoice may have at most {MAX_FILE_BYTES // 2**20} MB.")
        report = validate_bytes(path.read_bytes(), profiles)
    except OSError as exc:
        return [f"cannot be read: {exc.strerror or exc}"]
    except DocumentError as exc:
        return [exc.message]
    return None if report.valid else _words(report)


def _words(report: ValidationReport) -> list[str]:
    unchecked = [] if report.rules_checked else ["(the rules were not checked: fix the XML schema errors first)"]
    return [*(f"XML schema, {error}" for error in report.schema_errors),
            *(explain(failure).text for failure in report.failures), *unchecked]
