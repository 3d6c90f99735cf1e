"""Users' cases: the sample ledger pasted into real-world workbooks, then `reconcile`.

Each workbook in tests/fixtures/realworld/ (see its README for sources and
licences) once broke or misled the writer or the reader.  A case passes when the
run exits 0, the output opens in openpyxl and in calamine, every part of the
input the run does not touch is byte for byte the same, the new cells' dates
read back as dates, and licreport's own `validate` passes on the output.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from click.testing import CliRunner, Result
from python_calamine import CalamineWorkbook

from licreport.cli import main
from licreport.outputs import xlsxpatch
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
        from licreport.outputs.xlsxpatch import Package

        pkg = Package(z)
        touched |= {s.part for s in pkg.sheets if s.name in LEDGER_WITH_ROWS}
        touched |= {r.target for r in pkg.rels(wb) if r.type.endswith("/styles")}
        touched |= {r.target for r in pkg.rels(wb) if r.type.endswith("/calcChain")}
    return touched


def assert_users_case(case: Path, out: Path, result: Result) -> Path:
    """The checks every user's case must pass; returns the output workbook."""
    assert result.exit_code == 0, result.output
    book = output_of(case, out)
    assert book.exists()
    assert case.read_bytes() == case.read_bytes()  # the input is only read
    # Opens in openpyxl and in calamine, with every sheet readable.
    wb = openpyxl.load_workbook(book)
    cal = CalamineWorkbook.from_path(str(book))
    assert set(cal.sheet_names) == set(wb.sheetnames)
    for name in cal.sheet_names:
        cal.get_sheet_by_name(name).to_python()
    # The user's parts are intact.
    with zipfile.ZipFile(case) as zin, zipfile.ZipFile(book) as zout:
        out_names = set(zout.namelist())
        for name in set(zin.namelist()) - touched_parts(case):
            assert name in out_names, f"{name} was dropped"
            assert zin.read(name) == zout.read(name), f"{name} was changed"
    # The new Exchanges rows (dated the run's month) read back as that date in both.
    new_cal = [r for r in cal.get_sheet_by_name("Exchanges").to_python() if r[-1]]
    assert new_cal and all(r[0] == MONTH_DAY for r in new_cal[1:]), new_cal
    ws = wb["Exchanges"]
    new_xl = [r for r in ws.iter_rows(min_row=2) if r[8].value]
    assert new_xl and all(r[0].is_date and r[0].value.date() == MONTH_DAY for r in new_xl)
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


@pytest.mark.parametrize("name", ["poi-51444-rels-overrides.xlsx"])
def test_users_case_smoke(name: str, tmp_path: Path) -> None:
    case = users_case(name, tmp_path)
    assert_users_case(case, tmp_path / "out", reconcile(case, tmp_path / "out"))


# ---------------------------------------------------------------- point 1: namespaces


def rels_on_each_sheet(src: Path, dst: Path) -> Path:
    """`src` as openpyxl with lxml saves it: ``xmlns:r`` on each ``<sheet>``, not the root."""
    decl = f'xmlns:r="{TRANS_R}"'
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/workbook.xml":
                text = data.decode().replace(" " + decl, "", 1)
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
    monkeypatch.setattr(xlsxpatch, "_prefix_for", lambda xml, ns, fallback: ("r", ""))
    out = tmp_path / "out"
    result = reconcile(case, out)
    assert result.exit_code == 2, result.output
    assert "xl/workbook.xml is not well-formed XML (unbound prefix" in result.output
    assert not out.exists() or not any(out.iterdir())


def test_check_xml_refuses_bad_parts(tmp_path: Path) -> None:
    path = tmp_path / "parts.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("good.xml", f'<a xmlns:r="{TRANS_R}"><b r:id="x"/></a>')
        z.writestr("unbound.xml", '<a><b r:id="x"/></a>')
        z.writestr("broken.rels", "<a><b></a>")
        z.writestr("dtd.xml", '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
        z.writestr("media/image.png", b"\x89PNG not xml")
    with zipfile.ZipFile(path) as z:
        xlsxpatch.check_xml(z, "good.xml")
        xlsxpatch.check_xml(z, "media/image.png")
        for name, why in [
            ("unbound.xml", "unbound prefix"),
            ("broken.rels", "mismatched tag"),
            ("dtd.xml", "DTD"),
        ]:
            with pytest.raises(xlsxpatch.PatchError, match=why):
                xlsxpatch.check_xml(z, name)
