"""Build typed ledgers in memory for rule tests, without going through the readers."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from licreport.ledger.model import Ledger, Table, column_letter, empty_table
from licreport.ledger.parse import to_months
from licreport.ledger.schema import MONTH_FIRST, ROW, SHEETS


def _value(kind: str, v: Any) -> Any:
    if v is None:
        return None
    if kind == "date":
        return pd.Timestamp(v)
    if kind == "decimal":
        return Decimal(str(v))
    if kind in ("text", "choice"):
        return str(v)
    return v


def make_table(name: str, rows: list[dict[str, Any]]) -> Table:
    schema = next(s for s in SHEETS if s.name == name)
    file = "ledger.xlsx"
    if not rows:
        return empty_table(schema, file)
    frame = pd.DataFrame(index=range(len(rows)))
    for col in schema.columns:
        values = [_value(col.kind, r.get(col.name)) for r in rows]
        frame[col.name] = pd.Series(values, dtype=col.dtype)
    frame[ROW] = pd.array(range(2, len(rows) + 2), dtype="Int64")
    if "month" in frame:  # the loader's typed month
        frame["month"], frame[MONTH_FIRST], _ = to_months(frame["month"])
    if "type" in frame and name == "Pool":
        frame["type"] = frame["type"].fillna("purchase")
    if "type" in frame and name == "Clients":
        frame["type"] = frame["type"].fillna("assign")
    headers = {c.name: c.name for c in schema.columns}
    letters = {c.name: column_letter(i) for i, c in enumerate(schema.columns)}
    return Table(schema, frame, file, name, True, 1, headers, letters)


def make_ledger(**sheets: list[dict[str, Any]]) -> Ledger:
    """make_ledger(Partners=[...], Products=[...], Clients=[...]) with canonical keys."""
    tables = {s.name: make_table(s.name, sheets.get(s.name, [])) for s in SHEETS}
    # a single partner fills the blank partner cells, as the reader does
    partners = sheets.get("Partners", [])
    if len(partners) == 1:
        for t in tables.values():
            if "partner" in t.frame and t.name != "Partners":
                t.frame["partner"] = t.frame["partner"].fillna(partners[0]["partner"])
    return Ledger(Path("ledger.xlsx"), "xlsx", "0" * 64, tables)


def d(text: str) -> date:
    return date.fromisoformat(text)


WG = {"partner": "WG1", "name": "Watch Partner", "provider": "WatchGuard"}
PANDA = {"partner": "PA1", "name": "Panda Partner", "provider": "Panda Security"}
PRODUCTS = [
    {"product": "AD360", "family": "EDR", "points_per_licence": 3, "trial_days": 30},
    {"product": "EDR", "family": "EDR", "points_per_licence": 2},
    {"product": "EPP", "family": "EPP", "points_per_licence": 1},
    {"product": "PM", "family": "Patch", "main_product": "AD360", "points_per_licence": 1},
]


SAMPLE_CSV = Path(__file__).resolve().parents[1] / "sample_data" / "ledger"


def sample_csv_with_currencies(folder: Path, currencies: dict[str, str]) -> Path:
    """A copy of the sample's CSV ledger at `folder`, Partners `currency` set per partner id."""
    shutil.copytree(SAMPLE_CSV, folder)
    with open(folder / "partners.csv", newline="", encoding="utf-8") as fp:
        rows = list(csv.reader(fp))
    at = rows[0].index("currency")
    for row in rows[1:]:
        row[at] = currencies.get(row[0], row[at])
    with open(folder / "partners.csv", "w", newline="", encoding="utf-8") as fp:
        csv.writer(fp, lineterminator="\n").writerows(rows)
    return folder
