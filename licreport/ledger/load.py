"""`load_ledger`: a workbook or CSV folder -> typed tables and every cell-level error.

The steps run in order: safety and reading (`xlsx` / `csvdir`), header
matching for every sheet (all structural problems raised together), then
typing each column (`parse`), required values, defaults and the partner fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import pandas_dtype

from licreport.errors import DataError, SheetError, UnreadableFile, UsageError
from licreport.ledger import ahead, safety
from licreport.ledger.csvdir import date_style, read_csv_folder
from licreport.ledger.headers import Columns, HeaderMatch, RawBook, RawSheet, find_header
from licreport.ledger.model import Ledger, Table, cell_column, column_letter, empty_table
from licreport.ledger.parse import Cells, DateOptions, convert, to_months, to_text
from licreport.ledger.safety import Limits
from licreport.ledger.schema import (
    ASSIGN,
    CLIENTS,
    MONTH_FIRST,
    POOL,
    PURCHASE,
    ROW,
    SHEETS,
    Sheet,
)
from licreport.ledger.xlsx import XLSX_SUFFIXES, read_xlsx

# Blank cells that get a value rather than staying <NA> (SPEC §3).
DEFAULTS = {(POOL.name, "type"): PURCHASE, (CLIENTS.name, "type"): ASSIGN}
PARTNER_SHEETS = ("Pool", "Clients", "Exchanges", "Renewals")


def load_ledger(
    path: Path,
    *,
    dayfirst: bool = False,
    monthfirst: bool = False,
    limits: Limits | None = None,
    decimal: str | None = None,
) -> tuple[Ledger, list[DataError]]:
    """Read a ledger (.xlsx/.xlsm or a CSV folder): typed tables and every data error.

    `decimal` (``","``/``"."``) forces the decimal separator of CSV files (SPEC §11).

    Raises `UnreadableFile`, `UnsafeFile` or `SheetError` (exit 2) for what stops
    the read, listing every such problem of the file at once.
    """
    if dayfirst and monthfirst:
        raise UsageError("--dayfirst and --monthfirst cannot be used together")
    path = Path(path)
    book = read_source(path, limits or Limits(), decimal)
    options = DateOptions(dayfirst, monthfirst, book.date1904)
    try:
        matches, built = _match_and_build(book, path, options)
    finally:
        book.close()  # a reader's error wins, as when every sheet was read first
    _fill_partners(built)
    _normalise_months(built["Renewals"])
    tables = {name: b.table for name, b in built.items()}
    order = {name: k for k, name in enumerate(tables)}
    errors = sorted(
        (e for b in built.values() for e in b.errors),
        key=lambda e: (order[_schema_of(e, built)], e.row or 0, cell_column(e.cell)),
    )
    ledger = Ledger(path, book.kind, book.sha256, tables, list(book.warnings))
    for schema in SHEETS:
        raw = book.sheets.get(schema.name)
        form = date_style(raw, schema, matches.get(schema.name), options) if raw else None
        if raw is not None and form is not None:
            ledger.csv_formats[raw.file] = form
    return ledger, errors


def read_source(path: Path, limits: Limits, decimal: str | None = None) -> RawBook:
    """Dispatch on what `path` is: a CSV folder, an .xlsx/.xlsm file, or something we refuse."""
    if path.is_dir():
        return ahead.take(path, limits, decimal) or read_csv_folder(path, limits, decimal)
    if not path.exists():
        raise UnreadableFile(f"{path}: no such file or folder")
    if not path.is_file():
        raise UnreadableFile(f"{path.name}: is not a regular file")
    safety.check_signature(path, path.name)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raise UnreadableFile(
            f"{path.name}: is a single CSV file; pass the folder that holds the ledger's CSV files"
        )
    if suffix not in XLSX_SUFFIXES:
        raise UnreadableFile(
            f"{path.name}: is not an .xlsx/.xlsm workbook or a folder of CSV files"
        )
    return ahead.take(path, limits) or read_xlsx(path, limits)


def _match_and_build(
    book: RawBook, path: Path, options: DateOptions
) -> tuple[dict[str, HeaderMatch | None], dict[str, _Built]]:
    """Every sheet's header row, and its rows typed as each sheet is read (the next one is
    read meanwhile, `SheetsAhead`).  All missing sheets/columns and duplicates are raised
    together, after every sheet was looked at; no sheet is typed once one is found."""
    if book.kind == "csv" and not any(s.name in book.sheets for s in SHEETS):
        files = ", ".join(f"{s.name.lower()}.csv" for s in SHEETS)
        raise SheetError(
            f"{path}: is not a ledger folder: it holds none of {files}"
            f" (CSV files present: {', '.join(book.present) or 'none'})"
        )
    problems: list[DataError] = []
    matches: dict[str, HeaderMatch | None] = {}
    built: dict[str, _Built] = {}
    for schema in SHEETS:
        raw = book.sheets.get(schema.name)
        if raw is None:
            if schema.required:
                problems.append(_missing_sheet(book, schema))
            file = book.path_display if book.kind == "xlsx" else f"{schema.name.lower()}.csv"
            built[schema.name] = _Built(empty_table(schema, file), [], np.zeros(0, dtype=bool))
            continue
        match, found = find_header(raw, schema)
        problems += found
        matches[schema.name] = match
        if not problems:
            built[schema.name] = _build(raw, schema, match, options)
    if problems:
        _raise_sheet_error(problems)
    return matches, built


def _missing_sheet(book: RawBook, schema: Sheet) -> DataError:
    if book.kind == "csv":
        what = f"required file {schema.name.lower()}.csv is missing"
        listing = f"CSV files present: {', '.join(book.present) or 'none'}"
    else:
        what = f'required sheet "{schema.name}" is missing'
        listing = f"sheets present: {', '.join(book.present) or 'none'}"
    return DataError(book.path_display, None, None, None, None, f"{what} ({listing})")


def _raise_sheet_error(problems: list[DataError]) -> None:
    more = len(problems) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    raise SheetError(str(problems[0]) + tail, problems)


@dataclass
class _Built:
    table: Table
    errors: list[DataError]
    partner_blank: np.ndarray  # rows whose partner cell is blank (not an error)


def _build(raw: RawSheet, schema: Sheet, match: HeaderMatch | None, options: DateOptions) -> _Built:
    """Type one sheet's data rows; rows blank in every headed column are skipped."""
    if match is None:  # an optional sheet with nothing in it
        table = empty_table(schema, raw.file)
        table.sheet, table.present = raw.name, True
        return _Built(table, [], np.zeros(0, dtype=bool))
    start = match.index + 1
    data = raw.rows[start:]
    headed = [*match.columns.values(), *match.extra.values()]
    if isinstance(data, Columns):  # a CSV file read by pyarrow: already coded
        cells = {j: Cells.coded(data.codes[j], data.uniques[j], text=True) for j in headed}
    else:
        grid = _grid(data, max(headed, default=-1) + 1)
        cells = {j: Cells.of(grid[:, j]) for j in headed}
    blank_rows = np.ones(len(data), dtype=bool)
    for c in cells.values():
        blank_rows &= c.blank
    keep = np.flatnonzero(~blank_rows)
    if raw.row_numbers is None:
        rows = keep + start + 1
    else:
        rows = np.asarray(raw.row_numbers, dtype=np.int64)[keep + start]
    index = pd.RangeIndex(len(keep))
    letters = {c: column_letter(j) for c, j in match.columns.items()}
    table = Table(
        schema,
        pd.DataFrame(index=index),
        raw.file,
        raw.name,
        header_row=raw.row_number(match.index),
        headers=dict(match.written),
        letters=letters,
    )
    # Excel error cells (#N/A, #REF!) read as blank: report them instead of "blank".
    excel_errors: dict[str, dict[int, str]] = {}
    if raw.cell_errors:
        pos_of_row = {int(r): p for p, r in enumerate(keep + start)}
        for (ri, cj), code in raw.cell_errors.items():
            for name, j in match.columns.items():
                if j == cj and ri in pos_of_row:
                    excel_errors.setdefault(name, {})[pos_of_row[ri]] = code
    errors: list[DataError] = []
    frame: dict[str, pd.Series] = {}
    partner_blank = np.zeros(len(keep), dtype=bool)
    for col in schema.columns:
        dtype = pandas_dtype(col.dtype)
        if col.name not in match.columns:
            fill = DEFAULTS.get((schema.name, col.name))
            frame[col.name] = pd.Series(fill, index=index, dtype=object).astype(dtype)
            continue
        sub = cells[match.columns[col.name]].take(keep)
        values, problems = convert(sub, col, options, raw.csv.decimal if raw.csv else None)
        values.index = index
        bad_cells = excel_errors.get(col.name, {})
        for pos, code in sorted(bad_cells.items()):
            errors.append(table.error(int(rows[pos]), col.name, f"the cell shows the error {code}"))
        for pos, message in problems:
            if pos not in bad_cells:
                errors.append(table.error(int(rows[pos]), col.name, message))
        blank = sub.blank.copy()
        if bad_cells:
            blank[list(bad_cells)] = False
        default = DEFAULTS.get((schema.name, col.name))
        if default is not None:
            values = values.mask(pd.Series(blank, index=index), default)
        if col.name == "partner" and schema.name in PARTNER_SHEETS:
            partner_blank = blank
        elif col.required:
            for blank_pos in np.flatnonzero(blank):
                errors.append(
                    table.error(int(rows[blank_pos]), col.name, "required value is blank")
                )
        frame[col.name] = values.astype(dtype) if col.dtype != "object" else values
    frame[ROW] = pd.Series(rows, index=index, dtype="Int64")
    table.frame = pd.DataFrame(frame, index=index)
    extra = {h: to_text(cells[j].take(keep)).set_axis(index) for h, j in match.extra.items()}
    table.extra = pd.DataFrame(extra, index=index)
    if "partner" not in match.columns:
        partner_blank = np.ones(len(keep), dtype=bool)
    return _Built(table, errors, partner_blank)


