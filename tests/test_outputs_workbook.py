"""The updated workbook and CSV folder: user's sheets kept, rows appended, computed sheets."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table as XlTable
from python_calamine import CalamineWorkbook

from licreport.ledger.model import Ledger, Table, empty_table
from licreport.ledger.schema import BY_NAME, ROW, SHEETS
from licreport.outputs import xlsxpatch
from licreport.outputs.csvout import write_csv_folder
from licreport.outputs.workbook import ChartSpec, ComputedSheet, write_workbook

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


@pytest.fixture
def first_run(tmp_path: Path) -> tuple[Ledger, Path]:
    source = user_workbook(tmp_path / "ledger.xlsx")
    ledger = user_ledger(source)
    out = tmp_path / "out.xlsx"
    appended = {"Clients": new_clients(), "Pool": new_pool(), "Renewals": new_renewals()}
    write_workbook(ledger, out, appended=appended, computed=computed())
    return ledger, out


def sheet_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {
            n: z.read(n).decode("utf-8")
            for n in z.namelist()
            if n.startswith("xl/worksheets/sheet")
        }


def formulas(path: Path) -> list[str]:
    return [f for xml in sheet_xml(path).values() for f in re.findall(r"<f[ >][^<]*", xml)]


# ---------------------------------------------------------------- xlsx input


def test_user_sheets_are_preserved(first_run: tuple[Ledger, Path]) -> None:
    ledger, out = first_run
    wb = load_workbook(out)
    assert wb.sheetnames == [
        "Notes", "Partners", "Products", "Clients", "Pool", "Renewals", "Status", "Contracts",
        "Checks",
    ]  # fmt: skip
    notes = wb["Notes"]
    assert [notes[f"A{i}"].value for i in (1, 2, 3)] == [1, 2, 3]
    assert notes["A4"].value == "=SUM(A1:A3)"
    assert notes["B1"].font.b is True
    assert notes.column_dimensions["B"].width == 33
    assert [str(r) for r in notes.merged_cells.ranges] == ["C1:D2"]
    assert [str(r.sqref) for r in notes.data_validations.dataValidation] == ["E1:E10"]
    assert wb.defined_names["MyName"].attr_text == "Notes!$A$1:$A$3"
    assert wb["Clients"].column_dimensions["B"].width == 25
    # Parts the run does not touch are copied byte for byte.
    with zipfile.ZipFile(ledger.path) as a, zipfile.ZipFile(out) as b:
        for name in ("xl/worksheets/sheet1.xml", "xl/theme/theme1.xml", "docProps/core.xml"):
            assert a.read(name) == b.read(name)
            assert a.getinfo(name).CRC == b.getinfo(name).CRC


def test_rows_appended_under_the_users_columns(first_run: tuple[Ledger, Path]) -> None:
    _, out = first_run
    ws = load_workbook(out)["Clients"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0][0] == "Contracts of Acme"
    # New columns at the right end of the header row; no partner column (one partner).
    assert rows[1] == [
        "Client", "Client Name", "Product", "Term", "Licences", "Start", "Sales rep",
        "auto_renew", "ref",
    ]  # fmt: skip
    assert rows[2][:7] == ["C1", "First", "AD360", "1", 10, dt.datetime(2025, 1, 1), "Ann"]
    assert rows[3] == [
        "C2", HYPERLINK, "AD360", "1", 5, dt.datetime(2026, 1, 1), None, "yes", "R1",
    ]  # fmt: skip
    assert rows[4] == [
        "C3", "<script>", "AD360", "monthly", 7, dt.datetime(2026, 2, 1), None, None, None,
    ]  # fmt: skip
    assert ws["B4"].data_type == "s"
    assert ws["F4"].is_date and ws["F4"].number_format == "dd/mm/yyyy"  # the column's own style
    assert ws["H2"].value == "auto_renew"
    assert ws.max_row == 5


def test_text_from_input_is_never_a_formula(first_run: tuple[Ledger, Path]) -> None:
    _, out = first_run
    found = formulas(out)
    assert found == ["<f>SUM(A1:A3)"]
    assert not any("HYPERLINK" in f for f in found)
    status = load_workbook(out)["Status"]
    assert status["F2"].value == HYPERLINK and status["F2"].data_type == "s"


def test_sheet_autofilter_grows_with_new_rows_and_columns(first_run: tuple[Ledger, Path]) -> None:
    _, out = first_run
    wb = load_workbook(out)
    assert wb["Clients"].auto_filter.ref == "A2:I5"
    with zipfile.ZipFile(out) as z:
        workbook = z.read("xl/workbook.xml").decode()
    assert re.search(r"_xlnm._FilterDatabase[^>]*>'Clients'!\$A\$2:\$I\$5<", workbook)


def test_excel_table_grows_with_new_rows_and_columns(first_run: tuple[Ledger, Path]) -> None:
    _, out = first_run
    ws = load_workbook(out)["Pool"]
    table = ws.tables["PoolTable"]
    assert table.ref == "A1:F3"
    assert [c.name for c in table.tableColumns] == [
        "Date", "Product", "Term", "Quantity", "unit_price", "type",
    ]  # fmt: skip
    assert [c.value for c in ws[3]] == [
        dt.datetime(2026, 2, 1), "AD360", "1", 4, 12.5, "recovery",
    ]  # fmt: skip
    assert ws["A3"].is_date


def test_missing_ledger_sheet_is_created_with_canonical_headers(
    first_run: tuple[Ledger, Path],
) -> None:
    _, out = first_run
    ws = load_workbook(out)["Renewals"]
    assert [c.value for c in ws[1]] == BY_NAME["Renewals"].names
    assert ws["A1"].font.b is True
    assert [c.value for c in ws[2]][:4] == ["2026-02-r1", "2026-02", None, "C1"]


def test_computed_sheets_are_formatted(first_run: tuple[Ledger, Path]) -> None:
    _, out = first_run
    wb = load_workbook(out)
    ws = wb["Status"]
    assert [c.value for c in ws[1]] == [
        "product", "available", "price", "as_of", "share", "client_name",
    ]  # fmt: skip
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:F3"
    assert [c.value for c in ws[2]][:5] == ["AD360", 5, 1234.5, dt.datetime(2026, 2, 1), 0.075]
    assert [c.number_format for c in ws[2]][:5] == [
        "General", "#,##0", "#,##0.00", "yyyy-mm-dd", "0.00%",
    ]  # fmt: skip
    assert ws.column_dimensions["A"].width < ws.column_dimensions["F"].width <= 60
    assert len(ws._charts) == 1
    chart = ws._charts[0]
    assert chart.barDir == "col" and chart.grouping == "clustered"
    series = chart.series[0]
    assert series.val.numRef.f == "'Status'!$B$2:$B$3"
    assert series.cat.strRef.f == "'Status'!$A$2:$A$3"
    assert wb["Contracts"]["B2"].number_format == "yyyy-mm-dd"
    assert wb["Contracts"]["C2"].number_format == "#,##0"
    assert wb["Checks"]["B2"].value == "yes"


def test_second_run_replaces_computed_sheets(
    first_run: tuple[Ledger, Path], tmp_path: Path
) -> None:
    _, first = first_run
    ledger = user_ledger(first)
    clients = ledger.tables["Clients"]
    clients.letters |= {"auto_renew": "H", "ref": "I"}
    clients.headers |= {"auto_renew": "auto_renew", "ref": "ref"}
    renewals = BY_NAME["Renewals"].names
    ledger.tables["Renewals"] = make_table(
        "Renewals",
        "Renewals",
        first.name,
        1,
        {c: c for c in renewals},
        {c: chr(65 + i) for i, c in enumerate(renewals)},
        {"run": ["2026-02-r1"]},
    )
    out = tmp_path / "second.xlsx"
    write_workbook(
        ledger,
        out,
        appended={"Clients": new_clients().iloc[:1], "Renewals": new_renewals("2026-03-r1")},
        computed=computed(available=(9, 8)),
    )
    wb = load_workbook(out)
    assert wb.sheetnames == load_workbook(first).sheetnames
    assert wb["Status"]["B2"].value == 9
    assert len(wb["Status"]._charts) == 1
    assert [c.value for c in wb["Clients"][6]][:2] == ["C2", HYPERLINK]
    assert wb["Clients"]["H6"].value == "yes"
    assert [wb["Renewals"][f"A{r}"].value for r in (2, 3)] == ["2026-02-r1", "2026-03-r1"]
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert len([n for n in names if n.startswith("xl/charts/")]) == 1
        assert len([n for n in names if re.match(r"xl/drawings/drawing\d+\.xml$", n)]) == 1
        assert len(names) == len(set(names))
        assert z.testzip() is None
    assert formulas(out) == ["<f>SUM(A1:A3)"]


def test_every_reader_opens_the_output(first_run: tuple[Ledger, Path]) -> None:
    _, out = first_run
    book = CalamineWorkbook.from_path(str(out))
    assert "Status" in book.sheet_names
    rows = book.get_sheet_by_name("Clients").to_python()
    assert rows[3][1] == HYPERLINK
    frame = pd.read_excel(out, sheet_name="Clients", header=1, engine="calamine")
    assert frame["Client Name"].tolist() == ["First", HYPERLINK, "<script>"]


def test_input_is_left_as_it_was(tmp_path: Path) -> None:
    source = user_workbook(tmp_path / "ledger.xlsx")
    before = source.read_bytes()
    write_workbook(
        user_ledger(source),
        tmp_path / "out.xlsx",
        appended={"Clients": new_clients()},
        computed=computed(),
    )
    assert source.read_bytes() == before


def test_formatted_empty_rows_below_the_table_take_the_new_cells(tmp_path: Path) -> None:
    source = user_workbook(tmp_path / "ledger.xlsx")
    wb = load_workbook(source)
    for r in range(4, 8):  # a template formatted a few rows ahead
        wb["Clients"][f"A{r}"].font = Font(italic=True)
    wb.save(source)
    out = tmp_path / "out.xlsx"
    write_workbook(user_ledger(source), out, appended={"Clients": new_clients()}, computed=[])
    ws = load_workbook(out)["Clients"]
    assert [ws[f"A{r}"].value for r in range(3, 8)] == ["C1", "C2", "C3", None, None]
    assert ws["A6"].font.i is True  # the formatted rows beyond the new ones are kept


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        min_size=1,
        max_size=30,
    ).filter(lambda s: s.strip() == s and s != "")
)
def test_any_text_round_trips_as_text(tmp_path: Path, name: str) -> None:
    source = tmp_path / "ledger.xlsx"
    if not source.exists():
        user_workbook(source)
    frame = new_clients().iloc[:1].copy()
    frame["client_name"] = pd.Series([name], dtype="string")
    out = tmp_path / "out.xlsx"
    out.unlink(missing_ok=True)
    write_workbook(user_ledger(source), out, appended={"Clients": frame}, computed=[])
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Clients").to_python()
    assert rows[3][1] == name
    assert formulas(out) == ["<f>SUM(A1:A3)"]


def test_empty_ledger_sheet_gets_headers_and_rows(tmp_path: Path) -> None:
    source = user_workbook(tmp_path / "ledger.xlsx")
    wb = load_workbook(source)
    wb.create_sheet("Renewals")
    wb.save(source)
    ledger = user_ledger(source)
    renewals = empty_table(BY_NAME["Renewals"], source.name)
    renewals.present, renewals.sheet = True, "Renewals"
    ledger.tables["Renewals"] = renewals
    out = tmp_path / "out.xlsx"
    write_workbook(ledger, out, appended={"Renewals": new_renewals()}, computed=[])
    ws = load_workbook(out)["Renewals"]
    assert [c.value for c in ws[1]] == BY_NAME["Renewals"].names
    assert ws["A1"].font.b is True
    assert [c.value for c in ws[2]][:4] == ["2026-02-r1", "2026-02", None, "C1"]


def prefixed_without_addresses(xml: str) -> str:
    """The same sheet as some generators write it: ``x:`` prefix, no ``r`` on rows/cells."""
    xml = re.sub(r"<(/?)(?!\?)([A-Za-z]\w*)", r"<\1x:\2", xml)
    xml = xml.replace(
        'xmlns="http://schemas.openxmlformats.org', 'xmlns:x="http://schemas.openxmlformats.org', 1
    )
    return re.sub(r'(<x:(?:row|c)\b[^>]*?) r="[A-Z]*\d+"', r"\1", xml)


def test_prefixed_sheet_without_cell_addresses(tmp_path: Path) -> None:
    source = user_workbook(tmp_path / "ledger.xlsx")
    rewritten = tmp_path / "prefixed.xlsx"
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(rewritten, "w") as b:
        for info in a.infolist():
            data = a.read(info)
            if info.filename == "xl/worksheets/sheet4.xml":  # Clients
                data = prefixed_without_addresses(data.decode()).encode()
                assert b"<x:row>" in data
            b.writestr(info, data)
    out = tmp_path / "out.xlsx"
    write_workbook(user_ledger(rewritten), out, appended={"Clients": new_clients()}, computed=[])
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Clients").to_python()
    assert rows[1][7:] == ["auto_renew", "ref"]
    assert rows[2][:2] == ["C1", "First"]
    assert rows[3][:2] == ["C2", HYPERLINK]
    ws = load_workbook(out)["Clients"]
    assert ws["B4"].value == HYPERLINK and ws["F4"].is_date
    xml = sheet_xml(out)["xl/worksheets/sheet4.xml"]
    assert '<x:c r="B4" t="inlineStr"><x:is><x:t xml:space="preserve">=HYPERLINK' in xml


def test_control_characters_are_escaped_the_excel_way(tmp_path: Path) -> None:
    source = user_workbook(tmp_path / "ledger.xlsx")
    name = "a\rb\x01c_x0041_d\te\nf  "
    frame = new_clients().iloc[:1].copy()
    frame["client_name"] = pd.Series([name], dtype="string")
    out = tmp_path / "out.xlsx"
    write_workbook(user_ledger(source), out, appended={"Clients": frame}, computed=[])
    assert "a_x000D_b_x0001_c_x005F_x0041_d" in sheet_xml(out)["xl/worksheets/sheet4.xml"]
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Clients").to_python()
    assert rows[3][1] == name  # a reader that decodes _xHHHH_ (as Excel does) gets it back


class _Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek back in: it writes data descriptors."""

    def __init__(self, raw: io.BufferedWriter) -> None:
        self.raw = raw

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        return self.raw.write(data)  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", ["stored", "data-descriptor"])
def test_zip_layouts_are_copied_faithfully(tmp_path: Path, layout: str) -> None:
    source = user_workbook(tmp_path / "ledger.xlsx")
    rezipped = tmp_path / "rezipped.xlsx"
    with zipfile.ZipFile(source) as a, open(rezipped, "wb") as raw:
        stream = raw if layout == "stored" else _Unseekable(raw)
        method = zipfile.ZIP_STORED if layout == "stored" else zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(stream, "w", method) as b:
            for info in a.infolist():
                with b.open(info.filename, "w") as w:
                    w.write(a.read(info))
    out = tmp_path / "out.xlsx"
    write_workbook(user_ledger(rezipped), out, appended={"Clients": new_clients()}, computed=[])
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
    wb = load_workbook(out)
    assert wb["Notes"]["A4"].value == "=SUM(A1:A3)"
    assert wb["Clients"]["B4"].value == HYPERLINK


