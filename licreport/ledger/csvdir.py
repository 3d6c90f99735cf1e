"""Reading a folder of CSV files (one per sheet) into raw grids.

Files match sheets by their stem (``Clients.csv`` = ``clients.csv`` = Clients).
Delimiter ``,`` ``;`` or tab, guessed from the first lines; UTF-8 with or
without BOM (UTF-16 with a BOM too, as Excel's "Unicode text" saves it), else
Windows-1252 with a warning.  Every value stays text; `parse` types it, with
the decimal separator chosen here (SPEC §11): ``,`` in a ``;`` file, ``.``
otherwise, unless the caller forces one (``--decimal-comma``/``--decimal-point``).
How each file was read is kept (`CsvFormat`) so that rows appended to it
follow it.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from licreport.errors import DataError, SheetError, UnreadableFile, UnsafeFile
from licreport.ledger.headers import (
    Columns,
    CsvFormat,
    HeaderMatch,
    RawBook,
    RawSheet,
    SheetsAhead,
    match_sheets,
)
from licreport.ledger.safety import Limits
from licreport.ledger.schema import BY_NAME, DATE, Sheet

if TYPE_CHECKING:  # pandas is imported where used: `ledger.ahead` reads before it is
    from licreport.ledger.parse import DateOptions

DELIMITERS = (",", ";", "\t")
APART_BYTES = 4 << 20  # a file this large is parsed by a thread of its own
SNIFF_LINES = 30


def read_csv_folder(path: Path, limits: Limits, decimal: str | None = None) -> RawBook:
    """The schema sheets of a CSV folder as raw grids, keyed by schema sheet name.

    `decimal` (``","`` or ``"."``) forces the decimal separator of every file;
    ``None`` takes it from each file's delimiter (`decimal_for`).
    """
    display = f"{path.name}/"
    files = sorted(
        (f for f in path.iterdir() if f.is_file() and f.suffix.lower() == ".csv"),
        key=lambda f: f.name,
    )
    matched, clashes = match_sheets([(f.stem, f) for f in files])
    if clashes:
        problems = [
            DataError(display, None, None, None, None,
                      f"{first}.csv and {second}.csv both hold {sheet}; keep one of them")
            for sheet, first, second in clashes
        ]  # fmt: skip
        raise SheetError(str(problems[0]), problems)
    chosen = {sheet: f for sheet, (_, f) in matched.items()}
    total = sum(f.stat().st_size for f in chosen.values())
    if total > limits.max_total_bytes:
        raise UnsafeFile(f"{display}: the CSV files hold {total} bytes; refusing to read so much")
    contents = {n: f.read_bytes() for n, f in chosen.items()}
    warnings: list[str] = []
    names = [n for n in BY_NAME if n in chosen]
    told: dict[str, list[str]] = {n: [] for n in names}  # each file's warnings, in its turn

    def parse(schema_name: str) -> Iterator[tuple[str, RawSheet]]:
        f = chosen[schema_name]
        data = contents[schema_name]
        yield schema_name, parse_csv(data, f.name, f.stem, told[schema_name], decimal=decimal)

    # the largest file, when large, is parsed by a thread of its own from the start, as a
    # workbook's largest sheet is (`xlsx._cells`): SPEC §12's clients.csv (85 MB, 1.2 s)
    # no longer waits for the files before it
    big = max(names, key=lambda n: len(contents[n]), default="")
    apart = (
        SheetsAhead([big], partial(parse, big), thread="ledger-read-apart")
        if len(names) > 1 and len(contents[big]) >= APART_BYTES
        else None
    )

    def parsed() -> Iterator[tuple[str, RawSheet]]:
        sheets: dict[str, RawSheet] = {}
        try:
            for schema_name in names:
                if apart is not None and schema_name == big:
                    sheet = apart[big]
                else:
                    sheet = next(parse(schema_name))[1]
                warnings.extend(told[schema_name])
                sheets[schema_name] = sheet
                yield schema_name, sheet
        finally:
            if apart is not None:
                with contextlib.suppress(Exception):  # its error was raised in its turn
                    apart.close()
        _ascii_like_the_folder(sheets, contents)  # only the formats, read after `close`

    present = [f.name for f in files]
    sheets = SheetsAhead(names, parsed)
    # hashed while the files are parsed: hashlib releases the GIL on large buffers
    digest = hashlib.sha256()
    for schema_name in sorted(chosen, key=lambda n: chosen[n].name):
        digest.update(contents[schema_name])
    return RawBook(display, "csv", digest.hexdigest(), sheets, present, warnings)


def _ascii_like_the_folder(sheets: dict[str, RawSheet], contents: dict[str, bytes]) -> None:
    """A file of plain ASCII reads as UTF-8, but Excel saved it like its neighbours: when
    the others are Windows-1252 (or Latin-1), record that, so that rows appended to it
    (a client name with an accent) are written in the encoding the user's Excel reads."""
    legacy = {
        s.csv.encoding
        for s in sheets.values()
        if s.csv is not None and s.csv.encoding in ("cp1252", "latin-1")
    }
    if len(legacy) != 1:
        return
    encoding = legacy.pop()
    for name, raw in sheets.items():
        if raw.csv is not None and not raw.csv.bom and contents[name].isascii():
            raw.csv = replace(raw.csv, encoding=encoding)


