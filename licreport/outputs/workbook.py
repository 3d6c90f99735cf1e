"""The updated workbook (SPEC §5): the user's workbook, new ledger rows, computed sheets.

For an .xlsx ledger the output is the input package with every part the run
does not change copied as is (see `xlsxpatch`): ledger sheets get their new rows
streamed in below the last used row, computed sheets (Status, Contracts,
Forecast, Checks) are rewritten in place or added at the end, with a native
chart.  For a CSV folder the same writer starts from an empty package and adds
every ledger sheet.  Strings are always written as strings: a client called
``=HYPERLINK(...)`` stays text.

``removed`` rows (``--redo``) are deleted before the new rows go in, and the
rows below move up; formulas pointing at moved rows are not rewritten (see
`SheetAppender`).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from licreport.errors import DataError, SheetError, UnreadableFile
from licreport.ledger.model import Ledger, Table, column_letter
from licreport.ledger.schema import BY_NAME, ROW, SHEETS, normalise
from licreport.ledger.xlsx import open_calamine
from licreport.outputs.csvout import rows_to_remove, without_implied_partner, write_csv_folder
from licreport.outputs.xlsxpatch import (
    BATCH,
    BOOL,
    DATE,
    NS_MAIN,
    NS_R,
    NUMBER,
    TEXT,
    AppendColumn,
    CellStyles,
    Package,
    PatchError,
    SheetAppender,
    check_xml,
    classify,
    col_index,
    column_cells,
    empty_package,
    patch_styles,
    series_kind,
    text_cell,
    xml_attr,
    xml_text,
)

__all__ = ["ChartSpec", "ComputedSheet", "write_csv_folder", "write_workbook"]

FORMATS = ("text", "int", "money", "date", "percent")
MAX_WIDTH = 60
CHART_COLS, CHART_ROWS = 9, 18  # the chart's size in cells
PAGE_MARGINS = (
    b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
)


@dataclass(frozen=True)
class ChartSpec:
    """A native Excel clustered column chart of a computed sheet."""

    title: str
    categories: str  # column of the frame holding the category labels
    values: tuple[str, ...]  # numeric columns, one series each


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


# ---------------------------------------------------------------- new sheets


@dataclass
class _Column:
    header: str
    values: pd.Series
    fmt: str | None  # one of FORMATS, or None for the ledger's plain style


def _infer_format(values: pd.Series) -> str | None:
    """A display format from the dtype (computed sheets)."""
    kind = series_kind(values)
    if kind == DATE:
        return "date"
    if kind == NUMBER:
        return "int" if pd.api.types.is_integer_dtype(values.dtype) else None
    if kind is None:
        first = next((v for v in values.tolist() if classify(v) is not None), None)
        if isinstance(first, Decimal):
            return "money"
        if isinstance(first, (int, np.integer)) and not isinstance(first, (bool, np.bool_)):
            return "int"
        got = classify(first)
        if got is not None and got[0] == DATE:
            return "date"
    return None


def _style_for(fmt: str | None, styles: CellStyles) -> dict[str, int]:
    number = {"int": styles.integer, "money": styles.money, "percent": styles.percent}.get(
        fmt or "", 0
    )
    return {DATE: styles.date, NUMBER: number, TEXT: 0, BOOL: 0}


def _width(col: _Column) -> float:
    """Column width in characters: fits header and content, capped at MAX_WIDTH."""
    values = col.values.dropna()
    longest = 0
    if len(values):
        kind = series_kind(col.values)
        if col.fmt == "date" or kind == DATE:
            longest = 10
        elif kind == BOOL:
            longest = 3
        elif col.fmt != "text" and kind == NUMBER:
            nums = pd.to_numeric(values, errors="coerce").dropna()
            if len(nums):
                big = max(abs(float(nums.max())), abs(float(nums.min())))
                decimals = 2 if col.fmt in ("money", "percent") else 0
                if col.fmt is None and not pd.api.types.is_integer_dtype(nums.dtype):
                    decimals = 4
                shown = f"{big:,.{decimals}f}" if col.fmt else f"{big:.{decimals}f}"
                longest = (
                    len(shown)
                    + (1 if float(nums.min()) < 0 else 0)
                    + (1 if col.fmt == "percent" else 0)
                )
        elif kind == TEXT:
            longest = int(values.astype(str).str.len().max())
        else:
            longest = int(values.map(lambda v: len(_shown(v))).max())
    return float(min(MAX_WIDTH, max(len(col.header) + 3, longest + 2, 6)))


def _shown(v: object) -> str:
    got = classify(v)
    if got is None:
        return ""
    return "2000-01-01" if got[0] == DATE else got[1]


def _sheet_writer(
    columns: Sequence[_Column],
    styles: CellStyles,
    *,
    filters: bool,
    chart: bool,
    date1904: bool = False,
) -> Callable[[IO[bytes]], None]:
    """A function streaming one new worksheet: bold frozen header, widths, filter, rows.

    Dates are written as serials of the workbook's date system (`date1904`).
    """

    def write(out: IO[bytes]) -> None:
        n = max((len(c.values) for c in columns), default=0)
        last_col = column_letter(max(len(columns) - 1, 0))
        out.write(
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_R}">'
                f'<dimension ref="A1:{last_col}{n + 1}"/>'
                '<sheetViews><sheetView workbookViewId="0">'
                '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
                '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            ).encode()
        )
        if columns:
            cols = "".join(
                f'<col min="{i}" max="{i}" width="{_width(c):.2f}" customWidth="1"/>'
                for i, c in enumerate(columns, 1)
            )
            out.write(f"<cols>{cols}</cols>".encode())
        header = "".join(
            text_cell(column_letter(i), 1, c.header, styles.header) for i, c in enumerate(columns)
        )
        out.write(f'<sheetData><row r="1">{header}</row>'.encode())
        kinds = [_style_for(c.fmt, styles) for c in columns]
        for start in range(0, n, BATCH):
            rows = list(range(start + 2, min(start + BATCH, n) + 2))
            cells = [
                column_cells(
                    c.values.iloc[start : start + BATCH],
                    column_letter(i),
                    rows,
                    kinds[i],
                    as_text=c.fmt == "text",
                    scale=100 if c.fmt == "percent" else 1,
                    date1904=date1904,
                )
                for i, c in enumerate(columns)
            ]
            out.write(
                "".join(
                    f'<row r="{r}">' + "".join(col[j] for col in cells) + "</row>"
                    for j, r in enumerate(rows)
                ).encode("utf-8", "replace")
            )
        out.write(b"</sheetData>")
        if filters and columns:
            out.write(f'<autoFilter ref="A1:{last_col}{n + 1}"/>'.encode())
        out.write(PAGE_MARGINS)
        if chart:
            out.write(b'<drawing r:id="rId1"/>')
        out.write(b"</worksheet>")

    return write


# ---------------------------------------------------------------- charts


def _sheet_ref(sheet: str, col: int, r1: int, r2: int) -> str:
    quoted = "'" + sheet.replace("'", "''") + "'"
    letter = column_letter(col)
    return f"{quoted}!${letter}${r1}:${letter}${r2}"


def chart_parts(sheet: str, frame: pd.DataFrame, spec: ChartSpec) -> tuple[bytes, bytes]:
    """(drawing xml, chart xml) of a clustered column chart next to the table."""
    cols = list(frame.columns)
    missing = [c for c in (spec.categories, *spec.values) if c not in cols]
    if missing:
        raise ValueError(f"chart {spec.title!r}: no column {missing[0]!r} in sheet {sheet!r}")
    # The chart's rows end at the last category (its columns may sit beside a longer table).
    present = np.flatnonzero(frame[spec.categories].notna().to_numpy())
    n = int(present[-1]) + 1 if len(present) else 0
    frame = frame.iloc[:n]
    last = max(n + 1, 2)
    cat_idx = cols.index(spec.categories)
    labels = [_shown(v) for v in frame[spec.categories].tolist()]
    cat_cache = "".join(
        f'<c:pt idx="{i}"><c:v>{xml_text(t)}</c:v></c:pt>' for i, t in enumerate(labels)
    )
    cat = (
        f"<c:cat><c:strRef><c:f>{xml_text(_sheet_ref(sheet, cat_idx, 2, last))}</c:f>"
        f'<c:strCache><c:ptCount val="{n}"/>{cat_cache}</c:strCache></c:strRef></c:cat>'
    )
    series = []
    for k, name in enumerate(spec.values):
        idx = cols.index(name)
        values = pd.to_numeric(
            frame[name].map(lambda v: float(v) if isinstance(v, Decimal) else v), errors="coerce"
        )
        pts = "".join(
            f'<c:pt idx="{i}"><c:v>{v!r}</c:v></c:pt>'
            for i, v in enumerate(values.astype("float64").tolist())
            if v == v
        )
        header = f"'{sheet.replace(chr(39), chr(39) * 2)}'!${column_letter(idx)}$1"
        series.append(
            f'<c:ser><c:idx val="{k}"/><c:order val="{k}"/>'
            f"<c:tx><c:strRef><c:f>{xml_text(header)}</c:f>"
            f'<c:strCache><c:ptCount val="1"/><c:pt idx="0"><c:v>{xml_text(str(name))}</c:v></c:pt>'
            f"</c:strCache></c:strRef></c:tx>{cat}"
            f"<c:val><c:numRef><c:f>{xml_text(_sheet_ref(sheet, idx, 2, last))}</c:f>"
            f'<c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="{n}"/>{pts}'
            "</c:numCache></c:numRef></c:val></c:ser>"
        )
    chart = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{NS_R}"><c:lang val="en-US"/><c:chart>'
        "<c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr/></a:pPr>"
        f'<a:r><a:rPr lang="en-US"/><a:t>{xml_text(spec.title)}</a:t></a:r></a:p></c:rich></c:tx>'
        '<c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/>'
        '<c:plotArea><c:layout/><c:barChart><c:barDir val="col"/><c:grouping val="clustered"/>'
        f'<c:varyColors val="0"/>{"".join(series)}'
        '<c:axId val="50010001"/><c:axId val="50010002"/></c:barChart>'
        '<c:catAx><c:axId val="50010001"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="b"/><c:numFmt formatCode="General" sourceLinked="1"/>'
        '<c:tickLblPos val="nextTo"/><c:crossAx val="50010002"/><c:crosses val="autoZero"/>'
        '<c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/></c:catAx>'
        '<c:valAx><c:axId val="50010002"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="l"/><c:majorGridlines/>'
        '<c:numFmt formatCode="General" sourceLinked="1"/><c:tickLblPos val="nextTo"/>'
        '<c:crossAx val="50010001"/><c:crosses val="autoZero"/><c:crossBetween val="between"/>'
        '</c:valAx></c:plotArea><c:legend><c:legendPos val="r"/><c:overlay val="0"/></c:legend>'
        '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>'
    ).encode()
    first = len(cols) + 1
    drawing = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:twoCellAnchor>'
        f"<xdr:from><xdr:col>{first}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row>"
        f"<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>{first + CHART_COLS}</xdr:col>"
        f"<xdr:colOff>0</xdr:colOff><xdr:row>{1 + CHART_ROWS}</xdr:row><xdr:rowOff>0</xdr:rowOff>"
        '</xdr:to><xdr:graphicFrame macro=""><xdr:nvGraphicFramePr>'
        f'<xdr:cNvPr id="2" name="{xml_attr(spec.title or "Chart 1")}"/><xdr:cNvGraphicFramePr/>'
        '</xdr:nvGraphicFramePr><xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        '<c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        f'xmlns:r="{NS_R}" r:id="rId1"/></a:graphicData></a:graphic></xdr:graphicFrame>'
        "<xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>"
    ).encode()
    return drawing, chart


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
) -> list[_Column]:
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

    out: list[_Column] = []
    for kind, name in placed:
        if kind == "known":
            added = (
                new[name] if new is not None and name in new.columns else _blank(n_new, frame[name])
            )
            out.append(_Column(table.headers[name], _stack(frame[name], added), None))
        else:
            values = extra[name].reset_index(drop=True).astype(object)
            out.append(_Column(name, _stack(values, _blank(n_new)), None))
    if new is not None:
        for name in _data_columns(new):
            if name not in known and new[name].notna().any():
                out.append(_Column(str(name), _stack(_blank(len(frame)), new[name]), None))
    return out


def _new_ledger_columns(name: str, new: pd.DataFrame) -> list[_Column]:
    """A ledger sheet the input lacks: every canonical header, then the new rows."""
    schema = BY_NAME.get(name)
    names = schema.names if schema else []
    names = names + [c for c in _data_columns(new) if c not in names]
    return [
        _Column(c, new[c].reset_index(drop=True) if c in new.columns else _blank(len(new)), None)
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
        if ledger.kind == "xlsx":
            _xlsx_ledger_sheets(pkg, ledger, appended, dropping, styles)
        else:
            _csv_ledger_sheets(pkg, ledger, appended, dropping, styles)
        for sheet in computed:
            _computed_sheet(pkg, sheet, styles)
        names = pkg.final_sheet_names()
        with open(target, "wb") as fp:
            pkg.write(fp)
    verify(target, names, pkg.written)


def _xlsx_ledger_sheets(
    pkg: Package,
    ledger: Ledger,
    appended: Mapping[str, pd.DataFrame],
    removed: Mapping[str, Sequence[int]],
    styles: CellStyles,
) -> None:
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
            pkg.replace.update(appender.table_edits())
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
                _sheet_writer(columns, styles, filters=False, chart=False, date1904=pkg.date1904),
            )


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
            name, _sheet_writer(columns, styles, filters=False, chart=False, date1904=pkg.date1904)
        )


def _computed_sheet(pkg: Package, sheet: ComputedSheet, styles: CellStyles) -> None:
    bad = {f for f in sheet.formats.values() if f not in FORMATS}
    if bad:
        raise ValueError(f"sheet {sheet.name!r}: unknown format {sorted(bad)[0]!r}")
    frame = sheet.frame.drop(columns=[ROW], errors="ignore")
    columns = [
        _Column(
            str(c),
            frame[c].reset_index(drop=True),
            sheet.formats.get(str(c)) or _infer_format(frame[c]),
        )
        for c in frame.columns
    ]
    key = normalise(sheet.name)
    existing = next((s for s in pkg.sheets if normalise(s.name) == key and s.part), None)
    name = existing.name if existing is not None else sheet.name
    drawing = chart_parts(name, frame, sheet.chart) if sheet.chart is not None else None
    write = _sheet_writer(
        columns, styles, filters=True, chart=drawing is not None, date1904=pkg.date1904
    )
    if existing is not None:
        pkg.replace_sheet(existing, write, drawing, computed=True)
        if columns:  # keep Excel's hidden filter range in step with the new table
            last = column_letter(len(columns) - 1)
            pkg.filter_refs[existing.index] = f"A1:{last}{len(frame) + 1}"
    else:
        pkg.add_sheet(name, write, drawing, computed=True)


def _refuse_users_sheets(pkg: Package, computed: Sequence[ComputedSheet], path: Path) -> None:
    """Only a sheet licreport wrote may be rewritten: a user's sheet of that name stops the run.

    A user's Status, Contracts, Forecast, Buying list or Checks (contract numbers, a budget with
    its chart) was silently replaced; licreport's own carry a marker (see
    `xlsxpatch.COMPUTED_MARK`).  A sheet without it whose first row is exactly the
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


def verify(target: Path, sheets: Sequence[str], parts: Sequence[str] = ()) -> None:
    """Re-open what was written: every zip entry's CRC, every part we wrote, every sheet.

    Each part in `parts` (those the writer rendered, not copied) is read with a
    strict, namespace-aware XML parser: calamine tolerates an unbound prefix that
    Excel, LibreOffice and openpyxl refuse.
    """
    with zipfile.ZipFile(target) as z:
        bad = z.testzip()
        if bad is not None:
            raise PatchError(f"the written workbook is corrupt at {bad}")
        for name in parts:
            check_xml(z, name)
    found = set(open_calamine(target).sheet_names)
    missing = [s for s in sheets if s not in found]
    if missing:
        raise PatchError(f"the written workbook lacks sheet {missing[0]!r}")