# ---------------------------------------------------------------- CSV input


def csv_ledger(folder: Path) -> Ledger:
    return ledger_of(
        folder,
        "csv",
        {
            "Partners": make_table(
                "Partners",
                "partners",
                "partners.csv",
                1,
                {c: c for c in ("partner", "name", "provider")},
                {"partner": "A", "name": "B", "provider": "C"},
                {"partner": ["P1"], "name": ["Café €"], "provider": ["WatchGuard"]},
            ),
            "Clients": make_table(
                "Clients",
                "clients",
                "clients.csv",
                1,
                {
                    "client": "Client",
                    "client_name": "Client Name",
                    "licences": "Licences",
                    "start": "Start",
                },
                {"client": "A", "client_name": "B", "licences": "D", "start": "E"},
                {
                    "client": ["C1"],
                    "client_name": ["Crème"],
                    "licences": [10],
                    "start": ["2025-01-01"],
                },
                {"Sales rep": ["Zoë"]},
            ),
        },
    )


def csv_folder(folder: Path) -> Path:
    folder.mkdir()
    (folder / "partners.csv").write_bytes(
        "partner;name;provider\r\nP1;Café €;WatchGuard\r\n".encode("cp1252")
    )
    (folder / "clients.csv").write_bytes(
        "Client;Client Name;Sales rep;Licences;Start\r\nC1;Crème;Zoë;10;2025-01-01\r\n".encode(
            "cp1252"
        )
    )
    (folder / "README.txt").write_bytes(b"notes\n")
    return folder


