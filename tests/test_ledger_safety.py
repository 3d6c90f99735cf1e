"""Hostile and broken files are refused before any parser reads them (ledger/safety.py)."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licreport.errors import LicreportError, SheetError, UnreadableFile, UnsafeFile, UsageError
from licreport.ledger import Limits
from licreport.ledger.load import load_ledger
from licreport.ledger.safety import PartReader

BROKEN = Path(__file__).resolve().parent.parent / "sample_data" / "broken"
MiB = 1024 * 1024


def refused(path: Path, cls: type[LicreportError], **kwargs: object) -> LicreportError:
    with pytest.raises(cls) as info:
        load_ledger(path, **kwargs)  # type: ignore[arg-type]
    assert info.value.exit_code == 2
    return info.value


def base(broken: ModuleType) -> dict[str, object]:
    return {"Partners": broken.PARTNERS, "Products": broken.PRODUCTS}


def test_xml_entity_bomb(tmp_path: Path, broken: ModuleType) -> None:
    xml = broken.sheet_xml(broken.clients(), prolog=broken.ENTITY_BOMB)
    path = broken.write_workbook(tmp_path / "ledger.xlsx", {**base(broken), "Clients": xml})
    exc = refused(path, UnsafeFile)
    assert exc.message == (
        "ledger.xlsx:Clients: part xl/worksheets/sheet3.xml declares XML entities "
        "(a possible entity-expansion bomb); refusing to read it"
    )


def test_external_entity(tmp_path: Path, broken: ModuleType) -> None:
    xml = broken.sheet_xml(broken.clients(), prolog=broken.EXTERNAL_ENTITY)
    path = broken.write_workbook(tmp_path / "ledger.xlsx", {**base(broken), "Clients": xml})
    exc = refused(path, UnsafeFile)
    assert exc.message == (
        "ledger.xlsx:Clients: part xl/worksheets/sheet3.xml declares an external XML entity "
        "(it could read other files or the network); refusing to read it"
    )


def test_doctype_in_a_part_we_do_not_read_is_refused_too(
    tmp_path: Path, broken: ModuleType
) -> None:
    parts = broken.workbook_parts({"Partners": broken.sheet_xml(broken.PARTNERS)})
    parts["xl/styles.xml"] = parts["xl/styles.xml"].replace(
        "<styleSheet", '<!DOCTYPE s [<!ENTITY a "b">]><styleSheet', 1
    )
    path = broken.write_parts(tmp_path / "ledger.xlsx", parts)
    exc = refused(path, UnsafeFile)
    assert exc.message.startswith("ledger.xlsx: part xl/styles.xml declares XML entities")


def test_entity_in_utf16_part_is_seen(tmp_path: Path, broken: ModuleType) -> None:
    xml = broken.sheet_xml(broken.clients(), prolog=broken.ENTITY_BOMB)
    xml = xml.replace('encoding="UTF-8"', 'encoding="UTF-16"')
    sheets = {"Partners": broken.sheet_xml(broken.PARTNERS), "Products": "", "Clients": ""}
    parts = broken.workbook_parts(sheets)
    parts["xl/worksheets/sheet2.xml"] = broken.sheet_xml(broken.PRODUCTS)
    parts["xl/worksheets/sheet3.xml"] = b"\xff\xfe" + xml.encode("utf-16-le")
    path = broken.write_parts(tmp_path / "ledger.xlsx", parts)
    exc = refused(path, UnsafeFile)
    assert "declares XML entities" in exc.message


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory, broken: ModuleType) -> Path:
    """A workbook with a 300 MiB part of zeros (about 300 KiB compressed), streamed to disk."""
    path = tmp_path_factory.mktemp("bomb") / "ledger.xlsx"
    return broken.write_zip_bomb(path, base(broken), 300 * MiB)


def test_zip_bomb_ratio_refused_without_decompressing(zip_bomb: Path) -> None:
    assert zip_bomb.stat().st_size < 2 * MiB
    tracemalloc.start()
    try:
        exc = refused(zip_bomb, UnsafeFile)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * MiB
    with zipfile.ZipFile(zip_bomb) as zf:
        compressed = zf.getinfo("xl/media/padding.xml").compress_size
    ratio = 300 * MiB / compressed
    assert ratio > 200
    assert exc.message == (
        f"ledger.xlsx: part xl/media/padding.xml expands {ratio:,.0f}× "
        f"(300.0 MiB from {compressed / 1024:.1f} KiB); refusing a possible zip bomb"
    )


def test_zip_bomb_total_size_limit(zip_bomb: Path) -> None:
    limits = Limits(max_total_bytes=256 * MiB, max_ratio=10_000)
    exc = refused(zip_bomb, UnsafeFile, limits=limits)
    assert exc.message == (
        "ledger.xlsx: the workbook would expand to 300.0 MiB (limit 256.0 MiB); "
        "refusing a possible zip bomb"
    )


def test_streamed_bytes_are_checked_too(tmp_path: Path) -> None:
    """Sizes are enforced on the bytes actually decompressed, not only on the zip headers."""
    path = tmp_path / "parts.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.xml", bytes(6 * MiB))
    with zipfile.ZipFile(path) as zf:
        reader = PartReader(zf, "parts.zip", Limits(max_total_bytes=5 * MiB, max_ratio=1e9))
        with pytest.raises(UnsafeFile, match=r"expands to more than 5\.0 MiB"):
            for _ in reader.chunks(zf.getinfo("a.xml")):
                pass
        reader = PartReader(zf, "parts.zip", Limits())
        with pytest.raises(UnsafeFile, match=r"part a\.xml expands"):
            for _ in reader.chunks(zf.getinfo("a.xml")):
                pass


def test_too_many_parts(tmp_path: Path, broken: ModuleType) -> None:
    parts = broken.workbook_parts({"Partners": broken.sheet_xml(broken.PARTNERS)})
    parts.update({f"xl/media/p{k}.xml": "<a/>" for k in range(20)})
    path = broken.write_parts(tmp_path / "ledger.xlsx", parts)
    exc = refused(path, UnsafeFile, limits=Limits(max_parts=10))
    assert exc.message == (
        "ledger.xlsx: the workbook has 26 parts (limit 10); refusing a possible zip bomb"
    )


def test_cell_at_xfd1048576(tmp_path: Path, broken: ModuleType) -> None:
    xml = broken.sheet_xml(broken.clients()).replace(
        "</sheetData>", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
    )
    # The <dimension> tag claims a tiny sheet: it must not be trusted.
    xml = xml.replace("<sheetData>", '<dimension ref="A1:G1"/><sheetData>')
    path = broken.write_workbook(tmp_path / "ledger.xlsx", {**base(broken), "Clients": xml})
    exc = refused(path, UnsafeFile)
    assert exc.message == (
        "ledger.xlsx:Clients: a cell at XFD1048576 makes the sheet 1048576 rows × 16384 "
        "columns; delete the stray cells"
    )


def test_too_many_cells_names_the_far_row(tmp_path: Path, broken: ModuleType) -> None:
    xml = broken.sheet_xml(broken.clients()).replace(
        "</sheetData>", '<row r="500000"><c r="G500000"><v>1</v></c></row></sheetData>'
    )
    path = broken.write_workbook(tmp_path / "ledger.xlsx", {**base(broken), "Clients": xml})
    exc = refused(path, UnsafeFile, limits=Limits(max_cells=1_000_000))
    assert exc.message == (
        "ledger.xlsx:Clients: a cell at G500000 makes the sheet 500000 rows × 7 columns; "
        "delete the stray cells"
    )


def test_cells_without_references_are_counted(tmp_path: Path, broken: ModuleType) -> None:
    row = "<row>" + "<c><v>1</v></c>" * 1200 + "</row>"
    xml = broken.sheet_xml([]).replace("<sheetData>", "<sheetData>" + row)
    path = broken.write_workbook(tmp_path / "ledger.xlsx", {**base(broken), "Clients": xml})
    exc = refused(path, UnsafeFile)
    assert "makes the sheet 1 rows × 1200 columns" in exc.message


def test_truncated_file(tmp_path: Path, broken: ModuleType) -> None:
    full = broken.write_workbook(tmp_path / "ledger.xlsx", base(broken))
    full.write_bytes(full.read_bytes()[:700])
    exc = refused(full, UnreadableFile)
    assert exc.message == (
        "ledger.xlsx: is damaged or truncated (not a complete .xlsx file); "
        "open it in Excel and save it again"
    )


def test_not_a_zip_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    path.write_text("partner,name,provider\nP1,Acme,WatchGuard\n")
    exc = refused(path, UnreadableFile)
    assert exc.message == "ledger.xlsx: is not an Excel workbook (.xlsx files are zip archives)"


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    exc = refused(path, UnreadableFile)
    assert (
        exc.message == "ledger.xlsx: is a zip file but not an Excel workbook (no xl/workbook.xml)"
    )


def test_xls_signature(tmp_path: Path, broken: ModuleType) -> None:
    path = broken.write_ole2(tmp_path / "ledger.xls", encrypted=False)
    exc = refused(path, UnreadableFile)
    assert exc.message == "ledger.xls: is an Excel 97-2003 .xls file; save it as .xlsx"


def test_xls_renamed_to_xlsx(tmp_path: Path, broken: ModuleType) -> None:
    path = broken.write_ole2(tmp_path / "ledger.xlsx", encrypted=False)
    exc = refused(path, UnreadableFile)
    assert exc.message == "ledger.xlsx: is an Excel 97-2003 .xls file; save it as .xlsx"


def test_password_protected(tmp_path: Path, broken: ModuleType) -> None:
    path = broken.write_ole2(tmp_path / "ledger.xlsx", encrypted=True)
    exc = refused(path, UnreadableFile)
    assert exc.message == (
        "ledger.xlsx: is password-protected; remove the password in Excel and save again"
    )


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(b"")
    exc = refused(path, UnreadableFile)
    assert exc.message == "ledger.xlsx: the file is empty (0 bytes)"


def test_path_that_is_not_a_workbook_or_folder(tmp_path: Path) -> None:
    path = tmp_path / "ledger.zip"
    path.write_bytes(b"PK\x03\x04rest")
    exc = refused(path, UnreadableFile)
    assert exc.message == "ledger.zip: is not an .xlsx/.xlsm workbook or a folder of CSV files"
    ods = tmp_path / "ledger.ods"  # a spreadsheet format we know gets its remedy
    ods.write_bytes(b"PK\x03\x04rest")
    exc = refused(ods, UnreadableFile)
    assert exc.message == (
        "ledger.ods: is an OpenDocument spreadsheet (.ods); save it as .xlsx "
        "(in LibreOffice: File > Save As > Excel 2007-365)"
    )
    single = tmp_path / "clients.csv"
    single.write_text("client\n")
    exc = refused(single, UnreadableFile)
    assert exc.message == (
        "clients.csv: is a single CSV file; pass the folder that holds the ledger's CSV files"
    )
    missing = refused(tmp_path / "nope.xlsx", UnreadableFile)
    assert missing.message.endswith("nope.xlsx: no such file or folder")


def test_missing_required_sheet(tmp_path: Path, broken: ModuleType) -> None:
    sheets = {"Partners": broken.PARTNERS, "Clients": broken.clients()}
    path = broken.write_workbook(tmp_path / "ledger.xlsx", sheets)
    exc = refused(path, SheetError)
    assert exc.message == (
        'ledger.xlsx: required sheet "Products" is missing (sheets present: Partners, Clients)'
    )


def test_missing_required_column(tmp_path: Path, broken: ModuleType) -> None:
    clients = [["partner", "client", "product", "term", "start"], ["P1", "C1", "AD360", 1, "x"]]
    path = broken.write_workbook(tmp_path / "ledger.xlsx", {**base(broken), "Clients": clients})
    exc = refused(path, SheetError)
    assert exc.message == (
        'ledger.xlsx:Clients: required column "licences" is missing (the header row is row 1)'
    )


def test_duplicate_headers(tmp_path: Path, broken: ModuleType) -> None:
    clients = [[*broken.CLIENT_HEADER, "Licenses"]]
    path = broken.write_workbook(tmp_path / "ledger.xlsx", {**base(broken), "Clients": clients})
    exc = refused(path, SheetError)
    assert exc.message == (
        'ledger.xlsx:Clients:H1: duplicate header "Licenses": F1 already holds "licences" '
        '(both are the "licences" column); keep one of the two columns'
    )


def test_identical_unknown_headers(tmp_path: Path, broken: ModuleType) -> None:
    clients = [[*broken.CLIENT_HEADER, "Notes", "Notes"]]
    path = broken.write_workbook(tmp_path / "ledger.xlsx", {**base(broken), "Clients": clients})
    exc = refused(path, SheetError)
    assert exc.message == (
        'ledger.xlsx:Clients:I1: duplicate header "Notes": H1 already holds "Notes"; '
        "keep one of the two columns"
    )


def test_all_structural_problems_are_raised_together(tmp_path: Path, broken: ModuleType) -> None:
    pool = [["date", "product", "term"]]  # quantity missing
    clients = [[*broken.CLIENT_HEADER, "client_id"]]  # client twice
    path = broken.write_workbook(
        tmp_path / "ledger.xlsx", {"Partners": broken.PARTNERS, "Pool": pool, "Clients": clients}
    )
    exc = refused(path, SheetError)
    assert exc.lines() == [
        'ledger.xlsx: required sheet "Products" is missing (sheets present: Partners, Pool, '
        "Clients)",
        'ledger.xlsx:Pool: required column "quantity" is missing (the header row is row 1)',
        'ledger.xlsx:Clients:H1: duplicate header "client_id": B1 already holds "client" '
        '(both are the "client" column); keep one of the two columns',
    ]
    assert exc.message.endswith("(and 2 more problems)")


def test_no_header_row(tmp_path: Path, broken: ModuleType) -> None:
    partners = [["Our partners"], ["id", "what"], ["P1", "x"]]
    path = broken.write_workbook(
        tmp_path / "ledger.xlsx", {"Partners": partners, "Products": broken.PRODUCTS}
    )
    exc = refused(path, SheetError)
    assert exc.message == (
        "ledger.xlsx:Partners: the sheet has no header row in its first 30 rows; "
        "expected a header row with the columns partner, provider"
    )


def test_formula_without_cached_value(tmp_path: Path, broken: ModuleType) -> None:
    formula = broken.Raw('<c r="{ref}"><f>SUM(A1:A2)</f></c>')
    empty_v = broken.Raw('<c r="{ref}"><f>1+1</f><v/></c>')
    cached = broken.Raw('<c r="{ref}"><f>5+5</f><v>10</v></c>')
    blank_text = broken.Raw('<c r="{ref}" t="str"><f>""</f><v></v></c>')  # Excel's =""
    rows = [["P1", f"C{k}", "n", "AD360", "1", cached, "2026-01-05"] for k in range(5)]
    rows += [["P1", "C7", blank_text, "AD360", "1", formula, "2026-01-05"]]
    rows += [["P1", "C8", "n", "AD360", "1", empty_v, "2026-01-05"]]
    path = broken.write_workbook(
        tmp_path / "ledger.xlsx", {**base(broken), "Clients": broken.clients(*rows)}
    )
    exc = refused(path, UnreadableFile)
    assert exc.lines() == [
        "ledger.xlsx:Clients:F7: formula has no saved value; open the file in Excel and save it",
        "ledger.xlsx:Clients:F8: formula has no saved value; open the file in Excel and save it",
    ]
    assert exc.message == (
        "ledger.xlsx:Clients:F7: formula has no saved value; open the file in Excel and save it"
        " (and 1 more cells)"
    )


def test_dayfirst_and_monthfirst_together(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_ledger(tmp_path, dayfirst=True, monthfirst=True)
    assert info.value.exit_code == 2


# The committed fixtures: what `licreport validate` must say about each of them.
EXPECTED = {
    "missing-sheet.xlsx": (
        SheetError,
        'missing-sheet.xlsx: required sheet "Products" is missing '
        "(sheets present: Partners, Clients)",
    ),
    "missing-column.xlsx": (
        SheetError,
        'missing-column.xlsx:Clients: required column "licences" is missing '
        "(the header row is row 1)",
    ),
    "duplicate-headers.xlsx": (
        SheetError,
        'duplicate-headers.xlsx:Clients:H1: duplicate header "Licenses": F1 already holds '
        '"licences" (both are the "licences" column); keep one of the two columns',
    ),
    "legacy.xls": (UnreadableFile, "legacy.xls: is an Excel 97-2003 .xls file; save it as .xlsx"),
    "encrypted.xlsx": (
        UnreadableFile,
        "encrypted.xlsx: is password-protected; remove the password in Excel and save again",
    ),
    "truncated.xlsx": (
        UnreadableFile,
        "truncated.xlsx: is damaged or truncated (not a complete .xlsx file); "
        "open it in Excel and save it again",
    ),
    "empty.xlsx": (UnreadableFile, "empty.xlsx: the file is empty (0 bytes)"),
    "not-a-workbook.xlsx": (
        UnreadableFile,
        "not-a-workbook.xlsx: is not an Excel workbook (.xlsx files are zip archives)",
    ),
    "far-cell.xlsx": (
        UnsafeFile,
        "far-cell.xlsx:Clients: a cell at XFD1048576 makes the sheet 1048576 rows × 16384 "
        "columns; delete the stray cells",
    ),
    "formula-no-cache.xlsx": (
        UnreadableFile,
        "formula-no-cache.xlsx:Clients:F7: formula has no saved value; "
        "open the file in Excel and save it",
    ),
    "entity-bomb.xlsx": (
        UnsafeFile,
        "entity-bomb.xlsx:Clients: part xl/worksheets/sheet3.xml declares XML entities "
        "(a possible entity-expansion bomb); refusing to read it",
    ),
    "external-entity.xlsx": (
        UnsafeFile,
        "external-entity.xlsx:Clients: part xl/worksheets/sheet3.xml declares an external "
        "XML entity (it could read other files or the network); refusing to read it",
    ),
    "zip-bomb.xlsx": (
        UnsafeFile,
        "zip-bomb.xlsx: part xl/media/padding.xml expands 1,029× (50.0 MiB from 49.8 KiB); "
        "refusing a possible zip bomb",
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_committed_broken_fixtures(name: str) -> None:
    cls, message = EXPECTED[name]
    exc = refused(BROKEN / name, cls)
    assert exc.message == message


def test_committed_bad_values_fixture() -> None:
    _, errors = load_ledger(BROKEN / "bad-values.xlsx")
    assert [str(e) for e in errors] == [
        'bad-values.xlsx:Partners:C3: provider: "Panda" is not one of: Panda Security, WatchGuard',
        'bad-values.xlsx:Clients:F3: licences: "ten" is not a whole number',
        'bad-values.xlsx:Clients:E4: term: "4" is not one of: 1, 2, 3, monthly, trial',
        'bad-values.xlsx:Clients:G4: start: "31/12/2026" is not an ISO date (YYYY-MM-DD); '
        "pass --dayfirst or --monthfirst",
        "bad-values.xlsx:Clients:A5: partner: required value is blank (the ledger has 2 partners)",
        'bad-values.xlsx:Clients:F5: licences: "2.5" is not a whole number',
        'bad-values.xlsx:Clients:G5: start: "2026-02-30" is not a valid date',
    ]


def _content(path: Path) -> object:
    """A fixture's content: each zip part's name, size and CRC (deflate output varies by zlib)."""
    if not zipfile.is_zipfile(path):
        return path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, i.file_size, i.CRC) for i in zf.infolist()]


def test_fixtures_are_up_to_date(tmp_path: Path, broken: ModuleType) -> None:
    for path in broken.main(tmp_path):
        if path.name != "truncated.xlsx":  # half of a deflated file: checked by EXPECTED
            assert _content(path) == _content(BROKEN / path.name), path.name


def test_sheet_without_its_part(tmp_path: Path, broken: ModuleType) -> None:
    parts = broken.workbook_parts(
        {"Partners": broken.sheet_xml(broken.PARTNERS), "Products": broken.sheet_xml([])}
    )
    del parts["xl/worksheets/sheet2.xml"]
    path = broken.write_parts(tmp_path / "ledger.xlsx", parts)
    exc = refused(path, UnreadableFile)
    assert exc.message == "ledger.xlsx:Products: the sheet's data is missing (damaged file)"


def test_far_cell_with_attributes_in_another_order(tmp_path: Path, broken: ModuleType) -> None:
    far = '<row spans="1:1" r="900000"><c s="0" r="XFD900000"><v>1</v></c></row>'
    xml = broken.sheet_xml(broken.clients()).replace("</sheetData>", far + "</sheetData>")
    path = broken.write_workbook(tmp_path / "ledger.xlsx", {**base(broken), "Clients": xml})
    exc = refused(path, UnsafeFile)
    assert exc.message == (
        "ledger.xlsx:Clients: a cell at XFD900000 makes the sheet 900000 rows × 16384 columns; "
        "delete the stray cells"
    )


@pytest.mark.parametrize("stray", ["Clients", "Pool"])
def test_a_stray_cell_is_refused_while_the_largest_sheet_is_read_early(
    tmp_path: Path, broken: ModuleType, monkeypatch: pytest.MonkeyPatch, stray: str
) -> None:
    """The largest sheet (Clients) is read as soon as its scan passes; a sheet scanned
    after it that is unsafe still refuses the file, and the early read's thread ends."""
    import threading

    from licreport.ledger import xlsx

    monkeypatch.setattr(xlsx, "APART_CELLS", 0)
    started: list[str] = []
    reader = xlsx.SheetsAhead

    class Recorded(reader):  # type: ignore[misc, valid-type]
        def __init__(self, names: Any, read: Any, thread: str = "ledger-read") -> None:
            started.append(thread)
            super().__init__(names, read, thread)

    monkeypatch.setattr(xlsx, "SheetsAhead", Recorded)
    far = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
    rows = [["P1", f"C{i}", "Client", "AD360", 1, 5, "2026-01-01"] for i in range(200)]
    sheets = {"Clients": broken.sheet_xml(broken.clients(*rows)), "Pool": broken.sheet_xml([])}
    sheets[stray] = sheets[stray].replace("</sheetData>", far)
    path = broken.write_workbook(tmp_path / "ledger.xlsx", {**base(broken), **sheets})
    exc = refused(path, UnsafeFile)
    assert exc.message == (
        f"ledger.xlsx:{stray}: a cell at XFD1048576 makes the sheet 1048576 rows × 16384 "
        "columns; delete the stray cells"
    )
    assert started == (["ledger-read-apart"] if stray == "Pool" else [])
    assert threading.active_count() == 1


