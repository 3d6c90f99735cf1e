"""Reading an .xlsx/.xlsm ledger into raw grids, after the safety scan says it is safe.

The workbook's sheet list comes from ``xl/workbook.xml`` parsed with defusedxml;
every part is then streamed through `safety` (zip-bomb limits, DOCTYPE/ENTITY,
real used range, formulas without a saved value) and only then does
python-calamine read the schema sheets.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from defusedxml import ElementTree as SafeET
from python_calamine import CalamineWorkbook

from licreport.errors import DataError, SheetError, UnreadableFile, UnsafeFile
from licreport.ledger import safety
from licreport.ledger.headers import RawBook, RawSheet, SheetsAhead, match_sheets
from licreport.ledger.schema import BY_NAME, schema_sheet
from licreport.outputs.xlsx.utility import column_number

WORKBOOK = "xl/workbook.xml"
ROOT_RELS = "_rels/.rels"
# ``r:id`` of a <sheet>, transitional or Strict Open XML.
_R_ID = frozenset(
    {
        "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id",
        "{http://purl.oclc.org/ooxml/officeDocument/relationships}id",
    }
)


XLSX_SUFFIXES = (".xlsx", ".xlsm")  # what `read_source` reads as a workbook


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(safety.CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_xlsx(path: Path, limits: safety.Limits) -> RawBook:
    """The schema sheets of a workbook as raw grids (row 1 at index 0, column A at 0).

    The largest sheet, when large, is read by calamine as soon as its own scan has passed
    (`scan_parts` scans it first, after the parts calamine opens) while the other sheets
    are scanned: on SPEC §6's ledger the Clients read begins after 0.35 s of scanning
    instead of 0.5 s."""
    display = path.name
    picked: dict[str, tuple[str, str]] = {}
    looked = False  # at the first sheet scanned, the largest
    apart: tuple[str, SheetsAhead] | None = None  # (schema name, its read) begun in the scan

    def choose(sheets: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
        picked.update(_choose_sheets(sheets, display))
        return picked

    def scanned(sheet: str, scan: safety.SheetScan) -> None:
        nonlocal looked, apart
        if looked:
            return
        looked = True
        if len(picked) < 2 or scan.max_row * scan.max_col < APART_CELLS:
            return
        try:
            safety.check_used_range([scan], display, limits)
        except UnsafeFile:
            return  # raised with every sheet's problems once all are scanned
        schema_name = next(k for k, (name, _) in picked.items() if name == sheet)

        def read() -> Iterator[tuple[str, RawSheet]]:
            return _read_sheets(path, display, [(schema_name, sheet)], {sheet: scan})

        apart = (schema_name, SheetsAhead([schema_name], read, thread="ledger-read-apart"))

    try:
        sheets, date1904, chosen, scans = _scan(path, limits, choose, scanned)
    except BaseException:
        if apart is not None:  # no thread outlives the read
            with contextlib.suppress(Exception):
                apart[1].close()
        raise
    names = [n for n in BY_NAME if n in chosen]
    raw = SheetsAhead(names, lambda: _cells(path, display, chosen, scans, names, apart))
    present = [name for name, _ in sheets]
    try:
        digest = file_sha256(path)
    except BaseException:
        raw.close()  # no thread outlives the read
        raise
    return RawBook(display, "xlsx", digest, raw, present, date1904=date1904)


def _scan(
    path: Path,
    limits: safety.Limits,
    choose: Callable[[list[tuple[str, str]]], dict[str, tuple[str, str]]],
    scanned: Callable[[str, safety.SheetScan], None] | None = None,
) -> tuple[list[tuple[str, str]], bool, dict[str, tuple[str, str]], dict[str, safety.SheetScan]]:
    """Every safety check before calamine reads: the package, its workbook part, the
    sheets `choose` picks (key -> (sheet name, part)) scanned (`scanned` told of each),
    their used ranges and formulas. Returns (every sheet, 1904 dates, chosen, scans)."""
    display = path.name
    safety.check_signature(path, display)
    zf = safety.open_zip(path, display, limits)
    try:
        reader = safety.PartReader(zf, display, limits)
        names = set(zf.namelist())
        workbook = _workbook_part(reader, names)
        _check_is_workbook(names, display, workbook)
        sheets, date1904 = _sheet_list(reader, names, workbook)
        chosen = choose(sheets)
        for name, part in chosen.values():
            if part not in names:  # calamine must never read a part we did not scan
                raise UnreadableFile(
                    f"{display}:{name}: the sheet's data is missing (damaged file)"
                )
        parts = {part: name for name, part in chosen.values()}
        skip = {workbook, _rels_of(workbook)}
        scans = safety.scan_parts(reader, parts, skip=skip, scanned=scanned)
    finally:
        zf.close()
    safety.check_used_range(scans.values(), display, limits)
    _check_formulas(scans, display)
    return sheets, date1904, chosen, scans


def _rels_of(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def _target(source: str, target: str) -> str:
    """A relationship target as a part name (relative to the folder of `source`)."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _workbook_part(reader: safety.PartReader, names: set[str]) -> str:
    """The workbook part the package's root relationships name (usually xl/workbook.xml)."""
    if ROOT_RELS not in names:
        return WORKBOOK
    try:
        root = SafeET.fromstring(reader.read_small(ROOT_RELS))
    except UnsafeFile:
        raise
    except Exception:  # a damaged root rels part: fall back to the usual place
        return WORKBOOK
    for rel in root:
        if rel.get("Type", "").endswith("/officeDocument"):
            part = _target("", rel.get("Target", ""))
            if part in names:
                return part
    return WORKBOOK


