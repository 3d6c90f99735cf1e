"""The updated workbook and CSV folder: user's sheets kept, rows appended, computed sheets."""

from __future__ import annotations

import datetime as dt
import os
import re
import zipfile
from pathlib import Path
from typing import IO

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.styles import Font
from python_calamine import CalamineWorkbook

from licreport.ledger.model import Ledger, empty_table
from licreport.ledger.schema import BY_NAME, ROW
from licreport.outputs.csvout import write_csv_folder
from licreport.outputs.workbook import ComputedSheet, write_new_workbook, write_workbook
from licreport.outputs.xlsx import packager
from tests.workbooks import (
    HYPERLINK,
    REDO_COLUMNS,
    computed,
    ledger_of,
    make_table,
    new_clients,
    new_pool,
    new_renewals,
    prefixed_without_addresses,
    redone_renewals,
    sheet_xml,
    user_ledger,
    user_workbook,
)


@pytest.fixture
def first_run(tmp_path: Path) -> tuple[Ledger, Path]:
    source = user_workbook(tmp_path / "ledger.xlsx")
    ledger = user_ledger(source)
    out = tmp_path / "out.xlsx"
    appended = {"Clients": new_clients(), "Pool": new_pool(), "Renewals": new_renewals()}
    write_workbook(ledger, out, appended=appended, computed=computed())
    return ledger, out


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
    assert '<x:c r="B4" t="inlineStr"><x:is><x:t>=HYPERLINK' in xml


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


@pytest.mark.parametrize("dtype", ["string", "object"])
def test_only_texts_with_edge_whitespace_are_preserved(tmp_path: Path, dtype: str) -> None:
    # XlsxWriter's rule: xml:space="preserve" where Excel would otherwise trim the text.
    # "object" with a number among the names takes the value-by-value path.
    source = user_workbook(tmp_path / "ledger.xlsx")
    names = [" lead", "trail\t", "in  side", "plain", "\u00a0nbsp"]
    frame = pd.concat([new_clients().iloc[:1]] * len(names), ignore_index=True)
    frame["client"] = pd.Series([f"C{i}" for i in range(9, 9 + len(names))], dtype="string")
    if dtype == "object":
        frame["client_name"] = pd.Series([*names[:-1], 7], dtype=object)
        names[-1] = 7
    else:
        frame["client_name"] = pd.Series(names, dtype="string")
    out = tmp_path / "out.xlsx"
    write_workbook(user_ledger(source), out, appended={"Clients": frame}, computed=[])
    xml = sheet_xml(out)["xl/worksheets/sheet4.xml"]
    preserved = '<t xml:space="preserve">'
    assert f"{preserved} lead</t>" in xml and f"{preserved}trail\t</t>" in xml
    assert "<t>in  side</t>" in xml and "<t>plain</t>" in xml
    if dtype == "string":
        assert f"{preserved}\u00a0nbsp</t>" in xml
    ws = load_workbook(out)["Clients"]
    assert [ws.cell(r, 2).value for r in range(4, 4 + len(names))] == names


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


def test_csv_folder_never_changes_a_header(tmp_path: Path) -> None:
    """SPEC §11: the file has no `ref` column; the header and old records stay as they
    are, the new record leaves the ref out, and the warning says so."""
    folder = csv_folder(tmp_path / "ledger")
    target = tmp_path / "out"
    new = new_clients().drop(columns=["product", "term", "auto_renew"]).iloc[:1]
    warned: list[str] = []
    write_csv_folder(csv_ledger(folder), target, appended={"Clients": new}, warn=warned.append)
    lines = (target / "clients.csv").read_bytes().decode("cp1252").split("\r\n")
    assert lines[0] == "Client;Client Name;Sales rep;Licences;Start"
    assert lines[1] == "C1;Crème;Zoë;10;2025-01-01"
    assert lines[2].endswith(";;5;2026-01-01")
    assert warned == [
        "clients.csv has no ref column, so the 1 row(s) added do not record it (the header "
        "line is never changed); add the column to its header to keep it"
    ]


