"""File-safety checks run before any parser touches a workbook.

python-calamine allocates a sheet's whole used range and trusts the zip
headers, so every part is streamed here first, in bounded chunks: zip-bomb
limits, XML DOCTYPE/ENTITY declarations, the real used range of the sheets we
read (from the cell references present, never the ``<dimension>`` tag), formula
cells without a saved value, and cells holding Excel errors (``#N/A``).
"""

from __future__ import annotations

import codecs
import functools
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from licreport.errors import DataError, UnreadableFile, UnsafeFile
from licreport.outputs.xlsx.utility import (
    BEYOND_LAST_COLUMN,
    LAST_LETTERS,
    column_letter,
    column_number,
)

KIB, MIB, GIB = 1024, 1024**2, 1024**3
CHUNK = 4 * MIB
# A single row (or the tail after the last one) larger than this is refused.
MAX_PENDING = 64 * MIB
# Parts parsed whole (workbook.xml and its relationships) are capped at this size.
MAX_SMALL_PART = 16 * MIB

OLE2_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
XML_SUFFIXES = (".xml", ".rels", ".vml")


@dataclass(frozen=True)
class Limits:
    """Bounds a workbook must stay within before it is parsed (all configurable)."""

    max_total_bytes: int = 2 * GIB  # uncompressed size of all parts together
    max_ratio: float = 200.0  # compression ratio allowed for a part ...
    ratio_min_bytes: int = 1 * MIB  # ... once it is larger than this
    max_parts: int = 10_000
    max_rows: int = 1_048_576  # Excel's own maximum
    max_columns: int = 1_000
    max_cells: int = 30_000_000  # rows × columns of one sheet's used range


@dataclass
class SheetScan:
    """What the stream scan learnt about one worksheet part."""

    name: str
    part: str
    max_row: int = 0
    max_col: int = 0
    far_col_cell: str = ""  # a cell reference holding the largest column
    uncached: list[str] = field(default_factory=list)  # formula cells without a value
    errors: dict[str, str] = field(default_factory=dict)  # cell -> "#N/A"


def check_signature(path: Path, display: str) -> None:
    """Refuse empty files, legacy .xls and password-protected (OLE2) workbooks by their bytes,
    and the spreadsheet formats licreport does not read by their suffix, each with a remedy."""
    with path.open("rb") as fh:
        head = fh.read(8)
        if not head:
            raise UnreadableFile(f"{display}: the file is empty (0 bytes)")
        if head == OLE2_SIGNATURE:
            if _contains(fh, ENCRYPTED_STREAM):
                raise UnreadableFile(
                    f"{display}: is password-protected; remove the password in Excel and save again"
                )
            raise UnreadableFile(f"{display}: is an Excel 97-2003 .xls file; save it as .xlsx")
    remedy = OTHER_FORMATS.get(path.suffix.lower())
    if remedy is not None:
        raise UnreadableFile(f"{display}: {remedy}")


# Spreadsheet files licreport does not read, by suffix, each with what to do instead.
OTHER_FORMATS = {
    ".xlsb": "is an Excel binary workbook (.xlsb); open it in Excel and save it as "
    "Excel Workbook (.xlsx)",
    ".ods": "is an OpenDocument spreadsheet (.ods); save it as .xlsx (in LibreOffice: "
    "File > Save As > Excel 2007-365)",
    ".fods": "is a flat OpenDocument spreadsheet (.fods); save it as .xlsx (in LibreOffice: "
    "File > Save As > Excel 2007-365)",
    ".xltx": "is an Excel template (.xltx); create a workbook from it and save that as "
    "Excel Workbook (.xlsx)",
    ".xltm": "is an Excel macro-enabled template (.xltm); create a workbook from it and "
    "save that as .xlsx or .xlsm",
    ".numbers": "is an Apple Numbers file; export it as Excel (.xlsx) (File > Export To > Excel)",
}


def _contains(fh: BinaryIO, needle: bytes) -> bool:
    """Whether the rest of a binary file holds `needle`, read in chunks with overlap."""
    tail = b""
    while chunk := fh.read(CHUNK):
        if needle in tail + chunk:
            return True
        tail = chunk[-len(needle) :]
    return False


