"""Zip-level editing of an .xlsx package: copy what a run does not change, stream the rest.

openpyxl needs ~30 s to load and save a 100,000-row ledger, so the updated
workbook is built from the input's zip: unchanged parts are copied compressed
bytes and all (no inflate/deflate), a ledger sheet with new rows is streamed in
chunks with the rows spliced in before ``</sheetData>``, and the small parts we
touch (workbook, rels, content types, styles, tables) get textual edits at
places found with a safe parse (defusedxml), so the user's namespace prefixes,
``mc:Ignorable`` lists and extensions survive untouched.

Cells are rendered here too, vectorised per column: strings always as inline
strings (``t="inlineStr"``), never as formulas, whatever they start with.
"""

from __future__ import annotations

import bisect
import datetime as dt
import io
import math
import posixpath
import queue
import re
import shutil
import struct
import threading
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, cast
from urllib.parse import unquote
from xml.parsers import expat

import numpy as np
import pandas as pd
from defusedxml import ElementTree as SafeET

from licreport.errors import LicreportError, UnreadableFile
from licreport.ledger.model import column_letter

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_STRICT_MAIN = "{http://purl.oclc.org/ooxml/spreadsheetml/main}"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_DOC = NS_R + "/officeDocument"
REL_WORKSHEET = NS_R + "/worksheet"
REL_STYLES = NS_R + "/styles"
REL_DRAWING = NS_R + "/drawing"
REL_CHART = NS_R + "/chart"
REL_TABLE = NS_R + "/table"
REL_CALCCHAIN = NS_R + "/calcChain"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
CT_RELS = "application/vnd.openxmlformats-package.relationships+xml"
_CT_BY_EXTENSION = {"rels": CT_RELS, "xml": "application/xml"}  # for parts no Default types
CONTENT_TYPES = "[Content_Types].xml"

COMPRESSLEVEL = 3  # deflate level of the parts we write: 2x faster than 6, ~5% larger
CHUNK = 1 << 20  # bytes read at a time from a streamed sheet part
BATCH = 20_000  # rows rendered at a time

DATE_FORMAT = "yyyy-mm-dd"
# Built-in number formats: 3 '#,##0', 4 '#,##0.00', 10 '0.00%'.
INT_FMT, MONEY_FMT, PERCENT_FMT = 3, 4, 10
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_DATE_EPOCH = dt.date(1899, 12, 30)
_DAYS_1904 = 1462  # 1904-01-01 is serial 0 in the 1904 date system, 1462 in the 1900 one

_P = rb"(?:[A-Za-z_][\w.-]*:)?"  # an optional namespace prefix in a tag name
_ROW_RE = re.compile(rb"\s*(<" + _P + rb"row\b([^>]*?)(?:/>|>(.*?)</" + _P + rb"row\s*>))", re.S)
_CELL_RE = re.compile(rb"<" + _P + rb"c\b([^>]*?)(?:/>|>(.*?)</" + _P + rb"c\s*>)", re.S)
_CLOSE_SD_RE = re.compile(rb"\s*</" + _P + rb"sheetData\s*>")
_OPEN_SD_RE = re.compile(rb"<(" + _P + rb")sheetData\b[^>]*?(/?)>")
_ROOT_RE = re.compile(rb"<(" + _P + rb")worksheet\b")
_VALUE_RE = re.compile(rb"<" + _P + rb"(?:v|f|is)[\s/>]")
_R_ATTR_RE = re.compile(rb"(?<![\w:])r\s*=\s*[\"']([A-Z]*)(\d+)[\"']")
_S_ATTR_RE = re.compile(rb"(?<![\w:])s\s*=\s*[\"'](\d+)[\"']")
_SPANS_RE = re.compile(rb"\s(?<![\w:])spans\s*=\s*[\"'][^\"']*[\"']")
_DIMENSION_RE = re.compile(rb"(<" + _P + rb"dimension\b[^>]*?\bref\s*=\s*[\"'])([^\"']*)([\"'])")
_AUTOFILTER_RE = re.compile(rb"(<" + _P + rb"autoFilter\b[^>]*?\bref\s*=\s*[\"'])([^\"']*)([\"'])")
_REF_RE = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?$")
# The ``r`` address of a row or cell start tag (renumbering moved rows).
_ADDR_RE = re.compile(
    rb"(<" + _P + rb"(?:row|c)\b[^>]*?(?<![\w:])r\s*=\s*[\"'][A-Z]*)(\d+)(?=[\"'])"
)
# A formula element with attributes: (attrs, rest of the element).
_FORMULA_RE = re.compile(rb"<" + _P + rb"f\s([^>]*?)(/>|>[^<]*</" + _P + rb"f\s*>)")
_MERGES_RE = re.compile(
    rb"<(" + _P + rb")mergeCells\b([^>]*?)(?:/>|>(.*?)</" + _P + rb"mergeCells\s*>)", re.S
)
_MERGE_RE = re.compile(
    rb"<" + _P + rb"mergeCell\b[^>]*?(?:/>|>.*?</" + _P + rb"mergeCell\s*>)", re.S
)
_SORTSTATE_RE = re.compile(rb"(<" + _P + rb"sortState\b[^>]*?\bref\s*=\s*[\"'])([^\"']*)([\"'])")


class PatchError(LicreportError):
    """The input package has a shape this writer does not understand."""


# ---------------------------------------------------------------- cell text


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def _bad_char(m: re.Match[str]) -> str:
    ch = m.group()
    return "_x005F_" if ch == "_" else f"_x{ord(ch):04X}_"


_NEEDS_ESCAPE = re.compile("[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x")


def xml_text(value: str) -> str:
    """Escape text for an element body; control characters as Excel's ``_xHHHH_``."""
    if not _NEEDS_ESCAPE.search(value):
        return value
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if _XML_BAD.search(value):
        value = _XML_BAD.sub(_bad_char, value)
    return value


def xml_attr(value: str) -> str:
    """Escape text for a double-quoted attribute value."""
    value = xml_text(value)
    return value.replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def col_index(letters: str) -> int:
    """Spreadsheet letters -> 0-based column index (A -> 0, AB -> 27)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def parse_ref(ref: str) -> tuple[int, int, int, int] | None:
    """``A3:M100`` -> (first col, first row, last col, last row), 0-based cols, 1-based rows."""
    m = _REF_RE.match(ref.strip())
    if not m:
        return None
    c1, r1 = col_index(m.group(1)), int(m.group(2))
    if m.group(3):
        return c1, r1, col_index(m.group(3)), int(m.group(4))
    return c1, r1, c1, r1


def make_ref(c1: int, r1: int, c2: int, r2: int) -> str:
    return f"{column_letter(c1)}{r1}:{column_letter(c2)}{r2}"


class RowMap:
    """Where rows land when some are deleted: the rows below move up, as Excel does."""

    def __init__(self, removed: Iterable[int] = ()) -> None:
        self.removed = sorted({int(r) for r in removed})
        self.removed_set = frozenset(self.removed)

    def __bool__(self) -> bool:
        return bool(self.removed)

    def shift(self, row: int) -> int:
        """How far row `row` moves up (the removed rows above it)."""
        return bisect.bisect_left(self.removed, row)

    def span(self, r1: int, r2: int) -> tuple[int, int] | None:
        """Rows `r1`..`r2` after the deletion; None when all of them go."""
        first = r1 - bisect.bisect_left(self.removed, r1)
        last = r2 - bisect.bisect_right(self.removed, r2)
        return (first, last) if last >= first else None

    def touches(self, r1: int, r2: int) -> bool:
        """Is one of rows `r1`..`r2` removed?"""
        return bisect.bisect_right(self.removed, r2) > bisect.bisect_left(self.removed, r1)

    def ref(self, ref: str) -> str | None:
        """A range after the deletion (None: all its rows go; unparsed refs are kept)."""
        parsed = parse_ref(ref)
        if parsed is None or not self.removed:
            return ref
        c1, r1, c2, r2 = parsed
        rows = self.span(r1, r2)
        if rows is None:
            return None
        if ":" not in ref:
            return f"{column_letter(c1)}{rows[0]}"
        return make_ref(c1, rows[0], c2, rows[1])


def _attr(attrs: bytes, name: bytes) -> bytes | None:
    """The value of attribute `name` in a start tag's attribute text."""
    m = re.search(rb"(?<![\w:])" + name + rb"\s*=\s*[\"']([^\"']*)[\"']", attrs)
    return m.group(1) if m else None