def test_csv_ledger_becomes_a_workbook(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path / "ledger")
    out = tmp_path / "out.xlsx"
    new = new_clients().drop(columns=["product", "term"])
    write_workbook(
        csv_ledger(folder),
        out,
        appended={"Clients": new, "Renewals": new_renewals()},
        computed=computed(),
    )
    wb = load_workbook(out)
    assert wb.sheetnames == ["Partners", "Clients", "Renewals", "Status", "Contracts", "Checks"]
    rows = [[c.value for c in r] for r in wb["Clients"].iter_rows()]
    assert rows[0] == [
        "Client", "Client Name", "Sales rep", "Licences", "Start", "auto_renew", "ref",
    ]  # fmt: skip
    assert rows[1] == ["C1", "Crème", "Zoë", 10, dt.datetime(2025, 1, 1), None, None]
    assert rows[2] == ["C2", HYPERLINK, None, 5, dt.datetime(2026, 1, 1), "yes", "R1"]
    assert wb["Clients"]["E2"].number_format == "yyyy-mm-dd"
    assert wb["Partners"]["B2"].value == "Café €"
    assert len(wb["Status"]._charts) == 1
    assert not any("HYPERLINK" in f for f in formulas(out))


def test_csv_folder_appends_in_the_files_dialect(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path / "ledger")
    target = tmp_path / "out"
    new = new_clients().drop(columns=["product", "term", "auto_renew", "ref"])
    new.loc[1, "client_name"] = "-5 devices"
    write_csv_folder(
        csv_ledger(folder), target, appended={"Clients": new, "Renewals": new_renewals()}
    )
    original = (folder / "clients.csv").read_bytes()
    written = (target / "clients.csv").read_bytes()
    assert written.startswith(original)
    added = written[len(original) :].decode("cp1252")
    assert added.split("\r\n") == [
        'C2;"\'=HYPERLINK(""http://x"",""y"")";;5;2026-01-01',
        "C3;'-5 devices;;7;2026-02-01",
        "",
    ]
    assert (target / "partners.csv").read_bytes() == (folder / "partners.csv").read_bytes()
    assert (target / "README.txt").read_bytes() == b"notes\n"
    # A new file is UTF-8 (SPEC §11), with a BOM as the folder is not plain UTF-8.
    renewals = (target / "renewals.csv").read_bytes().decode("utf-8").split("\r\n")
    assert renewals[0] == "\ufeff" + ";".join(BY_NAME["Renewals"].names)
    assert renewals[1].startswith("2026-02-r1;2026-02;;C1;")
    assert sorted(p.name for p in folder.iterdir()) == ["README.txt", "clients.csv", "partners.csv"]