def open_zip(path: Path, display: str, limits: Limits) -> zipfile.ZipFile:
    """Open an .xlsx as a zip and check its declared sizes against `limits`."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head not in ZIP_SIGNATURES:
        raise UnreadableFile(f"{display}: is not an Excel workbook (.xlsx files are zip archives)")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(
            f"{display}: is damaged or truncated (not a complete .xlsx file); open it in "
            "Excel and save it again"
        ) from exc
    infos = zf.infolist()
    if len(infos) > limits.max_parts:
        zf.close()
        raise UnsafeFile(
            f"{display}: the workbook has {len(infos)} parts (limit {limits.max_parts}); "
            "refusing a possible zip bomb"
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        zf.close()
        raise UnsafeFile(
            f"{display}: the workbook would expand to {_size(total)} "
            f"(limit {_size(limits.max_total_bytes)}); refusing a possible zip bomb"
        )
    for info in infos:
        if _too_compressed(info.file_size, info.compress_size, limits):
            zf.close()
            raise UnsafeFile(_ratio_message(display, info, info.file_size))
    return zf


def _too_compressed(size: int, compressed: int, limits: Limits) -> bool:
    return size > limits.ratio_min_bytes and size > limits.max_ratio * max(compressed, 1)


def _ratio_message(display: str, info: zipfile.ZipInfo, size: int) -> str:
    ratio = size / max(info.compress_size, 1)
    return (
        f"{display}: part {info.filename} expands {ratio:,.0f}× ({_size(size)} from "
        f"{_size(info.compress_size)}); refusing a possible zip bomb"
    )


def _size(n: int) -> str:
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


class PartReader:
    """Streams zip parts in bounded chunks, enforcing the limits on the bytes actually read."""

    def __init__(self, zf: zipfile.ZipFile, display: str, limits: Limits) -> None:
        self.zf, self.display, self.limits = zf, display, limits
        self.total = 0

    def chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        size = 0
        try:
            with self.zf.open(info) as fh:
                while chunk := fh.read(CHUNK):
                    size += len(chunk)
                    self.total += len(chunk)
                    if self.total > self.limits.max_total_bytes:
                        raise UnsafeFile(
                            f"{self.display}: the workbook expands to more than "
                            f"{_size(self.limits.max_total_bytes)}; refusing a possible zip bomb"
                        )
                    if _too_compressed(size, info.compress_size, self.limits):
                        raise UnsafeFile(_ratio_message(self.display, info, size))
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise UnreadableFile(
                f"{self.display}: is damaged ({info.filename}: {exc}); open it in Excel and "
                "save it again"
            ) from exc
        except (NotImplementedError, RuntimeError) as exc:
            raise UnreadableFile(
                f"{self.display}: cannot read part {info.filename} ({exc})"
            ) from exc

    def read_small(self, name: str) -> bytes:
        """A whole small part (workbook.xml, relationships), refused if oversized."""
        info = self.zf.getinfo(name)
        data = bytearray()
        for chunk in _as_utf8(self.chunks(info)):
            data += chunk
            if len(data) > MAX_SMALL_PART:
                raise UnsafeFile(
                    f"{self.display}: part {name} is larger than {_size(MAX_SMALL_PART)}"
                )
        _check_declarations(bytes(data), self.display, name, None)
        return bytes(data)


def _as_utf8(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Re-encode a UTF-16 XML part to UTF-8 on the fly so the byte patterns below apply."""
    it = iter(chunks)
    first = b""
    for chunk in it:
        first = chunk
        if chunk:
            break
    encoding = None
    if first.startswith((codecs.BOM_UTF16_LE, b"<\x00")):
        encoding = "utf-16-le"
    elif first.startswith((codecs.BOM_UTF16_BE, b"\x00<")):
        encoding = "utf-16-be"
    if encoding is None:
        if first:
            yield first
        yield from it
        return
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    yield decoder.decode(first).encode("utf-8")
    for chunk in it:
        yield decoder.decode(chunk).encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


_DECL = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_EXTERNAL = re.compile(rb"<!\s*ENTITY[^>]*?\b(SYSTEM|PUBLIC)\b", re.IGNORECASE)


def _check_declarations(data: bytes, display: str, part: str, sheet: str | None) -> None:
    match = _DECL.search(data)
    if not match:
        return
    where = f"{display}:{sheet}" if sheet else display
    if _EXTERNAL.search(data):
        what = "declares an external XML entity (it could read other files or the network)"
    elif b"ENTITY" in data.upper():
        what = "declares XML entities (a possible entity-expansion bomb)"
    else:
        what = "has a DOCTYPE declaration, which workbooks never need"
    raise UnsafeFile(f"{where}: part {part} {what}; refusing to read it")


def scan_plain_part(streamer: PartReader, info: zipfile.ZipInfo) -> None:
    """Stream a part through the limits; for XML parts also refuse DOCTYPE/ENTITY."""
    is_xml = info.filename.lower().endswith(XML_SUFFIXES)
    chunks = _as_utf8(streamer.chunks(info)) if is_xml else streamer.chunks(info)
    tail = b""
    for chunk in chunks:
        if is_xml:
            _check_declarations(tail + chunk, streamer.display, info.filename, None)
            tail = chunk[-32:]


