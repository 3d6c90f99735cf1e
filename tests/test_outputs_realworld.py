"""Users' cases: the sample ledger pasted into real-world workbooks, then `reconcile`.

Each workbook in tests/fixtures/realworld/ (see its README for sources and
licences) once broke or misled the writer or the reader.  A case passes when the
run exits 0, the output opens in openpyxl and in calamine, every part of the
input the run does not touch is byte for byte the same, the new cells' dates
read back as dates, and licreport's own `validate` passes on the output.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from click.testing import CliRunner, Result
from openpyxl.chart import BarChart, Reference
from python_calamine import CalamineWorkbook

from licreport.cli import main
from licreport.ledger.xlsx import open_calamine
from licreport.outputs.xlsx import constants, packager, parts
from tests.userbook import REALWORLD, SAMPLE, TRANS_R, paste_ledger, workbook_part

MONTH_DAY = dt.date(2026, 12, 1)
# Parts a run rewrites: the package's lists, styles, the ledger sheets that get rows.
LEDGER_WITH_ROWS = ("Pool", "Clients", "Exchanges", "Renewals")


def reconcile(ledger: Path, out: Path, *extra: str, month: str = "2026-12") -> Result:
    args = ["reconcile", str(ledger), "--month", month, "--exchange", "--out", str(out), *extra]
    return CliRunner().invoke(main, args)


def output_of(ledger: Path, out: Path, month: str = "2026-12") -> Path:
    """The updated workbook of `month` (its name: SPEC §4, whichever form the run used)."""
    found = sorted(out.glob(f"*-{month}{ledger.suffix.lower()}"))
    assert len(found) == 1, found
    return found[0]


def touched_parts(path: Path) -> set[str]:
    """Parts a run may rewrite: workbook, its rels, content types, styles, ledger sheets."""
    with zipfile.ZipFile(path) as z:
        wb = workbook_part(z)
        folder = wb.rsplit("/", 1)[0] if "/" in wb else ""
        rels = f"{folder}/_rels/{wb.rsplit('/', 1)[-1]}.rels".lstrip("/")
        touched = {wb, rels, "[Content_Types].xml"}
        pkg = packager.Package(z)
        touched |= {s.part for s in pkg.sheets if s.name in LEDGER_WITH_ROWS}
        touched |= {r.target for r in pkg.rels(wb) if r.type.endswith("/styles")}
        touched |= {r.target for r in pkg.rels(wb) if r.type.endswith("/calcChain")}
    return touched


def opens_in_openpyxl(path: Path) -> bool:
    try:
        openpyxl.load_workbook(path)
    except Exception:
        return False
    return True


def untyped_parts(path: Path) -> list[str]:
    """Parts with neither an Override nor a Default for their extension."""
    with zipfile.ZipFile(path) as z:
        types = ElementTree.fromstring(z.read("[Content_Types].xml"))
        names = [n for n in z.namelist() if n != "[Content_Types].xml" and not n.endswith("/")]
    local = [(e.tag.rsplit("}", 1)[-1], e.attrib) for e in types]
    defaults = {a.get("Extension", "").lower() for t, a in local if t == "Default"}
    overrides = {a.get("PartName", "").lower() for t, a in local if t == "Override"}
    return [
        n
        for n in names
        if "/" + n.lower() not in overrides and n.rsplit(".", 1)[-1].lower() not in defaults
    ]


def assert_users_case(case: Path, out: Path, result: Result, *, dates: bool = True) -> Path:
    """The checks every user's case must pass; returns the output workbook.

    openpyxl is asked to open the output whenever it opens the input (it cannot
    open some real workbooks at all: a cellStyle without a name, a workbook part
    outside xl/).  `dates`: calamine shows the new cells' dates as dates.
    """
    assert result.exit_code == 0, result.output
    book = output_of(case, out)
    assert book.exists()
    # Every part has a content type; every sheet opens in calamine (and openpyxl).
    assert untyped_parts(book) == untyped_parts(case) == []
    cal = open_calamine(book)  # calamine itself, unless a macro sheet must be hidden from it
    for name in cal.sheet_names:
        cal.get_sheet_by_name(name).to_python()
    if opens_in_openpyxl(case):
        wb = openpyxl.load_workbook(book)
        assert set(cal.sheet_names) <= set(wb.sheetnames)  # a macro sheet is hidden from cal
        ws = wb["Exchanges"]
        new_xl = [r for r in ws.iter_rows(min_row=2) if r[8].value]
        assert new_xl and all(r[0].is_date and r[0].value.date() == MONTH_DAY for r in new_xl)
    # The user's parts are intact.
    with zipfile.ZipFile(case) as zin, zipfile.ZipFile(book) as zout:
        out_names = set(zout.namelist())
        for name in set(zin.namelist()) - touched_parts(case):
            assert name in out_names, f"{name} was dropped"
            assert zin.read(name) == zout.read(name), f"{name} was changed"
    # The new Exchanges rows (dated the run's month) read back as that date.
    new_cal = [r for r in cal.get_sheet_by_name("Exchanges").to_python()[1:] if r[8]]
    assert new_cal
    if dates:
        assert all(r[0] == MONTH_DAY for r in new_cal), new_cal
    # And licreport's own validate passes on the output.
    checked = CliRunner().invoke(main, ["validate", str(book)])
    assert checked.exit_code == 0, checked.output
    return book


def users_case(name: str, tmp_path: Path) -> Path:
    return paste_ledger(REALWORLD / name, tmp_path / name)


# ---------------------------------------------------------------- issue 10, defect 2


def test_1904_date_system_workbook_gets_1904_dates(tmp_path: Path) -> None:
    """A 1904 workbook: new dates are 1904 serials (2026-12-01 is 45625, not 47087)."""
    case = users_case("calamine-date-1904.xlsx", tmp_path)
    book = assert_users_case(case, tmp_path / "out", reconcile(case, tmp_path / "out"))
    wb = openpyxl.load_workbook(book)
    assert wb.epoch == dt.datetime(1904, 1, 1)
    raw = [r[0].value for r in wb["Exchanges"].iter_rows(min_row=2) if r[8].value]
    assert raw and all(v == dt.datetime(2026, 12, 1) for v in raw)
    # The serial written: days from 1904-01-01 to 2026-12-01, counted by hand.
    assert (dt.date(2026, 12, 1) - dt.date(1904, 1, 1)).days == 44895
    with zipfile.ZipFile(book) as z:
        sheet = next(n for n in z.namelist() if n.endswith("pasted6.xml"))
        assert b"<v>44895</v>" in z.read(sheet)


def test_1904_recover_apply_then_validate(tmp_path: Path) -> None:
    """`recover --apply` on a 1904 workbook writes dates `validate` reads back."""
    case = users_case("calamine-date-1904.xlsx", tmp_path)
    out = tmp_path / "out"
    args = ["recover", str(case), "--as-of", "2026-12-01", "--apply", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    book = output_of(case, out)
    checked = CliRunner().invoke(main, ["validate", str(book)])
    assert checked.exit_code == 0, checked.output
    cal = CalamineWorkbook.from_path(str(book))
    pool = [
        r for r in cal.get_sheet_by_name("Pool").to_python() if str(r[2]).startswith("REC-20261201")
    ]
    assert pool and all(r[0] == MONTH_DAY for r in pool), pool
    clients = [
        r
        for r in cal.get_sheet_by_name("Clients").to_python()
        if str(r[12]).startswith("REC-20261201")
    ]
    assert len(clients) == len(pool)
    assert all(r[6] == MONTH_DAY and isinstance(r[7], dt.date) for r in clients), clients


# ---------------------------------------------------------------- points 3, 4, 5, 7: styles, types


def cell_xfs(book: Path) -> list[dict[str, str]]:
    """cellXfs as Excel counts them: an mc:AlternateContent is one item (its Fallback)."""
    with zipfile.ZipFile(book) as z:
        root = ElementTree.fromstring(z.read("xl/styles.xml"))
    group = next(e for e in root if e.tag.endswith("}cellXfs"))
    out = []
    for child in group:
        if child.tag.endswith("}AlternateContent"):
            fallback = next(e for e in child if e.tag.endswith("}Fallback"))
            child = next(e for e in fallback if e.tag.endswith("}xf"))
        out.append(dict(child.attrib))
    return out


def new_date_styles(book: Path, sheet_part: str) -> set[str]:
    """The ``s`` of the date cells licreport appended to Exchanges (rows with a run id)."""
    with zipfile.ZipFile(book) as z:
        xml = z.read(sheet_part).decode()
    rows = [r for r in xml.split("<row ") if "2026-12-" in r]
    return {r.split('<c r="A', 1)[1].split('s="', 1)[1].split('"', 1)[0] for r in rows}


def test_styles_in_alternate_content_are_counted_once(tmp_path: Path) -> None:
    """Hancom Office's mc:AlternateContent fonts/xfs count as one each (dates were 46357).

    The wrappers are replaced by their Fallback element, so calamine (which counts
    both branches of a wrapper) sees the same 29 cellXfs as Excel and LibreOffice,
    and shows the new dates as dates.
    """
    case = users_case("poi-style-alternate-content.xlsx", tmp_path)
    # openpyxl cannot open the input (its Normal cellStyle has no name); the output names it.
    assert not opens_in_openpyxl(case)
    book = assert_users_case(case, tmp_path / "out", reconcile(case, tmp_path / "out"))
    wb = openpyxl.load_workbook(book)
    new_xl = [r for r in wb["Exchanges"].iter_rows(min_row=2) if r[8].value]
    assert new_xl and all(r[0].is_date and r[0].value.date() == MONTH_DAY for r in new_xl)
    xfs = cell_xfs(book)
    # The input holds 29 cellXfs (7 of them wrapped): ours are 29 (header) .. 33.
    assert len(xfs) == 29 + 5
    assert new_date_styles(book, "xl/worksheets/pasted6.xml") == {"30"}
    assert xfs[30]["numFmtId"] == "164" and xfs[29]["fontId"] == "14"  # 14 fonts before ours
    with zipfile.ZipFile(book) as z:
        styles = z.read("xl/styles.xml")
    assert b'<x:numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>' in styles
    assert b'<x:fonts count="15">' in styles and b'<x:cellXfs count="34">' in styles
    assert b"AlternateContent" not in styles
    assert b'<x:cellStyle name="Normal" xfId="0" builtinId="0"/>' in styles


def test_workbook_without_styles_gets_xl_styles_xml(tmp_path: Path) -> None:
    """No styles part: the new one is xl/styles.xml, where openpyxl and calamine look."""
    case = users_case("poi-56278-no-styles.xlsx", tmp_path)
    book = assert_users_case(case, tmp_path / "out", reconcile(case, tmp_path / "out"))
    with zipfile.ZipFile(book) as z:
        assert "xl/styles.xml" in z.namelist()
        assert not [n for n in z.namelist() if n.startswith("xl/styles") and n != "xl/styles.xml"]
        rels = z.read("xl/_rels/workbook.xml.rels")
    assert b'Target="styles.xml"' in rels


def test_empty_styles_part_is_completed(tmp_path: Path) -> None:
    """``<styleSheet/>``: validate passed, reconcile refused; now both pass."""
    case = users_case("poi-47889-empty-styles.xlsx", tmp_path)
    book = assert_users_case(case, tmp_path / "out", reconcile(case, tmp_path / "out"))
    xfs = cell_xfs(book)
    # The default xf first (the user's cells keep showing as before), then our five.
    assert len(xfs) == 1 + 5
    assert xfs[0]["numFmtId"] == "0" and xfs[2]["numFmtId"] == "164"
    assert new_date_styles(book, "xl/worksheets/pasted6.xml") == {"2"}


def test_new_rels_parts_are_typed_when_the_package_types_rels_by_override(
    tmp_path: Path,
) -> None:
    """LibreOffice 3-5 packages: no Default for .rels, so each new .rels gets an Override."""
    case = users_case("poi-51444-rels-overrides.xlsx", tmp_path)
    book = assert_users_case(case, tmp_path / "out", reconcile(case, tmp_path / "out"))
    with zipfile.ZipFile(book) as z:
        types = z.read("[Content_Types].xml").decode()
        new_rels = [n for n in z.namelist() if n.endswith(".rels") and "worksheets/_rels" in n]
    assert new_rels  # the Status sheet's drawing relationships
    for name in new_rels:
        assert f'PartName="/{name}" ContentType="{constants.CT_RELS}"' in types


def test_second_run_reuses_the_formats_it_added(tmp_path: Path) -> None:
    """styles.xml grew by a font and five cellXfs every run; the second run adds nothing."""
    out = tmp_path / "out"
    assert reconcile(SAMPLE, out).exit_code == 0
    december = output_of(SAMPLE, out)
    january = reconcile(december, out, month="2027-01")
    assert january.exit_code == 0, january.output
    with zipfile.ZipFile(december) as a, zipfile.ZipFile(output_of(december, out, "2027-01")) as b:
        first, second = a.read("xl/styles.xml"), b.read("xl/styles.xml")
    # The sample's styles: 3 fonts, 6 cellXfs (one wraps the Read me's help), 1 numFmt;
    # the first run adds 1 font and 5 cellXfs.
    assert b'<fonts count="4">' in first and b'<cellXfs count="11">' in first
    assert second == first


# ---------------------------------------------------------------- point 1: namespaces


def rels_on_each_sheet(src: Path, dst: Path) -> Path:
    """`src` as openpyxl with lxml saves it: ``xmlns:r`` on each ``<sheet>``, not the root."""
    decl = f'xmlns:r="{TRANS_R}"'
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/workbook.xml":
                # wherever `src` declares it (openpyxl puts it on the root without lxml,
                # on each <sheet> with lxml), move it onto each <sheet>
                text = data.decode().replace(" " + decl, "")
                assert decl not in text
                text = text.replace("<sheet ", f"<sheet {decl} ")
                data = text.encode()
            zout.writestr(info, data)
    return dst


def test_relationship_prefix_declared_per_sheet(tmp_path: Path) -> None:
    """New ``<sheet>`` elements declare the prefix they use; the output reads everywhere."""
    case = rels_on_each_sheet(SAMPLE, tmp_path / "ledger.xlsx")
    out = tmp_path / "out"
    book = assert_users_case(case, out, reconcile(case, out))
    with zipfile.ZipFile(book) as z:
        xml = z.read("xl/workbook.xml")
    ElementTree.fromstring(xml)  # the strict parser: no unbound prefix
    assert b'name="Status"' in xml
    # licreport's next run reads it (it refused it with "unbound prefix" before).
    january = reconcile(book, out, month="2027-01")
    assert january.exit_code == 0, january.output
    openpyxl.load_workbook(output_of(book, out, "2027-01"))


def test_unbound_prefix_fails_the_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The post-write check parses what we wrote strictly: the old bug is exit 2, no output."""
    case = rels_on_each_sheet(SAMPLE, tmp_path / "ledger.xlsx")
    monkeypatch.setattr(parts, "prefix_for", lambda xml, ns, fallback: ("r", ""))
    out = tmp_path / "out"
    result = reconcile(case, out)
    assert result.exit_code == 2, result.output
    assert "xl/workbook.xml is not well-formed XML (unbound prefix" in result.output
    assert not out.exists() or not any(out.iterdir())


