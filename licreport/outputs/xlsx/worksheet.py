"""A new worksheet streamed whole: bold frozen header, widths, filter, rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

import numpy as np
import pandas as pd

from licreport.outputs.xlsx.cells import (
    BOOL,
    DATE,
    NUMBER,
    TEXT,
    classify,
    column_cells,
    row_numbers,
    series_kind,
    shown,
    text_cell,
    xml_rows,
)
from licreport.outputs.xlsx.chart import CHART_ROWS, chart_top
from licreport.outputs.xlsx.constants import BATCH, NS_MAIN, NS_R
from licreport.outputs.xlsx.styles import CellStyles
from licreport.outputs.xlsx.utility import column_letter

FORMATS = ("text", "int", "money", "date", "percent")
MAX_WIDTH = 60
PAGE_MARGINS = (
    b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
)
# Printed: A4 landscape, one page wide, as many pages down as it takes; each page names
# its sheet and its place ("Page 2 of 3"); the header row repeats (the workbook's
# _xlnm.Print_Titles name, see `packager`).
SHEET_PR = b'<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
PAGE_SETUP = (
    b'<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
    b"<headerFooter><oddHeader>&amp;L&amp;A</oddHeader>"
    b"<oddFooter>&amp;RPage &amp;P of &amp;N</oddFooter></headerFooter>"
)
PAGE_ROWS = 30  # rows of a landscape A4 page at 100 %: a chart that would cross one starts a page


@dataclass
class Column:
    header: str
    values: pd.Series
    fmt: str | None  # one of FORMATS, or None for the ledger's plain style


def cell_count(columns: Sequence[Column]) -> int:
    """How many cells (blank ones too) the columns fill."""
    return sum(len(c.values) for c in columns)


def infer_format(values: pd.Series) -> str | None:
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


def style_for(fmt: str | None, styles: CellStyles) -> dict[str, int]:
    number = {"int": styles.integer, "money": styles.money, "percent": styles.percent}.get(
        fmt or "", 0
    )
    return {DATE: styles.date, NUMBER: number, TEXT: 0, BOOL: 0}


def width(col: Column) -> float:
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
                text = f"{big:,.{decimals}f}" if col.fmt else f"{big:.{decimals}f}"
                longest = (
                    len(text)
                    + (1 if float(nums.min()) < 0 else 0)
                    + (1 if col.fmt == "percent" else 0)
                )
        elif kind == TEXT:
            longest = int(values.astype(str).str.len().max())
        else:
            longest = int(values.map(lambda v: len(shown(v))).max())
    return float(min(MAX_WIDTH, max(len(col.header) + 3, longest + 2, 6)))


def sheet_writer(
    columns: Sequence[Column],
    styles: CellStyles,
    *,
    filters: bool,
    chart: bool,
    date1904: bool = False,
) -> Callable[[IO[bytes]], None]:
    """A function streaming one new worksheet: bold frozen header, widths, filter, rows,
    print setup (A4 landscape, one page wide, the chart below the table kept whole).

    Dates are written as serials of the workbook's date system (`date1904`).
    """

    def write(out: IO[bytes]) -> None:
        n = max((len(c.values) for c in columns), default=0)
        last_col = column_letter(max(len(columns) - 1, 0))
        out.write(
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_R}">'
                f"{SHEET_PR.decode()}"
                f'<dimension ref="A1:{last_col}{n + 1}"/>'
                '<sheetViews><sheetView workbookViewId="0">'
                '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
                '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            ).encode()
        )
        if columns:
            cols = "".join(
                f'<col min="{i}" max="{i}" width="{width(c):.2f}" customWidth="1"/>'
                for i, c in enumerate(columns, 1)
            )
            out.write(f"<cols>{cols}</cols>".encode())
        header = "".join(
            text_cell(column_letter(i), 1, c.header, styles.header) for i, c in enumerate(columns)
        )
        out.write(f'<sheetData><row r="1">{header}</row>'.encode())
        kinds = [style_for(c.fmt, styles) for c in columns]
        for start in range(0, n, BATCH):
            rows = list(range(start + 2, min(start + BATCH, n) + 2))
            numbers = row_numbers(rows)
            cells = [
                column_cells(
                    c.values.iloc[start : start + BATCH],
                    column_letter(i),
                    rows,
                    kinds[i],
                    as_text=c.fmt == "text",
                    scale=100 if c.fmt == "percent" else 1,
                    date1904=date1904,
                    numbers=numbers,
                )
                for i, c in enumerate(columns)
            ]
            out.write(xml_rows("", numbers, cells))
        out.write(b"</sheetData>")
        if filters and columns:
            out.write(f'<autoFilter ref="A1:{last_col}{n + 1}"/>'.encode())
        out.write(PAGE_MARGINS)
        out.write(PAGE_SETUP)
        top = chart_top(n)
        if chart and top + CHART_ROWS > PAGE_ROWS:  # the chart starts a page of its own
            out.write(
                f'<rowBreaks count="1" manualBreakCount="1"><brk id="{top}" max="16383" man="1"/>'
                "</rowBreaks>".encode()
            )
        if chart:
            out.write(b'<drawing r:id="rId1"/>')
        out.write(b"</worksheet>")

    return write