def _grid(rows: list[list[Any]] | np.ndarray, width: int) -> np.ndarray:
    """The rows as a 2-D object array at least `width` wide (padded with None)."""
    if isinstance(rows, np.ndarray):  # a CSV file read by pandas' C reader: already a grid
        if rows.shape[1] >= width:
            return rows
        rows = rows.tolist()
    if rows and all(len(r) == len(rows[0]) for r in rows) and len(rows[0]) >= width:
        grid = np.empty((len(rows), len(rows[0])), dtype=object)
        grid[:] = rows
        return grid
    width = max(width, *(len(r) for r in rows)) if rows else width
    grid = np.full((len(rows), width), None, dtype=object)
    for i, r in enumerate(rows):
        grid[i, : len(r)] = r
    return grid


def _fill_partners(built: dict[str, _Built]) -> None:
    """Blank or absent partner: the one partner, if Partners has one row; else an error."""
    partners = built["Partners"].table.frame["partner"]
    single = partners.iloc[0] if len(partners) == 1 and pd.notna(partners.iloc[0]) else None
    problems = []
    for name in PARTNER_SHEETS:
        b = built[name]
        frame, table = b.table.frame, b.table
        if not len(frame) or not b.partner_blank.any():
            continue
        mask = pd.Series(b.partner_blank, index=frame.index)
        if single is not None:
            frame["partner"] = frame["partner"].mask(mask, single).astype("str")
            continue
        why = _partner_count(len(partners))
        if len(partners) == 1:  # its partner cell is blank: already an error in Partners
            b.errors += table.errors_at(mask, "partner", "required value is blank")
            continue
        if "partner" not in table.headers:
            if table.present:
                problems.append(
                    DataError(
                        table.file,
                        table.sheet,
                        None,
                        None,
                        None,
                        f'missing column "partner": {why}, so every row must name its partner',
                    )
                )
            continue
        b.errors += table.errors_at(mask, "partner", f"required value is blank ({why})")
    if problems:
        _raise_sheet_error(problems)