def _set_attr(attrs: bytes, name: bytes, value: bytes) -> bytes:
    pattern = rb"((?<![\w:])" + name + rb"\s*=\s*[\"'])[^\"']*([\"'])"
    return re.sub(pattern, lambda m: m.group(1) + value + m.group(2), attrs, count=1)


# ---------------------------------------------------------------- cell rendering

TEXT, NUMBER, DATE, BOOL = "text", "number", "date", "bool"


def _number_text(v: Any) -> str | None:
    """A finite number as the lexical form of ``<v>``; None for blanks."""
    if isinstance(v, Decimal):
        return format(v, "f") if v.is_finite() else None
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    f = float(v)
    if not math.isfinite(f):
        return None
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)


def _serial(v: Any, date1904: bool = False) -> float | None:
    """A date/datetime as an Excel serial; None if out of Excel's range.

    The 1900 system counts from 1899-12-30 (Excel's calendar is off before
    1900-03-01); the 1904 system (``date1904`` workbooks) counts from 1904-01-01.
    """
    if isinstance(v, np.datetime64):
        v = pd.Timestamp(v)
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.replace(tzinfo=None)
        delta = v - dt.datetime(1899, 12, 30)
        serial = delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6
    else:
        serial = float((v - _DATE_EPOCH).days)
    if date1904:
        serial -= _DAYS_1904
        return serial if serial >= 0 else None
    return serial if serial >= 61 else None  # before 1900-03-01 Excel's calendar is off


def classify(v: Any, date1904: bool = False) -> tuple[str, str] | None:
    """One value -> (kind, lexical text), or None for a blank (dates as serials of the system)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return BOOL, "yes" if v else "no"
    if isinstance(v, (int, float, Decimal, np.integer, np.floating)):
        text = _number_text(v)
        return (NUMBER, text) if text is not None else None
    if isinstance(v, (dt.date, np.datetime64)):
        if isinstance(v, np.datetime64) and np.isnat(v):
            return None
        serial = _serial(v, date1904)
        if serial is None:
            return TEXT, pd.Timestamp(v).date().isoformat()
        return DATE, _number_text(serial) or ""
    text = str(v)
    return (TEXT, text) if text != "" else None


def series_kind(values: pd.Series) -> str | None:
    """The kind of a whole column when its dtype says it (None: look at each value)."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return BOOL
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATE
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMBER
    if isinstance(dtype, pd.StringDtype):
        return TEXT
    return None


def lexical(
    values: pd.Series, *, as_text: bool = False, scale: int = 1, date1904: bool = False
) -> list[tuple[str, str] | None]:
    """Every value of a column as (kind, text) or None, value by value.

    ``as_text`` writes every value as a string; ``scale`` divides numbers (percent
    points -> fraction for a ``0.00%`` format).  `column_cells` takes the fast
    path for plain string, integer and date columns.
    """
    out: list[tuple[str, str] | None] = []
    for v in values.tolist():
        if as_text:
            got = classify(v)
            out.append(None if got is None else (TEXT, got[1] if got[0] != DATE else _iso(v)))
            continue
        if scale != 1 and not isinstance(v, (bool, np.bool_)):
            if isinstance(v, Decimal):
                v = v / scale
            elif isinstance(v, (int, float, np.integer, np.floating)):
                v = float(v) / scale
        out.append(classify(v, date1904))
    return out


def _iso(v: Any) -> str:
    ts = pd.Timestamp(v)
    return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat(sep=" ")


def render_cells(
    items: Sequence[tuple[str, str] | None],
    letter: str,
    rows: Sequence[int],
    styles: Mapping[str, int],
    prefix: str = "",
) -> list[str]:
    """``<c>`` elements for one column (``""`` for a blank); strings inline, never formulas."""
    p = prefix
    attr = {k: (f' s="{s}"' if s else "") for k, s in styles.items()}
    sd, sn, st, sb = (
        attr.get(DATE, ""),
        attr.get(NUMBER, ""),
        attr.get(TEXT, ""),
        attr.get(BOOL, ""),
    )
    out: list[str] = []
    append = out.append
    for item, r in zip(items, rows, strict=True):
        if item is None:
            append("")
            continue
        kind, text = item
        if kind == NUMBER:
            append(f'<{p}c r="{letter}{r}"{sn}><{p}v>{text}</{p}v></{p}c>')
        elif kind == DATE:
            append(f'<{p}c r="{letter}{r}"{sd}><{p}v>{text}</{p}v></{p}c>')
        else:
            s = sb if kind == BOOL else st
            append(
                f'<{p}c r="{letter}{r}"{s} t="inlineStr"><{p}is><{p}t xml:space="preserve">'
                f"{xml_text(text)}</{p}t></{p}is></{p}c>"
            )
    return out


def column_cells(
    values: pd.Series,
    letter: str,
    rows: Sequence[int],
    styles: Mapping[str, int],
    prefix: str = "",
    *,
    as_text: bool = False,
    scale: int = 1,
    date1904: bool = False,
) -> list[str]:
    """``<c>`` elements for one column (``""`` for a blank), one pass per dtype.

    The common dtypes (string, integer, datetime) are rendered in a single list
    comprehension; anything else goes value by value through `classify`.  Dates
    are serials of the workbook's date system (`date1904`).
    """
    kind = None if as_text else series_kind(values)
    p = prefix
    if kind is None and values.dtype == object and _all_text(values):
        kind = TEXT  # an object column of strings (e.g. yes/no) takes the string path
    if kind == TEXT or (as_text and isinstance(values.dtype, pd.StringDtype)):
        texts = values.astype(object).where(values.notna(), "").tolist()
        if _NEEDS_ESCAPE.search("\n".join(texts)):
            texts = [xml_text(t) for t in texts]
        st = f' s="{styles[TEXT]}"' if styles.get(TEXT) else ""
        head, tail = (
            f'"{st} t="inlineStr"><{p}is><{p}t xml:space="preserve">',
            f"</{p}t></{p}is></{p}c>",
        )
        return [
            f'<{p}c r="{letter}{r}{head}{t}{tail}' if t else ""
            for t, r in zip(texts, rows, strict=True)
        ]
    if kind == NUMBER and scale == 1 and pd.api.types.is_integer_dtype(values.dtype):
        missing = values.isna().to_numpy().tolist()
        ints = values.astype("Int64").fillna(0).astype("int64").tolist()
        sn = f' s="{styles[NUMBER]}"' if styles.get(NUMBER) else ""
        return [
            "" if m else f'<{p}c r="{letter}{r}"{sn}><{p}v>{i}</{p}v></{p}c>'
            for i, m, r in zip(ints, missing, rows, strict=True)
        ]
    if kind == DATE:
        ts = pd.to_datetime(values)
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_localize(None)
        serial = ((ts - _EXCEL_EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype="float64")
        if date1904:
            serial = serial - _DAYS_1904
        if not (serial[serial == serial] < (0 if date1904 else 61)).any():
            sd = f' s="{styles[DATE]}"' if styles.get(DATE) else ""
            whole = serial == np.floor(serial)
            blank = serial != serial
            if (whole | blank).all():  # dates without a time: integer serials, no repr()
                days = np.where(blank, 0, serial).astype(np.int64).tolist()
                return [
                    "" if b else f'<{p}c r="{letter}{r}"{sd}><{p}v>{v}</{p}v></{p}c>'
                    for v, b, r in zip(days, blank.tolist(), rows, strict=True)
                ]
            return [
                "" if v != v else f'<{p}c r="{letter}{r}"{sd}><{p}v>{_serial_text(v)}</{p}v></{p}c>'
                for v, r in zip(serial.tolist(), rows, strict=True)
            ]
    items = lexical(values, as_text=as_text, scale=scale, date1904=date1904)
    return render_cells(items, letter, rows, styles, prefix)


def _all_text(values: pd.Series) -> bool:
    """Does an object column hold only strings and blanks (None / NaN)?"""
    return bool(pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"))


def _serial_text(v: float) -> str:
    return str(int(v)) if v.is_integer() else repr(v)


def text_cell(letter: str, row: int, text: str, style: int = 0, prefix: str = "") -> str:
    """One inline-string cell (headers)."""
    return render_cells([(TEXT, text)], letter, [row], {TEXT: style}, prefix)[0]


# ---------------------------------------------------------------- styles


_BUILTIN_DATE_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])


