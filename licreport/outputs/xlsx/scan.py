"""Pass 1 of the row appender: a streamed scan of a worksheet part returning its layout.

Where the header row is, the last row holding a value, the formatted-but-empty
rows after it, the rows to remove, and the bytes around ``<sheetData>`` -- all as
offsets into the part's decompressed XML, so pass 2 (`appender`) copies by offset.
Also the row-level XML helpers both passes use (`cells_of`, `merge_row`).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import IO

from licreport.outputs.xlsx import PatchError, constants
from licreport.outputs.xlsx.utility import col_index, column_letter
from licreport.outputs.xlsx.xmlwriter import PFX

_ROW_RE = re.compile(rb"\s*(<" + PFX + rb"row\b([^>]*?)(?:/>|>(.*?)</" + PFX + rb"row\s*>))", re.S)
_CELL_RE = re.compile(rb"<" + PFX + rb"c\b([^>]*?)(?:/>|>(.*?)</" + PFX + rb"c\s*>)", re.S)
_CLOSE_SD_RE = re.compile(rb"\s*</" + PFX + rb"sheetData\s*>")
_OPEN_SD_RE = re.compile(rb"<(" + PFX + rb")sheetData\b[^>]*?(/?)>")
_ROOT_RE = re.compile(rb"<(" + PFX + rb")worksheet\b")
_VALUE_RE = re.compile(rb"<" + PFX + rb"(?:v|f|is)[\s/>]")
_R_ATTR_RE = re.compile(rb"(?<![\w:])r\s*=\s*[\"']([A-Z]*)(\d+)[\"']")
_S_ATTR_RE = re.compile(rb"(?<![\w:])s\s*=\s*[\"'](\d+)[\"']")
_SPANS_RE = re.compile(rb"\s(?<![\w:])spans\s*=\s*[\"'][^\"']*[\"']")


class Cursor:
    """Sequential reads of a decompressed zip entry, tracking the offset."""

    def __init__(self, fp: IO[bytes]) -> None:
        self.fp = fp
        self.pos = 0

    def copy(self, n: int, out: IO[bytes] | None) -> None:
        while n > 0:
            block = self.fp.read(min(constants.CHUNK, n))
            if not block:
                raise PatchError("sheet part ended early")
            if out is not None:
                out.write(block)
            n -= len(block)
            self.pos += len(block)

    def read(self, n: int) -> bytes:
        data = self.fp.read(n) if n > 0 else b""
        if len(data) != max(n, 0):
            raise PatchError("sheet part ended early")
        self.pos += len(data)
        return data


def cells_of(row: bytes) -> tuple[bytes, list[tuple[int, bytes, bool]], bytes]:
    """Split a ``<row>`` into (start tag without spans, [(col, cell, has value)], rest)."""
    m = re.match(rb"\s*<(" + PFX + rb")row\b([^>]*?)(/?)>", row)
    if m is None:
        raise PatchError("malformed row")
    prefix, attrs = m.group(1), _SPANS_RE.sub(b"", m.group(2))
    start = b"<" + prefix + b"row" + attrs + b">"
    if m.group(3):
        return start, [], b""
    body = row[m.end() : row.rindex(b"</")]
    cells: list[tuple[int, bytes, bool]] = []
    col = -1
    rest = b""
    pos = 0
    rownum = _R_ATTR_RE.search(attrs)
    for c in _CELL_RE.finditer(body):
        rest += body[pos : c.start()].strip()
        pos = c.end()
        ref = _R_ATTR_RE.search(c.group(1))
        cell = c.group(0)
        if ref and ref.group(1):
            col = col_index(ref.group(1).decode())
        else:
            col += 1
            if rownum:
                addr = column_letter(col).encode() + rownum.group(2)
                cell = re.sub(rb"^(<" + PFX + rb"c)\b", rb'\1 r="' + addr + rb'"', cell)
        cells.append((col, cell, bool(c.group(2) and _VALUE_RE.search(c.group(2)))))
    rest += body[pos:].strip()
    return start, cells, rest


def merge_row(row: bytes, new: Mapping[int, bytes]) -> bytes:
    """`row` with the cells of `new` (column -> ``<c>``) put in column order."""
    start, cells, rest = cells_of(row)
    prefix = re.match(rb"<(" + PFX + rb")", start)
    p = prefix.group(1) if prefix else b""
    merged = {col: cell for col, cell, _ in cells}
    merged.update(new)
    return start + b"".join(merged[c] for c in sorted(merged)) + rest + b"</" + p + b"row>"


def style_of(cell: bytes) -> int:
    m = _S_ATTR_RE.search(cell, 0, cell.find(b">") + 1)
    return int(m.group(1)) if m else 0


@dataclass(frozen=True)
class SheetLayout:
    """Where the parts of a worksheet's XML are (offsets into the decompressed part)."""

    head: bytes  # everything before <sheetData>
    prefix: bytes  # the main namespace's prefix (b"x:"), or b""
    body_start: int  # just after the <sheetData> start tag
    header: tuple[int, int, bytes] | None  # (start, end, bytes) of the header row
    last_row: int  # the last row holding a value (0: none)
    last_end: int  # the offset just after it
    last_bytes: bytes | None  # its XML (the new rows inherit its cell styles)
    trailing: list[tuple[int, int, int]]  # (start, end, row) of formatted empty rows after it
    removed_spans: list[tuple[int, int]]  # (start, end) of the rows to remove
    close_start: int  # where </sheetData> (and what precedes it) starts
    foot: bytes  # everything after </sheetData>


