"""Appending rows to an existing worksheet by streaming its XML."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, cast

import pandas as pd

from licreport.outputs.xlsx import PatchError, constants
from licreport.outputs.xlsx.cells import (
    BOOL,
    DATE,
    NUMBER,
    TEXT,
    column_cells,
    row_numbers,
    text_cell,
    xml_rows,
)
from licreport.outputs.xlsx.constants import BATCH
from licreport.outputs.xlsx.packager import Package, SheetRef
from licreport.outputs.xlsx.rowmap import RowMap
from licreport.outputs.xlsx.scan import Cursor, cells_of, merge_row, scan_sheet, style_of
from licreport.outputs.xlsx.shift import shift_foot, shift_formulas_in, shift_rule_formulas
from licreport.outputs.xlsx.styles import CellStyles
from licreport.outputs.xlsx.utility import col_index, column_letter, make_ref, parse_ref
from licreport.outputs.xlsx.xmlwriter import (
    PFX,
    get_attr,
    set_attr,
)

_DIMENSION_RE = re.compile(rb"(<" + PFX + rb"dimension\b[^>]*?\bref\s*=\s*[\"'])([^\"']*)([\"'])")
AUTOFILTER_RE = re.compile(rb"(<" + PFX + rb"autoFilter\b[^>]*?\bref\s*=\s*[\"'])([^\"']*)([\"'])")
# The ``r`` address of a row or cell start tag (renumbering moved rows).
_ADDR_RE = re.compile(
    rb"(<" + PFX + rb"(?:row|c)\b[^>]*?(?<![\w:])r\s*=\s*[\"'][A-Z]*)(\d+)(?=[\"'])"
)
# A formula element with attributes: (attrs, rest of the element).
_FORMULA_RE = re.compile(rb"<" + PFX + rb"f\s([^>]*?)(/>|>[^<]*</" + PFX + rb"f\s*>)")
_MERGES_RE = re.compile(
    rb"<(" + PFX + rb")mergeCells\b([^>]*?)(?:/>|>(.*?)</" + PFX + rb"mergeCells\s*>)",
    re.S,
)
_MERGE_RE = re.compile(
    rb"<" + PFX + rb"mergeCell\b[^>]*?(?:/>|>.*?</" + PFX + rb"mergeCell\s*>)", re.S
)
SORTSTATE_RE = re.compile(rb"(<" + PFX + rb"sortState\b[^>]*?\bref\s*=\s*[\"'])([^\"']*)([\"'])")


# ---------------------------------------------------------------- appending rows


@dataclass
class AppendColumn:
    """One column of new rows: under the user's column `letter`, or a new one named `name`."""

    name: str
    letter: str | None
    values: pd.Series