def is_date_format(code: str) -> bool:
    """Does a number format code show a date or time?"""
    code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code).split(";")[0]
    return bool(re.search(r"[dmyhs]", code, re.I)) and "General" not in code


@dataclass(frozen=True)
class CellStyles:
    """cellXfs indices appended for our cells, and which indices show dates."""

    header: int
    date: int
    integer: int
    money: int
    percent: int
    date_xfs: frozenset[int]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(elem: Any, name: str) -> list[Any]:
    return [c for c in elem if _local(c.tag) == name]


def _insert_children(xml: bytes, prefix: bytes, name: bytes, items: bytes, count: int) -> bytes:
    """Append `items` inside ``<name>`` (made if self-closing) and set its ``count``."""
    open_re = re.compile(rb"<" + re.escape(prefix + name) + rb"\b([^>]*?)(/?)>")
    m = open_re.search(xml)
    if m is None:
        raise PatchError(f"styles: no <{name.decode()}> element")
    attrs = re.sub(rb"\s(?<![\w:])count\s*=\s*[\"'][^\"']*[\"']", b"", m.group(1))
    start = b"<" + prefix + name + attrs + b' count="%d">' % count
    if m.group(2):
        return xml[: m.start()] + start + items + b"</" + prefix + name + b">" + xml[m.end() :]
    close = xml.index(b"</" + prefix + name, m.end())
    return xml[: m.start()] + start + xml[m.end() : close] + items + xml[close:]


# The children of <styleSheet> in schema order (CT_Stylesheet), and the minimal
# content of the collections a cell style needs, for a styles part that lacks them.
_STYLE_ORDER = (
    "numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles",
    "dxfs", "tableStyles", "colors", "extLst",
)  # fmt: skip
_STYLE_DEFAULTS = {  # collection -> (count, items)
    "fonts": (
        1,
        '<{p}font><{p}sz val="11"/><{p}name val="Calibri"/><{p}family val="2"/></{p}font>',
    ),
    "fills": (
        2,
        '<{p}fill><{p}patternFill patternType="none"/></{p}fill>'
        '<{p}fill><{p}patternFill patternType="gray125"/></{p}fill>',
    ),
    "borders": (
        1,
        "<{p}border><{p}left/><{p}right/><{p}top/><{p}bottom/><{p}diagonal/></{p}border>",
    ),
    "cellStyleXfs": (1, '<{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'),
    "cellXfs": (1, '<{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'),
    "cellStyles": (1, '<{p}cellStyle name="Normal" xfId="0" builtinId="0"/>'),
}


def _complete_styles(xml: bytes) -> bytes:
    """styles.xml with every collection a cell style points into (an empty part made whole).

    LibreOffice and Excel open a styles part without fonts or cellXfs (even an
    empty ``<styleSheet/>``) using their defaults; our cells need those
    collections, so the missing ones get the same defaults, in schema order.
    """
    root = SafeET.fromstring(xml)
    m = re.search(rb"<(" + _P + rb")styleSheet\b[^>]*?(/?)>", xml)
    if m is None:
        raise PatchError("styles.xml has no <styleSheet>")
    prefix = m.group(1)
    p = prefix.decode()
    if m.group(2):  # <styleSheet .../>
        tag = xml[m.start() : m.end() - 2].rstrip() + b">"
        xml = xml[: m.start()] + tag + b"</" + prefix + b"styleSheet>" + xml[m.end() :]
    present = {_local(c.tag) for c in root}
    for name, (count, items) in _STYLE_DEFAULTS.items():
        if name in present:
            continue
        element = f'<{p}{name} count="{count}">{items.format(p=p)}</{p}{name}>'.encode()
        later = _STYLE_ORDER[_STYLE_ORDER.index(name) + 1 :]
        at = None
        for follower in later:
            if follower in present:
                found = re.search(rb"<" + re.escape(prefix + follower.encode()) + rb"\b", xml)
                if found is not None:
                    at = found.start()
                    break
        if at is None:
            at = xml.rindex(b"</" + prefix + b"styleSheet")
        xml = xml[:at] + element + xml[at:]
        present.add(name)
    return xml


def _items(root: Any, group: str, name: str) -> list[Any]:
    """The `name` elements of every `group`, one per index as Excel counts them.

    An ``mc:AlternateContent`` (Hancom Office wraps fonts and xfs in them) is one
    item: its ``mc:Fallback`` element (else its first ``mc:Choice``'s) stands for it.
    """
    out: list[Any] = []
    for g in _children(root, group):
        for child in g:
            local = _local(child.tag)
            if local == name:
                out.append(child)
            elif local == "AlternateContent":
                branches = _children(child, "Fallback") + _children(child, "Choice")
                inner = next((e for b in branches for e in b if _local(e.tag) == name), None)
                if inner is not None:
                    out.append(inner)
    return out


def _shape(elem: Any) -> tuple[Any, ...]:
    """An element's attributes and children as a comparable value (prefixes ignored)."""
    attrs = tuple(sorted((_local(k), v) for k, v in elem.attrib.items()))
    return (_local(elem.tag), attrs, tuple(_shape(c) for c in elem))


def _reuse_or_append(
    xml: bytes, prefix: bytes, group: str, existing: list[Any], wanted: list[str]
) -> tuple[bytes, list[int]]:
    """Indices of the `wanted` elements: one already in `group` is reused, the rest appended.

    A second run on its own output finds the formats the first one added, so
    styles.xml does not grow by a font and five cell formats every month.
    """
    shapes: dict[tuple[Any, ...], int] = {}
    for i, elem in enumerate(existing):
        shapes.setdefault(_shape(elem), i)
    indices, items = [], b""
    count = len(existing)
    for text in wanted:
        shape = _shape(SafeET.fromstring(_with_ns(text, prefix)))
        if shape in shapes:
            indices.append(shapes[shape])
            continue
        shapes[shape] = count
        indices.append(count)
        items += text.encode()
        count += 1
    if items:
        xml = _insert_children(xml, prefix, group.encode(), items, count)
    return xml, indices


def _with_ns(text: str, prefix: bytes) -> bytes:
    """A lone element in the main namespace under `prefix`, so it parses by itself."""
    p = prefix.decode().rstrip(":")
    decl = f' xmlns:{p}="{NS_MAIN}"' if p else f' xmlns="{NS_MAIN}"'
    m = re.match(r"<([\w:.-]+)", text)
    assert m is not None
    return (text[: m.end()] + decl + text[m.end() :]).encode()