# ---------------------------------------------------------------- point 2: users' sheets


def with_users_sheet(dst: Path, title: str, base: Path = SAMPLE) -> Path:
    """`base` plus the user's own sheet `title`: contract numbers and a budget chart."""
    wb = openpyxl.load_workbook(base)
    ws = wb.create_sheet(title)
    ws.append(["contract", "budget"])
    for i, budget in enumerate((1200, 800, 450), 1):
        ws.append([f"K-2026-{i:03d}", budget])
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=4), titles_from_data=True)
    ws.add_chart(chart, "D2")
    wb.save(dst)
    return dst


@pytest.mark.parametrize("title", ["Status", "contracts", "Forecast", "CHECKS"])
def test_users_sheet_with_a_computed_name_stops_the_run(title: str, tmp_path: Path) -> None:
    """A user's sheet named like a computed sheet: exit 2, nothing written, what to do."""
    case = with_users_sheet(tmp_path / "ledger.xlsx", title)
    before = case.read_bytes()
    out = tmp_path / "out"
    result = reconcile(case, out)
    assert result.exit_code == 2, result.output
    assert f"ledger.xlsx:{title}: this sheet was not written by licreport" in result.output
    assert f'rename your sheet (e.g. to "{title} (mine)") and run again' in result.output
    assert not out.exists() or not [p for p in out.iterdir() if not p.name.startswith(".")]
    assert case.read_bytes() == before
    # Renamed as told, the run goes through and the user's sheet is kept as it was.
    wb = openpyxl.load_workbook(case)
    wb[title].title = f"{title} (mine)"
    wb.save(case)
    assert reconcile(case, out).exit_code == 0
    kept = openpyxl.load_workbook(output_of(case, out))[f"{title} (mine)"]
    assert [c.value for c in kept["A"]] == ["contract", "K-2026-001", "K-2026-002", "K-2026-003"]
    assert len(kept._charts) == 1