class SheetAppender:
    """Adds rows below the last used row of an existing worksheet, streaming its XML.

    Pass 1 (`scan.scan_sheet`) returns the sheet's layout: the header row, the
    last row holding a value and any formatted-but-empty rows after it; pass 2
    (`write`) copies the part with the
    new rows spliced in, the header row extended by new columns, and the
    ``<dimension>`` and a sheet autofilter over the table extended.

    ``removed`` rows (``--redo``) are deleted first, as Excel's "delete rows"
    does: the rows below move up (row and cell addresses renumbered), and the
    dimension, autofilter, tables, merged cells (dropped when they touch a
    removed row) and shared/array formula ranges follow, and so do the references
    of formulas, conditional formats, validations and hyperlinks (`shift`): a
    reference into a removed row becomes ``#REF!``, as in Excel, and one that
    cannot be moved stops the run.  A shared formula whose first cell is removed
    leaves its other cells as their last computed values.
    """

    def __init__(
        self,
        pkg: Package,
        ref: SheetRef,
        header_row: int,
        columns: Sequence[AppendColumn],
        styles: CellStyles,
        *,
        all_headers: bool = False,
        removed: Iterable[int] = (),
    ) -> None:
        self.pkg = pkg
        self.part = ref.part
        self.ref = ref
        self.header_row = header_row
        self.styles = styles
        self.n = max((len(c.values) for c in columns), default=0)
        self.rows = RowMap(removed)
        if self.rows and self.rows.removed[0] <= header_row:
            raise ValueError(
                f"{ref.name}: cannot remove row {self.rows.removed[0]}, "
                f"at or above the header row {header_row}"
            )
        self._orphans: set[bytes] = set()  # shared formulas whose first cell is removed
        self.layout = scan_sheet(pkg.zin, ref.part, ref.name, header_row, self.rows.removed_set)
        self._plan(columns, all_headers)

    # -- plan (what pass 2 writes where)

    def _plan(self, columns: Sequence[AppendColumn], all_headers: bool) -> None:
        header_cells = cells_of(self.layout.header[2])[1] if self.layout.header else []
        valued = [col for col, _, has in header_cells if has]
        self.header_max = max(valued, default=-1)
        header_style = 0
        for col, cell, has in header_cells:
            if has and col == self.header_max:
                header_style = style_of(cell)
        # A sheet with nothing in it yet: we write its header row too.
        self.make_header = self.layout.header is None and self.layout.last_row < self.header_row
        if self.make_header:
            header_style = self.styles.header
        inherited: dict[int, int] = {}
        if self.layout.last_bytes is not None and self.layout.last_row > self.header_row:
            for col, cell, _ in cells_of(self.layout.last_bytes)[1]:
                inherited[col] = style_of(cell)

        known = [col_index(c.letter) for c in columns if c.letter]
        next_col = max([self.header_max, *known]) + 1
        p = self.layout.prefix.decode()
        self.columns: list[tuple[int, AppendColumn, dict[str, int]]] = []
        self.new_headers: dict[int, bytes] = {}
        for c in columns:
            if c.letter:
                idx = col_index(c.letter)
            elif all_headers or c.values.notna().any():
                idx, next_col = next_col, next_col + 1
            else:
                continue
            if self.make_header or not c.letter:
                self.new_headers[idx] = text_cell(
                    column_letter(idx),
                    self.header_row,
                    c.name,
                    header_style,
                    p,
                ).encode()
            style = inherited.get(idx)
            date_xfs = self.styles.date_xfs
            other = style if style is not None and style not in date_xfs else 0
            kinds = {
                DATE: style if style is not None and style in date_xfs else self.styles.date,
                NUMBER: other,
                TEXT: other,
                BOOL: other,
            }
            self.columns.append((idx, c, kinds))
        self.columns.sort(key=lambda t: t[0])
        if self.new_headers and self.layout.header is None and not self.make_header:
            raise PatchError(f"{self.ref.name}: header row {self.header_row} not found")
        kept_last = self.layout.last_row - self.rows.shift(self.layout.last_row)
        self.first = max(kept_last, self.header_row) + 1
        self.last = self.first + self.n - 1
        self.max_col = max([self.header_max, *(i for i, _, _ in self.columns)])
        m = AUTOFILTER_RE.search(self.layout.foot)
        self.filter_ref = self.extend(m.group(2).decode()) if m else None

    # -- pass 2

    def write(self, out: IO[bytes]) -> None:
        p = self.layout.prefix
        head = _DIMENSION_RE.sub(self._dimension, self.layout.head, count=1)
        foot = AUTOFILTER_RE.sub(self._autofilter, self.layout.foot, count=1)
        if self.rows:
            foot = SORTSTATE_RE.sub(self._sort_state, foot, count=1)
            foot = _MERGES_RE.sub(self._merges, foot, count=1)
            foot = shift_foot(foot, self.pkg.shifts, self.ref.name)
        elif self.pkg.shifts:  # rows removed from other sheets
            foot = shift_rule_formulas(foot, self.pkg.shifts, self.ref.name)
        with self.pkg.zin.open(self.part) as fp:
            src: IO[bytes] = fp
            if self.rows:  # many small reads between removed rows: inflate is slow on those
                src = io.BufferedReader(cast(io.RawIOBase, fp), constants.CHUNK)
            cur = Cursor(src)
            out.write(head)
            out.write(b"<" + p + b"sheetData>")
            cur.copy(self.layout.body_start, None)
            if self.new_headers and self.layout.header is not None:
                start, end, row = self.layout.header
                cur.copy(start - cur.pos, out)
                out.write(merge_row(row, self.new_headers))
                cur.copy(end - start, None)
            if self.rows:
                self._copy_without_removed(cur, out)
            elif self.pkg.shifts:  # formulas may point into rows removed from other sheets
                self._copy_moved(cur, self.layout.last_end - cur.pos, out, 0)
            else:
                cur.copy(self.layout.last_end - cur.pos, out)
            tail = cur.read(self.layout.close_start - self.layout.last_end)
            self._write_rows(out, tail)
            out.write(b"</" + p + b"sheetData>")
            out.write(foot)

    def _write_rows(self, out: IO[bytes], tail: bytes) -> None:
        p = self.layout.prefix.decode()
        trailing = [
            (
                r - self.rows.shift(r),
                self._moved(tail[s - self.layout.last_end : e - self.layout.last_end], r),
            )
            for s, e, r in self.layout.trailing
        ]
        t = 0
        if self.make_header:
            r = self.header_row
            while t < len(trailing) and trailing[t][0] < r:
                out.write(trailing[t][1])
                t += 1
            if t < len(trailing) and trailing[t][0] == r:
                out.write(merge_row(trailing[t][1], self.new_headers))
                t += 1
            else:
                header = b"".join(self.new_headers[k] for k in sorted(self.new_headers))
                out.write(f'<{p}row r="{r}">'.encode() + header + f"</{p}row>".encode())
        for i in range(0, self.n, BATCH):
            rows = list(range(self.first + i, min(self.first + i + BATCH, self.last + 1)))
            numbers = row_numbers(rows)
            arrays = [
                column_cells(
                    c.values.iloc[i : i + BATCH],
                    column_letter(idx),
                    rows,
                    kinds,
                    p,
                    date1904=self.pkg.date1904,
                    numbers=numbers,
                )
                for idx, c, kinds in self.columns
            ]
            if t == len(trailing) or trailing[t][0] > rows[-1]:  # no row of the user's between
                out.write(xml_rows(p, numbers, arrays))
                continue
            cols = [a.to_pylist() for a in arrays]
            lines = []
            for j, r in enumerate(rows):
                while t < len(trailing) and trailing[t][0] < r:
                    lines.append(trailing[t][1].decode("utf-8"))
                    t += 1
                if t < len(trailing) and trailing[t][0] == r:
                    cells = {
                        idx: col[j].encode("utf-8")
                        for (idx, _, _), col in zip(self.columns, cols, strict=True)
                        if col[j]
                    }
                    lines.append(merge_row(trailing[t][1], cells).decode("utf-8"))
                    t += 1
                    continue
                lines.append(f'<{p}row r="{r}">' + "".join(col[j] for col in cols) + f"</{p}row>")
            out.write("".join(lines).encode("utf-8", "replace"))
        out.write(b"".join(row for _, row in trailing[t:]))

    # -- removing rows

    def _copy_without_removed(self, cur: Cursor, out: IO[bytes]) -> None:
        """Copy the rows up to the last kept one, dropping removed rows, moving the rest up."""
        shift = 0
        for start, end in self.layout.removed_spans:
            if start >= self.layout.last_end:
                break  # removed rows after the last kept one: left out with the tail
            self._copy_moved(cur, start - cur.pos, out, shift)
            for f in _FORMULA_RE.finditer(cur.read(end - start)):
                si = get_attr(f.group(1), b"si")
                if si is not None and get_attr(f.group(1), b"ref") is not None:
                    self._orphans.add(si)
            shift += 1
        self._copy_moved(cur, self.layout.last_end - cur.pos, out, shift)

    def _copy_moved(self, cur: Cursor, n: int, out: IO[bytes], shift: int) -> None:
        """Copy `n` bytes of whole rows, each moved up `shift` rows, in chunks cut after a row."""
        carry = b""
        end_row = b"</" + self.layout.prefix + b"row>"
        while n > 0:
            block = cur.read(min(constants.CHUNK, n))
            n -= len(block)
            data = carry + block
            if n > 0:
                cut = data.rfind(end_row)
                if cut < 0:  # no row ends in this piece yet: read on
                    carry = data
                    continue
                cut += len(end_row)
                data, carry = data[:cut], data[cut:]
            else:
                carry = b""
            out.write(self._shifted(data, shift))

    def _moved(self, rows: bytes, row: int) -> bytes:
        """Whole rows starting at (old) row `row`, all moved up the same amount."""
        return self._shifted(rows, self.rows.shift(row)) if self.rows else rows

    def _shifted(self, data: bytes, shift: int) -> bytes:
        if self.pkg.shifts:  # formula text first: it holds the rows' old numbers
            data = shift_formulas_in(data, self.pkg.shifts, self.ref.name, self.ref.name)
        if shift:
            # split, then each distinct row number once: ~4x faster than a sub callback
            parts = _ADDR_RE.split(data)
            numbers = parts[2::3]
            moved = {n: b"%d" % (int(n) - shift) for n in set(numbers)}
            parts[2::3] = map(moved.__getitem__, numbers)
            data = b"".join(parts)
        return _FORMULA_RE.sub(self._formula, data)

    def _formula(self, m: re.Match[bytes]) -> bytes:
        """A formula's own range (shared/array) after the deletion; orphaned shares -> values."""
        attrs = m.group(1)
        ref = get_attr(attrs, b"ref")
        if ref is None:
            si = get_attr(attrs, b"si")
            return b"" if si is not None and si in self._orphans else m.group(0)
        new = self.rows.ref(ref.decode())
        if new is None or new == ref.decode():
            return m.group(0)
        start, end = m.start(1) - m.start(0), m.end(1) - m.start(0)
        whole = m.group(0)
        return whole[:start] + set_attr(attrs, b"ref", new.encode()) + whole[end:]

    def _merges(self, m: re.Match[bytes]) -> bytes:
        """Merged ranges moved up; a merge touching a removed row goes."""
        kept = []
        for item in _MERGE_RE.finditer(m.group(3) or b""):
            tag = item.group(0)
            ref = get_attr(tag, b"ref")
            parsed = parse_ref(ref.decode()) if ref is not None else None
            if parsed is not None and self.rows.touches(parsed[1], parsed[3]):
                continue
            new = self.rows.ref(ref.decode()) if ref is not None else None
            kept.append(tag if new is None else set_attr(tag, b"ref", new.encode()))
        if not kept:
            return b""
        p = m.group(1)
        attrs = re.sub(rb"\s(?<![\w:])count\s*=\s*[\"'][^\"']*[\"']", b"", m.group(2))
        items = b"".join(kept)
        return b'<%smergeCells%s count="%d">%s</%smergeCells>' % (p, attrs, len(kept), items, p)

    def _sort_state(self, m: re.Match[bytes]) -> bytes:
        new = self.rows.ref(m.group(2).decode())
        return m.group(0) if new is None else m.group(1) + new.encode() + m.group(3)

    # -- ranges

    def _dimension(self, m: re.Match[bytes]) -> bytes:
        old = parse_ref(m.group(2).decode())
        if old is None or (self.n == 0 and not self.rows):
            return m.group(0)
        c1, r1, c2, r2 = old
        r1, r2 = self.rows.span(r1, r2) or (r1, r1)
        if self.n:
            r1, c2, r2 = min(r1, self.header_row), max(c2, self.max_col), max(r2, self.last)
        new = make_ref(c1, r1, c2, r2)
        return m.group(1) + new.encode() + m.group(3)

    def _autofilter(self, m: re.Match[bytes]) -> bytes:
        return m.group(1) + (self.filter_ref or m.group(2).decode()).encode() + m.group(3)

    def extend(self, ref: str, *, grow: bool = True, header: bool = True) -> str:
        """A filter/table range over the table: removed rows out, grown to the new rows/columns."""
        old = parse_ref(ref)
        if old is None:
            return ref
        c1, r1, c2, r2 = old
        if self.rows:
            if header and r1 in self.rows.removed_set:
                raise PatchError(f"{self.ref.name}: the header row of the range {ref} is removed")
            rows = self.rows.span(r1, r2)
            if rows is None:
                raise PatchError(f"{self.ref.name}: every row of the range {ref} is removed")
            if header and rows[1] == r1 and self.rows.touches(r1 + 1, r2):
                rows = (r1, r1 + 1)  # a table keeps one (empty) data row, as Excel does
            r1, r2 = rows
        if not grow or old[1] != self.header_row or self.n == 0:
            return make_ref(c1, r1, c2, r2) if self.rows else ref
        if self.new_headers and c2 == self.header_max and min(self.new_headers) == c2 + 1:
            c2 = max(self.new_headers)
        return make_ref(c1, r1, c2, max(r2, self.last))
