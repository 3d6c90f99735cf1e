"""What changed between two ledgers, sheet by sheet (SPEC §9 "Diff").

Rows are matched by their key; rows that share a key are paired in row order.
Values compare as the column's type in the schema, so a date cell equals the
same date written as ISO text and ``1`` equals ``1.0``: both ledgers are read
by the same loader, which has already turned every cell into its typed value.
Columns the schema does not know compare as the text the user sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from licreport.ledger.model import Ledger, Table
from licreport.ledger.schema import MONTH_FIRST, ROW

KEYS: dict[str, tuple[str, ...]] = {
    "Partners": ("partner",),
    "Products": ("product",),
    "Discounts": ("min_quantity",),
    "Pool": ("date", "partner", "order", "product", "term", "type"),
    "Clients": ("partner", "client", "product", "term", "start", "type"),
    "Exchanges": ("date", "partner", "type", "product", "client", "run"),
    "Renewals": ("run", "partner", "client", "product", "term"),
}

_OCCURRENCE = "_nth"  # the n-th row of its key, to pair rows that share one


@dataclass(frozen=True)
class Changed:
    row_old: int
    row_new: int
    key: dict[str, Any]
    cells: list[tuple[str, Any, Any]]  # column (as the user wrote it), old, new


@dataclass
class SheetDiff:
    sheet: str
    added: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    removed: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def diff_ledgers(old: Ledger, new: Ledger) -> list[SheetDiff]:
    """The sheets that differ, in schema order."""
    out = []
    for sheet, key in KEYS.items():
        d = diff_tables(old.table(sheet), new.table(sheet), key)
        if d:
            out.append(d)
    return out


def _frame(table: Table) -> pd.DataFrame:
    """The typed columns plus the unknown ones as text, with the user's headers as names."""
    frame = table.frame.copy()
    if table.extra is not None and len(table.extra.columns):
        extra = table.extra.reindex(frame.index)
        for col in extra.columns:
            if col not in frame:
                frame[col] = extra[col].map(_text)
    return frame


def _text(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def _comparable(value: Any) -> Any:
    """One value as the schema typed it, blanks as None (pd.NA and NaT compare as unknown)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    lists = [[_comparable(v) for v in frame[c].tolist()] for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*lists, strict=True)]


def diff_tables(old: Table, new: Table, key: tuple[str, ...]) -> SheetDiff:
    """Rows added, removed and changed between two typed tables of one sheet."""
    a, b = _frame(old), _frame(new)
    known = [c.name for c in old.schema.columns]
    internal = {ROW, MONTH_FIRST}  # the loader's own columns, not the file's
    extra = sorted(
        {c for c in a.columns if c not in known and c not in internal}
        | {c for c in b.columns if c not in known and c not in internal},
        key=str,
    )
    columns = known + extra
    for f in (a, b):
        for c in columns:
            if c not in f:
                f[c] = None
    ra, rb = _records(a, columns), _records(b, columns)
    rows_a = a[ROW].astype("Int64").tolist()
    rows_b = b[ROW].astype("Int64").tolist()
    index_b: dict[tuple[Any, ...], list[int]] = {}
    for i, r in enumerate(rb):
        index_b.setdefault(tuple(r[k] for k in key), []).append(i)
    taken: dict[tuple[Any, ...], int] = {}
    headers = {**new.headers, **old.headers}
    result = SheetDiff(old.name)
    matched_b: set[int] = set()
    for i, r in enumerate(ra):
        k = tuple(r[c] for c in key)
        n = taken.get(k, 0)
        candidates = index_b.get(k, [])
        if n >= len(candidates):
            result.removed.append((int(rows_a[i]), _shown(r, headers)))
            continue
        taken[k] = n + 1
        j = candidates[n]
        matched_b.add(j)
        cells = [
            (headers.get(c, c), r[c], rb[j][c])
            for c in columns
            if c not in key and r[c] != rb[j][c]
        ]
        if cells:
            keyed = {headers.get(c, c): r[c] for c in key}
            result.changed.append(Changed(int(rows_a[i]), int(rows_b[j]), keyed, cells))
    for j, r in enumerate(rb):
        if j not in matched_b:
            result.added.append((int(rows_b[j]), _shown(r, headers)))
    return result


def _shown(record: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """A row's non-blank values under the headers the user wrote."""
    return {headers.get(c, c): v for c, v in record.items() if v is not None}
