"""`python -m billing einvoice validate PATH... [--profile P]`: e-invoice files checked against the official rules."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from billing.einvoice.source import MAX_FILE_BYTES, DocumentError
from billing.einvoice.validation import EN16931, PROFILES, ValidationReport, validate_bytes
from billing.einvoice.wording import explain

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_parser(sub: Commands) -> Commands:
    """Add the `einvoice` command with its `validate` subcommand; returns its subcommands (to add more to)."""
    einvoice = sub.add_parser("einvoice", help="e-invoices (UBL, CII, Factur-X): validate")
    commands = einvoice.add_subparsers(dest="einvoice_command", required=True)
    validate = commands.add_parser("validate", help="check XML or Factur-X PDF files against the XML schema and "
                                   "the official rules; exit 0 only if all are valid")
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.add_argument("--profile", action="append", choices=list(PROFILES),
                          help="rule set (repeatable): en16931 (default), xrechnung, peppol")
    validate.set_defaults(func=cmd_validate)
    return commands


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