def decode(data: bytes, name: str, warnings: list[str]) -> str:
    """UTF-8 (BOM optional), UTF-16 with BOM, else Windows-1252 with a warning."""
    return decode_as(data, name, warnings)[0]


def decode_as(data: bytes, name: str, warnings: list[str]) -> tuple[str, str, bytes]:
    """`decode`, also saying which codec read it and the BOM it started with."""
    bom = b""
    if data.startswith(codecs.BOM_UTF8):
        bom, data = codecs.BOM_UTF8, data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        bom = data[:2]
        codec = "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"
        try:
            return data[2:].decode(codec), codec, bom
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"{name}: is not valid UTF-16 text ({exc})") from exc
    try:
        return data.decode("utf-8"), "utf-8", bom
    except UnicodeDecodeError:
        pass
    try:
        text, codec = data.decode("cp1252"), "cp1252"
        warnings.append(f"{name} is not UTF-8; read as Windows-1252")
    except UnicodeDecodeError:
        text, codec = data.decode("latin-1"), "latin-1"
        warnings.append(f"{name} is not UTF-8; read as Latin-1")
    return text, codec, bom


def decimal_for(delimiter: str, forced: str | None = None) -> str:
    """The decimal separator a file is read with: forced, else ``,`` in a ``;`` file."""
    if forced is not None:
        return forced
    return "," if delimiter == ";" else "."


def sniff_delimiter(text: str) -> str:
    """The delimiter among ``,`` ``;`` tab used most in the first lines (``,`` on a tie)."""
    head = _first_lines(text, SNIFF_LINES)
    counts = {d: sum(line.count(d) for line in head) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))


def _first_lines(text: str, k: int, n: int = 1 << 16) -> list[str]:
    """``text.splitlines()[:k]`` without splitting the whole text (85 MB at SPEC §12's size):
    once a prefix (from `n` characters on) holds more than k lines, its first k are whole."""
    while True:
        lines = text[:n].splitlines()
        if len(lines) > k or n >= len(text):
            return lines[:k]
        n *= 4


def parse_csv(
    data: bytes, name: str, stem: str, warnings: list[str], *, decimal: str | None = None
) -> RawSheet:
    """One CSV file as a grid padded to its widest line, with each record's line number.

    ``RawSheet.csv`` records the delimiter, encoding and the decimal separator
    its numbers are to be read with: `decimal` when given, else by the delimiter.
    """
    text, encoding, bom = decode_as(data, name, warnings)
    if "\x00" in text:
        raise UnreadableFile(f"{name}: holds NUL bytes; it is not a text (CSV) file")
    delimiter = sniff_delimiter(text)
    form = CsvFormat(delimiter, decimal_for(delimiter, decimal), encoding, bom)
    utf8 = data[len(bom) :] if encoding == "utf-8" else None
    grid: Columns | np.ndarray | None = _arrow_columns(text, delimiter, utf8)
    if grid is None:
        grid = _fast_grid(text, delimiter, utf8)
    if grid is not None:
        return RawSheet(name, stem, grid, np.arange(1, len(grid) + 1), csv=form)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[object]] = []
    numbers: list[int] = []
    line = 0
    try:
        for record in reader:
            numbers.append(line + 1)
            rows.append(list(record))
            line = reader.line_num
    except csv.Error as exc:
        raise UnreadableFile(f"{name}: line {line + 1}: {exc}") from exc
    width = max((len(r) for r in rows), default=0)
    for r in rows:
        if len(r) < width:
            r.extend([""] * (width - len(r)))
    return RawSheet(name, stem, rows, numbers, csv=form)


