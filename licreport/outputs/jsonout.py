"""The JSON documents of SPEC §4: stable keys, ISO dates, counts as numbers, money as strings."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from licreport.ledger.schema import normalise
from licreport.rules.keys import by_distinct
from licreport.rules.months import MonthPlan
from licreport.rules.outlook import Outlook, estimated_total
from licreport.rules.pricing import money
from licreport.rules.proration import Proration
from licreport.rules.renewal import balances_after
from licreport.rules.status import StatusView, partner_summary


def term_value(term: object) -> int | str:
    """JSON term: 1, 2, 3, "monthly" or "trial"."""
    text = str(term)
    return int(text) if text.isdigit() else text


def plain(value: Any) -> Any:
    """A pandas/numpy scalar as a plain JSON value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def percent(value: Decimal | None) -> str | None:
    """A percentage as a string with two decimals, half-up."""
    return money(value)


def plain_column(values: pd.Series) -> list[Any]:
    """A whole column as plain JSON values, converted once by dtype (`plain` per value
    only for object columns)."""
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        # each distinct day formatted once (a blank is "" there, None here)
        iso = by_distinct(values, lambda u: pd.DatetimeIndex(u).strftime("%Y-%m-%d"))
        return [day or None for day in iso]
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        out = values.tolist()  # Python bool / int / float
        if dtype.kind == "f":
            out = [None if v != v else v for v in out]
        return out
    masked = isinstance(dtype, pd.BooleanDtype | pd.StringDtype) or (
        isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(dtype)
    )
    if masked:  # Int64 / Float64 / boolean / string: Python scalars, blanks as None
        out = values.astype(object).where(values.notna().to_numpy(), None).tolist()
        if pd.api.types.is_float_dtype(dtype):
            out = [None if v is not None and v != v else v for v in out]
        return out
    return [plain(v) for v in values.tolist()]


def records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """The rows of `columns` as dicts of plain JSON values (``term`` as `term_value`)."""
    lists = []
    for c in columns:
        values = plain_column(frame[c])
        if c == "term":  # a few distinct terms in many rows: each converted once
            value_of = {v: term_value(v) for v in set(values)}
            values = [value_of[v] for v in values]
        lists.append(values)
    return [dict(zip(columns, row, strict=True)) for row in zip(*lists, strict=True)]


