"""The outputs of `match` (SPEC §10): the JSON document, DIR/match-<M>.xlsx and the page.

One result (`rules.match.MatchResult`) rendered three ways.  The workbook is new,
written with xlsxwriter with every conversion of strings turned off: a name
from an export such as ``=HYPERLINK(...)`` is a text cell, never a formula or a
link.  The page reuses the report's jinja2 environment, filters, macros and
stylesheet; every word of it is in ``templates/match.html.j2``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

from licreport import i18n
from licreport.outputs import jsonout
from licreport.outputs.filters import Formats
from licreport.outputs.report import make_environment, stylesheet
from licreport.rules.match import (
    KINDS,
    NO_CLIENT,
    NO_PARTNER,
    NO_PRODUCT,
    SEVERAL_CLIENTS,
    MatchResult,
)
from licreport.rules.pricing import money
from licreport.rules.status import DEFAULT_CURRENCY

TEMPLATE = "match.html.j2"
TOP_ROWS = 50  # rows of each list on the page (the workbook has them all)

FINDING_KEYS = [
    "partner", "client", "client_name", "product", "kind", "licensed", "used", "billed",
    "difference", "monthly_impact",
]  # fmt: skip
SUMMARY_KEYS = ["partner", "kind", "count", "difference", "monthly_impact"]
UNMATCHED_KEYS = ["file", "row", "client", "product", "suggestions"]


def _with_money(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Money columns as JSON strings ("1234.50"; None stays None)."""
    return frame.assign(**{c: frame[c].map(money, na_action="ignore") for c in columns})


def match_json(month: str, result: MatchResult) -> dict[str, Any]:
    """`{month, summary, findings, unmatched}` with money as strings."""
    unmatched = jsonout.records(result.unmatched, ["file", "row", "client", "product"])
    for rec, suggestions in zip(unmatched, result.unmatched["suggestions"], strict=True):
        rec["suggestions"] = list(suggestions)
    return {
        "month": month,
        "summary": jsonout.records(_with_money(result.summary, "monthly_impact"), SUMMARY_KEYS),
        "findings": jsonout.records(_with_money(result.findings, "monthly_impact"), FINDING_KEYS),
        "unmatched": unmatched,
    }


# --------------------------------------------------------------------------- workbook

_INT, _MONEY, _TEXT = "int", "money", "text"
FINDING_SHEET = [
    ("partner", _TEXT), ("client", _TEXT), ("client_name", _TEXT), ("product", _TEXT),
    ("kind", _TEXT), ("licensed", _INT), ("used", _INT), ("billed", _INT),
    ("difference", _INT), ("unit_price", _MONEY), ("monthly_impact", _MONEY),
]  # fmt: skip
SUMMARY_SHEET = [
    ("partner", _TEXT), ("partner_name", _TEXT), ("kind", _TEXT), ("count", _INT),
    ("difference", _INT), ("monthly_impact", _MONEY),
]  # fmt: skip
UNMATCHED_SHEET = [
    ("file", _TEXT), ("row", _INT), ("client", _TEXT), ("product", _TEXT),
    ("reason", _TEXT), ("suggestions", _TEXT),
]  # fmt: skip
MAX_WIDTH = 48
REASONS = {
    NO_CLIENT: "client matches nothing",
    SEVERAL_CLIENTS: "client matches several clients",
    NO_PARTNER: "partner matches nothing",
    NO_PRODUCT: "product matches nothing",
}


def _cents(value: object) -> float | None:
    """Money for a numeric cell: rounded half-up to cents first (Excel stores doubles)."""
    shown = money(value) if isinstance(value, Decimal) else None
    return float(shown) if shown is not None else None


def _width(values: pd.Series, kind: str) -> int:
    """The widest value of a column as shown (text, "1,234", "1,234.50")."""
    present = values[values.notna()]
    if present.empty:
        return 0
    if kind == _TEXT:
        return int(present.astype(str).str.len().max())
    if kind == _INT:
        return len(f"{int(present.abs().max()):,}") + 1
    return len(f"{max(abs(float(v)) for v in present):,.2f}") + 1


def _write_sheet(
    wb: xlsxwriter.Workbook,
    name: str,
    frame: pd.DataFrame,
    columns: list[tuple[str, str]],
    formats: dict[str, Any],
) -> None:
    """Bold frozen header, a filter over every row, number formats and fitted widths."""
    ws = wb.add_worksheet(name)
    write_string, write_number = ws.write_string, ws.write_number
    int_format, money_format = formats[_INT], formats[_MONEY]
    for j, (header, kind) in enumerate(columns):
        write_string(0, j, header, formats["header"])
        width = max(len(header), _width(frame[header], kind))
        ws.set_column(j, j, min(width + 2, MAX_WIDTH))
    lists = [frame[c].tolist() for c, _ in columns]
    kinds = [kind for _, kind in columns]
    for i, row in enumerate(zip(*lists, strict=True), start=1):
        for j, value in enumerate(row):
            if value is None or value is pd.NA or (isinstance(value, float) and value != value):
                continue
            kind = kinds[j]
            if kind == _TEXT:
                write_string(i, j, str(value))  # never a formula, number or link
            elif kind == _INT:
                write_number(i, j, int(value), int_format)
            else:
                amount = _cents(value)
                if amount is not None:
                    write_number(i, j, amount, money_format)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)


