"""Company profile and numbering series."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from PIL import Image

from billing import audit
from billing.errors import NotFoundError, ValidationError
from billing.logic import check_pattern
from billing.models import CompanyIn, parse
from billing.permissions import Actor, require
from billing.store import records
from billing.store import series as series_store
from billing.store.db import Database, utcnow
from billing.store.schema import company, series

MAX_LOGO_BYTES = 1_000_000


def get_company(db: Database) -> dict[str, Any] | None:
    """The company profile, or None before first-run setup. Readable by every signed-in role. Kept until the
    profile changes: every page reads it several times."""

    def read() -> dict[str, Any] | None:
        with db.connect() as conn:
            return records.get(conn, company, 1)

    return db.results.get("company", ("company",), read)


def company_today(db: Database) -> date:
    """Today in the company's time zone (UTC when none is set or it is unknown), as the books date things."""
    with db.connect() as conn:  # the zone alone: the profile's row carries the logo too
        name = conn.execute(sa.select(company.c.timezone).where(company.c.id == 1)).scalar() or "UTC"
    try:
        zone = ZoneInfo(name)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).date()


def save_company(db: Database, actor: Actor, data: CompanyIn | dict[str, Any], logo: bytes | None = None,
                 remove_logo: bool = False) -> None:
    require(db, actor, "settings.write")
    profile = parse(CompanyIn, data)
    if logo is not None:
        _check_logo(logo)

    def work(conn: sa.Connection) -> None:
        before = records.get(conn, company, 1)
        values: dict[str, Any] = {**profile.model_dump(), "updated_at": utcnow()}
        if logo is not None:
            values["logo"] = logo
        elif remove_logo:
            values["logo"] = None
        if before is None:
            conn.execute(company.insert().values(id=1, **values))
        else:
            records.update(conn, company, 1, values)
        audit.record(conn, actor, "company.save", "company", 1,
                     before={k: v for k, v in (before or {}).items() if k != "logo"} or None,
                     after={k: v for k, v in values.items() if k != "logo"})

    db.transaction(work)


def _check_logo(logo: bytes) -> None:
    """A PNG or JPEG that really decodes (a valid header followed by junk would break the PDF)."""
    if len(logo) > MAX_LOGO_BYTES:
        raise ValidationError("The logo is larger than 1 MB.")
    if not (logo.startswith(b"\x89PNG\r\n\x1a\n") or logo.startswith(b"\xff\xd8\xff")):
        raise ValidationError("The logo must be a PNG or JPEG image.")
    try:
        with Image.open(io.BytesIO(logo)) as image:
            image.load()
            width, height = image.size
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValidationError("The logo file is damaged or not a real image.") from exc
    if width > 4000 or height > 4000:
        raise ValidationError("The logo can be at most 4000 x 4000 pixels.")


def list_series(db: Database, actor: Actor) -> list[dict[str, Any]]:
    require(db, actor, "settings.read")
    with db.connect() as conn:
        return records.all_rows(conn, series, order_by="code")


def set_series(db: Database, actor: Actor, code: str, pattern: str, next_seq: int | None = None) -> None:
    """Change a series' pattern and, when migrating from another system, its next number.

    The next number may never be at or below a number already used in the series.
    """
    require(db, actor, "settings.write")
    check_pattern(pattern)

    def work(conn: sa.Connection) -> None:
        before = records.get(conn, series, code, column="code")
        if before is None:
            raise NotFoundError(f"Numbering series {code} does not exist.")
        others = [row for row in records.all_rows(conn, series, order_by="code") if row["code"] != code]
        if any(row["pattern"] == pattern for row in others):
            raise ValidationError("Another numbering series already uses this pattern; numbers would collide.")
        values: dict[str, Any] = {"pattern": pattern}
        if next_seq is not None:
            used = series_store.highest_used(conn, code)
            if next_seq <= used:
                raise ValidationError(
                    f"The next number must be above {used}, the highest number already used in series {code}."
                )
            if next_seq > 10**12:
                raise ValidationError("The next number is too large.")
            values["next_seq"] = next_seq
        records.update(conn, series, code, values, column="code")
        audit.record(conn, actor, "series.update", "series", code, before=before, after={**before, **values})

    db.transaction(work)
