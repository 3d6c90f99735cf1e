"""Reading an .xlsx/.xlsm ledger into raw grids, after the safety scan says it is safe.

The workbook's sheet list comes from ``xl/workbook.xml`` parsed with defusedxml;
every part is then streamed through `safety` (zip-bomb limits, DOCTYPE/ENTITY,
real used range, formulas without a saved value) and only then does
python-calamine read the schema sheets.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable
from pathlib import Path

from defusedxml import ElementTree as SafeET
from python_calamine import CalamineWorkbook

from licreport.errors import DataError, SheetError, UnreadableFile, UnsafeFile
from licreport.ledger import safety
from licreport.ledger.headers import RawBook, RawSheet, match_sheets
from licreport.ledger.schema import BY_NAME, schema_sheet

WORKBOOK = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(safety.CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_xlsx(path: Path, limits: safety.Limits) -> RawBook:
    """The schema sheets of a workbook as raw grids (row 1 at index 0, column A at 0)."""
    display = path.name
    safety.check_signature(path, display)
    zf = safety.open_zip(path, display, limits)
    try:
        reader = safety.PartReader(zf, display, limits)
        names = set(zf.namelist())
        _check_is_workbook(names, display)
        sheets, date1904 = _sheet_list(reader, names)
        chosen = _choose_sheets(sheets, display)
        for name, part in chosen.values():
            if part not in names:  # calamine must never read a part we did not scan
                raise UnreadableFile(
                    f"{display}:{name}: the sheet's data is missing (damaged file)"
                )
        parts = {part: name for name, part in chosen.values()}
        scans = safety.scan_parts(reader, parts, skip={WORKBOOK, WORKBOOK_RELS})
    finally:
        zf.close()
    safety.check_used_range(scans.values(), display, limits)
    _check_formulas(scans, display)
    raw = _read_cells(path, display, chosen, scans)
    present = [name for name, _ in sheets]
    return RawBook(display, "xlsx", file_sha256(path), raw, present, date1904=date1904)


def _check_is_workbook(names: set[str], display: str) -> None:
    if WORKBOOK in names:
        return
    if "xl/workbook.bin" in names:
        raise UnreadableFile(f"{display}: is an Excel binary workbook (.xlsb); save it as .xlsx")
    if "content.xml" in names and "mimetype" in names:
        raise UnreadableFile(f"{display}: is an OpenDocument spreadsheet; save it as .xlsx")
    raise UnreadableFile(f"{display}: is a zip file but not an Excel workbook (no {WORKBOOK})")


def _sheet_list(reader: safety.PartReader, names: set[str]) -> tuple[list[tuple[str, str]], bool]:
    """(sheet name, worksheet part) in workbook order, and whether dates count from 1904."""
    display = reader.display
    try:
        root = SafeET.fromstring(reader.read_small(WORKBOOK))
        rels_root = (
            SafeET.fromstring(reader.read_small(WORKBOOK_RELS)) if WORKBOOK_RELS in names else None
        )
    except UnsafeFile:
        raise
    except Exception as exc:  # defusedxml / expat errors on a damaged part
        raise UnreadableFile(f"{display}: {WORKBOOK} cannot be read ({exc})") from exc
    targets: dict[str, str] = {}
    if rels_root is not None:
        for rel in rels_root.iter(f"{_NS_PKG}Relationship"):
            target = rel.get("Target", "")
            part = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            targets[rel.get("Id", "")] = posixpath.normpath(part)
    pr = root.find(f"{_NS_MAIN}workbookPr")
    date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
    sheets = []
    for el in root.iter(f"{_NS_MAIN}sheet"):
        name = el.get("name", "")
        sheets.append((name, targets.get(el.get(f"{_NS_REL}id", ""), "")))
    return sheets, date1904


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


def _read_cells(
    path: Path,
    display: str,
    chosen: dict[str, tuple[str, str]],
    scans: dict[str, safety.SheetScan],
    order: Iterable[str] = BY_NAME,
) -> dict[str, RawSheet]:
    out: dict[str, RawSheet] = {}
    name = ""
    try:
        book = CalamineWorkbook.from_path(str(path))
        for schema_name in order:
            if schema_name not in chosen:
                continue
            name = chosen[schema_name][0]
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            errors = {}
            scan = scans.get(name)
            for ref, code in scan.errors.items() if scan else ():
                letters = "".join(ch for ch in ref if ch.isalpha())
                errors[(int(ref[len(letters) :]) - 1, safety.column_number(letters) - 1)] = code
            out[schema_name] = RawSheet(display, name, rows, None, errors)
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
    return out


def read_first_sheet(path: Path, limits: safety.Limits) -> RawSheet:
    """The first worksheet of a workbook (a usage or billing export), after every safety
    check `read_xlsx` runs on a ledger."""
    display = path.name
    safety.check_signature(path, display)
    zf = safety.open_zip(path, display, limits)
    try:
        reader = safety.PartReader(zf, display, limits)
        names = set(zf.namelist())
        _check_is_workbook(names, display)
        sheets, _ = _sheet_list(reader, names)
        if not sheets:
            raise UnreadableFile(f"{display}: the workbook holds no sheet")
        name, part = sheets[0]
        if part not in names:
            raise UnreadableFile(f"{display}:{name}: the sheet's data is missing (damaged file)")
        scans = safety.scan_parts(reader, {part: name}, skip={WORKBOOK, WORKBOOK_RELS})
    finally:
        zf.close()
    safety.check_used_range(scans.values(), display, limits)
    _check_formulas(scans, display)
    return _read_cells(path, display, {name: (name, part)}, scans, order=[name])[name]
