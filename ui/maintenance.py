"""Backup and verify from the portal: the server holds the database file, so the commands cannot run beside it.

The backup is made when its download is clicked, from one consistent snapshot, into a private
temporary folder, and handed to the browser: nothing is written to a path anyone typed in. Both
controls go through the domain calls, which re-check the user's live session and role.
"""

from __future__ import annotations

import errno
import logging
import secrets
import tempfile
from pathlib import Path

import streamlit as st

from billing.backup import backup_database
from billing.errors import BillingError, DiskFullError
from billing.installation import check_database
from billing.permissions import Actor
from billing.store.db import Database
from billing.verify import VerifyReport, verify_database
from ui import context
from ui import format as fmt
from ui.feedback import run_action

log = logging.getLogger("billing.ui")


def backup_zip(db: Database, actor: Actor) -> bytes:
    """A whole backup as the bytes of its zip (settings.write, checked now)."""
    with tempfile.TemporaryDirectory(prefix="billing-backup-") as folder:
        path = Path(folder) / "backup.zip"
        try:
            backup_database(db, actor, path)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskFullError("The disk is full: no backup was made. Free some space on the server, "
                                    "then try again.") from exc
            raise
        return path.read_bytes()


def verified(db: Database, actor: Actor) -> VerifyReport:
    """`verify` (audit.read, checked now), and the file under the server is still this installation's."""
    report = verify_database(db, actor)
    check_database(db)
    return report


def _download(db: Database, actor: Actor) -> bytes:
    """The download's payload, made on click, outside any script run (so no st.* here)."""
    try:
        return backup_zip(db, actor)
    except BillingError as exc:  # signed out, demoted, the disk full...: no file, say why
        raise RuntimeError(exc.message) from None
    except Exception as exc:
        reference = secrets.token_hex(4).upper()
        log.error("Backup failed, reference %s", reference, exc_info=exc)
        raise RuntimeError(f"The backup failed. Please try again; reference {reference}.") from None


def backup_panel(db: Database, actor: Actor) -> None:
    st.markdown("**Backup**")
    st.caption("Every table from one consistent moment, as a zip of Parquet files with row counts and checksums. "
               "Made when you click, while everyone keeps working. Restore it with `python -m billing restore "
               "FILE` while the server is stopped.")
    st.download_button("Download a backup", data=lambda: _download(db, actor),
                       file_name=f"billing-backup-{context.today().isoformat()}.zip", mime="application/zip",
                       icon=":material/download:", on_click="rerun", key="backup_download")  # a stale tab then leaves


def verify_panel(db: Database, actor: Actor) -> None:
    st.markdown("**Verify**")
    st.caption("The audit chain, every issued document's totals against its lines, and every balance.")
    if not st.button("Verify the database", icon=":material/verified:", key="verify_database"):
        return
    with st.spinner("Checking every document and event..."):
        report = run_action(lambda: verified(db, actor))
    if report is None:
        return
    summary = f"{report.documents_checked:,} documents and {report.audit_events:,} audit events checked"
    if report.ok:
        st.success(f"All checks passed: {summary}.", icon=":material/check_circle:")
        return
    st.error(f"{len(report.problems)} problem(s) found ({summary}):", icon=":material/gpp_bad:")
    st.markdown("\n".join(f"- {fmt.plain(problem)}" for problem in report.problems))