def _plain(text: str) -> bool:
    """Whether the fast readers can read `text` as the `csv` module does: no quote character
    (each line is one record), some text, and no byte-order mark left at its start (both
    would drop a second one, which the `csv` module keeps in the first cell)."""
    return '"' not in text and bool(text.strip("\r\n")) and not text.startswith("\ufeff")


def _arrow_columns(text: str, delimiter: str, utf8: bytes | None = None) -> Columns | None:
    """The file as `Columns` read by pyarrow's CSV reader, when that is the grid the `csv`
    module gives: no quote character anywhere and every line as wide as the first.
    ``None`` otherwise (a short or blank line, say): pandas' C reader or the `csv` module
    reads it.  pyarrow rather than pandas because it parses and codes each column without
    the GIL and makes a string per distinct value only: the 1.2 million lines of SPEC §12's
    clients.csv in 0.9 s against 2.4 s, beside the typing of the sheets before it."""
    if not _plain(text):
        return None
    import pyarrow as pa  # imported here: only CSV ledgers need its CSV reader
    import pyarrow.csv as pa_csv

    data = utf8 if utf8 is not None else text.encode("utf-8")
    head = re.match(rb"[^\r\n]*", data)
    width = (head.group().count(delimiter.encode()) + 1) if head else 1
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            # pyarrow's thread pool is safe to fork after (its at-fork handlers, Arrow >= 11)
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True, use_threads=True),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                quote_char=False,
                escape_char=False,
                double_quote=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={f"f{j}": pa.string() for j in range(width)},
                null_values=[],
                true_values=[],
                false_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_columns != width:
        return None
    codes, uniques = [], []
    for column in table.columns:
        coded = column.combine_chunks().dictionary_encode()
        codes.append(coded.indices.to_numpy(zero_copy_only=False).astype(np.intp))
        uniques.append(coded.dictionary.to_numpy(zero_copy_only=False))
    return Columns(tuple(codes), tuple(uniques))


def _fast_grid(text: str, delimiter: str, utf8: bytes | None = None) -> np.ndarray | None:
    """The file as a 2-D object grid of str read by pandas' C reader, when that is the same
    grid the `csv` module gives: no quote character anywhere (each line is one record, so
    record i is line i + 1) and no line wider than the first.  ``None``: read it with `csv`
    (which also names the line of a malformed record).  `utf8`: the file's bytes (after its
    BOM) when `text` is their UTF-8 decoding; the C reader takes bytes twice as fast as
    text (1.2 million rows: 0.74 s against 1.58 s)."""
    if not _plain(text):
        return None
    import pandas  # imported here: the reader begins before pandas is (`ledger.ahead`)

    try:
        frame = pandas.read_csv(
            io.StringIO(text) if utf8 is None else io.BytesIO(utf8),
            sep=delimiter,
            header=None,
            dtype=object,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_NONE,
            engine="c",
            encoding="utf-8",
        )
    except (ValueError, pandas.errors.ParserError):
        return None
    grid = frame.to_numpy(dtype=object)
    if grid.ndim != 2 or not all(type(v) is str for v in grid[0]):
        return None
    return grid


def date_style(
    raw: RawSheet, schema: Sheet, match: HeaderMatch | None, options: DateOptions
) -> CsvFormat | None:
    """`raw.csv` completed with how its text dates were read: ``dmy`` when some were
    read day-first, ``mdy`` month-first, else ``iso`` (SPEC §11, for the writer)."""
    from licreport.ledger import parse  # imported here, as pandas (`ledger.ahead`)

    if raw.csv is None:
        return None
    if match is None or not (options.dayfirst or options.monthfirst):
        return raw.csv
    dates = [j for c, j in match.columns.items() if schema.column(c).kind == DATE]
    body = raw.rows[match.index + 1 :]
    for j in dates:
        if isinstance(body, Columns):
            values = body.distinct(j)
        elif isinstance(body, np.ndarray):
            values = set(body[:, j].tolist()) if j < body.shape[1] else set()
        else:
            values = {r[j] for r in body if j < len(r)}
        sep = parse.text_date_separator(values)
        if sep is not None:
            order = "dmy" if options.dayfirst else "mdy"
            return replace(raw.csv, dates=order, date_sep=sep)
    return raw.csv
