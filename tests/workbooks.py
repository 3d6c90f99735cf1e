"""Workbooks and ledgers the writer tests start from (a user's workbook, new rows)."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table as XlTable

from licreport.ledger.model import Ledger, Table, empty_table
from licreport.ledger.schema import BY_NAME, ROW, SHEETS
from licreport.outputs.workbook import ChartSpec, ComputedSheet

HYPERLINK = '=HYPERLINK("http://x","y")'


# ---------------------------------------------------------------- fixtures


def make_table(
    name: str,
    sheet: str,
    file: str,
    header_row: int,
    headers: dict[str, str],
    letters: dict[str, str],
    rows: dict[str, list[object]],
    extra: dict[str, list[object]] | None = None,
) -> Table:
    """A typed table as the loader would build it (schema dtypes, ``_row``)."""
    schema = BY_NAME[name]
    n = len(next(iter(rows.values()))) if rows else 0
    data = {}
    for col in schema.columns:
        values = rows.get(col.name, [None] * n)
        if col.kind == "date":
            data[col.name] = pd.to_datetime(pd.Series(values)).astype("datetime64[ns]")
        elif col.kind == "decimal":
            data[col.name] = pd.Series(values, dtype=object)
        else:
            data[col.name] = pd.Series(values, dtype=col.dtype)
    frame = pd.DataFrame(data)
    frame[ROW] = pd.Series(range(header_row + 1, header_row + 1 + n), dtype="Int64")
    extras = pd.DataFrame(extra) if extra else pd.DataFrame(index=range(n))
    return Table(schema, frame, file, sheet, True, header_row, headers, letters, extras)


def ledger_of(path: Path, kind: str, tables: dict[str, Table]) -> Ledger:
    file = path.name
    full = {s.name: empty_table(s, file) for s in SHEETS}
    full.update(tables)
    return Ledger(path, kind, "0" * 64, full)


def user_workbook(path: Path) -> Path:
    """A workbook a user keeps: notes sheet, title row, extra column, a table, a name."""
    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    for i in (1, 2, 3):
        notes[f"A{i}"] = i
    notes["A4"] = "=SUM(A1:A3)"
    notes["B1"] = "Bold"
    notes["B1"].font = Font(bold=True)
    notes.column_dimensions["B"].width = 33
    notes.merge_cells("C1:D2")
    dv = DataValidation(type="list", formula1='"yes,no"', allow_blank=True)
    dv.add("E1:E10")
    notes.add_data_validation(dv)

    partners = wb.create_sheet("Partners")
    partners.append(["partner", "name", "provider"])
    partners.append(["P1", "Acme", "WatchGuard"])
    products = wb.create_sheet("Products")
    products.append(["product", "name", "family"])
    products.append(["AD360", "Adaptive Defense 360", "EPP"])

    clients = wb.create_sheet("Clients")
    clients["A1"] = "Contracts of Acme"
    clients.append(["Client", "Client Name", "Product", "Term", "Licences", "Start", "Sales rep"])
    clients.append(["C1", "First", "AD360", "1", 10, dt.datetime(2025, 1, 1), "Ann"])
    clients["F3"].number_format = "dd/mm/yyyy"
    clients.column_dimensions["B"].width = 25
    clients.auto_filter.ref = "A2:G3"

    pool = wb.create_sheet("Pool")
    pool.append(["Date", "Product", "Term", "Quantity"])
    pool.append([dt.datetime(2025, 1, 1), "AD360", "1", 100])
    pool.add_table(XlTable(displayName="PoolTable", ref="A1:D2"))

    wb.defined_names["MyName"] = DefinedName("MyName", attr_text="Notes!$A$1:$A$3")
    wb.save(path)
    return path


def user_ledger(path: Path) -> Ledger:
    f = path.name
    return ledger_of(
        path,
        "xlsx",
        {
            "Partners": make_table(
                "Partners",
                "Partners",
                f,
                1,
                {c: c for c in ("partner", "name", "provider")},
                {"partner": "A", "name": "B", "provider": "C"},
                {"partner": ["P1"], "name": ["Acme"], "provider": ["WatchGuard"]},
            ),
            "Clients": make_table(
                "Clients",
                "Clients",
                f,
                2,
                {
                    "client": "Client",
                    "client_name": "Client Name",
                    "product": "Product",
                    "term": "Term",
                    "licences": "Licences",
                    "start": "Start",
                },
                dict(
                    zip(
                        ["client", "client_name", "product", "term", "licences", "start"],
                        "ABCDEF",
                        strict=True,
                    )
                ),
                {
                    "client": ["C1"],
                    "client_name": ["First"],
                    "licences": [10],
                    "start": ["2025-01-01"],
                },
                {"Sales rep": ["Ann"]},
            ),
            "Pool": make_table(
                "Pool",
                "Pool",
                f,
                1,
                {"date": "Date", "product": "Product", "term": "Term", "quantity": "Quantity"},
                {"date": "A", "product": "B", "term": "C", "quantity": "D"},
                {"date": ["2025-01-01"], "product": ["AD360"], "term": ["1"], "quantity": [100]},
            ),
        },
    )


def new_clients() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "partner": pd.Series(["P1", "P1"], dtype="string"),
            "client": pd.Series(["C2", "C3"], dtype="string"),
            "client_name": pd.Series([HYPERLINK, "<script>"], dtype="string"),
            "product": pd.Series(["AD360", "AD360"], dtype="string"),
            "term": pd.Series(["1", "monthly"], dtype="string"),
            "licences": pd.Series([5, 7], dtype="Int64"),
            "start": pd.Series(pd.to_datetime(["2026-01-01", "2026-02-01"])),
            "auto_renew": pd.Series([True, pd.NA], dtype="boolean"),
            "ref": pd.Series(["R1", pd.NA], dtype="string"),
        }
    )


def new_pool() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.Series(pd.to_datetime(["2026-02-01"])),
            "product": pd.Series(["AD360"], dtype="string"),
            "term": pd.Series(["1"], dtype="string"),
            "quantity": pd.Series([4], dtype="Int64"),
            "unit_price": pd.Series([Decimal("12.50")], dtype=object),
            "type": pd.Series(["recovery"], dtype="string"),
        }
    )


def new_renewals(run: str = "2026-02-r1") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run": pd.Series([run], dtype="string"),
            "month": pd.Series(["2026-02"], dtype="string"),
            "client": pd.Series(["C1"], dtype="string"),
            "renewed": pd.Series([3], dtype="Int64"),
        }
    )


def computed(available: tuple[int, int] = (5, 3)) -> list[ComputedSheet]:
    status = pd.DataFrame(
        {
            "product": ["AD360", "EDR"],
            "available": pd.Series(available, dtype="Int64"),
            "price": [Decimal("1234.5"), Decimal("3")],
            "as_of": pd.to_datetime(["2026-02-01", "2026-02-01"]),
            "share": [7.5, 50.0],
            "client_name": [HYPERLINK, "ok"],
        }
    )
    contracts = pd.DataFrame(
        {
            "client": ["C1"],
            "end": pd.to_datetime(["2026-01-01"]),
            "days_left": pd.Series([12], dtype="Int64"),
        }
    )
    return [
        ComputedSheet(
            "Status",
            status,
            {"share": "percent"},
            ChartSpec("Available licences", "product", ("available",)),
        ),
        ComputedSheet("Contracts", contracts),
        ComputedSheet("Checks", pd.DataFrame({"check": ["bought = used"], "ok": [True]})),
    ]


REDO_COLUMNS = ["run", "month", "client", "renewed"]
MONTHS = ("2026-01", "2026-02", "2026-03")


def redone_renewals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run": pd.Series(["2026-02-r2", "2026-02-r2"], dtype="string"),
            "month": pd.Series(["2026-02", "2026-02"], dtype="string"),
            "client": pd.Series(["CX", "CY"], dtype="string"),
            "renewed": pd.Series([7, 8], dtype="Int64"),
        }
    )


def sheet_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {
            n: z.read(n).decode("utf-8")
            for n in z.namelist()
            if n.startswith("xl/worksheets/sheet")
        }


def prefixed_without_addresses(xml: str) -> str:
    """The same sheet as some generators write it: ``x:`` prefix, no ``r`` on rows/cells."""
    xml = re.sub(r"<(/?)(?!\?)([A-Za-z]\w*)", r"<\1x:\2", xml)
    xml = xml.replace(
        'xmlns="http://schemas.openxmlformats.org', 'xmlns:x="http://schemas.openxmlformats.org', 1
    )
    return re.sub(r'(<x:(?:row|c)\b[^>]*?) r="[A-Z]*\d+"', r"\1", xml)


def redo_workbook(path: Path, *, title: bool, table: bool) -> Path:
    """Renewals of three months (3 rows each) under an optional title, with a filter or table.

    Column F holds a merged note beside a 2026-02 row (removed) and one beside a
    2026-03 row (moves up); E of the last row holds a formula.
    """
    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes["A1"] = "keep me"
    ws = wb.create_sheet("Renewals")
    if title:
        ws["A1"] = "Renewals of Acme"
        ws.merge_cells("A1:D1")
    h = 2 if title else 1
    for i, name in enumerate(REDO_COLUMNS):
        ws.cell(h, i + 1, name)
    r = h
    for m, month in enumerate(MONTHS):
        for i in range(3):
            r += 1
            ws.append([f"{month}-r1", month, f"C{m}{i}", 10 * (m + 1) + i])
    ws.merge_cells(f"F{h + 4}:G{h + 4}")
    ws[f"F{h + 4}"] = "goes"
    ws.merge_cells(f"F{h + 8}:G{h + 8}")
    ws[f"F{h + 8}"] = "checked"
    ws[f"E{h + 9}"] = f"=D{h + 9}*2"
    if table:
        ws.add_table(XlTable(displayName="RenewalsTable", ref=f"A{h}:D{h + 9}"))
    else:
        ws.auto_filter.ref = f"A{h}:D{h + 9}"
    ex = wb.create_sheet("Exchanges")
    ex.append(["date", "points", "run"])
    for m, month in enumerate(MONTHS):
        ex.append([dt.datetime(2026, m + 1, 1), 100 + m, f"{month}-r1"])
    wb.save(path)
    return path


def redo_ledger(path: Path, *, title: bool) -> Ledger:
    h = 2 if title else 1
    rows: dict[str, list[object]] = {
        "run": [f"{m}-r1" for m in MONTHS for _ in range(3)],
        "month": [m for m in MONTHS for _ in range(3)],
        "client": [f"C{k}{i}" for k in range(3) for i in range(3)],
        "renewed": [10 * (k + 1) + i for k in range(3) for i in range(3)],
    }
    exchanges: dict[str, list[object]] = {
        "date": [f"2026-0{m}-01" for m in (1, 2, 3)],
        "points": [100, 101, 102],
        "run": [f"{m}-r1" for m in MONTHS],
    }
    return ledger_of(
        path,
        "xlsx",
        {
            "Renewals": make_table(
                "Renewals",
                "Renewals",
                path.name,
                h,
                {c: c for c in REDO_COLUMNS},
                {c: "ABCD"[i] for i, c in enumerate(REDO_COLUMNS)},
                rows,
            ),
            "Exchanges": make_table(
                "Exchanges",
                "Exchanges",
                path.name,
                1,
                {c: c for c in exchanges},
                {"date": "A", "points": "B", "run": "C"},
                exchanges,
            ),
        },
    )