def test_users_sheet_refusal_in_json(tmp_path: Path) -> None:
    case = with_users_sheet(tmp_path / "ledger.xlsx", "Status")
    result = reconcile(case, tmp_path / "out", "--json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert [(e["file"], e["sheet"]) for e in doc["errors"]] == [("ledger.xlsx", "Status")]


def test_licreports_own_sheets_are_recognised_after_edits(tmp_path: Path) -> None:
    """Its marker survives the user editing values and moving the sheet (openpyxl save)."""
    out = tmp_path / "out"
    assert reconcile(SAMPLE, out).exit_code == 0
    december = output_of(SAMPLE, out)
    wb = openpyxl.load_workbook(december)
    wb["Status"]["H2"] = 999
    wb["Status"]["A1"] = "edited header"
    wb.move_sheet("Status", offset=-3)
    edited = tmp_path / "ledger-2026-12.xlsx"
    wb.save(edited)
    january = reconcile(edited, tmp_path / "jan", month="2027-01")
    assert january.exit_code == 0, january.output
    status = openpyxl.load_workbook(output_of(edited, tmp_path / "jan", "2027-01"))["Status"]
    assert status["A1"].value == "as_of" and status["H2"].value != 999


# ---------------------------------------------------------------- point 6: refusals


def test_excel_4_macro_sheet_is_kept_and_the_ledger_read(tmp_path: Path) -> None:
    """A workbook with an Excel 4.0 macro sheet was refused outright (calamine cannot parse
    one); the ledger is read around it and the macro sheet is kept byte for byte."""
    case = users_case("poi-64420-macrosheet.xlsm", tmp_path)
    book = assert_users_case(case, tmp_path / "out", reconcile(case, tmp_path / "out"))
    assert book.suffix == ".xlsm"
    with zipfile.ZipFile(book) as z:
        assert b'name="Macro Sheet"' in z.read("xl/workbook.xml")


def test_workbook_part_at_the_package_root(tmp_path: Path) -> None:
    """The workbook part where _rels/.rels says (/workbook.xml), not only xl/workbook.xml."""
    case = users_case("calamine-minimal-package.xlsx", tmp_path)
    with zipfile.ZipFile(case) as z:
        assert "xl/workbook.xml" not in z.namelist()
    book = assert_users_case(case, tmp_path / "out", reconcile(case, tmp_path / "out"))
    with zipfile.ZipFile(book) as z:
        assert b'name="Status"' in z.read("workbook.xml")


def test_strict_open_xml_is_read_and_refused_for_writing(tmp_path: Path) -> None:
    """Strict OOXML was "Partners is missing (sheets present: none)": it is read, and a
    run that would rewrite it says why it cannot and what to do, writing nothing."""
    case = users_case("poi-SimpleStrict.xlsx", tmp_path)
    checked = CliRunner().invoke(main, ["validate", str(case)])
    assert checked.exit_code == 0, checked.output
    out = tmp_path / "out"
    result = reconcile(case, out)
    assert result.exit_code == 2
    assert (
        "poi-SimpleStrict.xlsx: is saved as Strict Open XML, which licreport reads but cannot "
        "update; save it as Excel Workbook (.xlsx) and run again"
    ) in result.output
    assert not out.exists() or not [p for p in out.iterdir() if not p.name.startswith(".")]
    doc = json.loads(reconcile(case, out, "--json").stdout)
    assert doc["errors"][0]["file"] == "poi-SimpleStrict.xlsx"
    assert doc["errors"][0]["message"].startswith("is saved as Strict Open XML")


@pytest.mark.parametrize(
    ("suffix", "remedy"),
    [
        (".xlsb", "is an Excel binary workbook (.xlsb); open it in Excel and save it as"),
        (".ods", "is an OpenDocument spreadsheet (.ods); save it as .xlsx"),
        (".xltx", "is an Excel template (.xltx); create a workbook from it and save that"),
    ],
)
def test_other_formats_get_a_remedy(suffix: str, remedy: str, tmp_path: Path) -> None:
    path = tmp_path / f"ledger{suffix}"
    path.write_bytes(SAMPLE.read_bytes())
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"licreport: ledger{suffix}: {remedy}" in result.output


def test_file_level_refusal_in_json(tmp_path: Path) -> None:
    """`--json` prints the same {errors: [...]} document for a file-level refusal."""
    path = tmp_path / "ledger.xlsb"
    path.write_bytes(SAMPLE.read_bytes())
    result = CliRunner().invoke(main, ["validate", str(path), "--json"])
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc == {
        "errors": [
            {
                "file": "ledger.xlsb",
                "sheet": None,
                "row": None,
                "column": None,
                "cell": None,
                "message": "is an Excel binary workbook (.xlsb); open it in Excel and save it "
                "as Excel Workbook (.xlsx)",
            }
        ]
    }


def test_outputs_from_before_the_marker_are_recognised_by_their_header(tmp_path: Path) -> None:
    """A computed sheet without the marker (an older licreport's output) whose first row
    is exactly licreport's header is rewritten, and gets the marker from then on."""
    out = tmp_path / "out"
    assert reconcile(SAMPLE, out).exit_code == 0
    december = output_of(SAMPLE, out)
    older = tmp_path / "ledger-2026-12.xlsx"
    with zipfile.ZipFile(december) as zin, zipfile.ZipFile(older, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/workbook.xml":
                mark = rb'<definedName name="_licreport_computed"[^>]*>[^<]*</definedName>'
                data = re.sub(mark, b"", data)
                assert b"_licreport_computed" not in data
            zout.writestr(info, data)
    january = reconcile(older, tmp_path / "jan", month="2027-01")
    assert january.exit_code == 0, january.output
    with zipfile.ZipFile(output_of(older, tmp_path / "jan", "2027-01")) as z:
        assert z.read("xl/workbook.xml").count(b'name="_licreport_computed"') == 6
