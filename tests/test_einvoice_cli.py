"""`python -m billing einvoice validate` (billing.einvoice.cli), run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from einvoice_files import BAD_BR_CO_16, BILLION_LAUGHS, VALID_CII, VALID_UBL, facturx_pdf

ROOT = Path(__file__).resolve().parents[1]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BILLING_DATABASE_URL": f"duckdb:///{tmp_path}/cli.duckdb", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "billing", "einvoice", "validate", *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300, check=False)


def test_valid_files_exit_0(tmp_path: Path) -> None:
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(facturx_pdf(VALID_CII.read_bytes()))
    result = run(tmp_path, str(VALID_UBL), str(VALID_CII), str(pdf), "--profile", "xrechnung")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"VALID {VALID_UBL}", f"VALID {VALID_CII}", f"VALID {pdf}",
                                          "3 valid, 0 invalid (XRechnung 3.0)"]
    assert not (tmp_path / "cli.duckdb").exists()  # checking a file opens no database


def test_each_failed_rule_is_printed_and_the_exit_code_is_1(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(BILLION_LAUGHS)
    result = run(tmp_path, str(VALID_UBL), str(BAD_BR_CO_16), str(bomb), str(tmp_path / "missing.xml"))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"VALID {VALID_UBL}",
        f"INVALID {BAD_BR_CO_16}",
        "  Amount due (BT-115) must equal total with VAT - paid amount + rounding: BR-CO-16",
        f"INVALID {bomb}",
        "  The XML declares a DOCTYPE (entities or a DTD): e-invoices never do, and such files are refused for safety.",
        f"INVALID {tmp_path / 'missing.xml'}",
        "  cannot be read: No such file or directory",
        "1 valid, 3 invalid (EN 16931)"]
    assert "Traceback" not in result.stderr


def test_an_unknown_profile_is_a_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path, str(VALID_UBL), "--profile", "zugferd")
    assert result.returncode == 2 and "invalid choice: 'zugferd'" in result.stderr