_LETTERS = st.sampled_from(
    ["A", "B", "F", "Z", "AA", "AZ", "BA", "ZZ", "XFD", "ZZZ", "AAAA", "ZZZZ"]
)
_ODD = ['<c s="1" r="{c}{r}">', "<c>", "<c/>", '<c\tr="{c}{r}">']  # reference not first


@given(
    rows=st.lists(
        st.lists(st.tuples(_LETTERS, st.integers(-8, len(_ODD) - 1)), max_size=6), max_size=8
    ),
    known=st.sampled_from([0, 1, 6, 26, 52, 16_384, 18_278, 20_000, 1 << 20]),
)
def test_the_widest_column_searched_is_the_widest_listed(
    rows: list[list[tuple[str, int]]], known: int
) -> None:
    """The used-range scan's two ways to the widest column of a run of rows: when every
    cell has its reference first, searched for past the widest so far, it is the column
    and first cell in it that listing every reference gives, from any width already seen;
    any other cell form is left to the listing (scan unchanged)."""
    from licreport.ledger.safety import SheetScan, _widest_cell, _widest_listed

    def cell(letters: str, form: int, row: int) -> str:
        start = _ODD[form] if form >= 0 else '<c r="{c}{r}" t="n">'
        return start.format(c=letters, r=row) + ("" if start.endswith("/>") else "<v>1</v></c>")

    seg = "".join(
        f'<row r="{i + 1}">' + "".join(cell(c, f, i + 1) for c, f in row) + "</row>"
        for i, row in enumerate(rows)
    ).encode()
    searched, listed = SheetScan("S", "p"), SheetScan("S", "p")
    searched.max_col = listed.max_col = known
    odd = any(f >= 0 for row in rows for _, f in row)
    assert _widest_cell(seg, searched) is not odd
    if odd:
        assert (searched.max_col, searched.far_col_cell) == (known, "")
        return
    _widest_listed(seg, listed)
    assert (searched.max_col, searched.far_col_cell) == (listed.max_col, listed.far_col_cell)


def test_a_column_widening_at_every_cell_is_listed() -> None:
    """A hostile row whose cells widen one column at a time: the search gives up after
    `MAX_WIDER` moves and every reference is listed instead (same answer)."""
    from licreport.ledger.safety import MAX_WIDER, SheetScan, _scan_rows, _widest_cell
    from licreport.outputs.xlsx.utility import column_letter

    cells = b"".join(f'<c r="{column_letter(j)}1"/>'.encode() for j in range(3 * MAX_WIDER))
    seg = b'<row r="1">' + cells + b"</row>"
    assert not _widest_cell(seg, SheetScan("S", "p"))
    scan = SheetScan("S", "p")
    _scan_rows(seg, scan, "f.xlsx")
    assert (scan.max_row, scan.max_col) == (1, 3 * MAX_WIDER)
    assert scan.far_col_cell == f"{column_letter(3 * MAX_WIDER - 1)}1"
