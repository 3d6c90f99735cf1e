"""Write an empty ledger template (or the sample ledger) as .xlsx, and CSV folders.

The template is the ledger a new user fills in: a "Read me" sheet that explains
every sheet and column (from the schema's help text), then one sheet per schema
sheet with bold frozen headers, filters, date formats and drop-down lists for
the columns that take a fixed set of values.  Files are written atomically (a
temporary file in the same folder, then `os.replace`) so a crash never leaves a
half-written ledger behind.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from licreport.ledger.model import column_letter
from licreport.ledger.schema import BOOL, CHOICE, DATE, DECIMAL, SHEETS, Column, Sheet

README_SHEET = "Read me"
DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"
YES_NO = ("yes", "no")
LAST_ROW = 1048576  # Excel's last row: drop-downs cover the whole column.

INTRO = (
    "licreport ledger",
    "This workbook is the licence ledger licreport reads: partners, the product "
    "catalogue, annual pool blocks, client contracts and MSSP Points exchanges.",
    "Fill one row per item under the headers; do not rename the sheets or headers "
    "(case, spaces, '_' and '-' do not matter). Extra columns are kept untouched.",
    "Dates: real date cells or YYYY-MM-DD text. Required columns are marked 'yes' "
    "below. The Renewals sheet is written by licreport: leave it to the tool.",
    "Example: licreport reconcile ledger.xlsx --month 2026-12",
)

Tables = Mapping[str, Sequence[Mapping[str, object]]]


def dropdown_choices(column: Column) -> tuple[str, ...]:
    """The drop-down list of a column: its choices, yes/no for booleans, else none."""
    if column.kind == CHOICE:
        return column.choices
    if column.kind == BOOL:
        return YES_NO
    return ()


def _xlsx_value(column: Column, value: object) -> object:
    """A sample value as the cell a user would type (yes/no, term 1 as a number)."""
    if value is None:
        return None
    if column.kind == BOOL:
        return "yes" if value else "no"
    if column.kind == CHOICE and isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def _csv_value(value: object) -> str:
    """A value as CSV text: ISO dates, plain decimals, yes/no, blank for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


# Ids licreport writes itself, at their full length: a run id is `<month>-<8 hex>`.
_ID_WIDTHS = {"run": len("2026-12-0123abcd")}
# Headers name their font: bold alone renders in a serif fallback where Calibri is not
# the application's default (LibreOffice).  Calibri 11 is the workbook's default font.
HEADER_FONT = Font(name="Calibri", family=2, size=11, bold=True)


def _width(header: str, values: Iterable[object], kind: str) -> float:
    """A column width that fits the header, the values and the ids licreport writes (capped)."""
    longest = 10 if kind == DATE else max((len(str(v)) for v in values if v is not None), default=0)
    longest = max(longest, _ID_WIDTHS.get(header, 0))
    return float(min(max(len(header), longest, 8) + 3, 48))


def _print_setup(ws: Worksheet, *, title_row: int | None = 1) -> None:
    """Printed A4 landscape, one page wide, the header row repeated on every page."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddHeader.left.text = "&A"
    ws.oddFooter.right.text = "Page &P of &N"
    if title_row is not None:
        ws.print_title_rows = f"{title_row}:{title_row}"


def _write_readme(ws: Worksheet) -> None:
    """The first sheet: what the workbook is, then one row per sheet and column."""
    ws.append([INTRO[0]])
    ws["A1"].font = Font(name="Calibri", family=2, bold=True, size=14)
    for line in INTRO[1:]:
        ws.append([line])
    ws.append([])
    header_row = ws.max_row + 1
    ws.append(["sheet", "column", "required", "allowed values", "help"])
    for cell in ws[header_row]:
        cell.font = HEADER_FONT
    for sheet in SHEETS:
        ws.append([sheet.name, None, "yes" if sheet.required else "no", None, sheet.help])
        ws.cell(ws.max_row, 1).font = HEADER_FONT
        for col in sheet.columns:
            allowed = ", ".join(dropdown_choices(col)) or None
            required = "yes" if col.required else None
            ws.append([sheet.name, col.name, required, allowed, col.help or None])
    for letter, width in zip("ABCDE", (12, 20, 10, 34, 80), strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=header_row + 1, min_col=4, max_col=5):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    _print_setup(ws, title_row=header_row)


def _write_sheet(ws: Worksheet, sheet: Sheet, rows: Sequence[Mapping[str, object]]) -> None:
    """Headers, rows, formats, filter, frozen header and drop-down lists of one sheet."""
    ws.append(sheet.names)
    for cell in ws[1]:
        cell.font = HEADER_FONT
    for index, row in enumerate(rows, start=2):
        for col_index, column in enumerate(sheet.columns, start=1):
            value = _xlsx_value(column, row.get(column.name))
            if value is None:
                continue
            cell = ws.cell(index, col_index, value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text
            if column.kind == DATE:
                cell.number_format = DATE_FORMAT
            elif column.kind == DECIMAL and column.name == "unit_price":
                cell.number_format = MONEY_FORMAT
    last = column_letter(len(sheet.columns) - 1)
    ws.auto_filter.ref = f"A1:{last}{max(len(rows) + 1, 2)}"
    ws.freeze_panes = "A2"
    _print_setup(ws)
    for col_index, column in enumerate(sheet.columns):
        letter = column_letter(col_index)
        values = (r.get(column.name) for r in rows)
        dim = ws.column_dimensions[letter]
        dim.width = _width(column.name, values, column.kind)
        if column.kind == DATE:
            dim.number_format = DATE_FORMAT  # empty rows the user fills get dates too
        choices = dropdown_choices(column)
        if choices:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(choices) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=f"{sheet.name}.{column.name}",
                error=f"Choose one of: {', '.join(choices)}",
            )
            dv.add(f"{letter}2:{letter}{LAST_ROW}")
            ws.add_data_validation(dv)


def _replace_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_path)`` on a temp file next to `path`, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_template(path: Path, *, sample: bool = False) -> Path:
    """Write the ledger template to `path` (.xlsx); with `sample`, filled with the sample."""
    from licreport.ledger.sample import sample_tables

    tables: Tables = sample_tables() if sample else {}
    wb = Workbook()
    readme = wb.active
    assert readme is not None
    readme.title = README_SHEET
    _write_readme(readme)
    for sheet in SHEETS:
        _write_sheet(wb.create_sheet(sheet.name), sheet, tables.get(sheet.name, ()))
    wb.properties.creator = "licreport"
    wb.properties.title = "licreport ledger" + (" (sample)" if sample else "")
    return _replace_atomically(Path(path), wb.save)


def write_csv_folder(path: Path, tables: Tables) -> Path:
    """Write `tables` as one CSV per sheet in folder `path` (UTF-8, comma, ISO dates).

    File names are the sheet names in lower case (``pool.csv``); headers are the
    canonical column names.  Required sheets are always written, optional ones
    only when they have rows (an absent sheet is an empty one).
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for sheet in SHEETS:
        rows = tables.get(sheet.name, ())
        if not rows and not sheet.required:
            continue

        def write(
            tmp: Path, sheet: Sheet = sheet, rows: Sequence[Mapping[str, object]] = rows
        ) -> None:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                out = csv.writer(fh, lineterminator="\n")
                out.writerow(sheet.names)
                for row in rows:
                    out.writerow([_csv_value(row.get(name)) for name in sheet.names])

        _replace_atomically(folder / f"{sheet.name.lower()}.csv", write)
    return folder