def by_partner(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Records of `columns` bucketed by the frame's partner column, in frame order."""
    buckets: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for partner, rec in zip(frame["partner"].tolist(), records(frame, columns), strict=True):
        buckets[str(partner)].append(rec)
    return buckets


def quote_json(q: Proration) -> dict[str, Any]:
    return {
        "product": q.product,
        "devices": q.devices,
        "date": q.date.isoformat(),
        "days": q.days,
        "device_days": q.device_days,
        "licences": q.licences,
        "points": q.points,
        "points_per_licence": q.points_per_licence,
    }


FORECAST_KEYS = [
    "product", "devices_due", "available", "shortfall", "points_needed", "points_balance_after",
]  # fmt: skip
STATUS_PARTS = (
    "name", "provider", "pool", "monthly_pool", "points_balance", "trials", "expiring",
    "recoverable", "forecast", "spend", "currency", "overuse", "outlook", "buy", "worklist",
    "trials_ending", "summary",
)  # fmt: skip
OUTLOOK_PARTS = ("outlook", "buy", "worklist", "trials_ending")


def status_json(
    view: StatusView, partners: Iterable[str], parts: Collection[str] = STATUS_PARTS
) -> dict[str, Any]:
    """The status document (SPEC §4); each partner has its `parts` only (the report reads a
    few of them: at 12 x SPEC §6 the others are millions of records it would not use)."""
    if unknown := set(parts) - set(STATUS_PARTS):
        raise ValueError(f"unknown status parts: {sorted(unknown)}")
    lists: dict[str, Callable[[], dict[str, list[dict[str, Any]]]]] = {
        "pool": lambda: by_partner(view.pool, ["product", "term", "available"]),
        "monthly_pool": lambda: by_partner(view.monthly_pool, ["product", "available"]),
        "expiring": lambda: by_partner(
            view.expiring, ["client", "product", "term", "licences", "end", "days_left"]
        ),
        "recoverable": lambda: by_partner(
            view.recoverable, ["client", "product", "term", "recoverable"]
        ),
        "forecast": lambda: by_partner(view.forecast, FORECAST_KEYS),
        "spend": lambda: by_partner(
            view.spend.assign(
                list_price=view.spend["list_price"].map(money),
                spend=view.spend["spend"].map(money),
                average_discount=view.spend["average_discount"].map(percent),
            ),
            ["product", "term", "blocks", "quantity", "list_price", "spend", "average_discount"],
        ),
        "overuse": lambda: by_partner(
            view.overuse, ["client", "product", "term", "licences", "devices_used", "unlicensed"]
        ),
    }
    built = {name: make() for name, make in lists.items() if name in parts}
    points = dict(zip(view.points["partner"], view.points["available"], strict=True))
    trials = records(view.trials, ["product", "available", "days"]) if "trials" in parts else []
    outlook = (
        _outlook_json(view, rows="outlook" in parts) if set(parts) & set(OUTLOOK_PARTS) else {}
    )
    summary = _summary_json(view) if "summary" in parts else {}
    info = view.partners.drop_duplicates("partner")  # looked up by dicts: 12,000 partners
    names, providers, currencies = (
        dict(zip(info["partner"], plain_column(info[c]), strict=True))
        for c in ("name", "provider", "currency")
    )
    out = []
    for p in partners:
        entry = {
            "partner": p,
            "name": names.get(p),
            "provider": providers.get(p),
            **{key: part.get(p, []) for key, part in built.items()},
            "points_balance": int(points.get(p, 0)),
            "trials": trials,
            "currency": currencies.get(p, "EUR"),
            **outlook.get(p, _no_outlook()),
            "summary": summary.get(p, {}),
        }
        out.append({"partner": p, **{k: entry[k] for k in STATUS_PARTS if k in parts}})
    return {"as_of": view.as_of.date().isoformat(), "partners": out}


def _no_buy() -> dict[str, Any]:
    return {
        "points_needed": 0,
        "points_balance": 0,
        "points_to_buy": 0,
        "licences": [],
        "estimated_total": "0.00",
    }


def _no_outlook() -> dict[str, Any]:
    return {"outlook": [], "buy": _no_buy(), "worklist": [], "trials_ending": []}


def _summary_json(view: StatusView) -> dict[str, dict[str, Any]]:
    """Per partner: the totals the report shows (computed once, `status.partner_summary`)."""
    s = partner_summary(view)
    s = s.assign(
        spend=s["spend"].map(_money),
        recoverable_value=s["recoverable_value"].map(_money),
        estimated_total=s["estimated_total"].map(_money),
    )
    cols = ["at_risk", "annual_at_risk", "monthly_at_risk", "unlicensed", "points_to_buy",
            "licences_to_buy", "estimated_total", "spend", "recoverable_value"]  # fmt: skip
    return {str(p): rec for p, rec in zip(s["partner"], records(s, cols), strict=True)}


def _outlook_json(view: StatusView, *, rows: bool = True) -> dict[str, dict[str, Any]]:
    """Per partner: the `outlook` rows (with their `at_risk` clients; left empty without
    `rows`), `buy`, `worklist` and `trials_ending` (SPEC §7)."""
    o = view.outlook
    out: dict[str, dict[str, Any]] = defaultdict(_no_outlook)
    if rows:
        _outlook_rows(o, out)
    buy = o.buy.assign(
        unit_price=o.buy["unit_price"].map(_money),
        estimated_cost=o.buy["estimated_cost"].map(_money),
    )
    lines = by_partner(
        buy, ["product", "term", "short", "recoverable", "to_buy", "unit_price", "estimated_cost"]
    )
    work = by_partner(
        o.worklist,
        ["month", "client", "client_name", "product", "term", "licences", "end", "auto_renew",
         "cover"],
    )  # fmt: skip
    trials = by_partner(o.trials, ["client", "client_name", "product", "licences", "end"])
    for p, items in work.items():
        out[p]["worklist"] = items
    for p, items in trials.items():
        out[p]["trials_ending"] = items
    totals = estimated_total(o.buy)
    for r in o.points.to_dict("records"):
        p = str(r["partner"])
        licences = lines.get(p, [])
        total = totals.get(p)
        out[p]["buy"] = {
            "points_needed": int(r["points_needed"]),
            "points_balance": int(r["points_balance"]),
            "points_to_buy": int(r["points_to_buy"]),
            "licences": licences,
            "estimated_total": "0.00" if not licences else _money(total),
        }
    return out


def _outlook_rows(o: Outlook, out: dict[str, dict[str, Any]]) -> None:
    """Each partner's `outlook` rows, each with the clients it leaves short."""
    risk_keys = ["month", "kind", "product", "term"]
    risks: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for key, rec in zip(
        zip(*(o.at_risk[k].tolist() for k in ["partner", *risk_keys]), strict=True),
        records(o.at_risk, ["client", "client_name", "short"]),
        strict=True,
    ):
        risks[tuple(str(v) for v in key)].append(rec)
    rows = o.rows.assign(_kind_order=o.rows["kind"].map({"annual": 0, "monthly": 1}))
    rows = rows.sort_values(["partner", "month", "_kind_order", "product", "term"], kind="stable")
    cols = ["month", "kind", "product", "term", "due", "available", "served", "shortfall",
            "points_needed"]  # fmt: skip
    keys = zip(*(rows[k].tolist() for k in ["partner", *risk_keys]), strict=True)
    for key, rec in zip(keys, records(rows, cols), strict=True):
        rec["at_risk"] = risks.get(tuple(str(v) for v in key), [])
        out[str(key[0])]["outlook"].append(rec)


def _money(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return money(_to_decimal(value))


def _to_decimal(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def recover_json(
    as_of: pd.Timestamp, candidates: pd.DataFrame, partners: Iterable[str], applied: bool
) -> dict[str, Any]:
    cols = ["client", "product", "term", "licences", "devices_used", "days_left", "recoverable"]
    rec = by_partner(candidates, cols)
    return {
        "as_of": as_of.date().isoformat(),
        "applied": applied,
        "partners": [{"partner": p, "recoverable": rec[p]} for p in partners if p in rec],
    }


LINE_KEYS = ["client", "product", "term", "requested", "renewed", "dropped", "licences", "points"]


def renew_json(
    month: str,
    run: str,
    already_applied: bool,
    lines: pd.DataFrame,
    exchanged: pd.Series,
    monthly_after: pd.DataFrame,
    pool_after: pd.DataFrame,
    partners: Iterable[str],
    would_keep: pd.Series | None = None,
    every_line: bool = True,
) -> dict[str, Any]:
    """The renew document (SPEC §4).  Without `every_line` each partner's ``lines`` are
    only those with dropped devices, with ``line_count`` the number of all: what the
    report and the run's printed summary read (at 12 x SPEC §6 a run has 600,000 lines)."""
    shown = lines if every_line else lines[(lines["dropped"] > 0).to_numpy(dtype=bool)]
    by_lines = by_partner(shown, LINE_KEYS)
    counts = {} if every_line else lines["partner"].astype(str).value_counts().to_dict()
    keep = would_keep if would_keep is not None else pd.Series(dtype="int64")
    m_after = by_partner(monthly_after, ["product", "available"])
    a_after = by_partner(pool_after, ["product", "term", "available"])
    return {
        "month": month,
        "run": run,
        "already_applied": already_applied,
        "partners": [
            {
                "partner": p,
                "lines": by_lines.get(p, []),
                **({} if every_line else {"line_count": int(counts.get(p, 0))}),
                "exchanged_points": int(exchanged.get(p, 0)),
                "monthly_pool_after": m_after.get(p, []),
                "pool_after": a_after.get(p, []),
                "exchange_would_keep": int(keep.get(p, 0)),
            }
            for p in partners
        ],
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, default=plain)


def history_json(table: pd.DataFrame, partners: Iterable[str]) -> dict[str, Any]:
    """SPEC §9: every recorded month, and per partner its months with their totals."""
    cols = [c for c in table.columns if c != "partner"]
    rows = by_partner(table, cols)
    return {
        "months": sorted(set(table["month"].tolist())),
        "partners": [{"partner": p, "months": rows[p]} for p in partners if p in rows],
    }


def cell_value(column: str, value: Any) -> Any:
    """One compared cell as JSON: typed values plain, terms as `term_value`, others as text."""
    if normalise(column) == "term" and value is not None:
        return term_value(value)
    out = plain(value)
    return out if out is None or isinstance(out, str | int | float | bool) else str(out)


def diff_json(old: Any, new: Any, sheets: Iterable[Any]) -> dict[str, Any]:
    """SPEC §9 "Diff": rows added, removed and changed per sheet (sheets that differ only)."""

    def values(row: dict[str, Any]) -> dict[str, Any]:
        return {k: cell_value(k, v) for k, v in row.items()}

    return {
        "old": str(old),
        "new": str(new),
        "sheets": [
            {
                "sheet": d.sheet,
                "added": [{"row": r, "values": values(v)} for r, v in d.added],
                "removed": [{"row": r, "values": values(v)} for r, v in d.removed],
                "changed": [
                    {
                        "row_old": c.row_old,
                        "row_new": c.row_new,
                        "key": values(c.key),
                        "cells": [
                            {"column": col, "old": cell_value(col, a), "new": cell_value(col, b)}
                            for col, a, b in c.cells
                        ],
                    }
                    for c in d.changed
                ],
            }
            for d in sheets
        ],
    }


def month_json(month: MonthPlan, every_line: bool = True) -> dict[str, Any]:
    """The renew/reconcile document (SPEC §4) of one month's run, or of the month as
    already applied (each partner then carries its own run id); a run's document without
    `every_line` holds only the dropped lines (`renew_json`)."""
    if month.applied is not None:
        a = month.applied
        partners = month.book.ledger.partners
        b = a.balances
        doc = renew_json(a.month, a.run, True, a.lines, a.spent, b.monthly, b.annual, partners)
        for partner in doc["partners"]:
            own_run = a.runs.get(partner["partner"])
            partner["run"] = None if own_run is None or pd.isna(own_run) else str(own_run)
        return doc
    plan, before = month.plan, month.before
    assert plan is not None and before is not None
    after = balances_after(before, plan)
    return renew_json(
        plan.month,
        plan.run,
        False,
        plan.lines,
        plan.exchanged_points,
        after.monthly,
        after.annual,
        month.partners,
        would_keep=plan.would_keep,
        every_line=every_line,
    )
