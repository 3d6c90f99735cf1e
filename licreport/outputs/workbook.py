"""The updated workbook (SPEC §5): the user's workbook, new ledger rows, computed sheets.

For an .xlsx ledger the output is the input package with every part the run
does not change copied as is (see the `xlsx` package): ledger sheets get their new rows
streamed in below the last used row, computed sheets (Status, Contracts,
Forecast, Checks) are rewritten in place or added at the end, with a native
chart.  For a CSV folder the same writer starts from an empty package and adds
every ledger sheet.  Strings are always written as strings: a client called
``=HYPERLINK(...)`` stays text.

``removed`` rows (``--redo``) are deleted before the new rows go in, and the
rows below move up; formulas, defined names, conditional formats, validations
and charts pointing at moved rows follow them, and a reference into a removed
row becomes ``#REF!`` (see `xlsx.shift`).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from licreport.errors import DataError, SheetError, UnreadableFile
from licreport.ledger.model import Ledger, Table, column_letter
from licreport.ledger.schema import BY_NAME, ROW, SHEETS, normalise
from licreport.ledger.xlsx import open_calamine
from licreport.outputs.csvout import rows_to_remove, without_implied_partner, write_csv_folder
from licreport.outputs.xlsx import PatchError
from licreport.outputs.xlsx.appender import AppendColumn, SheetAppender
from licreport.outputs.xlsx.chart import ChartSpec, chart_parts
from licreport.outputs.xlsx.packager import Package
from licreport.outputs.xlsx.parts import empty_package
from licreport.outputs.xlsx.rowmap import RowMap
from licreport.outputs.xlsx.shift import (
    Unshiftable,
    shift_chart,
    shift_other_sheet,
    shift_pivot_source,
    shifts_of,
)
from licreport.outputs.xlsx.styles import CellStyles, patch_styles
from licreport.outputs.xlsx.tables import table_edits
from licreport.outputs.xlsx.utility import col_index
from licreport.outputs.xlsx.worksheet import (
    FORMATS,
    Column,
    cell_count,
    infer_format,
    sheet_writer,
)
from licreport.outputs.xlsx.xmlwriter import check_xml
from licreport.outputs.xlsx.zipcopy import first_corrupt

__all__ = ["ChartSpec", "ComputedSheet", "write_csv_folder", "write_workbook"]


@dataclass(frozen=True)
class ComputedSheet:
    """A sheet licreport rewrites on every run.

    ``formats`` maps a column to ``text``, ``int`` (``#,##0``), ``money``
    (``#,##0.00``), ``date`` (``yyyy-mm-dd``) or ``percent`` (values in percent
    points as the ledger writes them, 7.5 = 7.5 %, shown ``0.00%``); a column
    not listed gets a format from its dtype.
    """

    name: str
    frame: pd.DataFrame
    formats: Mapping[str, str] = field(default_factory=dict)
    chart: ChartSpec | None = None


# ---------------------------------------------------------------- ledger sheets


def _data_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not str(c).startswith("_")]


def _blank(n: int, like: pd.Series | None = None) -> pd.Series:
    dtype = like.dtype if like is not None else object
    return pd.Series([None] * n, dtype=object).astype(dtype) if n else pd.Series([], dtype=dtype)


def _stack(a: pd.Series, b: pd.Series) -> pd.Series:
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    if not len(b):
        return a
    if not len(a):
        return b
    if a.dtype != b.dtype:
        a, b = a.astype(object), b.astype(object)
    return pd.concat([a, b], ignore_index=True)


def _table_columns(
    table: Table, new: pd.DataFrame | None, removed: Sequence[int] = ()
) -> list[Column]:
    """A CSV table as sheet columns: the user's headers and order, extras, new columns.

    Rows whose ``_row`` is in `removed` are left out.
    """
    n_new = len(new) if new is not None else 0
    frame = table.frame
    extra = table.extra if table.extra is not None else pd.DataFrame(index=range(len(frame)))
    if removed:
        rows = frame[ROW]
        missing = sorted(set(removed) - set(rows.dropna().astype(int)))
        if missing:
            raise ValueError(f"{table.file}: row {missing[0]} to remove is not in the table")
        keep = ~rows.isin(list(removed)).fillna(False).to_numpy(dtype=bool)
        frame = frame[keep]
        if len(extra) == len(keep):
            extra = extra[keep]
    known = [c for c in table.schema.names if c in table.headers]
    # Known columns sit at their letters; the extras (read in column order) fill the gaps.
    placed_at: dict[int, tuple[str, str]] = {}
    unplaced: list[tuple[str, str]] = []
    for c in known:
        letter = table.letters.get(c)
        idx = col_index(letter) if letter else -1
        if idx >= 0 and idx not in placed_at:
            placed_at[idx] = ("known", c)
        else:
            unplaced.append(("known", c))
    free = (i for i in range(1 << 14) if i not in placed_at)
    for name in extra.columns:
        placed_at[next(free)] = ("extra", str(name))
    placed = [placed_at[i] for i in sorted(placed_at)] + unplaced

    out: list[Column] = []
    for kind, name in placed:
        if kind == "known":
            added = (
                new[name] if new is not None and name in new.columns else _blank(n_new, frame[name])
            )
            out.append(Column(table.headers[name], _stack(frame[name], added), None))
        else:
            values = extra[name].reset_index(drop=True).astype(object)
            out.append(Column(name, _stack(values, _blank(n_new)), None))
    if new is not None:
        for name in _data_columns(new):
            if name not in known and new[name].notna().any():
                out.append(Column(str(name), _stack(_blank(len(frame)), new[name]), None))
    return out


def _new_ledger_columns(name: str, new: pd.DataFrame) -> list[Column]:
    """A ledger sheet the input lacks: every canonical header, then the new rows."""
    schema = BY_NAME.get(name)
    names = schema.names if schema else []
    names = names + [c for c in _data_columns(new) if c not in names]
    return [
        Column(c, new[c].reset_index(drop=True) if c in new.columns else _blank(len(new)), None)
        for c in names
    ]


def _append_columns(table: Table, new: pd.DataFrame) -> list[AppendColumn]:
    return [AppendColumn(str(c), table.letters.get(str(c)), new[c]) for c in _data_columns(new)]


# ---------------------------------------------------------------- the workbook


def write_workbook(
    ledger: Ledger,
    target: Path,
    *,
    appended: Mapping[str, pd.DataFrame],
    computed: Sequence[ComputedSheet],
    removed: Mapping[str, Sequence[int]] | None = None,
) -> None:
    """Write the updated workbook to `target` (a staging temp; the input is only read).

    `removed` maps a ledger sheet to the spreadsheet rows (``_row``) to delete
    before `appended` goes in below the remaining rows (``--redo``).
    """
    target = Path(target)
    dropping = rows_to_remove(removed)
    source: str | io.BytesIO = (
        str(ledger.path) if ledger.kind == "xlsx" else io.BytesIO(empty_package())
    )
    with zipfile.ZipFile(source) as zin:
        pkg = Package(zin)
        if pkg.strict:
            raise UnreadableFile(
                f"{ledger.path.name}: is saved as Strict Open XML, which licreport reads but "
                "cannot update; save it as Excel Workbook (.xlsx) and run again"
            )
        if ledger.kind == "xlsx":
            _refuse_users_sheets(pkg, computed, ledger.path)
        styles_name, styles_xml = pkg.styles_xml()
        styles_xml, styles = patch_styles(styles_xml)
        pkg.set_styles(styles_name, styles_xml)
        try:
            if ledger.kind == "xlsx":
                _xlsx_ledger_sheets(pkg, ledger, appended, dropping, styles)
            else:
                _csv_ledger_sheets(pkg, ledger, appended, dropping, styles)
            for sheet in computed:
                _computed_sheet(pkg, sheet, styles, computed)
            names = pkg.final_sheet_names()
            with open(target, "wb") as fp:
                pkg.write(fp)
        except Unshiftable as exc:  # name the file, as every error does
            raise Unshiftable(f"{ledger.path.name}:{exc.message}") from None
    verify(target, names, pkg.written, pkg.checked)


def write_new_workbook(target: Path, computed: Sequence[ComputedSheet]) -> None:
    """A new workbook at `target` holding only the `computed` sheets, each written and
    checked as the updated ledger's computed sheets are (the match workbook, SPEC §10)."""
    with zipfile.ZipFile(io.BytesIO(empty_package())) as zin:
        pkg = Package(zin)
        styles_name, styles_xml = pkg.styles_xml()
        styles_xml, styles = patch_styles(styles_xml)
        pkg.set_styles(styles_name, styles_xml)
        for sheet in computed:
            _computed_sheet(pkg, sheet, styles, computed)
        names = pkg.final_sheet_names()
        with open(target, "wb") as fp:
            pkg.write(fp)
    verify(target, names, pkg.written, pkg.checked)


def _xlsx_ledger_sheets(
    pkg: Package,
    ledger: Ledger,
    appended: Mapping[str, pd.DataFrame],
    removed: Mapping[str, Sequence[int]],
    styles: CellStyles,
) -> None:
    pkg.shifts = _row_shifts(pkg, ledger, removed)
    for name in [*appended, *(n for n in removed if n not in appended)]:
        new = appended.get(name)
        if new is not None and not len(new):
            new = None
        rows = removed.get(name, ())
        if new is None and not rows:
            continue
        table = ledger.tables.get(name)
        if new is not None:
            new = without_implied_partner(ledger, table, new)
        ref = pkg.sheet(table.sheet) if table is not None and table.present else None
        if ref is not None and table is not None and ref.part in pkg.names:
            empty = not table.headers  # the sheet is there but holds nothing yet
            if new is None:
                adding = []
            elif empty:
                fresh = _new_ledger_columns(name, new)
                adding = [AppendColumn(c.header, None, c.values) for c in fresh]
            else:
                adding = _append_columns(table, new)
            appender = SheetAppender(
                pkg, ref, table.header_row, adding, styles, all_headers=empty, removed=rows
            )
            pkg.replace[ref.part] = appender.write
            pkg.replace.update(table_edits(appender))
            if appender.filter_ref:
                pkg.filter_refs[ref.index] = appender.filter_ref
            if rows:
                pkg.drop_calc_chain()
        elif rows:
            raise ValueError(f"cannot remove rows of {name!r}: the workbook has no such sheet")
        elif new is not None:
            columns = _new_ledger_columns(name, new)
            pkg.add_sheet(
                name,
                sheet_writer(columns, styles, filters=False, chart=False, date1904=pkg.date1904),
                cells=cell_count(columns),
            )
    _shift_other_parts(pkg)


def _row_shifts(
    pkg: Package, ledger: Ledger, removed: Mapping[str, Sequence[int]]
) -> dict[str, RowMap]:
    """The rows --redo removes, per worksheet name (as the workbook spells it)."""
    out: dict[str, RowMap] = {}
    for name, rows in removed.items():
        table = ledger.tables.get(name)
        ref = pkg.sheet(table.sheet) if table is not None and table.present else None
        if ref is not None and rows:
            out[ref.name] = RowMap(rows)
    return shifts_of(out, [s.name for s in pkg.sheets])


def _shift_other_parts(pkg: Package) -> None:
    """References into removed rows from the sheets and charts the run does not rewrite."""
    if not pkg.shifts:
        return
    for ref in pkg.sheets:
        if ref.part in pkg.names and ref.part not in pkg.replace:
            xml = pkg.read(ref.part)
            new = shift_other_sheet(xml, pkg.shifts, ref.name)
            if new != xml:
                pkg.replace[ref.part] = new
    for info in pkg.infos:
        name = info.filename
        if not name.endswith(".xml"):
            continue
        if name.startswith("xl/charts/chart"):
            xml = pkg.read(name)
            new = shift_chart(xml, pkg.shifts, name)
        elif name.startswith("xl/pivotCache/pivotCacheDefinition"):
            xml = pkg.read(name)
            new = shift_pivot_source(xml, pkg.shifts, name)
        else:
            continue
        if new != xml:
            pkg.replace[name] = new


def _csv_ledger_sheets(
    pkg: Package,
    ledger: Ledger,
    appended: Mapping[str, pd.DataFrame],
    removed: Mapping[str, Sequence[int]],
    styles: CellStyles,
) -> None:
    order = [s.name for s in SHEETS] + [n for n in ledger.tables if n not in BY_NAME]
    order += [n for n in appended if n not in order]
    for name in removed:
        table = ledger.tables.get(name)
        if table is None or not table.present:
            raise ValueError(f"cannot remove rows of {name!r}: the ledger has no such table")
    for name in order:
        table = ledger.tables.get(name)
        new = appended.get(name)
        if new is not None and not len(new):
            new = None
        if new is not None:
            new = without_implied_partner(ledger, table, new)
        if table is not None and table.present:
            columns = _table_columns(table, new, removed.get(name, ()))
        elif new is not None:
            columns = _new_ledger_columns(name, new)
        else:
            continue
        pkg.add_sheet(
            name,
            sheet_writer(columns, styles, filters=False, chart=False, date1904=pkg.date1904),
            cells=cell_count(columns),
        )


def _sheet_name(pkg: Package, name: str) -> str:
    """How the workbook spells a computed sheet it already has (any case), else `name`."""
    key = normalise(name)
    existing = next((s for s in pkg.sheets if normalise(s.name) == key and s.part), None)
    return existing.name if existing is not None else name


def _chart(
    pkg: Package, sheet: ComputedSheet, frame: pd.DataFrame, computed: Sequence[ComputedSheet]
) -> tuple[bytes, bytes] | None:
    """The drawing and chart of `sheet`, plotting its own table or another computed one's."""
    spec = sheet.chart
    if spec is None:
        return None
    if spec.source is None:
        return chart_parts(_sheet_name(pkg, sheet.name), frame, spec)
    source = next((s for s in computed if normalise(s.name) == normalise(spec.source)), None)
    if source is None:
        raise ValueError(f"chart {spec.title!r}: no computed sheet {spec.source!r}")
    data = source.frame.drop(columns=[ROW], errors="ignore")
    return chart_parts(_sheet_name(pkg, source.name), data, spec, table_rows=len(frame))


def _computed_sheet(
    pkg: Package, sheet: ComputedSheet, styles: CellStyles, computed: Sequence[ComputedSheet]
) -> None:
    bad = {f for f in sheet.formats.values() if f not in FORMATS}
    if bad:
        raise ValueError(f"sheet {sheet.name!r}: unknown format {sorted(bad)[0]!r}")
    frame = sheet.frame.drop(columns=[ROW], errors="ignore")
    columns = [
        Column(
            str(c),
            frame[c].reset_index(drop=True),
            sheet.formats.get(str(c)) or infer_format(frame[c]),
        )
        for c in frame.columns
    ]
    key = normalise(sheet.name)
    existing = next((s for s in pkg.sheets if normalise(s.name) == key and s.part), None)
    name = existing.name if existing is not None else sheet.name
    drawing = _chart(pkg, sheet, frame, computed)
    write = sheet_writer(
        columns, styles, filters=True, chart=drawing is not None, date1904=pkg.date1904
    )
    if existing is not None:
        pkg.replace_sheet(existing, write, drawing, computed=True, cells=cell_count(columns))
        if columns:  # keep Excel's hidden filter range in step with the new table
            last = column_letter(len(columns) - 1)
            pkg.filter_refs[existing.index] = f"A1:{last}{len(frame) + 1}"
    else:
        pkg.add_sheet(name, write, drawing, computed=True, cells=cell_count(columns))


def _refuse_users_sheets(pkg: Package, computed: Sequence[ComputedSheet], path: Path) -> None:
    """Only a sheet licreport wrote may be rewritten: a user's sheet of that name stops the run.

    A user's Status, Contracts, Forecast, Buying list or Checks (contract numbers, a budget with
    its chart) was silently replaced; licreport's own carry a marker (see
    `xlsx.parts.COMPUTED_MARK`).  A sheet without it whose first row is exactly the
    header licreport writes is an output of a version before the marker, and is
    taken as licreport's.  Exit 2, nothing written, with what to do.
    """
    problems = []
    for sheet in computed:
        key = normalise(sheet.name)
        header = [str(c) for c in sheet.frame.columns if c != ROW]
        for ref in pkg.sheets:
            if normalise(ref.name) != key or pkg.is_computed(ref):
                continue
            if header and ref.part and _first_row(path, ref.name) == header:
                continue
            problems.append(
                DataError(
                    path.name,
                    ref.name,
                    None,
                    None,
                    None,
                    f"this sheet was not written by licreport, which writes its own "
                    f'"{sheet.name}" sheet and would replace it; rename your sheet '
                    f'(e.g. to "{ref.name} (mine)") and run again',
                )
            )
    if problems:
        raise SheetError(str(problems[0]), problems)


def _first_row(path: Path, sheet: str) -> list[str]:
    """Row 1 of `sheet` as text (trailing blanks dropped); [] when it cannot be read."""
    try:
        rows = open_calamine(path).get_sheet_by_name(sheet).to_python(nrows=1)
    except Exception:  # an unreadable sheet is not one licreport wrote
        return []
    row = [str(v) for v in rows[0]] if rows else []
    while row and row[-1] == "":
        row.pop()
    return row


def verify(
    target: Path,
    sheets: Sequence[str],
    parts: Sequence[str] = (),
    checked: Mapping[str, str | None] | None = None,
) -> None:
    """Re-open what was written: every zip entry's CRC, every part we wrote, every sheet.

    Each part in `parts` (those the writer rendered, not copied) is read with a
    strict, namespace-aware XML parser: calamine tolerates an unbound prefix that
    Excel, LibreOffice and openpyxl refuse.  `checked` holds the parts the writer
    already parsed so while writing them (`PartChecker`: the same parser, on the
    same bytes, whose CRC `testzip` checks here), with the problem found or None;
    the others are read back from the file.
    """
    checked = checked or {}
    bad = first_corrupt(target)
    with zipfile.ZipFile(target) as z:
        if bad is not None:
            raise PatchError(f"the written workbook is corrupt at {bad}")
        for name in parts:
            if name not in checked:
                check_xml(z, name)
            elif (problem := checked[name]) is not None:
                raise PatchError(problem)
    found = set(open_calamine(target).sheet_names)
    missing = [s for s in sheets if s not in found]
    if missing:
        raise PatchError(f"the written workbook lacks sheet {missing[0]!r}")