def write_match_workbook(
    path: Path, result: MatchResult, partner_names: dict[str, str], month: str
) -> None:
    """Findings, Summary and Unmatched sheets in a new workbook at `path`."""
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "constant_memory": True,
        },
    )
    formats = {
        "header": wb.add_format({"bold": True}),
        _INT: wb.add_format({"num_format": "#,##0"}),
        _MONEY: wb.add_format({"num_format": "#,##0.00"}),
    }
    wb.set_properties({"title": f"licreport match {month}", "creator": "licreport"})
    _write_sheet(wb, "Findings", result.findings, FINDING_SHEET, formats)
    summary = result.summary.assign(partner_name=result.summary["partner"].map(partner_names))
    _write_sheet(wb, "Summary", summary, SUMMARY_SHEET, formats)
    unmatched = result.unmatched.assign(
        suggestions=result.unmatched["suggestions"].map(", ".join),
        reason=result.unmatched["reason"].map(REASONS),
    )
    _write_sheet(wb, "Unmatched", unmatched, UNMATCHED_SHEET, formats)
    wb.close()


# --------------------------------------------------------------------------- page


def _cell(ident: object, name: object) -> dict[str, str]:
    key = "" if ident is None else str(ident)
    text = "" if name is None or name is pd.NA or name != name else str(name)
    return {"id": key, "name": text if text and text != key else ""}


def _totals(result: MatchResult, currencies: dict[str, str]) -> list[dict[str, Any]]:
    """One KPI per kind, all partners together (every kind, also when 0). Money is
    summed per currency, never across: `impacts` holds one (currency, amount) per
    currency of the partners with a known impact, in currency order; empty when none."""
    s = result.summary
    out = []
    for kind in KINDS:
        rows = s[s["kind"] == kind]
        sums: dict[str, Decimal] = {}
        for partner, impact in zip(
            rows["partner"].tolist(), rows["monthly_impact"].tolist(), strict=True
        ):
            if impact is not None:
                currency = currencies.get(str(partner), DEFAULT_CURRENCY)
                sums[currency] = sums.get(currency, Decimal(0)) + impact
        out.append(
            {
                "kind": kind,
                "count": int(rows["count"].sum()) if len(rows) else 0,
                "difference": int(rows["difference"].sum()) if len(rows) else 0,
                "impacts": sorted(sums.items()),
            }
        )
    return out


def match_view(
    result: MatchResult,
    meta: dict[str, Any],
    partner_names: dict[str, str],
    top_n: int,
    currencies: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What the page shows: totals, the summary, the top findings and unmatched rows;
    money in each partner's currency (`currencies`, partner -> ISO code; default EUR)."""
    currencies = currencies or {}
    f = result.findings.head(top_n)
    findings = [
        {
            "partner": _cell(r["partner"], partner_names.get(str(r["partner"]))),
            "currency": currencies.get(str(r["partner"]), DEFAULT_CURRENCY),
            "client": _cell(r["client"], r["client_name"]),
            "product": r["product"],
            "kind": r["kind"],
            "licensed": r["licensed"],
            "used": r["used"],
            "billed": None if pd.isna(r["billed"]) else int(r["billed"]),
            "difference": r["difference"],
            "unit_price": r["unit_price"],
            "monthly_impact": r["monthly_impact"],
        }
        for r in f.to_dict("records")
    ]
    s = result.summary.head(top_n)
    summary = [
        {
            **r,
            "partner": _cell(r["partner"], partner_names.get(str(r["partner"]))),
            "currency": currencies.get(str(r["partner"]), DEFAULT_CURRENCY),
        }
        for r in s.to_dict("records")
    ]
    u = result.unmatched.head(top_n)
    unmatched = [{**r, "suggestions": list(r["suggestions"])} for r in u.to_dict("records")]
    return {
        **meta,
        "has_billing": result.has_billing,
        "has_price": result.has_price,
        "totals": _totals(result, currencies),
        "summary": summary,
        "summary_more": max(0, len(result.summary) - len(summary)),
        "findings": findings,
        "findings_total": len(result.findings),
        "findings_more": max(0, len(result.findings) - len(findings)),
        "unmatched": unmatched,
        "unmatched_total": len(result.unmatched),
        "unmatched_more": max(0, len(result.unmatched) - len(unmatched)),
        "top_n": top_n,
    }


def render_match(
    result: MatchResult,
    meta: dict[str, Any],
    partner_names: dict[str, str],
    top_n: int = TOP_ROWS,
    lang: str = i18n.DEFAULT,
    currencies: dict[str, str] | None = None,
) -> str:
    """The match page as one self-contained HTML string (inline CSS, no script), in the
    language `lang` (SPEC §11)."""
    env = make_environment(formats=Formats(lang))
    view = match_view(result, meta, partner_names, top_n, currencies)
    return env.get_template(TEMPLATE).render(css=stylesheet(env), **view)