def _normalise_months(b: _Built) -> None:
    """Renewals.month as ``YYYY-MM`` text, and typed once into `MONTH_FIRST` for the rules.

    Excel turns a typed "2026-02" into a date cell; an impossible month (2026-13)
    is a data error naming its cell, never a silent gap in the replay.
    """
    frame = b.table.frame
    text, first, problems = to_months(frame["month"])
    rows = frame[ROW].to_numpy()
    b.errors += [b.table.error(int(rows[pos]), "month", msg) for pos, msg in problems]
    frame["month"] = text
    frame[MONTH_FIRST] = first


def _partner_count(n: int) -> str:
    return "the Partners sheet has no partners" if n == 0 else f"the ledger has {n} partners"


def _schema_of(error: DataError, built: dict[str, _Built]) -> str:
    for name, b in built.items():
        if b.table.sheet == error.sheet and b.table.file == error.file:
            return name
    return next(iter(built))


def build_table(
    raw: RawSheet, schema: Sheet, options: DateOptions | None = None
) -> tuple[Table, list[DataError]]:
    """One raw sheet outside the ledger (a usage or billing export) typed by `schema`,
    with the ledger's header matching and cell checks.

    Raises `SheetError` (exit 2) when the header row or a required column is missing.
    """
    match, problems = find_header(raw, schema)
    if problems:
        _raise_sheet_error(problems)
    built = _build(raw, schema, match, options or DateOptions())
    return built.table, built.errors