# One match per row / cell: the usual `r="..."`-first form captures the reference,
# any other form captures b"" and sends the segment down the general path.
_ROW_FAST = re.compile(rb'<row(?: r="(\d+)"|[\s>/])')
_ROW_ANY = re.compile(rb'<row\b(?:[^>]*?\sr="(\d+)")?[^>]*>')
_CELL_FAST = re.compile(rb'<c(?: r="([A-Z]+)\d|[\s>/])')
_CELL_ANY = re.compile(rb'<c\b(?:[^>]*?\sr="([A-Z]+)\d+")?[^>]*>')
_ROW_SPLIT = re.compile(rb"<row[\s>/]")
_CELL_ODD = re.compile(rb'<c(?! r="[A-Z]+\d)[\s>/]')  # a cell `_CELL_FAST` captures b"" for
MAX_WIDER = 64  # times the widest column may move in a run before `_widest_listed` is used
_FORMULA_CELL = re.compile(
    rb"<c\b([^>]*)>\s*<f\b[^>]*?(?:/>|>[^<]*</f>)\s*(<v\b[^>]*?(?:/>|>([^<]*)</v>))?",
)
_ERROR_CELL = re.compile(
    rb'<c\b[^>]*?\bt="e"[^>]*>(?:\s*<f\b[^>]*?(?:/>|>[^<]*</f>))?\s*<v>([^<]*)</v>'
)
_ATTR_R = re.compile(rb'\sr="([A-Z]+\d+)"')
_ATTR_T = re.compile(rb'\st="(\w+)"')


def scan_worksheet(streamer: PartReader, info: zipfile.ZipInfo, sheet: str) -> SheetScan:
    """Stream one worksheet part, cutting at row starts so every row is seen whole."""
    scan = SheetScan(sheet, info.filename)
    tail = b""
    for chunk in _as_utf8(streamer.chunks(info)):
        buf = tail + chunk
        cut = max(buf.rfind(b"<row"), buf.rfind(b"</sheetData>"))
        if cut <= 0:
            if len(buf) > MAX_PENDING:
                raise UnsafeFile(
                    f"{streamer.display}:{sheet}: part {info.filename} holds a row larger than "
                    f"{_size(MAX_PENDING)}; refusing to read it"
                )
            tail = buf
            continue
        _scan_rows(buf[:cut], scan, streamer.display)
        tail = buf[cut:]
    _scan_rows(tail, scan, streamer.display)
    return scan


def _scan_rows(seg: bytes, scan: SheetScan, display: str) -> None:
    """Update `scan` with a run of complete rows (any text outside rows is harmless here)."""
    _check_declarations(seg, display, scan.part, scan.name)
    # Rows: numbered ones give their number; unnumbered ones follow the previous row.
    rows = _ROW_FAST.findall(seg)
    if b"" in rows:
        rows = _ROW_ANY.findall(seg)
    numbered = [int(r) for r in rows if r]
    if numbered:
        scan.max_row = max(scan.max_row, *numbered)
    scan.max_row += len(rows) - len(numbered)
    # Columns: the widest reference; cells without one follow the previous cell of their
    # row, so bound those by the number of cells in the longest row.
    if not _widest_cell(seg, scan):
        _widest_listed(seg, scan)
    if b"<f" in seg:
        for m in _FORMULA_CELL.finditer(seg):
            attrs, v_elem, v_text = m.group(1), m.group(2), m.group(3)
            t = _ATTR_T.search(attrs)
            kind = t.group(1) if t else b"n"
            empty = not (v_text or b"").strip() and kind not in (b"str", b"inlineStr")
            if v_elem is None or empty:
                ref = _ATTR_R.search(attrs)
                scan.uncached.append(ref.group(1).decode() if ref else "?")
    if b't="e"' in seg:
        for m in _ERROR_CELL.finditer(seg):
            ref = _ATTR_R.search(m.group(0))
            if ref:
                scan.errors[ref.group(1).decode()] = m.group(1).decode().strip()


def _widest_listed(seg: bytes, scan: SheetScan) -> None:
    """`scan`'s widest column from every cell reference of `seg` listed (any cell form)."""
    letters = set(_CELL_FAST.findall(seg))
    if b"" in letters:
        letters = set(_CELL_ANY.findall(seg))
        if b"" in letters:
            longest = max(len(_CELL_ANY.findall(r)) for r in _ROW_SPLIT.split(seg))
            scan.max_col = max(scan.max_col, longest)
        letters.discard(b"")
    if letters:
        widest = max(letters, key=lambda b: (len(b), b))
        col = column_number(widest.decode())
        if col > scan.max_col:
            scan.max_col = col
            m = re.search(rb'<c\b[^>]*?\sr="(' + widest + rb'\d+)"', seg)
            scan.far_col_cell = m.group(1).decode() if m else widest.decode()


