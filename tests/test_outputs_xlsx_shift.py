"""--redo: what points into removed ledger rows moves with them, becomes #REF!, or stops the run.

The Renewals sheet of `redo_workbook` (no title row): header in row 1, 2026-01 in
rows 2-4, 2026-02 in rows 5-7 (removed), 2026-03 in rows 8-10 (moved up to 5-7).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from licreport.outputs.workbook import write_workbook
from licreport.outputs.xlsx.rowmap import RowMap
from licreport.outputs.xlsx.shift import (
    Unshiftable,
    shift_defined_names,
    shift_formula,
    shift_pivot_source,
    shift_sqref,
    shifts_of,
)
from tests.workbooks import redo_ledger, redo_workbook, redone_renewals

FEBRUARY = [5, 6, 7]
SHIFTS = {"renewals": RowMap(FEBRUARY)}


@pytest.mark.parametrize(
    ("formula", "own", "expected"),
    [
        ("D8*2", "Renewals", "D5*2"),  # below the removed rows: moves up 3
        ("$D$10", "Renewals", "$D$7"),  # $ does not pin a row against deletion (Excel)
        ("D3+D4", "Renewals", "D3+D4"),  # above: stays
        ("D6", "Renewals", "#REF!"),  # into a removed row
        ("SUM(D2:D10)", "Renewals", "SUM(D2:D7)"),  # the range loses its removed rows
        ("SUM(D5:D7)", "Renewals", "SUM(#REF!)"),  # every row of it removed
        ("SUM(D:D)+COUNT(4:9)", "Renewals", "SUM(D:D)+COUNT(4:6)"),  # rows shrink too
        ("Renewals!D9", "Notes", "Renewals!D6"),  # from another sheet, qualified
        ("'renewals'!$D$6", None, "'renewals'!#REF!"),  # sheet names ignore case
        ("D9", "Notes", "D9"),  # unqualified in another sheet: its own rows
        ('IF(A9="D9",D9,"x D9")', "Renewals", 'IF(A6="D9",D6,"x D9")'),  # text is text
        ("Notes!D9+MyName", "Renewals", "Notes!D9+MyName"),
    ],
)
def test_references_after_the_deletion(formula: str, own: str | None, expected: str) -> None:
    assert shift_formula(formula, SHIFTS, own) == expected


def test_a_3d_reference_across_the_removed_rows_stops_the_run() -> None:
    """Jan:Mar!D9 means D9 on every sheet from Jan to Mar; Excel does not move it when
    rows of one of them go, so its rows would no longer line up: refused."""
    order = ["Jan", "Renewals", "Mar", "Notes"]
    shifts = shifts_of({"Renewals": RowMap(FEBRUARY)}, order)
    with pytest.raises(Unshiftable, match=r"3-D reference Jan:Mar!D9 spans the sheet 'Renewals'"):
        shift_formula("SUM(Jan:Mar!D9)", shifts, "Notes")
    with pytest.raises(Unshiftable, match="3-D reference"):  # the end named in reverse order
        shift_formula("SUM('Mar:Jan'!D2:D4)", shifts, None)
    # A span without the sheet, or whole columns (no row to move), stays as written.
    assert shift_formula("SUM(Mar:Notes!D9)", shifts, None) == "SUM(Mar:Notes!D9)"
    assert shift_formula("SUM(Jan:Mar!D:D)", shifts, None) == "SUM(Jan:Mar!D:D)"


PIVOT_CACHE = (
    b'<pivotCacheDefinition xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'refreshOnLoad="1" recordCount="9"><cacheSource type="worksheet">'
    b'<worksheetSource ref="A1:F10" sheet="Renewals"/></cacheSource>'
    b'<cacheFields count="0"/></pivotCacheDefinition>'
)


def test_pivot_cache_sources_lose_the_removed_rows() -> None:
    shifts = shifts_of({"Renewals": RowMap(FEBRUARY)})
    out = shift_pivot_source(PIVOT_CACHE, shifts)
    assert out == PIVOT_CACHE.replace(b'ref="A1:F10"', b'ref="A1:F7"')
    other = PIVOT_CACHE.replace(b'sheet="Renewals"', b'sheet="Notes"')
    assert shift_pivot_source(other, shifts) == other
    named = PIVOT_CACHE.replace(b'ref="A1:F10" sheet="Renewals"', b'name="AllRenewed"')
    assert shift_pivot_source(named, shifts) == named  # a name moves with the name
    only = PIVOT_CACHE.replace(b'ref="A1:F10"', b'ref="A5:F7"')
    with pytest.raises(Unshiftable, match=r"pivot table: its source Renewals!A5:F7 is only rows"):
        shift_pivot_source(only, shifts)


def test_sqref_ranges_shrink_and_go() -> None:
    rows = RowMap(FEBRUARY)
    assert shift_sqref("D2:D10 F6 B8", rows) == "D2:D7 B5"
    assert shift_sqref("D5:D7", rows) == ""


def test_defined_names_move() -> None:
    xml = (
        b'<workbook><definedNames><definedName name="All">Renewals!$D$2:$D$10</definedName>'
        b'<definedName name="Feb">Renewals!$D$5:$D$7</definedName>'
        b'<definedName name="Other">Notes!$A$9</definedName></definedNames></workbook>'
    )
    out = shift_defined_names(xml, SHIFTS)
    assert b">Renewals!$D$2:$D$7<" in out
    assert b">Renewals!#REF!<" in out
    assert b">Notes!$A$9<" in out


def redo_with_names_and_formats(path: Path, extra: object = None) -> Path:
    """`redo_workbook` with names, conditional formats, a validation and formulas that point
    into the Renewals rows (and a chart-free Notes sheet pointing there too)."""
    redo_workbook(path, title=False, table=False)
    wb = load_workbook(path)
    ws = wb["Renewals"]
    wb.defined_names["AllRenewed"] = DefinedName("AllRenewed", attr_text="Renewals!$D$2:$D$10")
    wb.defined_names["March"] = DefinedName("March", attr_text="Renewals!$D$8:$D$10")
    wb.defined_names["February"] = DefinedName("February", attr_text="Renewals!$D$5:$D$7")
    red = PatternFill("solid", fgColor="FFC7CE")
    ws.conditional_formatting.add("D2:D10", FormulaRule(formula=["$D2>20"], fill=red))
    ws.conditional_formatting.add("A8:A10", FormulaRule(formula=["$D$9>0"], fill=red))
    ws.conditional_formatting.add("C5:C7", FormulaRule(formula=["TRUE"], fill=red))
    dv = DataValidation(type="whole", operator="greaterThan", formula1="$D$2")
    dv.add("D2:D10")
    ws.add_data_validation(dv)
    ws["H3"] = "=SUM(D8:D10)"
    notes = wb["Notes"]
    notes["B1"] = "=SUM(Renewals!D8:D10)"
    notes["B2"] = "=Renewals!D6"
    notes["B3"] = "=Renewals!D3"
    if callable(extra):
        extra(wb)
    wb.save(path)
    return path


def test_redo_shifts_names_formats_validations_and_formulas(tmp_path: Path) -> None:
    source = redo_with_names_and_formats(tmp_path / "ledger.xlsx")
    out = tmp_path / "out.xlsx"
    ledger = redo_ledger(source, title=False)
    write_workbook(
        ledger,
        out,
        appended={"Renewals": redone_renewals()},
        computed=[],
        removed={"Renewals": FEBRUARY},
    )
    wb = load_workbook(out)
    names = {n: wb.defined_names[n].attr_text for n in ("AllRenewed", "March", "February")}
    assert names == {
        "AllRenewed": "Renewals!$D$2:$D$7",
        "March": "Renewals!$D$5:$D$7",  # rows 8-10 are now 5-7
        "February": "Renewals!#REF!",  # every row of it removed, as Excel shows it
    }
    ws = wb["Renewals"]
    rules = {str(cf.sqref): [r.formula for r in cf.rules] for cf in ws.conditional_formatting}
    # D2:D10 -> D2:D7 (the appended rows 8-9 are not formatted, as Excel would not either);
    # $D$9 moved to $D$6; the format over the removed rows C5:C7 went with them
    assert rules == {"D2:D7": [["$D2>20"]], "A5:A7": [["$D$6>0"]]}
    (dv,) = ws.data_validations.dataValidation
    assert str(dv.sqref) == "D2:D7" and dv.formula1 == "$D$2"
    assert ws["H3"].value == "=SUM(D5:D7)"
    notes = wb["Notes"]
    assert [notes[c].value for c in ("B1", "B2", "B3")] == [
        "=SUM(Renewals!D5:D7)",
        "=Renewals!#REF!",
        "=Renewals!D3",
    ]
    # the March rows are where the names and formulas now point
    assert [ws[f"B{r}"].value for r in (5, 6, 7)] == ["2026-03"] * 3


def with_pivot_cache(path: Path) -> Path:
    """`path` with a pivot cache over Renewals!A1:F10 (openpyxl cannot make pivot tables)."""
    copy = path.with_name("pivot-" + path.name)
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(copy, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/pivotCache/pivotCacheDefinition1.xml" '
                    b'ContentType="application/vnd.openxmlformats-officedocument.'
                    b'spreadsheetml.pivotCacheDefinition+xml"/></Types>',
                )
            zout.writestr(info, data)
        zout.writestr("xl/pivotCache/pivotCacheDefinition1.xml", PIVOT_CACHE)
    return copy


def test_redo_moves_a_pivot_caches_source(tmp_path: Path) -> None:
    source = with_pivot_cache(redo_with_names_and_formats(tmp_path / "ledger.xlsx"))
    out = tmp_path / "out.xlsx"
    write_workbook(
        redo_ledger(source, title=False), out, appended={"Renewals": redone_renewals()},
        computed=[], removed={"Renewals": FEBRUARY},
    )  # fmt: skip
    with zipfile.ZipFile(out) as z:
        cache = z.read("xl/pivotCache/pivotCacheDefinition1.xml")
    assert b'<worksheetSource ref="A1:F7" sheet="Renewals"/>' in cache


X14_MAIN = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM = "http://schemas.microsoft.com/office/excel/2006/main"
# Excel 2010's forms of a conditional format (B8:B10, comparing each row with $D$9) and of a
# list validation over the removed rows only (C5:C7), in the sheet's extLst.
X14_RULES = (
    f'<extLst><ext uri="{{78C0D931-6437-407d-A8EE-F0AAD7539E65}}" xmlns:x14="{X14_MAIN}">'
    f'<x14:conditionalFormattings><x14:conditionalFormatting xmlns:xm="{XM}">'
    '<x14:cfRule type="expression" priority="9" id="{00000000-0000-0000-0000-000000000001}">'
    "<xm:f>$D8&gt;$D$9</xm:f><x14:dxf/></x14:cfRule><xm:sqref>B8:B10</xm:sqref>"
    "</x14:conditionalFormatting></x14:conditionalFormattings></ext>"
    f'<ext uri="{{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}}" xmlns:x14="{X14_MAIN}">'
    f'<x14:dataValidations count="1" xmlns:xm="{XM}"><x14:dataValidation type="list">'
    "<x14:formula1><xm:f>Notes!$A$1:$A$3</xm:f></x14:formula1><xm:sqref>C5:C7</xm:sqref>"
    "</x14:dataValidation></x14:dataValidations></ext></extLst>"
).encode()


def with_links_chart_and_x14(path: Path) -> Path:
    """`redo_with_names_and_formats` plus hyperlinks on a removed row (A6) and a moved one
    (A9), a chart on Notes plotting Renewals!D2:D10, and X14_RULES on Renewals."""

    def extra(wb: object) -> None:
        ws = wb["Renewals"]  # type: ignore[index]
        ws["A6"].hyperlink = "https://example.com/february"
        ws["A9"].hyperlink = "https://example.com/march"
        chart = BarChart()
        chart.add_data(Reference(ws, min_col=4, min_row=2, max_row=10))
        wb["Notes"].add_chart(chart, "D2")  # type: ignore[index]

    source = redo_with_names_and_formats(path, extra)
    copy = path.with_name("x14-" + path.name)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(copy, "w") as zout:
        renewals = sheet_part(zin, "Renewals")
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == renewals:
                data = data.replace(b"</worksheet>", X14_RULES + b"</worksheet>")
            zout.writestr(info, data)
    return copy


def sheet_part(z: zipfile.ZipFile, name: str) -> str:
    wb = load_workbook(z.fp, read_only=True)  # type: ignore[arg-type]
    index = wb.sheetnames.index(name) + 1
    return f"xl/worksheets/sheet{index}.xml"


def test_redo_moves_hyperlinks_charts_and_excel_2010_rules(tmp_path: Path) -> None:
    source = with_links_chart_and_x14(tmp_path / "ledger.xlsx")
    out = tmp_path / "out.xlsx"
    write_workbook(
        redo_ledger(source, title=False), out, appended={"Renewals": redone_renewals()},
        computed=[], removed={"Renewals": FEBRUARY},
    )  # fmt: skip
    wb = load_workbook(out)
    ws = wb["Renewals"]
    # The link of removed row 6 went with it; row 9's moved up to row 6.
    assert {c: ws[c].hyperlink.target for c in ("A6",) if ws[c].hyperlink} == {
        "A6": "https://example.com/march"
    }
    assert ws["A9"].hyperlink is None
    with zipfile.ZipFile(out) as z:
        charts = [z.read(n) for n in z.namelist() if n.startswith("xl/charts/chart")]
        renewals = z.read(sheet_part(z, "Renewals"))
    # openpyxl writes the chart namespace as the default one: <f>, not <c:f>
    assert len(charts) == 1 and b"<f>'Renewals'!$D$2:$D$7</f>" in charts[0]
    # x14: the format's range and formula moved up 3 rows; the validation over the removed
    # rows only went, and with it its now empty extension.
    assert b"<xm:sqref>B5:B7</xm:sqref>" in renewals
    assert b"<xm:f>$D5&gt;$D$6</xm:f>" in renewals
    assert b"x14:dataValidation" not in renewals and b"C5:C7" not in renewals
    assert renewals.count(b"<ext ") == 1 and b"></ext>" in renewals
    assert b"<dataValidation " in renewals  # the plain one over D2:D7 stays


def test_a_relative_reference_that_cannot_follow_stops_the_run(tmp_path: Path) -> None:
    """A format over E2:E10 comparing each row with the row below it: rows 4 and 7 would
    compare with a removed row or with the wrong one, so nothing is written."""

    def crossing(wb: object) -> None:
        ws = wb["Renewals"]  # type: ignore[index]
        ws.conditional_formatting.add(
            "E2:E10", FormulaRule(formula=["D3>D2"], fill=PatternFill("solid", fgColor="FFC7CE"))
        )

    source = redo_with_names_and_formats(tmp_path / "ledger.xlsx", crossing)
    out = tmp_path / "out.xlsx"
    with pytest.raises(Unshiftable, match=r"^ledger\.xlsx:Renewals:E2:E10: conditional format"):
        write_workbook(
            redo_ledger(source, title=False),
            out,
            appended={},
            computed=[],
            removed={"Renewals": FEBRUARY},
        )


def test_no_removal_leaves_names_and_formats_byte_for_byte(tmp_path: Path) -> None:
    source = redo_with_names_and_formats(tmp_path / "ledger.xlsx")
    out = tmp_path / "out.xlsx"
    write_workbook(
        redo_ledger(source, title=False), out, appended={"Renewals": redone_renewals()},
        computed=[],
    )  # fmt: skip
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(out) as b:
        assert a.read("xl/worksheets/sheet1.xml") == b.read("xl/worksheets/sheet1.xml")


def test_cli_redo_refuses_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    """December then January on the sample; a format comparing each Renewals line with the
    next spans both months: redoing January would leave December's last line comparing
    with a removed one."""
    from click.testing import CliRunner

    from licreport.cli import main

    sample = Path(__file__).resolve().parents[1] / "sample_data" / "ledger.xlsx"
    out = tmp_path / "runs"
    for ledger, month in ((sample, "2026-12"), (out / "ledger-2026-12.xlsx", "2027-01")):
        args = ["reconcile", str(ledger), "--month", month, "--exchange", "--out", str(out)]
        assert CliRunner().invoke(main, args).exit_code == 0
    wb = load_workbook(out / "ledger-2027-01.xlsx")
    ws = wb["Renewals"]
    months = [c.value for c in ws["B"]]
    assert "2026-12" in months and "2027-01" in months
    fill = PatternFill("solid", fgColor="FFC7CE")
    ws.conditional_formatting.add(f"A2:A{ws.max_row}", FormulaRule(formula=["A3<>A2"], fill=fill))
    edited = tmp_path / "ledger-2027-01.xlsx"
    wb.save(edited)
    again = tmp_path / "again"
    args = ["reconcile", str(edited), "--month", "2027-01", "--redo", "--out", str(again)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert f"ledger-2027-01.xlsx:Renewals:A2:A{ws.max_row}: conditional format" in result.output
    assert "nothing was written" in result.output
    assert not again.exists() or not any(again.iterdir())