def scan_sheet(
    zin: zipfile.ZipFile, part: str, sheet: str, header_row: int, removed: Collection[int]
) -> SheetLayout:
    """Read worksheet `part` once, in chunks, and return its `SheetLayout`."""
    with zin.open(part) as fp:
        buf, base, eof = b"", 0, False

        def more() -> None:
            nonlocal buf, eof
            chunk = fp.read(constants.CHUNK)
            eof = not chunk
            buf += chunk

        while (m := _OPEN_SD_RE.search(buf)) is None:
            if eof:
                raise PatchError(f"{sheet}: no <sheetData> in {part}")
            more()
        lay_head = buf[: m.start()]
        root = _ROOT_RE.search(lay_head)
        lay_prefix = root.group(1) if root else b""
        lay_body_start = m.end()
        lay_header: tuple[int, int, bytes] | None = None
        lay_last_row, lay_last_end = 0, m.end()
        last: tuple[bytes, int, int] | None = None
        trailing: list[tuple[int, int, int]] = []
        removed_spans: list[tuple[int, int]] = []
        if m.group(2):  # <sheetData/>
            lay_close_start = m.end()
            lay_foot = buf[m.end() :] + fp.read()
            _check_removed(sheet, removed, set())
            return SheetLayout(
                lay_head,
                lay_prefix,
                lay_body_start,
                None,
                0,
                m.end(),
                None,
                [],
                [],
                lay_close_start,
                lay_foot,
            )
        pos, counter = m.end(), 0
        p = lay_prefix
        open_tag, close_tag = b"<" + p + b"row", b"</" + p + b"row>"
        values = (b"<" + p + b"v>", b"<" + p + b"is>", b"<" + p + b"f")
        row_match, r_search = _ROW_RE.match, _R_ATTR_RE.search
        found: set[int] = set()
        while True:
            # Fast path: plain tags found with bytes.find; the regex handles the rest.
            start = pos
            while start < len(buf) and buf[start] in b" \t\r\n":
                start += 1
            span: tuple[int, int, int, int] | None = None  # start, end, tag end, content end
            after = start + len(open_tag)
            if after < len(buf) and buf.startswith(open_tag, start) and buf[after] in b" />":
                gt = buf.find(b">", start)
                if gt >= 0 and buf[gt - 1] == 47:  # "/>"
                    span = (start, gt + 1, gt, gt)
                elif gt >= 0:
                    close = buf.find(close_tag, gt)
                    if close >= 0:
                        span = (start, close + len(close_tag), gt + 1, close)
            if span is None:
                rm = row_match(buf, pos)
                if rm is not None:
                    c0, c1 = rm.span(3) if rm.group(3) is not None else (rm.end(1), rm.end(1))
                    span = (rm.start(1), rm.end(1), c0, c1)
            if span is not None:
                s0, s1, c0, c1 = span
                ra = r_search(buf, s0, c0)
                counter = int(ra.group(2)) if ra else counter + 1
                if counter == header_row:
                    lay_header = (base + s0, base + s1, buf[s0:s1])
                if removed and counter in removed:
                    removed_spans.append((base + s0, base + s1))
                    found.add(counter)
                elif any(buf.find(v, c0, c1) >= 0 for v in values):
                    last = (buf, s0, s1)
                    lay_last_row, lay_last_end = counter, base + s1
                    if trailing:
                        trailing = []
                else:
                    trailing.append((base + s0, base + s1, counter))
                pos = s1
                continue
            cm = _CLOSE_SD_RE.match(buf, pos)
            if cm is not None:
                lay_close_start = base + pos
                lay_foot = buf[cm.end() :] + fp.read()
                break
            if eof:
                raise PatchError(f"{sheet}: cannot read the rows of {part}")
            if pos:
                buf, base, pos = buf[pos:], base + pos, 0
            more()
    _check_removed(sheet, removed, found)
    last_bytes = last[0][last[1] : last[2]] if last is not None else None
    return SheetLayout(
        lay_head,
        lay_prefix,
        lay_body_start,
        lay_header,
        lay_last_row,
        lay_last_end,
        last_bytes,
        trailing,
        removed_spans,
        lay_close_start,
        lay_foot,
    )


def _check_removed(sheet: str, removed: Collection[int], found: set[int]) -> None:
    missing = sorted(set(removed) - found)
    if missing:
        raise ValueError(f"{sheet}: row {missing[0]} to remove is not in the sheet")