def _widest_cell(seg: bytes, scan: SheetScan) -> bool:
    """`scan`'s widest column from a run of rows whose cells all have their reference
    first: a search for the first cell wider than the widest so far, again from there
    until none is (the widest's first cell, as `_widest_listed` finds it, without a bytes
    object per cell: 0.19 s -> 0.08 s on SPEC §6's Clients sheet).  False, with `scan`
    unchanged, at a cell in another form or when the widest moved more than `MAX_WIDER`
    times (a hostile file): `_widest_listed` then does it."""
    if scan.max_col >= BEYOND_LAST_COLUMN:  # nothing is wider (4+ letters all count as this)
        return not _CELL_ODD.search(seg)
    known = column_letter(min(scan.max_col, LAST_LETTERS) - 1) if scan.max_col else ""
    pos, found = 0, None
    for _ in range(MAX_WIDER):
        m = _wider_than(known).search(seg, pos)
        if m is None:
            break
        if m.group(1) is None:
            return False  # a cell `_CELL_FAST` captures b"" for
        found, known, pos = m, m.group(1).decode(), m.start()
    else:
        return False
    if found is not None:
        scan.max_col = column_number(known)
        scan.far_col_cell = (found.group(1) + found.group(2)).decode()
    return True


@functools.lru_cache(maxsize=64)
def _wider_than(letters: str) -> re.Pattern[bytes]:
    """A cell, reference first, in a column after `letters` ("" for any): more letters, or
    as many and greater (column letters order by length, then alphabetically); or a cell
    without its reference first (no group 1)."""
    n = len(letters)
    longer = f"[A-Z]{{{n + 1},}}"
    same = [
        letters[:i] + f"[{chr(ord(ch) + 1)}-Z]" + (f"[A-Z]{{{n - i - 1}}}" if n - i - 1 else "")
        for i, ch in enumerate(letters)
        if ch != "Z"
    ]
    wider = "|".join([longer, *same]).encode()
    return re.compile(rb'<c(?: r="(' + wider + rb')(\d+)|(?! r="[A-Z]+\d)[\s>/])')


def check_used_range(scans: Iterable[SheetScan], display: str, limits: Limits) -> None:
    """Refuse sheets whose real used range calamine would have to allocate densely."""
    problems = []
    for s in scans:
        rows, cols = s.max_row, s.max_col
        if cols > limits.max_columns or rows > limits.max_rows or rows * cols > limits.max_cells:
            problems.append(
                DataError(
                    display,
                    s.name,
                    None,
                    None,
                    None,
                    f"a cell at {_far_cell(s, limits)} makes the sheet {rows} rows × {cols} "
                    "columns; delete the stray cells",
                )
            )
    if problems:
        raise UnsafeFile(str(problems[0]), problems)


def _far_cell(s: SheetScan, limits: Limits) -> str:
    if s.max_col > limits.max_columns and s.far_col_cell:
        return s.far_col_cell
    return f"{column_letter(max(s.max_col, 1) - 1)}{s.max_row}"


def scan_parts(
    streamer: PartReader,
    worksheet_parts: dict[str, str],
    skip: Iterable[str] = (),
    scanned: Callable[[str, SheetScan], None] | None = None,
) -> dict[str, SheetScan]:
    """Stream every part: worksheets in `worksheet_parts` (part -> sheet) get the full scan,
    after every other part and the largest (as its zip entry says) first; `scanned(sheet,
    scan)` is told of each as it is done, so that it can be read while the rest is scanned."""
    done = set(skip)
    infos = [i for i in streamer.zf.infolist() if not i.is_dir() and i.filename not in done]
    for info in infos:
        if info.filename not in worksheet_parts:
            scan_plain_part(streamer, info)
    sheets: dict[str, SheetScan] = {}
    worksheets = [i for i in infos if i.filename in worksheet_parts]
    for info in sorted(worksheets, key=lambda i: -i.file_size):
        sheet = worksheet_parts[info.filename]
        sheets[sheet] = scan_worksheet(streamer, info, sheet)
        if scanned is not None:
            scanned(sheet, sheets[sheet])
    return {worksheet_parts[i.filename]: sheets[worksheet_parts[i.filename]] for i in worksheets}