def test_csv_folder_keeps_bom_and_line_endings(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path / "ledger")
    clients = "\ufeffClient,Client Name,Sales rep,Licences,Start\nC1,Crème,Zoë,10,2025-01-01"
    (folder / "clients.csv").write_bytes(clients.encode("utf-8"))  # BOM, LF, no final newline
    target = tmp_path / "out"
    new = new_clients().drop(columns=["product", "term", "auto_renew", "ref"]).iloc[1:]
    write_csv_folder(csv_ledger(folder), target, appended={"Clients": new})
    written = (target / "clients.csv").read_bytes()
    assert written == (clients + "\nC3,<script>,,7,2026-02-01\n").encode("utf-8")


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


def test_dates_after_2192_are_written_as_their_serials() -> None:
    """The nanoseconds from Excel's epoch (1899-12-30) to a date after 2192 do not fit in
    int64: such a column (a contract's end in 2193, found by the fuzz test) is written with
    the serial Excel gives, as are times of day and blanks beside it."""
    import datetime as dt

    from licreport.outputs.xlsx.cells import DATE, column_cells

    days = [dt.date(2193, 1, 1), dt.date(2262, 4, 10), dt.date(1900, 3, 1)]
    values = pd.Series([pd.Timestamp(d) for d in days] + [pd.NaT])
    cells = column_cells(values, "H", [2, 3, 4, 5], {DATE: 3}).to_pylist()
    want = [(d - dt.date(1899, 12, 30)).days for d in days]
    shown = [f'<c r="H{r}" s="3"><v>{n}</v></c>' for r, n in zip((2, 3, 4), want, strict=True)]
    assert cells == [*shown, ""]
    with_time = pd.Series([pd.Timestamp("2200-01-01 06:00"), pd.Timestamp("2026-12-01 18:00")])
    serials = [(pd.Timestamp(t) - pd.Timestamp("1899-12-30")) for t in ("2200-01-01", "2026-12-01")]
    got = column_cells(with_time, "A", [1, 2], {DATE: 3}).to_pylist()
    assert got == [
        f'<c r="A1" s="3"><v>{serials[0].days + 0.25!r}</v></c>',
        f'<c r="A2" s="3"><v>{serials[1].days + 0.75!r}</v></c>',
    ]


# ---------------------------------------------------------------- the largest sheet, apart