def test_csv_folder_adds_a_missing_column(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path / "ledger")
    target = tmp_path / "out"
    new = new_clients().drop(columns=["product", "term", "auto_renew"]).iloc[:1]
    write_csv_folder(csv_ledger(folder), target, appended={"Clients": new})
    lines = (target / "clients.csv").read_bytes().decode("cp1252").split("\r\n")
    assert lines[0] == "Client;Client Name;Sales rep;Licences;Start;ref"
    assert lines[1] == "C1;Crème;Zoë;10;2025-01-01;"
    assert lines[2].endswith(";;5;2026-01-01;R1")


def test_csv_folder_keeps_bom_and_line_endings(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path / "ledger")
    clients = "\ufeffClient,Client Name,Sales rep,Licences,Start\nC1,Crème,Zoë,10,2025-01-01"
    (folder / "clients.csv").write_bytes(clients.encode("utf-8"))  # BOM, LF, no final newline
    target = tmp_path / "out"
    new = new_clients().drop(columns=["product", "term", "auto_renew", "ref"]).iloc[1:]
    write_csv_folder(csv_ledger(folder), target, appended={"Clients": new})
    written = (target / "clients.csv").read_bytes()
    assert written == (clients + "\nC3,<script>,,7,2026-02-01\n").encode("utf-8")


