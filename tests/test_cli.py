"""The administration command line, run as a real subprocess on a temp database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OWNER_PASSWORD = "purple tugboat jingles at noon"


def run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BILLING_DATABASE_URL": f"duckdb:///{tmp_path}/cli.duckdb", "BILLING_BCRYPT_ROUNDS": "4",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "billing", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300, check=False)


def test_init_create_user_reads_the_password_from_stdin(tmp_path: Path) -> None:
    assert run(tmp_path, "init").returncode == 0
    result = run(tmp_path, "create-user", "owner", "--role", "admin", stdin="a long enough secret\n")
    assert result.returncode == 0, result.stderr
    assert "Created admin 'owner'" in result.stdout
    short = run(tmp_path, "create-user", "second", "--role", "analyst", stdin="short\n")
    assert short.returncode == 2
    assert "at least 12 characters" in short.stderr
    assert "Traceback" not in short.stderr


def test_create_user_takes_no_password_argument(tmp_path: Path) -> None:
    result = run(tmp_path, "create-user", "owner", "--password", "a long enough secret")
    assert result.returncode != 0
    assert "unrecognized arguments" in result.stderr


def test_demo_then_verify_backup_restore(tmp_path: Path) -> None:
    demo = run(tmp_path, "demo", "--scale", "S", "--as-of", "2026-11-25")
    assert demo.returncode == 0, demo.stderr
    assert "1,000 customers, 10,000 invoices" in demo.stdout
    verify = run(tmp_path, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "All checks passed." in verify.stdout
    again = run(tmp_path, "demo", "--scale", "S")
    assert again.returncode == 2 and "empty database" in again.stderr

    assert run(tmp_path, "create-user", "owner", stdin=f"{OWNER_PASSWORD}\n").returncode == 0  # restore needs one
    backup = tmp_path / "backup.zip"
    made = run(tmp_path, "backup", str(backup))
    assert made.returncode == 0 and made.stdout.startswith("Signed backup written to")
    with zipfile.ZipFile(backup) as archive:
        assert "manifest.json" in archive.namelist()
        assert "invoices.parquet" in archive.namelist()
    restored = run(tmp_path, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "invoices 10," in restored.stdout
    assert run(tmp_path, "verify").returncode == 0


def test_restore_refuses_a_damaged_backup_and_changes_nothing(tmp_path: Path) -> None:
    assert run(tmp_path, "demo", "--scale", "S", "--as-of", "2026-11-25").returncode == 0
    backup = tmp_path / "backup.zip"
    assert run(tmp_path, "backup", str(backup)).returncode == 0
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(backup) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            if item == "customers.parquet":
                data = data[:-200] + bytes(200)
            target.writestr(item, data)
    result = run(tmp_path, "restore", str(damaged))
    assert result.returncode == 2
    assert "damaged" in result.stderr
    assert run(tmp_path, "restore", "/etc/passwd").returncode == 2
    assert run(tmp_path, "verify").returncode == 0


def test_restore_refuses_an_unsigned_or_incomplete_backup_in_one_line(tmp_path: Path) -> None:
    assert run(tmp_path, "create-user", "owner", stdin=f"{OWNER_PASSWORD}\n").returncode == 0
    assert run(tmp_path, "backup", "backup.zip").returncode == 0
    with zipfile.ZipFile(tmp_path / "backup.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
        files = {name: archive.read(name) for name in archive.namelist() if name != "manifest.json"}
    del manifest["signature"]
    unsigned = {**files, "manifest.json": json.dumps(manifest).encode()}
    for name in ("users", "invoices", "payments"):
        del manifest["tables"][name], files[f"{name}.parquet"]
    stripped = {**files, "manifest.json": json.dumps(manifest).encode()}
    for name, content in (("unsigned.zip", unsigned), ("stripped.zip", stripped)):
        with zipfile.ZipFile(tmp_path / name, "w") as out:
            for item, data in content.items():
                out.writestr(item, data)
    for args, message in ((["unsigned.zip"], "not signed by this installation"),
                          (["stripped.zip"], "not signed by this installation"),
                          (["--trust-unsigned", "stripped.zip"], "lacks the tables invoices, payments, users")):
        result = run(tmp_path, "restore", *args)
        assert result.returncode == 2, result.stdout
        assert len(result.stderr.splitlines()) == 1 and message in result.stderr, result.stderr
    assert "--trust-unsigned" in run(tmp_path, "restore", "unsigned.zip").stderr
    trusted = run(tmp_path, "restore", "--trust-unsigned", "unsigned.zip")
    assert trusted.returncode == 0, trusted.stderr
    assert run(tmp_path, "verify").returncode == 0


def test_verify_reports_a_damaged_head_file_without_a_traceback(tmp_path: Path) -> None:
    assert run(tmp_path, "create-user", "owner", stdin=f"{OWNER_PASSWORD}\n").returncode == 0
    (tmp_path / ".cli.duckdb.audit_head").write_text("not what was written")
    result = run(tmp_path, "verify")
    assert result.returncode == 1
    assert "PROBLEM: Audit trail: The file recording the audit chain's head" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["customers", "products"])
def test_import_is_all_or_nothing_with_row_and_column(tmp_path: Path, kind: str) -> None:
    assert run(tmp_path, "init").returncode == 0
    if kind == "customers":
        good = "name,email,currency,terms_days\nAcme,a@acme.test,EUR,30\nBeta,b@beta.test,USD,14\n"
        bad = "name,email,currency,terms_days\nAcme,a@acme.test,EUR,30\nBeta,not-an-email,XXQ,abc\n"
    else:
        run(tmp_path, "demo", "--scale", "S", "--as-of", "2026-11-25")
        good = "name,sku,unit,unit_price,tax_rate_id\nWidget,W-1,pcs,9.99,1\n"
        bad = "name,sku,unit,unit_price,tax_rate_id\nWidget,W-1,pcs,9.99,1\nGadget,G-1,pcs,NaN,1\n"
    (tmp_path / "bad.csv").write_text(bad)
    result = run(tmp_path, "import", kind, "bad.csv")
    assert result.returncode == 2
    assert "Row 3" in result.stderr and "Nothing was imported" in result.stderr
    (tmp_path / "good.csv").write_text(good)
    result = run(tmp_path, "import", kind, "good.csv")
    assert result.returncode == 0, result.stderr
    assert f"Imported {good.count(chr(10)) - 1} {kind}" in result.stdout


def test_verify_fails_on_a_tampered_total(tmp_path: Path) -> None:
    assert run(tmp_path, "demo", "--scale", "S", "--as-of", "2026-11-25").returncode == 0
    import duckdb

    with duckdb.connect(str(tmp_path / "cli.duckdb")) as con:
        con.execute("UPDATE invoices SET payable = payable + 0.01 WHERE id = 7")
        con.execute("UPDATE invoice_lines SET net_amount = net_amount + 1 WHERE invoice_id = 9 AND position = 1")
    result = run(tmp_path, "verify")
    assert result.returncode == 1
    assert "stored payable" in result.stdout
    assert "stored net" in result.stdout


# --- the server holds the file; the file is not this installation's ------------------------------------------------

HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(120)"


@pytest.mark.parametrize("command", [["verify"], ["backup", "backup.zip"], ["init"], ["demo", "--scale", "S"],
                                     ["adopt-database"]])
def test_a_command_while_another_process_holds_the_file_says_so_in_one_line(tmp_path: Path,
                                                                           command: list[str]) -> None:
    assert run(tmp_path, "init").returncode == 0
    server = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "cli.duckdb")], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        result = run(tmp_path, *command)
    finally:
        server.kill()
        server.wait()
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: The database file is held by another process (PID {server.pid}), normally the running server: stop "
        "the server first, or use Settings > Backup and verify in the portal while it runs."]
    assert not (tmp_path / "backup.zip").exists()


def test_commands_refuse_a_database_file_of_another_installation_until_adopted(tmp_path: Path) -> None:
    assert run(tmp_path, "init").returncode == 0
    other = tmp_path / "other"
    other.mkdir()
    assert run(other, "init").returncode == 0
    (other / "cli.duckdb").replace(tmp_path / "cli.duckdb")
    for command in (["verify"], ["init"], ["backup", "b.zip"]):
        result = run(tmp_path, *command)
        assert result.returncode == 2, command
        assert result.stderr.startswith("Error: The database file belongs to another installation"), result.stderr
        assert "python -m billing adopt-database" in result.stderr
        assert "All checks passed" not in result.stdout
    adopted = run(tmp_path, "adopt-database")
    assert adopted.returncode == 0, adopted.stderr
    assert "now uses the database" in adopted.stdout
    assert run(tmp_path, "verify").returncode == 0


def test_a_deleted_database_is_refused_until_adopted_then_a_backup_restores(tmp_path: Path) -> None:
    assert run(tmp_path, "demo", "--scale", "S", "--as-of", "2026-11-25").returncode == 0
    assert run(tmp_path, "create-user", "owner", "--role", "admin", stdin="a long enough secret\n").returncode == 0
    assert run(tmp_path, "backup", "backup.zip").returncode == 0
    (tmp_path / "cli.duckdb").unlink()
    (tmp_path / "cli.duckdb.wal").unlink(missing_ok=True)
    verify = run(tmp_path, "verify")
    assert verify.returncode == 2
    assert verify.stderr.startswith("Error: The database file is missing, but this installation has had one")
    assert not (tmp_path / "cli.duckdb").exists()
    assert run(tmp_path, "adopt-database").returncode == 0
    restored = run(tmp_path, "restore", "backup.zip")
    assert restored.returncode == 0, restored.stderr
    assert "invoices 10," in restored.stdout
    assert run(tmp_path, "verify").returncode == 0