def patch_styles(xml: bytes) -> tuple[bytes, CellStyles]:
    """Add a bold font, a ``yyyy-mm-dd`` format and five cellXfs to styles.xml (reused if there)."""
    xml = _complete_styles(xml)
    root = SafeET.fromstring(xml)
    m = re.search(rb"<(" + _P + rb")styleSheet\b", xml)
    prefix = m.group(1) if m else b""
    p = prefix.decode()

    numfmts = {}
    for nf in _items(root, "numFmts", "numFmt"):
        numfmts[int(nf.get("numFmtId", "0"))] = nf.get("formatCode", "")
    xfs = _items(root, "cellXfs", "xf")
    fonts = _items(root, "fonts", "font")

    # Bold header font: the default font with <b/>.
    font_xml = f"<{p}font><{p}b/>"
    for child in fonts[0] if fonts else []:
        name = _local(child.tag)
        if name in ("sz", "color", "name", "family", "charset", "scheme"):
            attrs = "".join(
                f' {_local(k)}="{xml_attr(v)}"' for k, v in child.attrib.items() if "}" not in k
            )
            font_xml += f"<{p}{name}{attrs}/>"
    font_xml += f"</{p}font>"
    xml, (bold_font,) = _reuse_or_append(xml, prefix, "fonts", fonts, [font_xml])

    date_id = next((i for i, c in numfmts.items() if c == DATE_FORMAT), None)
    if date_id is None:
        date_id = max([163, *numfmts]) + 1
        item = f'<{p}numFmt numFmtId="{date_id}" formatCode="{DATE_FORMAT}"/>'.encode()
        if _children(root, "numFmts"):
            xml = _insert_children(xml, prefix, b"numFmts", item, len(numfmts) + 1)
        else:
            assert m is not None
            end = xml.index(b">", m.end())
            xml = (
                xml[: end + 1]
                + b'<%snumFmts count="1">%s</%snumFmts>' % (prefix, item, prefix)
                + xml[end + 1 :]
            )
        numfmts[date_id] = DATE_FORMAT

    rest = 'fillId="0" borderId="0" xfId="0"'
    new = [f'<{p}xf numFmtId="0" fontId="{bold_font}" {rest} applyFont="1"/>'] + [
        f'<{p}xf numFmtId="{fid}" fontId="0" {rest} applyNumberFormat="1"/>'
        for fid in (date_id, INT_FMT, MONEY_FMT, PERCENT_FMT)
    ]
    xml, (header, date, integer, money, percent) = _reuse_or_append(
        xml, prefix, "cellXfs", xfs, new
    )

    date_xfs = set()
    for i, xf in enumerate(xfs):
        fid = int(xf.get("numFmtId", "0") or 0)
        if fid in _BUILTIN_DATE_IDS or (fid in numfmts and is_date_format(numfmts[fid])):
            date_xfs.add(i)
    date_xfs.add(date)
    styles = CellStyles(header, date, integer, money, percent, frozenset(date_xfs))
    return xml, styles


# ---------------------------------------------------------------- checking what we wrote


class _Refused(Exception):
    pass


def _refuse(*_: Any) -> Any:
    raise _Refused


def check_xml(z: zipfile.ZipFile, name: str) -> None:
    """Parse one part of a written package strictly (well-formed, every prefix bound).

    Streamed through expat with namespace processing and no tree, so a 100,000-row
    sheet costs no memory; DTDs and entity declarations are refused as defusedxml
    does (its parsers build a tree, hence expat directly).  Non-XML parts pass.
    """
    if not name.lower().endswith((".xml", ".rels", ".vml")) and name != CONTENT_TYPES:
        return
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    try:
        with z.open(name) as fp:
            while chunk := fp.read(CHUNK):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise PatchError(
            f"the written workbook's part {name} is not well-formed XML "
            f"({expat.ErrorString(exc.code)}, line {exc.lineno}); nothing was written. "
            "This is a bug: please report it with the input workbook"
        ) from None
    except _Refused:
        raise PatchError(f"the written workbook's part {name} declares a DTD or entities") from None