# ---------------------------------------------------------------- removing rows (--redo)

REDO_COLUMNS = ["run", "month", "client", "renewed"]
MONTHS = ("2026-01", "2026-02", "2026-03")


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


def redone_renewals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run": pd.Series(["2026-02-r2", "2026-02-r2"], dtype="string"),
            "month": pd.Series(["2026-02", "2026-02"], dtype="string"),
            "client": pd.Series(["CX", "CY"], dtype="string"),
            "renewed": pd.Series([7, 8], dtype="Int64"),
        }
    )


def values(ws: object, first: int, last: int, width: int = 4) -> list[list[object]]:
    return [[ws.cell(r, c).value for c in range(1, width + 1)] for r in range(first, last + 1)]  # type: ignore[attr-defined]


@pytest.fixture(params=[None, 97], ids=["chunk-1MB", "chunk-97B"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also run with tiny read chunks: piece boundaries then fall inside rows and formulas."""
    if request.param:
        monkeypatch.setattr(xlsxpatch, "CHUNK", request.param)


@pytest.mark.parametrize(
    ("title", "table"),
    [(True, False), (False, True), (True, True)],
    ids=["filter", "table", "both"],
)
def test_redo_removes_a_month_and_appends_below(
    tmp_path: Path, title: bool, table: bool, chunk: None
) -> None:
    source = redo_workbook(tmp_path / "ledger.xlsx", title=title, table=table)
    ledger = redo_ledger(source, title=title)
    h = 2 if title else 1
    out = tmp_path / "out.xlsx"
    write_workbook(
        ledger,
        out,
        appended={"Renewals": redone_renewals()},
        computed=computed(),
        removed={"Renewals": [h + 6, h + 4, h + 5], "Exchanges": [3]},  # any order
    )
    wb = load_workbook(out)
    ws = wb["Renewals"]
    assert [c.value for c in ws[h]][:4] == REDO_COLUMNS
    if title:
        assert ws["A1"].value == "Renewals of Acme"
    kept = [
        [f"{m}-r1", m, f"C{k}{i}", 10 * (k + 1) + i]
        for k, m in ((0, "2026-01"), (2, "2026-03"))
        for i in range(3)
    ]
    assert values(ws, h + 1, h + 8) == [
        *kept,
        ["2026-02-r2", "2026-02", "CX", 7],
        ["2026-02-r2", "2026-02", "CY", 8],
    ]
    assert ws.max_row == h + 8
    # The merge beside a removed row goes; the one beside a moved row moves with it.
    merges = sorted(str(r) for r in ws.merged_cells.ranges)
    assert merges == sorted([f"F{h + 5}:G{h + 5}"] + (["A1:D1"] if title else []))
    assert ws[f"F{h + 5}"].value == "checked"
    assert "goes" not in [c.value for row in ws.iter_rows() for c in row]
    # Formula text is not rewritten (documented): it moved with its row.
    assert ws[f"E{h + 6}"].value == f"=D{h + 9}*2"
    xml = sheet_xml(out)["xl/worksheets/sheet2.xml"]
    assert re.search(rf'<dimension ref="A1:G{h + 8}"\s*/>', xml)
    if table:
        assert ws.tables["RenewalsTable"].ref == f"A{h}:D{h + 8}"
        assert ws.tables["RenewalsTable"].autoFilter.ref == f"A{h}:D{h + 8}"
    else:
        assert ws.auto_filter.ref == f"A{h}:D{h + 8}"
        with zipfile.ZipFile(out) as z:
            workbook = z.read("xl/workbook.xml").decode()
        assert re.search(rf"_xlnm._FilterDatabase[^>]*>'Renewals'!\$A\${h}:\$D\${h + 8}<", workbook)
    ex = wb["Exchanges"]
    assert ex.max_row == 3
    assert [c.value for c in ex[3]] == [dt.datetime(2026, 3, 1), 102, "2026-03-r1"]
    # The sheets the run does not touch are copied byte for byte.
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(out) as b:
        for name in ("xl/worksheets/sheet1.xml", "xl/theme/theme1.xml", "docProps/core.xml"):
            assert a.read(name) == b.read(name)
    frame = pd.read_excel(out, sheet_name="Renewals", header=h - 1, engine="calamine")
    assert frame["client"].tolist() == ["C00", "C01", "C02", "C20", "C21", "C22", "CX", "CY"]


def test_redo_of_the_last_month_without_new_rows(tmp_path: Path) -> None:
    source = redo_workbook(tmp_path / "ledger.xlsx", title=False, table=True)
    out = tmp_path / "out.xlsx"
    write_workbook(
        redo_ledger(source, title=False),
        out,
        appended={"Renewals": redone_renewals().iloc[:0]},
        computed=[],
        removed={"Renewals": [8, 9, 10]},
    )
    ws = load_workbook(out)["Renewals"]
    assert ws.max_row == 7
    assert ws["C7"].value == "C12"
    assert ws.tables["RenewalsTable"].ref == "A1:D7"
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["F5:G5"]


def test_removing_every_data_row_keeps_one_table_row(tmp_path: Path) -> None:
    source = redo_workbook(tmp_path / "ledger.xlsx", title=False, table=True)
    out = tmp_path / "out.xlsx"
    ledger = redo_ledger(source, title=False)
    write_workbook(ledger, out, appended={}, computed=[], removed={"Renewals": range(2, 11)})
    ws = load_workbook(out)["Renewals"]
    assert [c.value for c in ws[1]][:4] == REDO_COLUMNS
    assert ws.max_row == 1
    assert ws.tables["RenewalsTable"].ref == "A1:D2"  # Excel keeps one empty table row
    assert not ws.merged_cells.ranges
    xml = sheet_xml(out)["xl/worksheets/sheet2.xml"]
    assert "<mergeCells" not in xml


def test_a_table_with_a_totals_row_moves_up(tmp_path: Path) -> None:
    source = tmp_path / "ledger.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.title = "Renewals"
    ws.append(REDO_COLUMNS)
    for i in range(9):
        ws.append(["2026-01-r1", "2026-01", f"C{i}", i])
    ws.append(["Total", None, None, "=SUBTOTAL(109,[renewed])"])
    table = XlTable(displayName="RenewalsTable", ref="A1:D11", totalsRowCount=1)
    table.autoFilter = AutoFilter(ref="A1:D10")
    ws.add_table(table)
    wb.save(source)
    ledger = ledger_of(
        source,
        "xlsx",
        {
            "Renewals": make_table(
                "Renewals",
                "Renewals",
                source.name,
                1,
                {c: c for c in REDO_COLUMNS},
                {c: "ABCD"[i] for i, c in enumerate(REDO_COLUMNS)},
                {"client": [f"C{i}" for i in range(9)]},
            )
        },
    )
    out = tmp_path / "out.xlsx"
    write_workbook(ledger, out, appended={}, computed=[], removed={"Renewals": [5, 6, 7]})
    ws = load_workbook(out)["Renewals"]
    moved = ws.tables["RenewalsTable"]
    assert (moved.ref, moved.autoFilter.ref) == ("A1:D8", "A1:D7")
    assert [ws[f"C{r}"].value for r in range(2, 8)] == ["C0", "C1", "C2", "C6", "C7", "C8"]
    assert [ws["A8"].value, ws["D8"].value] == ["Total", "=SUBTOTAL(109,[renewed])"]


def test_removing_rows_drops_the_calc_chain(tmp_path: Path) -> None:
    source = redo_workbook(tmp_path / "ledger.xlsx", title=False, table=False)
    chained = tmp_path / "chained.xlsx"
    rel = (
        '<Relationship Id="rId99" Target="calcChain.xml" Type="http://schemas.openxmlformats.org'
        '/officeDocument/2006/relationships/calcChain"/></Relationships>'
    )
    override = (
        '<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.calcChain+xml"/></Types>'
    )
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(chained, "w") as b:
        for info in a.infolist():
            data = a.read(info)
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", rel.encode())
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", override.encode())
            b.writestr(info, data)
        b.writestr("xl/calcChain.xml", '<calcChain><c r="E10" i="2"/></calcChain>')
    out = tmp_path / "out.xlsx"
    ledger = redo_ledger(chained, title=False)
    write_workbook(ledger, out, appended={}, computed=[], removed={"Renewals": [5]})
    with zipfile.ZipFile(out) as z:
        assert "xl/calcChain.xml" not in z.namelist()
        assert b"calcChain" not in z.read("xl/_rels/workbook.xml.rels")
        assert b"calcChain" not in z.read("[Content_Types].xml")
    assert load_workbook(out)["Renewals"]["E9"].value == "=D10*2"


def test_no_removal_writes_the_same_bytes(tmp_path: Path) -> None:
    source = redo_workbook(tmp_path / "ledger.xlsx", title=True, table=False)
    ledger = redo_ledger(source, title=True)
    out = tmp_path / "before.xlsx"
    write_workbook(ledger, out, appended={"Renewals": redone_renewals()}, computed=computed())
    outs = [out.read_bytes()]
    nothing: list[dict[str, list[int]] | None] = [None, {}, {"Renewals": []}]
    for i, removed in enumerate(nothing):
        out = tmp_path / f"out{i}.xlsx"
        write_workbook(
            ledger,
            out,
            appended={"Renewals": redone_renewals()},
            computed=computed(),
            removed=removed,
        )
        outs.append(out.read_bytes())
    assert outs[1:] == outs[:1] * 3


PAD = "+0" * 60  # formula text longer than the tiny test chunk: a piece must end inside it


def shared_formula_sheet() -> bytes:
    """Renewals rows 2..10 with two shared formulas: E from E2, F from F5 (a removed row)."""
    rows = ['<row r="1">' + "".join(
        f'<c r="{col}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for col, name in zip("ABCD", REDO_COLUMNS, strict=True)
    ) + "</row>"]  # fmt: skip
    for r in range(2, 11):
        e = (
            f'<f t="shared" ref="E2:E10" si="0">D2*2{PAD}</f>'
            if r == 2
            else '<f t="shared" si="0"/>'
        )
        f = ""
        if r == 5:
            f = f'<c r="F5"><f t="shared" ref="F5:F10" si="1">D5+1</f><v>{r + 1}</v></c>'
        elif r > 5:
            f = f'<c r="F{r}"><f t="shared" si="1"/><v>{r + 1}</v></c>'
        rows.append(
            f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>run{r}</t></is></c>'
            f'<c r="D{r}"><v>{r}</v></c><c r="E{r}">{e}<v>{2 * r}</v></c>{f}</row>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<dimension ref="A1:F10"/><sheetData>' + "".join(rows) + "</sheetData>"
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        "</worksheet>"
    ).encode()


def test_shared_formulas_follow_their_rows(tmp_path: Path, chunk: None) -> None:
    source = redo_workbook(tmp_path / "ledger.xlsx", title=False, table=False)
    crafted = tmp_path / "shared.xlsx"
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(crafted, "w") as b:
        for info in a.infolist():
            data = a.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = shared_formula_sheet()
            b.writestr(info, data)
    out = tmp_path / "out.xlsx"
    ledger = redo_ledger(crafted, title=False)
    write_workbook(ledger, out, appended={}, computed=[], removed={"Renewals": [4, 5, 6]})
    xml = sheet_xml(out)["xl/worksheets/sheet2.xml"]
    assert f'<f t="shared" ref="E2:E7" si="0">D2*2{PAD}</f>' in xml
    assert 'si="1"' not in xml  # F5, the first cell of that formula, went
    ws = load_workbook(out)["Renewals"]
    assert [ws[f"A{r}"].value for r in range(2, 8)] == [f"run{r}" for r in (2, 3, 7, 8, 9, 10)]
    assert ws["E4"].value == f"=D4*2{PAD}"  # a shared formula follows its row
    assert [ws[f"F{r}"].value for r in range(4, 8)] == [8, 9, 10, 11]  # last values kept
    assert '<dimension ref="A1:F7"/>' in xml


def test_redo_on_a_prefixed_sheet_without_addresses(tmp_path: Path) -> None:
    source = redo_workbook(tmp_path / "ledger.xlsx", title=True, table=False)
    rewritten = tmp_path / "prefixed.xlsx"
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(rewritten, "w") as b:
        for info in a.infolist():
            data = a.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = prefixed_without_addresses(data.decode()).encode()
            b.writestr(info, data)
    out = tmp_path / "out.xlsx"
    write_workbook(
        redo_ledger(rewritten, title=True),
        out,
        appended={"Renewals": redone_renewals()},
        computed=[],
        removed={"Renewals": [6, 7, 8]},
    )
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Renewals").to_python()
    assert [r[2] for r in rows[2:]] == ["C00", "C01", "C02", "C20", "C21", "C22", "CX", "CY"]


def test_removing_rows_that_are_not_data_rows_fails(tmp_path: Path) -> None:
    source = redo_workbook(tmp_path / "ledger.xlsx", title=True, table=False)
    ledger = redo_ledger(source, title=True)
    for removed, message in (
        ({"Renewals": [2]}, "header row"),
        ({"Renewals": [40]}, "row 40 to remove is not in the sheet"),
        ({"Clients": [3]}, "no such sheet"),
    ):
        with pytest.raises(ValueError, match=message):
            write_workbook(ledger, tmp_path / "out.xlsx", appended={}, computed=[], removed=removed)


# ---------------------------------------------------------------- removing CSV records

REDO_CSV = (
    "run;month;client;renewed;note\r\n"  # 1
    '2026-01-r1;2026-01;C00;10;"two\r\nlines"\r\n'  # 2-3
    '2026-02-r1;2026-02;C10;20;"also\nsplit; with delimiter"\r\n'  # 4-5: removed
    "2026-02-r1;2026-02;C11;21;\r\n"  # 6: removed
    "2026-03-r1;2026-03;Zoë;30;ok\r\n"  # 7
)
EXCHANGES_CSV = "date;points;run\r\n2026-01-01;100;2026-01-r1\r\n2026-02-01;101;2026-02-r1"


def redo_csv_ledger(folder: Path) -> Ledger:
    folder.mkdir()
    (folder / "renewals.csv").write_bytes(REDO_CSV.encode("cp1252"))
    (folder / "exchanges.csv").write_bytes(EXCHANGES_CSV.encode("cp1252"))
    renewals = make_table(
        "Renewals",
        "renewals",
        "renewals.csv",
        1,
        {c: c for c in REDO_COLUMNS},
        {c: "ABCD"[i] for i, c in enumerate(REDO_COLUMNS)},
        {
            "run": ["2026-01-r1", "2026-02-r1", "2026-02-r1", "2026-03-r1"],
            "month": ["2026-01", "2026-02", "2026-02", "2026-03"],
            "client": ["C00", "C10", "C11", "Zoë"],
            "renewed": [10, 20, 21, 30],
        },
        {"note": ["two\r\nlines", "also\nsplit; with delimiter", "", "ok"]},
    )
    renewals.frame[ROW] = pd.array([2, 4, 6, 7], dtype="Int64")  # records spanning lines
    exchanges = make_table(
        "Exchanges",
        "exchanges",
        "exchanges.csv",
        1,
        {"date": "date", "points": "points", "run": "run"},
        {"date": "A", "points": "B", "run": "C"},
        {"date": ["2026-01-01", "2026-02-01"], "points": [100, 101], "run": ["a", "b"]},
    )
    return ledger_of(folder, "csv", {"Renewals": renewals, "Exchanges": exchanges})


def test_csv_redo_cuts_whole_records_and_appends(tmp_path: Path) -> None:
    ledger = redo_csv_ledger(tmp_path / "ledger")
    target = tmp_path / "out"
    write_csv_folder(
        ledger,
        target,
        appended={"Renewals": redone_renewals()},
        removed={"Renewals": [6, 4], "Exchanges": [3]},
    )
    lines = REDO_CSV.split("\r\n")
    expected = "\r\n".join([*lines[:3], lines[5]]) + "\r\n"
    expected += "2026-02-r2;2026-02;CX;7;\r\n2026-02-r2;2026-02;CY;8;\r\n"
    assert (target / "renewals.csv").read_bytes() == expected.encode("cp1252")
    assert (target / "exchanges.csv").read_bytes() == (
        b"date;points;run\r\n2026-01-01;100;2026-01-r1\r\n"
    )
    assert (tmp_path / "ledger" / "renewals.csv").read_bytes() == REDO_CSV.encode("cp1252")


def test_csv_redo_with_nothing_removed_is_unchanged(tmp_path: Path) -> None:
    ledger = redo_csv_ledger(tmp_path / "ledger")
    outs = []
    nothing: list[dict[str, list[int]] | None] = [None, {}, {"Renewals": []}]
    for i, removed in enumerate(nothing):
        target = tmp_path / f"out{i}"
        write_csv_folder(ledger, target, appended={"Renewals": redone_renewals()}, removed=removed)
        outs.append((target / "renewals.csv").read_bytes())
    assert outs[1:] == outs[:1] * 2
    assert outs[0] == REDO_CSV.encode("cp1252") + b"2026-02-r2;2026-02;CX;7;\r\n" + (
        b"2026-02-r2;2026-02;CY;8;\r\n"
    )


def test_csv_redo_refuses_lines_that_start_no_record(tmp_path: Path) -> None:
    ledger = redo_csv_ledger(tmp_path / "ledger")
    for i, (removed, message) in enumerate(
        (
            ({"Renewals": [5]}, "no record starts on line 5"),
            ({"Renewals": [1]}, "header line"),
            ({"Clients": [2]}, "no such file"),
        )
    ):
        with pytest.raises(ValueError, match=message):
            write_csv_folder(ledger, tmp_path / f"out{i}", appended={}, removed=removed)


def test_csv_ledger_workbook_leaves_removed_rows_out(tmp_path: Path) -> None:
    ledger = redo_csv_ledger(tmp_path / "ledger")
    out = tmp_path / "out.xlsx"
    write_workbook(
        ledger,
        out,
        appended={"Renewals": redone_renewals()},
        computed=[],
        removed={"Renewals": [4, 6]},
    )
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Renewals").to_python()
    assert rows == [
        [*REDO_COLUMNS, "note"],
        ["2026-01-r1", "2026-01", "C00", 10, "two\r\nlines"],  # calamine decodes _x000D_
        ["2026-03-r1", "2026-03", "Zoë", 30, "ok"],
        ["2026-02-r2", "2026-02", "CX", 7, ""],
        ["2026-02-r2", "2026-02", "CY", 8, ""],
    ]
    with pytest.raises(ValueError, match="row 5 to remove"):
        write_workbook(
            ledger, tmp_path / "x.xlsx", appended={}, computed=[], removed={"Renewals": [5]}
        )