def _check_is_workbook(names: set[str], display: str, workbook: str = WORKBOOK) -> None:
    if workbook in names:
        return
    if "xl/workbook.bin" in names:
        raise UnreadableFile(
            f"{display}: is an Excel binary workbook (.xlsb); open it in Excel and save it "
            "as Excel Workbook (.xlsx)"
        )
    if "content.xml" in names and "mimetype" in names:
        raise UnreadableFile(
            f"{display}: is an OpenDocument spreadsheet (.ods); save it as .xlsx "
            "(in LibreOffice: File > Save As > Excel 2007-365)"
        )
    raise UnreadableFile(f"{display}: is a zip file but not an Excel workbook (no {WORKBOOK})")


def _sheet_list(
    reader: safety.PartReader, names: set[str], workbook: str = WORKBOOK
) -> tuple[list[tuple[str, str]], bool]:
    """(sheet name, worksheet part) in workbook order, and whether dates count from 1904.

    Namespaces are matched by local name, so Strict Open XML workbooks (whose
    namespaces are purl.oclc.org ones) are read like transitional ones.
    """
    display = reader.display
    rels = _rels_of(workbook)
    try:
        root = SafeET.fromstring(reader.read_small(workbook))
        rels_root = SafeET.fromstring(reader.read_small(rels)) if rels in names else None
    except UnsafeFile:
        raise
    except Exception as exc:  # defusedxml / expat errors on a damaged part
        raise UnreadableFile(f"{display}: {workbook} cannot be read ({exc})") from exc
    targets: dict[str, str] = {}
    if rels_root is not None:
        for rel in rels_root:
            if _local(rel.tag) == "Relationship":
                targets[rel.get("Id", "")] = _target(workbook, rel.get("Target", ""))
    pr = next((e for e in root if _local(e.tag) == "workbookPr"), None)
    date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
    sheets = []
    for el in root.iter():
        if _local(el.tag) != "sheet":
            continue
        rid = next((v for k, v in el.attrib.items() if k in _R_ID), "")
        sheets.append((el.get("name", ""), targets.get(rid, "")))
    return sheets, date1904


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def open_calamine(path: Path) -> CalamineWorkbook:
    """calamine on `path`, with sheets it cannot parse hidden from it.

    calamine refuses a whole workbook holding an Excel 4.0 macro sheet or a
    dialog sheet ("Unrecognized sheet:type"); those sheets are never ledger
    sheets, so calamine gets an in-memory copy whose workbook part lists only
    worksheets and chartsheets.  Other workbooks are opened as they are.
    """
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        workbook = WORKBOOK
        if ROOT_RELS in names:
            for rel in SafeET.fromstring(z.read(ROOT_RELS)):
                if rel.get("Type", "").endswith("/officeDocument"):
                    workbook = _target("", rel.get("Target", ""))
        rels = _rels_of(workbook)
        if workbook not in names or rels not in names:
            return CalamineWorkbook.from_path(str(path))
        other = {
            rel.get("Id", "")
            for rel in SafeET.fromstring(z.read(rels))
            if not rel.get("Type", "").endswith(("/worksheet", "/chartsheet"))
        }
        xml = z.read(workbook)
        drop = [
            m
            for m in re.finditer(rb"<(?:[\w.-]+:)?sheet\b[^>]*?/>", xml)
            if (rid := re.search(rb":id\s*=\s*[\"']([^\"']*)[\"']", m.group(0)))
            and rid.group(1).decode() in other
        ]
        if not drop:
            return CalamineWorkbook.from_path(str(path))
        for m in reversed(drop):
            xml = xml[: m.start()] + xml[m.end() :]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
            for info in z.infolist():
                out.writestr(info.filename, xml if info.filename == workbook else z.read(info))
    buf.seek(0)
    return CalamineWorkbook.from_filelike(buf)


def _choose_sheets(sheets: list[tuple[str, str]], display: str) -> dict[str, tuple[str, str]]:
    """Schema sheet name -> (sheet name as written, part); two matches for one is an error."""
    chosen, clashes = match_sheets(sheets)
    if clashes:
        problems = [
            DataError(display, second, None, None, None,
                      f'sheets "{first}" and "{second}" both match {sheet}; rename or delete one')
            for sheet, first, second in clashes
        ]  # fmt: skip
        raise SheetError(str(problems[0]), problems)
    return chosen