# ---------------------------------------------------------------- zip entries

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def copy_entry(zin: zipfile.ZipFile, zout: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy one entry byte for byte: its compressed data, CRC and sizes as they are."""
    src = zin.fp
    if src is None or info.flag_bits & 0x1 or not hasattr(zout, "start_dir"):
        _recompress(zin, zout, info)
        return
    src.seek(info.header_offset)
    local = src.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        _recompress(zin, zout, info)
        return
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    out = zipfile.ZipInfo(info.filename, info.date_time)
    out.compress_type = info.compress_type
    out.CRC = info.CRC
    out.compress_size = info.compress_size
    out.file_size = info.file_size
    out.external_attr = info.external_attr
    out.create_system = info.create_system
    out.flag_bits = info.flag_bits & ~0x08  # sizes go in the local header, no data descriptor
    out.comment = info.comment
    fp = zout.fp
    assert fp is not None
    # The same bookkeeping ZipFile.mkdir does for an entry it writes itself.
    fp.seek(zout.start_dir)
    out.header_offset = fp.tell()
    fp.write(out.FileHeader())
    src.seek(info.header_offset + 30 + name_len + extra_len)
    remaining = info.compress_size
    while remaining:
        block = src.read(min(CHUNK, remaining))
        if not block:
            raise UnreadableFile(f"{info.filename}: truncated in the zip")
        fp.write(block)
        remaining -= len(block)
    zout.filelist.append(out)
    zout.NameToInfo[out.filename] = out
    zout.start_dir = fp.tell()


def _recompress(zin: zipfile.ZipFile, zout: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    out = zipfile.ZipInfo(info.filename, info.date_time)
    out.compress_type = zipfile.ZIP_DEFLATED
    out.external_attr = info.external_attr
    with zin.open(info) as src, zout.open(out, "w") as dst:
        shutil.copyfileobj(src, dst, CHUNK)


Content = bytes | Callable[[IO[bytes]], None]


def write_part(
    zout: zipfile.ZipFile, name: str, content: Content, like: zipfile.ZipInfo | None
) -> None:
    """Write one part, from bytes or from a function streaming into the entry."""
    info = zipfile.ZipInfo(name, like.date_time if like else _FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = like.external_attr if like else 0o600 << 16
    if isinstance(content, bytes):
        zout.writestr(info, content, compresslevel=COMPRESSLEVEL)
        return
    with zout.open(info, "w") as dst:
        pipe = _Pipe(dst)
        try:
            content(cast(IO[bytes], pipe))
        finally:
            pipe.close()


class _Pipe(io.RawIOBase):
    """A writer handing chunks to a thread: deflate (GIL released) overlaps rendering."""

    def __init__(self, dst: IO[bytes]) -> None:
        super().__init__()
        self._dst = dst
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="xlsx-deflate", daemon=True)
        self._thread.start()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._error is not None:
            raise self._error
        chunk = bytes(data)
        self._queue.put(chunk)
        return len(chunk)

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._dst.write(chunk)
                except BaseException as exc:  # handed to the writing thread
                    self._error = exc

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        super().close()
        if self._error is not None:
            raise self._error


# ---------------------------------------------------------------- the package


@dataclass(frozen=True)
class Rel:
    id: str
    type: str
    target: str  # the resolved part name (raw target when external)
    external: bool = False


def rels_name(part: str) -> str:
    """The relationships part of `part` (``""`` is the package root)."""
    if part == "":
        return "_rels/.rels"
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def resolve(source: str, target: str) -> str:
    target = unquote(target)
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def relative(source: str, part: str) -> str:
    return posixpath.relpath(part, posixpath.dirname(source) or ".")


def absolute_ref(sheet: str, ref: str) -> str:
    """``'Sheet'!$A$1:$F$3`` for a range of `sheet`."""
    parsed = parse_ref(ref)
    if parsed is None:
        return ref
    c1, r1, c2, r2 = parsed
    quoted = "'" + sheet.replace("'", "''") + "'"
    return f"{quoted}!${column_letter(c1)}${r1}:${column_letter(c2)}${r2}"


def _set_filter_database(xml: bytes, index: int, sheet: str, ref: str) -> bytes:
    """Point the hidden ``_xlnm._FilterDatabase`` name of sheet `index` at `ref`."""
    pattern = re.compile(
        rb"(<" + _P + rb"definedName\b[^>]*?>)(.*?)(</" + _P + rb"definedName\s*>)", re.S
    )

    def fix(m: re.Match[bytes]) -> bytes:
        tag = m.group(1)
        if b"_xlnm._FilterDatabase" not in tag:
            return m.group(0)
        local = re.search(rb"localSheetId\s*=\s*[\"'](\d+)[\"']", tag)
        if local is None or int(local.group(1)) != index:
            return m.group(0)
        return tag + xml_text(absolute_ref(sheet, ref)).encode() + m.group(3)

    return pattern.sub(fix, xml)


def rels_xml(items: Sequence[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f'<Relationship Id="{i}" Type="{t}" Target="{xml_attr(tg)}"/>' for i, t, tg in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{NS_PKG_REL}">{body}</Relationships>'
    ).encode()


@dataclass
class SheetRef:
    """A sheet listed in workbook.xml."""

    name: str
    sheet_id: int
    rid: str
    part: str
    index: int


@dataclass
class _NewSheet:
    name: str
    part: str
    write: Callable[[IO[bytes]], None]
    drawing: tuple[bytes, bytes] | None  # (drawing xml, chart xml)
    rid: str = ""
    replaced: bool = False
    computed: bool = False  # gets the COMPUTED_MARK name


def _root_tag(xml: bytes) -> bytes:
    """The start tag of the document element (after the XML declaration and comments)."""
    m = re.search(rb"<[A-Za-z_]", xml)
    if m is None:
        raise PatchError("a part has no document element")
    return xml[m.start() : xml.index(b">", m.start())]


def _prefix_for(xml: bytes, namespace: str, fallback: str) -> tuple[str, str]:
    """(prefix, declaration) for attributes in `namespace` on a new child of the root.

    Only a declaration on the document element is in scope everywhere: openpyxl
    with lxml declares ``xmlns:r`` on each ``<sheet>`` instead, and using that
    ``r:`` elsewhere leaves an unbound prefix.  Without one on the root, the new
    element declares its own (the second item, to put in its start tag).
    """
    decl = re.search(
        rb"xmlns:([\w.-]+)\s*=\s*[\"']" + re.escape(namespace.encode()) + rb"[\"']",
        _root_tag(xml),
    )
    if decl is not None:
        return decl.group(1).decode(), ""
    return fallback, f' xmlns:{fallback}="{namespace}"'


# licreport's computed sheets carry a hidden sheet-scoped defined name: it follows
# the sheet when the user moves, renames or copies it, survives edits of the
# cells, and goes when the sheet is deleted -- so a sheet the user makes and
# names Status never has it.  (Excel, LibreOffice and openpyxl keep such names.)
COMPUTED_MARK = "_licreport_computed"


def _computed_marks(workbook_xml: bytes) -> frozenset[int]:
    """Indices (``localSheetId``) of the sheets carrying `COMPUTED_MARK`."""
    root = SafeET.fromstring(workbook_xml)
    out = set()
    for group in _children(root, "definedNames"):
        for name in _children(group, "definedName"):
            local = name.get("localSheetId", "")
            if name.get("name", "").casefold() == COMPUTED_MARK and local.isdigit():
                out.add(int(local))
    return frozenset(out)


# What may follow <definedNames> in a workbook (CT_Workbook's sequence).
_AFTER_DEFINED_NAMES = (
    "calcPr", "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
    "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst",
)  # fmt: skip


def _add_defined_names(xml: bytes, items: bytes) -> bytes:
    """`xml` (workbook.xml) with `items` (``<definedName>`` elements) in ``<definedNames>``."""
    m = re.search(rb"<(" + _P + rb")definedNames\b[^>]*?(/?)>", xml)
    if m is not None:
        p = m.group(1)
        if m.group(2):
            tag = xml[m.start() : m.end() - 2].rstrip() + b">"
            return xml[: m.start()] + tag + items + b"</" + p + b"definedNames>" + xml[m.end() :]
        close = xml.index(b"</" + p + b"definedNames", m.end())
        return xml[:close] + items + xml[close:]
    root = re.search(rb"<(" + _P + rb")workbook\b", xml)
    p = root.group(1) if root else b""
    at = None
    for name in _AFTER_DEFINED_NAMES:
        found = re.search(rb"<" + re.escape(p + name.encode()) + rb"[\s/>]", xml)
        if found is not None:
            at = found.start() if at is None else min(at, found.start())
    if at is None:
        at = xml.rindex(b"</" + p + b"workbook")
    return xml[:at] + b"<%sdefinedNames>%s</%sdefinedNames>" % (p, items, p) + xml[at:]


def _is_date1904(workbook_xml: bytes) -> bool:
    """Does the workbook count dates from 1904 (``<workbookPr date1904="1">``)?"""
    root = SafeET.fromstring(workbook_xml)
    pr = next((c for c in root if _local(c.tag) == "workbookPr"), None)
    return pr is not None and pr.get("date1904", "0").strip().lower() in ("1", "true")


class Package:
    """An .xlsx being rewritten: the input zip, the edits collected, then `write`."""

    def __init__(self, source: zipfile.ZipFile) -> None:
        self.zin = source
        self.infos = source.infolist()
        self.names = {i.filename for i in self.infos}
        self._taken = {n.lower() for n in self.names}
        self.replace: dict[str, Content] = {}
        self.drop: set[str] = set()
        self.added: list[tuple[str, Content]] = []
        self.overrides: dict[str, str] = {}
        self._new_sheets: list[_NewSheet] = []
        self.filter_refs: dict[int, str] = {}  # sheet index -> its autofilter's new range
        self._extra_rels: list[tuple[str, str]] = []
        self._rels: dict[str, list[Rel]] = {}
        self.written: list[str] = []  # the parts `write` rendered (not copied), for `verify`
        # transitional or Strict (whose relationship types are purl.oclc.org ones)
        docs = [r for r in self.rels("") if r.type.endswith("/officeDocument")]
        if not docs or docs[0].target not in self.names:
            raise UnreadableFile("not a workbook: no officeDocument part")
        self.workbook = docs[0].target
        self.workbook_xml = self.read(self.workbook)
        self.sheets = self._read_sheets()
        self.date1904 = _is_date1904(self.workbook_xml)
        # Strict Open XML (ISO 29500 strict namespaces): read, never rewritten.
        self.strict = SafeET.fromstring(self.workbook_xml).tag.startswith(NS_STRICT_MAIN)
        self._computed_marks = _computed_marks(self.workbook_xml)

    # -- reading

    def read(self, name: str) -> bytes:
        return self.zin.read(name)

    def rels(self, part: str) -> list[Rel]:
        """Relationships of `part` (cached); [] when it has none."""
        name = rels_name(part)
        if name not in self._rels:
            out: list[Rel] = []
            if name in self.names:
                for r in SafeET.fromstring(self.read(name)):
                    if _local(r.tag) != "Relationship":
                        continue
                    external = r.get("TargetMode") == "External"
                    target = r.get("Target", "")
                    resolved = target if external else resolve(part, target)
                    out.append(Rel(r.get("Id", ""), r.get("Type", ""), resolved, external))
            self._rels[name] = out
        return self._rels[name]

    def _read_sheets(self) -> list[SheetRef]:
        root = SafeET.fromstring(self.workbook_xml)
        by_id = {r.id: r for r in self.rels(self.workbook)}
        out: list[SheetRef] = []
        for group in _children(root, "sheets"):
            for i, s in enumerate(_children(group, "sheet")):
                rid = s.get(f"{{{NS_R}}}id", "")
                rel = by_id.get(rid)
                part = rel.target if rel and rel.type == REL_WORKSHEET else ""
                out.append(SheetRef(s.get("name", ""), int(s.get("sheetId", "0")), rid, part, i))
        return out

    def sheet(self, name: str) -> SheetRef | None:
        """The sheet called `name` (exact, else case-insensitive)."""
        for s in self.sheets:
            if s.name == name:
                return s
        return next((s for s in self.sheets if s.name.casefold() == name.casefold()), None)

    def free_name(self, folder: str, stem: str, ext: str) -> str:
        """A part name not in the package (OPC part names compare case-insensitively)."""
        n = 1
        while f"{folder}/{stem}{n}.{ext}".lower() in self._taken:
            n += 1
        name = f"{folder}/{stem}{n}.{ext}"
        self._taken.add(name.lower())
        return name

    def styles_xml(self) -> tuple[str, bytes]:
        """(part name, bytes) of styles.xml; a minimal one is added when there is none."""
        for r in self.rels(self.workbook):
            if r.type == REL_STYLES and r.target in self.names:
                return r.target, self.read(r.target)
        folder = posixpath.dirname(self.workbook) or "xl"
        name = f"{folder}/styles.xml"  # the name openpyxl and calamine look for
        if name.lower() in self._taken:
            name = self.free_name(folder, "styles", "xml")
        self._taken.add(name.lower())
        self._extra_rels.append((REL_STYLES, name))
        self.overrides["/" + name] = CT_STYLES
        return name, MINIMAL_STYLES

    def final_sheet_names(self) -> list[str]:
        """Every worksheet the output will list, in order (not chart or macro sheets)."""
        new = [s.name for s in self._new_sheets if not s.replaced]
        return [s.name for s in self.sheets if s.part] + new

    def set_styles(self, name: str, xml: bytes) -> None:
        if name in self.names:
            self.replace[name] = xml
        else:
            self.added.append((name, xml))

    # -- edits

    def add_sheet(
        self,
        name: str,
        write: Callable[[IO[bytes]], None],
        drawing: tuple[bytes, bytes] | None = None,
        *,
        computed: bool = False,
    ) -> None:
        """A new worksheet at the end of the workbook (`computed`: marked as licreport's)."""
        taken = [s.name for s in self.sheets] + [s.name for s in self._new_sheets]
        if any(t.casefold() == name.casefold() for t in taken):
            raise PatchError(f"sheet {name!r} already exists")
        part = self.free_name("xl/worksheets", "sheet", "xml")
        self._new_sheets.append(_NewSheet(name, part, write, drawing, computed=computed))

    def is_computed(self, ref: SheetRef) -> bool:
        """Did licreport write this sheet (it carries the COMPUTED_MARK name)?"""
        return ref.index in self._computed_marks

    def replace_sheet(
        self,
        ref: SheetRef,
        write: Callable[[IO[bytes]], None],
        drawing: tuple[bytes, bytes] | None = None,
        *,
        computed: bool = False,
    ) -> None:
        """Rewrite an existing worksheet in place: same name, position and part name.

        Parts only the old sheet used (its drawing, charts, tables, comments) go.
        """
        if ref.part not in self.names:
            raise PatchError(f"sheet {ref.name!r} is not a worksheet")
        self._new_sheets.append(
            _NewSheet(ref.name, ref.part, write, drawing, ref.rid, replaced=True, computed=computed)
        )
        self.replace[ref.part] = write
        doomed = self._reachable(ref.part)
        keep = self._reachable("", skip={ref.part})
        gone = doomed - keep - {ref.part}
        self.drop.update(gone)
        self.drop.update(rels_name(p) for p in gone | {ref.part} if rels_name(p) in self.names)

    def drop_calc_chain(self) -> None:
        """Drop the calculation chain (cells with formulas moved); Excel rebuilds it."""
        self.drop.update(r.target for r in self.rels(self.workbook) if r.type == REL_CALCCHAIN)

    def _reachable(self, start: str, skip: Iterable[str] = ()) -> set[str]:
        """Parts reachable through relationships from `start`, not entering `skip`."""
        skipped = set(skip)
        seen: set[str] = set()
        todo = [start]
        while todo:
            for rel in self.rels(todo.pop()):
                if rel.external or rel.target in seen or rel.target in skipped:
                    continue
                if rel.target in self.names:
                    seen.add(rel.target)
                    todo.append(rel.target)
        return seen

    # -- writing

    def write(self, target: IO[bytes]) -> None:
        """Write the output package: copies, replacements, then the new parts."""
        if any(s.replaced for s in self._new_sheets):
            # Its cells may have held formulas the calc chain lists; Excel rebuilds it.
            self.drop_calc_chain()
        for s in self._new_sheets:
            self.overrides["/" + s.part] = CT_WORKSHEET
            if not s.replaced:
                self.added.append((s.part, s.write))
            if s.drawing is not None:
                drawing = self.free_name("xl/drawings", "drawing", "xml")
                chart = self.free_name("xl/charts", "chart", "xml")
                self.added.append(
                    (
                        rels_name(s.part),
                        rels_xml([("rId1", REL_DRAWING, relative(s.part, drawing))]),
                    )
                )
                self.added.append((drawing, s.drawing[0]))
                self.added.append(
                    (rels_name(drawing), rels_xml([("rId1", REL_CHART, relative(drawing, chart))]))
                )
                self.added.append((chart, s.drawing[1]))
                self.overrides["/" + drawing] = CT_DRAWING
                self.overrides["/" + chart] = CT_CHART
        self.replace[rels_name(self.workbook)] = self._workbook_rels()
        self.replace[self.workbook] = self._workbook_xml()
        self.replace[CONTENT_TYPES] = self._content_types()

        added = {n for n, _ in self.added}
        self.written = sorted((set(self.replace) | added) - self.drop)
        with zipfile.ZipFile(
            target, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL
        ) as zout:
            for info in self.infos:
                name = info.filename
                if name in self.drop or name in added:
                    continue
                if name in self.replace:
                    write_part(zout, name, self.replace[name], info)
                else:
                    copy_entry(self.zin, zout, info)
            for name, content in self.added:
                write_part(zout, name, self.replace.get(name, content), None)

    def _workbook_rels(self) -> bytes:
        name = rels_name(self.workbook)
        xml = self.read(name)
        for rel in self.rels(self.workbook):
            if rel.target in self.drop and rel.id:
                xml = re.sub(
                    rb"<"
                    + _P
                    + rb"Relationship\b[^>]*?\bId\s*=\s*[\"']"
                    + re.escape(rel.id.encode())
                    + rb"[\"'][^>]*?/>",
                    b"",
                    xml,
                )
        used = {r.id for r in self.rels(self.workbook)}
        counter = iter(range(1, 1 << 30))

        def next_id() -> str:
            rid = next(f"rId{n}" for n in counter if f"rId{n}" not in used)
            used.add(rid)
            return rid

        items = []
        for s in self._new_sheets:
            if not s.replaced:
                s.rid = next_id()
                items.append((s.rid, REL_WORKSHEET, relative(self.workbook, s.part)))
        for rtype, part in self._extra_rels:
            items.append((next_id(), rtype, relative(self.workbook, part)))
        m = re.search(rb"<(" + _P + rb")Relationships\b", xml)
        p = m.group(1).decode() if m else ""
        body = "".join(
            f'<{p}Relationship Id="{i}" Type="{t}" Target="{xml_attr(tg)}"/>' for i, t, tg in items
        )
        close = xml.rindex(b"</")
        return xml[:close] + body.encode() + xml[close:]

    def _workbook_xml(self) -> bytes:
        xml = self.workbook_xml
        for index, ref in self.filter_refs.items():
            xml = _set_filter_database(xml, index, self.sheets[index].name, ref)
        new = [s for s in self._new_sheets if not s.replaced]
        if new:
            xml = self._sheet_entries(xml, new)
        by_part = {r.part: r.index for r in self.sheets if r.part}
        marks = [by_part[s.part] for s in self._new_sheets if s.replaced and s.computed]
        marks += [i for i, s in enumerate(new, len(self.sheets)) if s.computed]
        marks = [i for i in marks if i not in self._computed_marks]
        if not marks:
            return xml
        root = re.search(rb"<(" + _P + rb")workbook\b", xml)
        p = root.group(1).decode() if root else ""
        items = "".join(
            f'<{p}definedName name="{COMPUTED_MARK}" localSheetId="{i}" hidden="1">'
            f'"licreport"</{p}definedName>'
            for i in marks
        )
        return _add_defined_names(xml, items.encode())

    def _sheet_entries(self, xml: bytes, new: Sequence[_NewSheet]) -> bytes:
        """workbook.xml with a ``<sheet>`` for each of `new` at the end of ``<sheets>``."""
        m = re.search(rb"<(" + _P + rb")sheets\b[^>]*?(/?)>", xml)
        if m is None:
            raise PatchError("workbook.xml has no <sheets>")
        p = m.group(1)
        rp, local = _prefix_for(xml, NS_R, "r")
        sheet_id = max([0, *(s.sheet_id for s in self.sheets)])
        items = []
        for s in new:
            sheet_id += 1
            attrs = f'name="{xml_attr(s.name)}" sheetId="{sheet_id}" {rp}:id="{s.rid}"'
            items.append(f"<{p.decode()}sheet{local} {attrs}/>")
        body = "".join(items).encode()
        if m.group(2):
            return xml[: m.start()] + b"<%ssheets>%s</%ssheets>" % (p, body, p) + xml[m.end() :]
        close = xml.index(b"</" + p + b"sheets", m.end())
        return xml[:close] + body + xml[close:]

    def _content_types(self) -> bytes:
        xml = self.read(CONTENT_TYPES)
        root = SafeET.fromstring(xml)
        existing = {o.get("PartName", "").lower() for o in root if _local(o.tag) == "Override"}
        for part in self.drop:
            xml = re.sub(
                rb"<"
                + _P
                + rb"Override\b[^>]*?\bPartName\s*=\s*[\"']/"
                + re.escape(part.encode())
                + rb"[\"'][^>]*?/>",
                b"",
                xml,
                flags=re.I,
            )
        m = re.search(rb"<(" + _P + rb")Types\b", xml)
        p = m.group(1).decode() if m else ""
        overrides = {**self.overrides, **self._untyped(root)}
        body = "".join(
            f'<{p}Override PartName="{xml_attr(name)}" ContentType="{ct}"/>'
            for name, ct in overrides.items()
            if name.lower() not in existing
        )
        close = xml.rindex(b"</")
        return xml[:close] + body.encode() + xml[close:]

    def _untyped(self, types: Any) -> dict[str, str]:
        """Overrides for new parts whose extension has no Default in [Content_Types].xml.

        Packages written by LibreOffice 3-5 (and some Excel builds) type each
        ``.rels`` part by an Override and have no ``Default Extension="rels"``.
        """
        defaults = {d.get("Extension", "").lower() for d in types if _local(d.tag) == "Default"}
        out = {}
        for name, _ in self.added:
            part = "/" + name
            ext = name.rsplit(".", 1)[-1].lower()
            if part not in self.overrides and ext not in defaults and ext in _CT_BY_EXTENSION:
                out[part] = _CT_BY_EXTENSION[ext]
        return out


MINIMAL_STYLES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<styleSheet xmlns="' + NS_MAIN.encode() + b'">'
    b'<fonts count="1"><font><sz val="11"/><color theme="1"/><name val="Calibri"/>'
    b'<family val="2"/><scheme val="minor"/></font></fonts>'
    b'<fills count="2"><fill><patternFill patternType="none"/></fill>'
    b'<fill><patternFill patternType="gray125"/></fill></fills>'
    b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    b'<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    b'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    b'<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
    b'defaultPivotStyle="PivotStyleLight16"/></styleSheet>'
)


def empty_package() -> bytes:
    """A workbook with no sheets yet (the base the CSV path adds every sheet to)."""
    import io

    buf = io.BytesIO()
    parts = {
        CONTENT_TYPES: (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Types xmlns="{NS_CT}">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{CT_STYLES}"/>'
            "</Types>"
        ).encode(),
        "_rels/.rels": rels_xml([("rId1", REL_DOC, "xl/workbook.xml")]),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{NS_MAIN}" xmlns:r="{NS_R}">'
            '<bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" '
            'windowHeight="9660"/>'
            '</bookViews><sheets></sheets><calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": rels_xml([("rId1", REL_STYLES, "styles.xml")]),
        "xl/styles.xml": MINIMAL_STYLES,
    }
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(zipfile.ZipInfo(name, _FIXED_TIME), data)
    return buf.getvalue()


# ---------------------------------------------------------------- appending rows


@dataclass
class AppendColumn:
    """One column of new rows: under the user's column `letter`, or a new one named `name`."""

    name: str
    letter: str | None
    values: pd.Series


class _Cursor:
    """Sequential reads of a decompressed zip entry, tracking the offset."""

    def __init__(self, fp: IO[bytes]) -> None:
        self.fp = fp
        self.pos = 0

    def copy(self, n: int, out: IO[bytes] | None) -> None:
        while n > 0:
            block = self.fp.read(min(CHUNK, n))
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


def _cells_of(row: bytes) -> tuple[bytes, list[tuple[int, bytes, bool]], bytes]:
    """Split a ``<row>`` into (start tag without spans, [(col, cell, has value)], rest)."""
    m = re.match(rb"\s*<(" + _P + rb")row\b([^>]*?)(/?)>", row)
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
                cell = re.sub(rb"^(<" + _P + rb"c)\b", rb'\1 r="' + addr + rb'"', cell)
        cells.append((col, cell, bool(c.group(2) and _VALUE_RE.search(c.group(2)))))
    rest += body[pos:].strip()
    return start, cells, rest


def merge_row(row: bytes, new: Mapping[int, bytes]) -> bytes:
    """`row` with the cells of `new` (column -> ``<c>``) put in column order."""
    start, cells, rest = _cells_of(row)
    prefix = re.match(rb"<(" + _P + rb")", start)
    p = prefix.group(1) if prefix else b""
    merged = {col: cell for col, cell, _ in cells}
    merged.update(new)
    return start + b"".join(merged[c] for c in sorted(merged)) + rest + b"</" + p + b"row>"


def _set_ref(xml: bytes, pattern: re.Pattern[bytes], ref: str) -> bytes:
    """`xml` with group 2 of the first match of `pattern` (a ``ref`` value) set to `ref`."""
    m = pattern.search(xml)
    return xml if m is None else xml[: m.start(2)] + ref.encode() + xml[m.end(2) :]


def _style_of(cell: bytes) -> int:
    m = _S_ATTR_RE.search(cell, 0, cell.find(b">") + 1)
    return int(m.group(1)) if m else 0


class SheetAppender:
    """Adds rows below the last used row of an existing worksheet, streaming its XML.

    Pass 1 (`scan`) finds the header row, the last row holding a value and any
    formatted-but-empty rows after it; pass 2 (`write`) copies the part with the
    new rows spliced in, the header row extended by new columns, and the
    ``<dimension>`` and a sheet autofilter over the table extended.

    ``removed`` rows (``--redo``) are deleted first, as Excel's "delete rows"
    does: the rows below move up (row and cell addresses renumbered), and the
    dimension, autofilter, tables, merged cells (dropped when they touch a
    removed row) and shared/array formula ranges follow.  Formula text is not
    rewritten: a formula pointing at a moved row, here or on another sheet, and
    defined names, conditional formats, validations and hyperlinks keep the
    addresses they had.  A shared formula whose first cell is removed leaves its
    other cells as their last computed values.
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
        self.removed_spans: list[tuple[int, int]] = []  # (start, end) offsets of removed rows
        self._orphans: set[bytes] = set()  # shared formulas whose first cell is removed
        self._scan()
        self._plan(columns, all_headers)

    # -- pass 1

    def _scan(self) -> None:
        with self.pkg.zin.open(self.part) as fp:
            buf, base, eof = b"", 0, False

            def more() -> None:
                nonlocal buf, eof
                chunk = fp.read(CHUNK)
                eof = not chunk
                buf += chunk

            while (m := _OPEN_SD_RE.search(buf)) is None:
                if eof:
                    raise PatchError(f"{self.ref.name}: no <sheetData> in {self.part}")
                more()
            self.head = buf[: m.start()]
            root = _ROOT_RE.search(self.head)
            self.prefix = root.group(1) if root else b""
            self.body_start = m.end()
            self.header: tuple[int, int, bytes] | None = None
            self.last_row, self.last_end = 0, m.end()
            last: tuple[bytes, int, int] | None = None
            trailing: list[tuple[int, int, int]] = []
            if m.group(2):  # <sheetData/>
                self.close_start = m.end()
                self.foot = buf[m.end() :] + fp.read()
                self.last_bytes: bytes | None = None
                self.trailing = trailing
                self._check_removed(set())
                return
            pos, counter = m.end(), 0
            header_row = self.header_row
            p = self.prefix
            open_tag, close_tag = b"<" + p + b"row", b"</" + p + b"row>"
            values = (b"<" + p + b"v>", b"<" + p + b"is>", b"<" + p + b"f")
            row_match, r_search = _ROW_RE.match, _R_ATTR_RE.search
            removed, found = self.rows.removed_set, set()
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
                        self.header = (base + s0, base + s1, buf[s0:s1])
                    if removed and counter in removed:
                        self.removed_spans.append((base + s0, base + s1))
                        found.add(counter)
                    elif any(buf.find(v, c0, c1) >= 0 for v in values):
                        last = (buf, s0, s1)
                        self.last_row, self.last_end = counter, base + s1
                        if trailing:
                            trailing = []
                    else:
                        trailing.append((base + s0, base + s1, counter))
                    pos = s1
                    continue
                cm = _CLOSE_SD_RE.match(buf, pos)
                if cm is not None:
                    self.close_start = base + pos
                    self.foot = buf[cm.end() :] + fp.read()
                    break
                if eof:
                    raise PatchError(f"{self.ref.name}: cannot read the rows of {self.part}")
                if pos:
                    buf, base, pos = buf[pos:], base + pos, 0
                more()
            self.last_bytes = last[0][last[1] : last[2]] if last is not None else None
            self.trailing = trailing
            self._check_removed(found)

    def _check_removed(self, found: set[int]) -> None:
        missing = sorted(self.rows.removed_set - found)
        if missing:
            raise ValueError(f"{self.ref.name}: row {missing[0]} to remove is not in the sheet")

    # -- plan

    def _plan(self, columns: Sequence[AppendColumn], all_headers: bool) -> None:
        header_cells = _cells_of(self.header[2])[1] if self.header else []
        valued = [col for col, _, has in header_cells if has]
        self.header_max = max(valued, default=-1)
        header_style = 0
        for col, cell, has in header_cells:
            if has and col == self.header_max:
                header_style = _style_of(cell)
        # A sheet with nothing in it yet: we write its header row too.
        self.make_header = self.header is None and self.last_row < self.header_row
        if self.make_header:
            header_style = self.styles.header
        inherited: dict[int, int] = {}
        if self.last_bytes is not None and self.last_row > self.header_row:
            for col, cell, _ in _cells_of(self.last_bytes)[1]:
                inherited[col] = _style_of(cell)

        known = [col_index(c.letter) for c in columns if c.letter]
        next_col = max([self.header_max, *known]) + 1
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
                    column_letter(idx), self.header_row, c.name, header_style, self.prefix.decode()
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
        if self.new_headers and self.header is None and not self.make_header:
            raise PatchError(f"{self.ref.name}: header row {self.header_row} not found")
        kept_last = self.last_row - self.rows.shift(self.last_row)
        self.first = max(kept_last, self.header_row) + 1
        self.last = self.first + self.n - 1
        self.max_col = max([self.header_max, *(i for i, _, _ in self.columns)])
        m = _AUTOFILTER_RE.search(self.foot)
        self.filter_ref = self._extend(m.group(2).decode()) if m else None

    # -- pass 2

    def write(self, out: IO[bytes]) -> None:
        p = self.prefix
        head = _DIMENSION_RE.sub(self._dimension, self.head, count=1)
        foot = _AUTOFILTER_RE.sub(self._autofilter, self.foot, count=1)
        if self.rows:
            foot = _SORTSTATE_RE.sub(self._sort_state, foot, count=1)
            foot = _MERGES_RE.sub(self._merges, foot, count=1)
        with self.pkg.zin.open(self.part) as fp:
            src: IO[bytes] = fp
            if self.rows:  # many small reads between removed rows: inflate is slow on those
                src = io.BufferedReader(cast(io.RawIOBase, fp), CHUNK)
            cur = _Cursor(src)
            out.write(head)
            out.write(b"<" + p + b"sheetData>")
            cur.copy(self.body_start, None)
            if self.new_headers and self.header is not None:
                start, end, row = self.header
                cur.copy(start - cur.pos, out)
                out.write(merge_row(row, self.new_headers))
                cur.copy(end - start, None)
            if self.rows:
                self._copy_without_removed(cur, out)
            else:
                cur.copy(self.last_end - cur.pos, out)
            tail = cur.read(self.close_start - self.last_end)
            self._write_rows(out, tail)
            out.write(b"</" + p + b"sheetData>")
            out.write(foot)

    def _write_rows(self, out: IO[bytes], tail: bytes) -> None:
        p = self.prefix.decode()
        trailing = [
            (r - self.rows.shift(r), self._moved(tail[s - self.last_end : e - self.last_end], r))
            for s, e, r in self.trailing
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
            cols = [
                column_cells(
                    c.values.iloc[i : i + BATCH],
                    column_letter(idx),
                    rows,
                    kinds,
                    p,
                    date1904=self.pkg.date1904,
                )
                for idx, c, kinds in self.columns
            ]
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

    def _copy_without_removed(self, cur: _Cursor, out: IO[bytes]) -> None:
        """Copy the rows up to the last kept one, dropping removed rows, moving the rest up."""
        shift = 0
        for start, end in self.removed_spans:
            if start >= self.last_end:
                break  # removed rows after the last kept one: left out with the tail
            self._copy_moved(cur, start - cur.pos, out, shift)
            for f in _FORMULA_RE.finditer(cur.read(end - start)):
                si = _attr(f.group(1), b"si")
                if si is not None and _attr(f.group(1), b"ref") is not None:
                    self._orphans.add(si)
            shift += 1
        self._copy_moved(cur, self.last_end - cur.pos, out, shift)

    def _copy_moved(self, cur: _Cursor, n: int, out: IO[bytes], shift: int) -> None:
        """Copy `n` bytes of whole rows, each moved up `shift` rows, in chunks cut after a row."""
        carry = b""
        end_row = b"</" + self.prefix + b"row>"
        while n > 0:
            block = cur.read(min(CHUNK, n))
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
        ref = _attr(attrs, b"ref")
        if ref is None:
            si = _attr(attrs, b"si")
            return b"" if si is not None and si in self._orphans else m.group(0)
        new = self.rows.ref(ref.decode())
        if new is None or new == ref.decode():
            return m.group(0)
        start, end = m.start(1) - m.start(0), m.end(1) - m.start(0)
        whole = m.group(0)
        return whole[:start] + _set_attr(attrs, b"ref", new.encode()) + whole[end:]

    def _merges(self, m: re.Match[bytes]) -> bytes:
        """Merged ranges moved up; a merge touching a removed row goes."""
        kept = []
        for item in _MERGE_RE.finditer(m.group(3) or b""):
            tag = item.group(0)
            ref = _attr(tag, b"ref")
            parsed = parse_ref(ref.decode()) if ref is not None else None
            if parsed is not None and self.rows.touches(parsed[1], parsed[3]):
                continue
            new = self.rows.ref(ref.decode()) if ref is not None else None
            kept.append(tag if new is None else _set_attr(tag, b"ref", new.encode()))
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

    def _extend(self, ref: str, *, grow: bool = True, header: bool = True) -> str:
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

    def table_edits(self) -> dict[str, bytes]:
        """Tables (ListObjects) on the sheet: removed rows out, grown to cover the new rows."""
        out: dict[str, bytes] = {}
        if self.n == 0 and not self.rows:
            return out
        for rel in self.pkg.rels(self.part):
            if rel.type != REL_TABLE or rel.external or rel.target not in self.pkg.names:
                continue
            xml = self.pkg.read(rel.target)
            root = SafeET.fromstring(xml)
            ref = root.get("ref", "")
            # A table with a totals row or no header row moves but does not grow.
            headed = root.get("headerRowCount", "1") != "0"
            fixed = bool(int(root.get("totalsRowCount", "0") or 0)) or not headed
            if fixed and not self.rows:
                continue
            new_ref = self._extend(ref, grow=not fixed, header=headed)
            if new_ref == ref:
                continue
            old, new = parse_ref(ref), parse_ref(new_ref)
            assert old is not None and new is not None
            m = re.search(rb"<(" + _P + rb")table\b", xml)
            p = m.group(1) if m else b""
            table_re = re.compile(
                rb"(<" + re.escape(p) + rb"table\b[^>]*?\bref\s*=\s*[\"'])([^\"']*)"
            )
            xml = _set_ref(xml, table_re, new_ref)
            if fixed:
                filtered = _AUTOFILTER_RE.search(xml)
                if filtered is not None:
                    moved = self._extend(filtered.group(2).decode(), grow=False, header=headed)
                    xml = _set_ref(xml, _AUTOFILTER_RE, moved)
            else:
                xml = _set_ref(xml, _AUTOFILTER_RE, new_ref)
            if self.rows:
                sort = _SORTSTATE_RE.search(xml)
                sorted_ref = self.rows.ref(sort.group(2).decode()) if sort is not None else None
                if sorted_ref is not None:
                    xml = _set_ref(xml, _SORTSTATE_RE, sorted_ref)
            if new[2] > old[2]:
                cols = [
                    c for g in _children(root, "tableColumns") for c in _children(g, "tableColumn")
                ]
                next_id = max([0, *(int(c.get("id", "0")) for c in cols)]) + 1
                items = b""
                for idx in range(old[2] + 1, new[2] + 1):
                    name = next(c.name for i, c, _ in self.columns if i == idx)
                    items += b'<%stableColumn id="%d" name="%s"/>' % (
                        p,
                        next_id,
                        xml_attr(name).encode(),
                    )
                    next_id += 1
                xml = _insert_children(xml, p, b"tableColumns", items, len(cols) + new[2] - old[2])
            out[rel.target] = xml
        return out