def test_the_largest_new_sheet_is_written_by_a_second_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new sheet with the most cells is rendered by a forked child and copied in as the
    last entry: the same bytes as when one process writes everything."""
    source = user_workbook(tmp_path / "ledger.xlsx")
    appended = {"Clients": new_clients(), "Pool": new_pool(), "Renewals": new_renewals()}
    monkeypatch.setattr(packager, "APART_CELLS", 2)
    writers: list[int] = []
    alone = packager.write_alone

    def recorded(side: IO[bytes], name: str, content: packager.Content) -> object:
        writers.append(os.getpid())
        (tmp_path / "writer").write_text(f"{os.getpid()} {name}")  # seen from the child too
        return alone(side, name, content)

    monkeypatch.setattr(packager, "write_alone", recorded)
    two = tmp_path / "two.xlsx"
    write_workbook(user_ledger(source), two, appended=appended, computed=computed())
    pid, part = (tmp_path / "writer").read_text().split()
    assert int(pid) != os.getpid() and not writers  # written in the child only
    with zipfile.ZipFile(two) as z:
        assert z.namelist()[-1] == part == "xl/worksheets/sheet7.xml"  # Status: 12 cells
        assert z.testzip() is None

    monkeypatch.setattr(packager, "in_two", lambda mine, theirs, fork: (mine(), theirs()))
    one = tmp_path / "one.xlsx"
    write_workbook(user_ledger(source), one, appended=appended, computed=computed())
    assert writers == [os.getpid()]
    assert one.read_bytes() == two.read_bytes()
    assert load_workbook(two)["Status"]["B2"].value == 5


def test_a_part_written_apart_is_checked_and_its_errors_raised_here(tmp_path: Path) -> None:
    source = user_workbook(tmp_path / "ledger.xlsx")
    with zipfile.ZipFile(source) as zin:
        pkg = packager.Package(zin)
        pkg.add_sheet("Broken", lambda out: out.write(b"<worksheet><a></worksheet>"), cells=10**6)
        with open(tmp_path / "out.xlsx", "wb") as fp:
            pkg.write(fp)
        part = "xl/worksheets/sheet6.xml"
        assert f"{part} is not well-formed XML (mismatched tag" in str(pkg.checked[part])

        def fails(out: IO[bytes]) -> None:
            raise ValueError("cannot render")

        pkg = packager.Package(zin)
        pkg.add_sheet("Fails", fails, cells=10**6)
        with open(tmp_path / "out2.xlsx", "wb") as fp, pytest.raises(ValueError, match="render"):
            pkg.write(fp)


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["a", "", None, " lead", "trail\u2029", "x & <y>", "c\x01_x0041_", "s\udc80"]),
        pd.Series(["plain", pd.NA, "\u3000wide", "in  side"], dtype="string"),
        pd.Series([3, None, -12, 10**15], dtype="Int64"),
        pd.Series([7, 0, 250]),
        pd.Series(pd.to_datetime(["2026-12-01", None, "1900-03-01", "2262-04-10"])),
    ],
)
def test_cells_joined_by_arrow_are_the_cells_rendered_one_by_one(values: pd.Series) -> None:
    """`column_cells` joins the common dtypes' cells with Arrow: the same text as each
    value rendered on its own (`lexical` + `render_cells`), blanks as "", a lone surrogate
    as "?" (as the rows' UTF-8 encoding with "replace" wrote it), edge whitespace with
    xml:space="preserve"."""
    from licreport.outputs.xlsx.cells import (
        DATE,
        NUMBER,
        TEXT,
        column_cells,
        lexical,
        render_cells,
    )

    styles = {DATE: 3, NUMBER: 2, TEXT: 0}
    rows = list(range(5, 5 + len(values)))
    got = column_cells(values, "AB", rows, styles, "x:").to_pylist()
    one_by_one = render_cells(lexical(values), "AB", rows, styles, "x:")
    assert got == [c.encode("utf-8", "replace").decode("utf-8") for c in one_by_one]
    if values.dtype == object:
        assert got[0] == '<x:c r="AB5" t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c>'
        assert got[1:3] == ["", ""]
        preserved = '<x:t xml:space="preserve"> lead</x:t>'
        assert got[3] == f'<x:c r="AB8" t="inlineStr"><x:is>{preserved}</x:is></x:c>'
        assert "x &amp; &lt;y&gt;" in got[5] and "c_x0001__x005F_x0041_" in got[6]
        assert "<x:t>s?</x:t>" in got[7]


def test_a_new_workbook_holds_only_its_sheets_typed_as_asked(tmp_path: Path) -> None:
    """`write_new_workbook` (the match workbook): the sheets in order, text always text
    (a formula, a number or a link written as text stays text), whole numbers and money
    with their formats, blanks blank, a bold frozen header and a filter over every row."""
    from decimal import Decimal

    frame = pd.DataFrame(
        {
            "client": ['=HYPERLINK("http://evil")', "0012", None],
            "devices": pd.array([3, None, 1_234], dtype="Int64"),
            "impact": [Decimal("4.20"), None, Decimal("-1234.50")],
        }
    )
    target = tmp_path / "new.xlsx"
    write_new_workbook(
        target,
        [
            ComputedSheet("First", frame, {"client": "text", "devices": "int", "impact": "money"}),
            ComputedSheet("Second", frame.iloc[:0], {"client": "text"}),
        ],
    )
    wb = load_workbook(target)
    assert wb.sheetnames == ["First", "Second"]
    ws = wb["First"]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["client", "devices", "impact"],
        ['=HYPERLINK("http://evil")', 3, 4.2],
        ["0012", None, None],
        [None, 1234, -1234.5],
    ]
    assert ws["A2"].data_type == "s" and ws["A3"].data_type == "s"
    assert (ws["B2"].number_format, ws["C2"].number_format) == ("#,##0", "#,##0.00")
    assert ws["A1"].font.b and ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:C4"
    assert [c.value for c in wb["Second"][1]] == ["client", "devices", "impact"]