def _check_formulas(scans: dict[str, safety.SheetScan], display: str) -> None:
    """Formulas saved without a value (written by a script, never opened in Excel)."""
    problems = []
    order = list(BY_NAME)

    def rank(scan: safety.SheetScan) -> int:
        sheet = schema_sheet(scan.name)
        return order.index(sheet) if sheet in order else len(order)

    for scan in sorted(scans.values(), key=rank):
        for ref in scan.uncached:
            row = int("".join(ch for ch in ref if ch.isdigit()) or 0) or None
            problems.append(
                DataError(
                    display,
                    scan.name,
                    row,
                    None,
                    ref,
                    "formula has no saved value; open the file in Excel and save it",
                )
            )
    if problems:
        more = f" (and {len(problems) - 1} more cells)" if len(problems) > 1 else ""
        raise UnreadableFile(str(problems[0]) + more, problems)


APART_CELLS = 200_000  # a sheet this large is read by a thread of its own


def _cells(
    path: Path,
    display: str,
    chosen: dict[str, tuple[str, str]],
    scans: dict[str, safety.SheetScan],
    order: Iterable[str] = BY_NAME,
    reading: tuple[str, SheetsAhead] | None = None,
) -> Iterator[tuple[str, RawSheet]]:
    """(schema name, sheet) of each chosen sheet in `order`, read by calamine.

    The largest sheet, when large, is read meanwhile by a second thread with a workbook
    of its own: calamine parses without the GIL, so the two reads share the machine's
    cores (the Clients sheet of SPEC §6 beside the other sheets: 1.24 s -> 0.78 s).
    `reading` is (schema name, its read) when that read began during the scan.
    Sheets still come in `order`, each error where its sheet comes."""
    pairs = [(s, chosen[s][0]) for s in order if s in chosen]
    if reading is not None:
        big, apart = next(p for p in pairs if p[0] == reading[0]), reading[1]
    else:
        cells = {s: scans[n].max_row * scans[n].max_col if n in scans else 0 for s, n in pairs}
        largest = max(pairs, key=lambda p: cells[p[0]], default=None)
        if largest is None or len(pairs) < 2 or cells[largest[0]] < APART_CELLS:
            yield from _read_sheets(path, display, pairs, scans)
            return
        big = largest
        apart = SheetsAhead(
            [big[0]], lambda: _read_sheets(path, display, [big], scans), thread="ledger-read-apart"
        )
    try:
        rest = _read_sheets(path, display, [p for p in pairs if p != big], scans)
        for schema_name, _ in pairs:
            yield (schema_name, apart[schema_name]) if schema_name == big[0] else next(rest)
    finally:
        with contextlib.suppress(Exception):  # its error was raised where its sheet came
            apart.close()


def _read_sheets(
    path: Path,
    display: str,
    pairs: Iterable[tuple[str, str]],
    scans: dict[str, safety.SheetScan],
) -> Iterator[tuple[str, RawSheet]]:
    """(schema name, sheet) of each (schema name, sheet name) in `pairs`, with one workbook."""
    name = ""
    try:
        book = open_calamine(path)
        try:
            for schema_name, name in pairs:
                rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
                errors = {}
                scan = scans.get(name)
                for ref, code in scan.errors.items() if scan else ():
                    letters = "".join(ch for ch in ref if ch.isalpha())
                    errors[(int(ref[len(letters) :]) - 1, column_number(letters) - 1)] = code
                yield schema_name, RawSheet(display, name, rows, None, errors)
        finally:
            book.close()
    except (UnreadableFile, UnsafeFile):
        raise
    except Exception as exc:  # calamine raises its own error types for damaged parts
        raise UnreadableFile(f"{display}: cannot be read as a workbook ({exc})") from exc
    except BaseException as exc:
        # calamine's Rust core panics (a BaseException) on a date-formatted number outside
        # the dates it can hold, e.g. 9999999 formatted as a date
        if type(exc).__name__ != "PanicException":
            raise
        raise UnreadableFile(
            f"{display}:{name}: a cell formatted as a date holds a number outside the dates "
            "Excel can show (before 1900 or after 9999); correct it and save again"
        ) from None


def read_first_sheet(path: Path, limits: safety.Limits) -> RawSheet:
    """The first worksheet of a workbook (a usage or billing export), after every safety
    check `read_xlsx` runs on a ledger."""

    def first(sheets: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
        if not sheets:
            raise UnreadableFile(f"{path.name}: the workbook holds no sheet")
        return {sheets[0][0]: sheets[0]}

    _, _, chosen, scans = _scan(path, limits, first)
    (name,) = chosen
    return dict(_cells(path, path.name, chosen, scans, order=[name]))[name]
