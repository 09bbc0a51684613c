"""A realistic synthetic dataset, generated vectorised with NumPy and bulk-loaded through Arrow.

Amounts are generated as integers in each currency's minor unit and the invoice math is done
with integer half-up rounding that is exactly `billing.logic`'s rule, so `python -m billing
verify` (which recomputes every document with `compute_totals`) holds for every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from billing import audit
from billing.demo_names import NAME_WORDS, TRADE_WORDS, customer_name_and_address, customer_party
from billing.errors import StateError
from billing.permissions import Actor, require
from billing.store import bulk, facts, schema
from billing.store.db import Database

SCALES = {"S": 0.01, "M": 0.1, "L": 1.0}  # float ok: a size factor, not money
FULL = {"customers": 100_000, "invoices": 1_000_000}
YEARS = 3

# (name, category, percent, exemption reason)
TAX_RATES = [
    ("VAT 19%", "S", 19, ""),
    ("VAT 7% (reduced)", "S", 7, ""),
    ("Reverse charge", "AE", 0, "Reverse charge: VAT due by the recipient (Art. 196 VAT Directive)"),
    ("Export", "G", 0, "Export outside the EU (Art. 146 VAT Directive)"),
]
# country, weight, currency, tax regime: 0 domestic, 1 EU reverse charge, 2 export
COUNTRIES = [("DE", 55, "EUR", 0), ("AT", 8, "EUR", 1), ("FR", 8, "EUR", 1), ("NL", 6, "EUR", 1),
             ("US", 12, "USD", 2), ("GB", 8, "GBP", 2), ("JP", 3, "JPY", 2)]
# the language of a customer's documents: its country's, English where the books have no catalogue for it
LANGUAGE_OF_COUNTRY = {"DE": "de", "AT": "de", "FR": "fr", "NL": "nl"}
CURRENCIES = ["EUR", "USD", "GBP", "JPY"]
MINOR = np.array([2, 2, 2, 0])
# price of one EUR cent in each currency's minor unit, in hundredths (USD 1.10, GBP 0.85, JPY 1.60 yen)
FX_HUNDREDTHS = np.array([100, 110, 85, 160])
FX_DIVISOR = np.array([100, 100, 100, 10_000])
HABITS = ["prompt", "normal", "late", "partial", "bad"]
HABIT_WEIGHTS = [0.50, 0.25, 0.14, 0.08, 0.03]
METHODS = ["bank_transfer", "card", "direct_debit", "cheque", "cash"]
_PRODUCTS = [("Consulting hour", "h", 12000, 0), ("Workshop day", "day", 95000, 0), ("Support plan", "month", 4900, 0),
             ("Software licence", "pcs", 29900, 0), ("Hosting", "month", 1999, 0), ("Training manual", "pcs", 3990, 1),
             ("Installation", "job", 25000, 0), ("Maintenance", "h", 8500, 0), ("Design review", "h", 11000, 0),
             ("Printed brochure", "pcs", 250, 1), ("Travel expenses", "trip", 18000, 0),
             ("Audit report", "pcs", 150000, 0)]


@dataclass(frozen=True)
class DemoSummary:
    customers: int
    invoices: int
    credit_notes: int
    lines: int
    payments: int
    seconds: float


def _half_up_div(numerator: np.ndarray, divisor: int | np.ndarray) -> np.ndarray:
    """round_half_up(numerator / divisor) in integers, for non-negative numerators."""
    return (2 * numerator + divisor) // (2 * divisor)


def generate(scale: str, as_of: date, seed: int = 7) -> dict[str, Any]:
    """Every table of the demo as NumPy columns (ids from 1)."""
    rng = np.random.default_rng(seed)
    factor = SCALES[scale]
    n_cust = max(10, int(FULL["customers"] * factor))
    n_inv = max(100, int(FULL["invoices"] * factor))

    # Customers: country -> currency and tax regime; a paying habit each.
    weights = np.array([c[1] for c in COUNTRIES], dtype=float)
    country = rng.choice(len(COUNTRIES), n_cust, p=weights / weights.sum())
    cur_of_country = np.array([CURRENCIES.index(c[2]) for c in COUNTRIES])
    regime_of_country = np.array([c[3] for c in COUNTRIES])
    c_currency = cur_of_country[country]
    c_regime = regime_of_country[country]
    habit = rng.choice(len(HABITS), n_cust, p=HABIT_WEIGHTS)
    terms = rng.choice([14, 30, 30, 30, 45, 60], n_cust)
    created = np.datetime64(as_of - timedelta(days=365 * YEARS + 30))
    customers = {
        "id": np.arange(1, n_cust + 1),
        "country": country, "currency": c_currency, "habit": habit, "terms": terms, "created": created,
        "name_a": rng.integers(0, len(NAME_WORDS), n_cust), "name_b": rng.integers(0, len(TRADE_WORDS), n_cust),
    }

    # Invoices: weekdays over three years with a yearly season (busy autumn, quiet August) and growth.
    start = as_of - timedelta(days=365 * YEARS)
    days = np.arange(np.datetime64(start), np.datetime64(as_of) + 1)
    doy = (days - days.astype("datetime64[Y]")).astype(int)
    weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    day_w = (1 + 0.35 * np.sin(2 * np.pi * (doy - 200) / 365) - 0.4 * ((doy > 212) & (doy < 243))) \
        * (weekday < 5) * np.linspace(0.8, 1.2, len(days))
    issue = np.sort(rng.choice(days, n_inv, p=day_w / day_w.sum()))
    # A few customers buy a lot (Zipf-like popularity).
    popularity = 1.0 / np.arange(1, n_cust + 1) ** 0.6
    inv_cust = rng.permutation(n_cust)[rng.choice(n_cust, n_inv, p=popularity / popularity.sum())]
    inv_cur = c_currency[inv_cust]
    age = (np.datetime64(as_of) - issue).astype(int)
    status = np.where((age < 20) & (rng.random(n_inv) < 0.05), 0, 1)  # 0 draft, 1 issued, 2 void
    status = np.where((status == 1) & (rng.random(n_inv) < 0.005), 2, status)
    due = issue + terms[inv_cust].astype("timedelta64[D]")

    # Lines: 1-9 per invoice, products with default rates; tax follows the customer's regime.
    n_lines = rng.integers(1, 10, n_inv)
    line_inv = np.repeat(np.arange(n_inv), n_lines)
    first = np.cumsum(n_lines) - n_lines
    position = np.arange(len(line_inv)) - first[line_inv] + 1
    product = rng.integers(0, len(_PRODUCTS), len(line_inv))
    base_price_cents = np.array([p[2] for p in _PRODUCTS])[product]
    lcur = inv_cur[line_inv]
    price_minor = _half_up_div(base_price_cents * FX_HUNDREDTHS[lcur], FX_DIVISOR[lcur])
    hours = np.array([p[1] == "h" for p in _PRODUCTS])[product]
    cheap = base_price_cents < 1000
    qty_hundredths = np.where(hours, rng.integers(2, 33, len(line_inv)) * 25,
                              np.where(cheap, rng.integers(1, 21, len(line_inv)) * 2500,
                                       rng.integers(1, 6, len(line_inv)) * 100))
    discount = np.where(rng.random(len(line_inv)) < 0.15, rng.choice([5, 10, 15], len(line_inv)), 0)
    # logic.line_net: gross = qty x price; allowance = round(gross x pct / 100); net = round(gross - allowance)
    gross_h = qty_hundredths * price_minor  # in hundredths of a minor unit
    allowance = _half_up_div(gross_h * discount, 10_000)
    net = _half_up_div(gross_h - allowance * 100, 100)
    regime = c_regime[inv_cust][line_inv]
    default_rate = np.array([p[3] for p in _PRODUCTS])[product]  # 0 -> 19%, 1 -> 7%
    rate_idx = np.where(regime == 0, default_rate, np.where(regime == 1, 2, 3))
    rate_pct = np.array([r[2] for r in TAX_RATES])[rate_idx]

    # VAT breakdown per (invoice, rate), rounded once per entry.
    key = line_inv * 4 + rate_idx
    uniq, inverse = np.unique(key, return_inverse=True)
    taxable = np.bincount(inverse, weights=net).astype(np.int64)  # float ok: exact below 2^53 minor units
    tax_inv, tax_rate = uniq // 4, uniq % 4
    tax = _half_up_div(taxable * np.array([r[2] for r in TAX_RATES])[tax_rate], 100)
    line_total = np.bincount(line_inv, weights=net, minlength=n_inv).astype(np.int64)
    tax_total = np.bincount(tax_inv, weights=tax, minlength=n_inv).astype(np.int64)
    payable = line_total + tax_total

    # Credit notes: 1.5% of issued invoices credited in full a few days to weeks later.
    issued_idx = np.flatnonzero(status == 1)
    credited = issued_idx[rng.random(len(issued_idx)) < 0.015]
    cn_date = np.minimum(issue[credited] + rng.integers(3, 40, len(credited)).astype("timedelta64[D]"),
                         np.datetime64(as_of))

    # Payments by habit: when (days after issue) and how much.
    open_idx = np.setdiff1d(issued_idx, credited)
    h = habit[inv_cust[open_idx]]
    t = terms[inv_cust[open_idx]]
    delay = np.select(
        [h == 0, h == 1, h == 2, h == 3, h == 4],
        [rng.integers(1, 1 + t // 2 + 1), t + rng.integers(-5, 8, len(h)), t + rng.integers(15, 90, len(h)),
         t + rng.integers(0, 20, len(h)), t + rng.integers(30, 150, len(h))])
    delay = np.maximum(delay, 0)
    pay_date = issue[open_idx] + delay.astype("timedelta64[D]")
    pays = (pay_date <= np.datetime64(as_of)) & ~((h == 4) & (rng.random(len(h)) < 0.4))
    fraction = np.where(h == 3, rng.integers(30, 81, len(h)), 100)
    first_amount = np.where(fraction == 100, payable[open_idx], _half_up_div(payable[open_idx] * fraction, 100))
    p1_inv = open_idx[pays]
    p1_amount = first_amount[pays]
    p1_date = pay_date[pays]
    # Partial payers settle the rest a month or two later, half of the time.
    rest = payable[p1_inv] - p1_amount
    second_date = p1_date + rng.integers(25, 70, len(p1_inv)).astype("timedelta64[D]")
    second = (rest > 0) & (rng.random(len(p1_inv)) < 0.5) & (second_date <= np.datetime64(as_of))
    pay_inv = np.concatenate([p1_inv, p1_inv[second]])
    pay_amount = np.concatenate([p1_amount, rest[second]])
    pay_date_all = np.concatenate([p1_date, second_date[second]])
    # Good payers settle the week's invoices with one transfer: one payment, several allocations.
    cust_of = inv_cust[pay_inv]
    batchable = np.concatenate([(fraction[pays] == 100) & (h[pays] <= 1), np.zeros(int(second.sum()), bool)])
    week = pay_date_all.astype("datetime64[W]").astype(np.int64) // 2  # fortnightly transfers
    group_key = np.where(batchable, cust_of.astype(np.int64) * 100_000 + week, -1 - np.arange(len(pay_inv)))
    _, payment_of = np.unique(group_key, return_inverse=True)
    n_payments = int(payment_of.max()) + 1 if len(payment_of) else 0
    payment_date = np.full(n_payments, np.datetime64("1970-01-01"), dtype="datetime64[D]")
    np.maximum.at(payment_date, payment_of, pay_date_all.astype("datetime64[D]"))
    # Payment ids follow the date they were received.
    by_date = np.argsort(payment_date, kind="stable")
    rank = np.empty(n_payments, dtype=np.int64)
    rank[by_date] = np.arange(n_payments)
    payment_of = rank[payment_of]
    payment_date = payment_date[by_date]
    payment_amount = np.bincount(payment_of, weights=pay_amount, minlength=n_payments).astype(np.int64)
    payment_cust = np.zeros(n_payments, dtype=np.int64)
    payment_cust[payment_of] = cust_of
    order = np.argsort(payment_of, kind="stable")
    pay_inv, pay_amount, payment_of = pay_inv[order], pay_amount[order], payment_of[order]
    paid = np.bincount(pay_inv, weights=pay_amount, minlength=n_inv).astype(np.int64)

    return {
        "rng": rng, "customers": customers, "n_inv": n_inv, "issue": issue, "due": due, "status": status,
        "inv_cust": inv_cust, "inv_cur": inv_cur, "line_total": line_total, "tax_total": tax_total,
        "payable": payable, "paid": paid, "line_inv": line_inv, "position": position, "product": product,
        "price_minor": price_minor, "qty_hundredths": qty_hundredths, "discount": discount, "net": net,
        "rate_idx": rate_idx, "rate_pct": rate_pct, "tax_inv": tax_inv, "tax_rate": tax_rate, "taxable": taxable,
        "tax": tax, "credited": credited, "cn_date": cn_date, "alloc_inv": pay_inv, "alloc_amount": pay_amount,
        "alloc_payment": payment_of, "payment_date": payment_date, "payment_amount": payment_amount,
        "payment_cust": payment_cust,
    }


def _scale_col(minor: np.ndarray) -> pa.Array:
    factors = [Decimal(1).scaleb(-int(m)) for m in range(4)]
    lookup = pa.array(factors, pa.decimal128(9, 6))
    return lookup.take(pa.array(minor))


def _numbers(prefix: str, years: np.ndarray, seq: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """PREFIX-YYYY-00001 numbers built column-wise (a million f-strings take seconds)."""
    text = pc.binary_join_element_wise(
        prefix, pa.array(years).cast(pa.string()), pc.utf8_lpad(pa.array(seq).cast(pa.string()), 5, "0"), "-")
    return text if mask is None else pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), text)


def load_demo(db: Database, actor: Actor, scale: str, as_of: date, seed: int = 7) -> DemoSummary:
    """Generate and load the demo dataset into an empty database, in one transaction."""
    import time

    require(db, actor, "settings.write")
    if scale not in SCALES:
        raise StateError("Scale must be S, M or L.")
    started = time.perf_counter()
    g = generate(scale, as_of, seed)
    tables = _arrow_tables(g, as_of)

    def work(conn: Any) -> DemoSummary:
        if not bulk.is_empty_of_documents(conn):
            raise StateError("The demo data can only be loaded into an empty database.")
        bulk.allow_big_sorts(conn)
        with bulk.indexes_deferred(conn, tables):
            for name, (data, scaled) in tables.items():
                bulk.load_arrow(conn, schema.metadata.tables[name], data, scaled)
        bulk.refresh_statistics(conn, tables)
        with bulk.indexes_deferred(conn, ("sales_facts", "collection_facts")):
            facts.rebuild_sales_facts(conn)
            facts.rebuild_collection_facts(conn)
        for name, seq in (("customers", "customers_id_seq"), ("invoices", "invoices_id_seq"),
                          ("payments", "payments_id_seq"), ("allocations", "allocations_id_seq"),
                          ("products", "products_id_seq"), ("tax_rates", "tax_rates_id_seq")):
            bulk.advance_sequence(conn, seq, tables[name][0].num_rows)
        n_numbered = int(np.count_nonzero(g["status"] != 0))
        conn.execute(schema.series.update().where(schema.series.c.code == "INV").values(next_seq=n_numbered + 1))
        conn.execute(schema.series.update().where(schema.series.c.code == "CN")
                     .values(next_seq=len(g["credited"]) + 1))
        summary = DemoSummary(
            customers=tables["customers"][0].num_rows, invoices=g["n_inv"], credit_notes=len(g["credited"]),
            lines=tables["invoice_lines"][0].num_rows, payments=tables["payments"][0].num_rows,
            seconds=round(time.perf_counter() - started, 1))
        audit.record(conn, actor, "demo.load", "database", "demo",
                     after={"scale": scale, "as_of": as_of, **{k: v for k, v in summary.__dict__.items()
                                                                 if k != "seconds"}})
        return summary

    summary = db.transaction(work)
    return DemoSummary(**{**summary.__dict__, "seconds": round(time.perf_counter() - started, 1)})


def _activity_dates(g: dict[str, Any], n_inv: int) -> dict[str, pa.Array]:
    """Each invoice's first and last allocation or credit note date (`facts.rebuild_activity_dates`, computed
    here: a rebuild rewrites every invoice row, which on PostgreSQL doubles the table)."""
    owner = np.concatenate([g["alloc_inv"], g["credited"]])
    on = np.concatenate([g["payment_date"][g["alloc_payment"]], g["cn_date"]]).astype("datetime64[D]").view(np.int64)
    first = np.full(n_inv, np.iinfo(np.int64).max)
    last = np.full(n_inv, np.iinfo(np.int64).min)
    np.minimum.at(first, owner, on)
    np.maximum.at(last, owner, on)
    none = np.ones(n_inv, dtype=bool)
    none[owner] = False
    return {name: pa.array(np.where(none, 0, days).astype("datetime64[D]"), mask=none)
            for name, days in (("first_activity_on", first), ("last_activity_on", last))}


def _arrow_tables(g: dict[str, Any], as_of: date) -> dict[str, tuple[pa.Table, dict[str, str] | None]]:
    rng = g["rng"]
    c = g["customers"]
    n_cust = len(c["id"])
    countries = np.array([x[0] for x in COUNTRIES])[c["country"]]
    picks = list(enumerate(zip(c["name_a"], c["name_b"], countries, strict=True), start=1))
    names, addresses = zip(*(customer_name_and_address(i, int(a), int(b), str(ct)) for i, (a, b, ct) in picks),
                           strict=True)
    parties = [customer_party(i, int(a), int(b), str(ct)) for i, (a, b, ct) in picks]
    customers = pa.table({
        "id": c["id"], "name": list(names),
        "email": [f"billing{i}@example.com" for i in range(1, n_cust + 1)],
        "address": list(addresses), "country": countries,
        **{part: [party[part] for party in parties] for part in ("street", "postcode", "city", "subdivision",
                                                                 "tax_id")},
        "currency": np.array(CURRENCIES)[c["currency"]], "terms_days": c["terms"].astype(np.int32),
        "notes": np.array(["", "Pays promptly", "", "Often late", "Pays in parts", "Collections risk"])[
            np.where(c["habit"] == 0, 0, c["habit"] + 1)],
        "language": [LANGUAGE_OF_COUNTRY.get(str(country), "en") for country in countries],
        "archived": np.zeros(n_cust, dtype=bool), "created_at": np.full(n_cust, c["created"]).astype("datetime64[us]"),
    })
    tax_rates = pa.table({
        "id": np.arange(1, len(TAX_RATES) + 1), "name": [r[0] for r in TAX_RATES],
        "category": [r[1] for r in TAX_RATES], "percent": pa.array([Decimal(r[2]) for r in TAX_RATES],
                                                                   pa.decimal128(7, 4)),
        "exemption_reason": [r[3] for r in TAX_RATES], "active": [True] * len(TAX_RATES),
    })
    products = pa.table({
        "id": np.arange(1, len(_PRODUCTS) + 1), "name": [p[0] for p in _PRODUCTS],
        "sku": [f"SKU-{i:04d}" for i in range(1, len(_PRODUCTS) + 1)], "unit": [p[1] for p in _PRODUCTS],
        "unit_price": pa.array([Decimal(p[2]).scaleb(-2) for p in _PRODUCTS], pa.decimal128(18, 6)),
        "currency": ["EUR"] * len(_PRODUCTS), "tax_rate_id": [p[3] + 1 for p in _PRODUCTS],
        "archived": [False] * len(_PRODUCTS),
    })

    n_inv, status = g["n_inv"], g["status"]
    minor = MINOR[g["inv_cur"]]
    numbered = status != 0
    seq = np.cumsum(numbered)
    years = g["issue"].astype("datetime64[Y]").astype(int) + 1970
    numbers = _numbers("INV", years, seq, mask=~numbered)
    credited = g["credited"]
    credited_amount = np.zeros(n_inv, dtype=np.int64)
    credited_amount[credited] = g["payable"][credited]
    zeros = np.zeros(n_inv, dtype=np.int64)
    inv_ids = np.arange(1, n_inv + 1)
    status_names = np.array(["draft", "issued", "void"])[status]
    draft = status == 0
    issue_col = pa.array(g["issue"].astype("datetime64[D]"), mask=draft)
    due_col = pa.array(g["due"].astype("datetime64[D]"), mask=draft)
    created_at = g["issue"].astype("datetime64[us]") + np.timedelta64(9, "h")
    invoices = {
        "id": inv_ids, "kind": np.full(n_inv, "invoice"), "series": np.full(n_inv, "INV"), "number": numbers,
        "status": status_names, "customer_id": g["inv_cust"] + 1, "currency": np.array(CURRENCIES)[g["inv_cur"]],
        "issue_date": issue_col, "due_date": due_col, "credited_invoice_id": pa.nulls(n_inv, pa.int64()),
        "notes": np.full(n_inv, ""),
        "void_reason": np.where(status == 2, "Issued to the wrong customer", ""),
        "line_total": g["line_total"], "allowance_total": zeros, "charge_total": zeros,
        "tax_exclusive": g["line_total"], "tax_total": g["tax_total"], "tax_inclusive": g["payable"],
        "prepaid": zeros, "rounding": zeros, "payable": g["payable"], "paid_amount": g["paid"],
        "credited_amount": credited_amount, "created_at": created_at,
        "issued_at": pa.array(created_at, mask=draft), "voided_on": pa.array(
            (g["issue"] + np.timedelta64(1, "D")).astype("datetime64[D]"), mask=status != 2),
        "created_by": np.full(n_inv, "demo"), "scale": _scale_col(minor),
        "is_open": g["payable"] - g["paid"] - credited_amount > 0, **_activity_dates(g, n_inv),
    }
    # Credit notes: full copies of their invoices' lines, numbered in their own series.
    n_cn = len(credited)
    cn_ids = np.arange(n_inv + 1, n_inv + n_cn + 1)
    cn_years = g["cn_date"].astype("datetime64[Y]").astype(int) + 1970
    cn_order = np.argsort(g["cn_date"], kind="stable")
    cn_seq = np.empty(n_cn, dtype=np.int64)
    cn_seq[cn_order] = np.arange(1, n_cn + 1)
    cn_dates = g["cn_date"].astype("datetime64[D]")
    credit_notes = {
        "id": cn_ids, "kind": np.full(n_cn, "credit_note"), "series": np.full(n_cn, "CN"),
        "number": _numbers("CN", cn_years, cn_seq),
        "status": np.full(n_cn, "issued"), "customer_id": g["inv_cust"][credited] + 1,
        "currency": np.array(CURRENCIES)[g["inv_cur"][credited]], "issue_date": cn_dates, "due_date": cn_dates,
        "credited_invoice_id": credited + 1, "notes": np.full(n_cn, "Goods returned"),
        "void_reason": np.full(n_cn, ""), "line_total": g["line_total"][credited],
        "allowance_total": np.zeros(n_cn, dtype=np.int64), "charge_total": np.zeros(n_cn, dtype=np.int64),
        "tax_exclusive": g["line_total"][credited], "tax_total": g["tax_total"][credited],
        "tax_inclusive": g["payable"][credited], "prepaid": np.zeros(n_cn, dtype=np.int64),
        "rounding": np.zeros(n_cn, dtype=np.int64), "payable": g["payable"][credited],
        "paid_amount": np.zeros(n_cn, dtype=np.int64), "credited_amount": np.zeros(n_cn, dtype=np.int64),
        "created_at": cn_dates.astype("datetime64[us]") + np.timedelta64(10, "h"),
        "issued_at": cn_dates.astype("datetime64[us]") + np.timedelta64(10, "h"),
        "voided_on": pa.nulls(n_cn, pa.date32()), "created_by": np.full(n_cn, "demo"),
        "scale": _scale_col(minor[credited]), "is_open": g["payable"][credited] > 0,
        "first_activity_on": pa.nulls(n_cn, pa.date32()), "last_activity_on": pa.nulls(n_cn, pa.date32()),
    }
    money_cols = ["line_total", "allowance_total", "charge_total", "tax_exclusive", "tax_total", "tax_inclusive",
                  "prepaid", "rounding", "payable", "paid_amount", "credited_amount"]
    invoice_table = pa.concat_tables([pa.table(invoices), pa.table(credit_notes).cast(pa.table(invoices).schema)])

    # Lines of invoices, then the credited invoices' lines again for their credit notes.
    line_inv = g["line_inv"]
    is_cn_line = np.isin(line_inv, credited)
    cn_of_invoice = np.zeros(n_inv, dtype=np.int64)
    cn_of_invoice[credited] = cn_ids
    all_idx = np.concatenate([np.arange(len(line_inv)), np.flatnonzero(is_cn_line)])
    owner = np.concatenate([line_inv + 1, cn_of_invoice[line_inv[is_cn_line]]])
    lcur = g["inv_cur"][line_inv][all_idx]
    lminor = MINOR[lcur]
    qty_values, qty_index = np.unique(g["qty_hundredths"][all_idx], return_inverse=True)
    qty = pa.array([Decimal(int(q)).scaleb(-2) for q in qty_values], pa.decimal128(18, 4)).take(pa.array(qty_index))
    discount_pct = pa.array([Decimal(d) for d in range(0, 16)], pa.decimal128(7, 4)).take(
        pa.array(g["discount"][all_idx]))
    rate_pct = pa.array([Decimal(r[2]) for r in TAX_RATES], pa.decimal128(7, 4)).take(
        pa.array(g["rate_idx"][all_idx]))
    n_lines = len(all_idx)
    lines = pa.table({
        "invoice_id": owner, "position": g["position"][all_idx].astype(np.int32),
        "product_id": g["product"][all_idx] + 1,
        "description": np.array([p[0] for p in _PRODUCTS])[g["product"][all_idx]],
        "quantity": qty, "unit": np.array([p[1] for p in _PRODUCTS])[g["product"][all_idx]],
        "unit_price": g["price_minor"][all_idx], "base_quantity": np.ones(n_lines, dtype=np.int64),
        "discount_percent": discount_pct, "discount_amount": np.zeros(n_lines, dtype=np.int64),
        "charge_amount": np.zeros(n_lines, dtype=np.int64), "tax_rate_id": g["rate_idx"][all_idx] + 1,
        "vat_category": np.array([r[1] for r in TAX_RATES])[g["rate_idx"][all_idx]], "vat_rate": rate_pct,
        "net_amount": g["net"][all_idx], "scale": _scale_col(lminor),
    })
    tax_inv = g["tax_inv"]
    is_cn_tax = np.isin(tax_inv, credited)
    tax_idx = np.concatenate([np.arange(len(tax_inv)), np.flatnonzero(is_cn_tax)])
    tax_owner = np.concatenate([tax_inv + 1, cn_of_invoice[tax_inv[is_cn_tax]]])
    taxes = pa.table({
        "invoice_id": tax_owner, "vat_category": np.array([r[1] for r in TAX_RATES])[g["tax_rate"][tax_idx]],
        "vat_rate": pa.array([Decimal(r[2]) for r in TAX_RATES], pa.decimal128(7, 4)).take(
            pa.array(g["tax_rate"][tax_idx])),
        "taxable": g["taxable"][tax_idx], "tax": g["tax"][tax_idx],
        "scale": _scale_col(MINOR[g["inv_cur"][tax_inv[tax_idx]]]),
    })

    n_pay = len(g["payment_amount"])
    pay_ids = np.arange(1, n_pay + 1)
    pay_cur = c["currency"][g["payment_cust"]]
    pay_dates = g["payment_date"]
    payments = pa.table({
        "id": pay_ids, "kind": np.full(n_pay, "payment"), "customer_id": g["payment_cust"] + 1,
        "currency": np.array(CURRENCIES)[pay_cur], "amount": g["payment_amount"], "received_on": pay_dates,
        "method": np.array(METHODS)[rng.choice(len(METHODS), n_pay, p=[0.6, 0.2, 0.12, 0.05, 0.03])],
        "reference": pc.binary_join_element_wise("RF", pc.utf8_lpad(pa.array(pay_ids).cast(pa.string()), 8, "0"), ""),
        "reverses_payment_id": pa.nulls(n_pay, pa.int64()),
        "created_at": pay_dates.astype("datetime64[us]") + np.timedelta64(15, "h"),
        "created_by": np.full(n_pay, "demo"), "scale": _scale_col(MINOR[pay_cur]),
    })
    n_alloc = len(g["alloc_inv"])
    alloc_dates = pay_dates[g["alloc_payment"]]
    allocations = pa.table({
        "id": np.arange(1, n_alloc + 1), "payment_id": g["alloc_payment"] + 1, "invoice_id": g["alloc_inv"] + 1,
        "amount": g["alloc_amount"], "allocated_on": alloc_dates,
        "created_at": alloc_dates.astype("datetime64[us]") + np.timedelta64(15, "h"),
        "scale": _scale_col(MINOR[pay_cur[g["alloc_payment"]]]),
    })
    money = dict.fromkeys(money_cols, "scale")
    return {
        "tax_rates": (tax_rates, None),
        "products": (products, None),
        "customers": (customers, None),
        "invoices": (invoice_table, money),
        "invoice_lines": (lines, {"unit_price": "scale", "discount_amount": "scale", "charge_amount": "scale",
                                  "net_amount": "scale"}),
        "invoice_taxes": (taxes, {"taxable": "scale", "tax": "scale"}),
        "payments": (payments, {"amount": "scale"}),
        "allocations": (allocations, {"amount": "scale"}),
    }
