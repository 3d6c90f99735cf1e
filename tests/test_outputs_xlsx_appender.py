"""The row appender: rows removed (--redo) and appended; ranges and formulas follow."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table as XlTable
from python_calamine import CalamineWorkbook

from licreport.outputs.workbook import write_workbook
from licreport.outputs.xlsx import constants
from tests.workbooks import (
    REDO_COLUMNS,
    computed,
    ledger_of,
    make_table,
    prefixed_without_addresses,
    redo_ledger,
    redo_workbook,
    redone_renewals,
    sheet_xml,
)

# ---------------------------------------------------------------- removing rows (--redo)


def values(ws: object, first: int, last: int, width: int = 4) -> list[list[object]]:
    return [[ws.cell(r, c).value for c in range(1, width + 1)] for r in range(first, last + 1)]  # type: ignore[attr-defined]


@pytest.fixture(params=[None, 97], ids=["chunk-1MB", "chunk-97B"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also run with tiny read chunks: piece boundaries then fall inside rows and formulas."""
    if request.param:
        monkeypatch.setattr(constants, "CHUNK", request.param)


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
    # The formula moved with its row, and so did the row it points at (issue #16 point 4;
    # it kept =D{h + 9}*2 before, pointing 3 rows below its own).
    assert ws[f"E{h + 6}"].value == f"=D{h + 6}*2"
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
    assert load_workbook(out)["Renewals"]["E9"].value == "=D9*2"  # moved up with D10


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
