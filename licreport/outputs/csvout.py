"""The updated CSV folder: the input files as they are, with the new rows added.

Each input file is copied byte for byte and the new rows are appended as new
lines in the file's own encoding, delimiter, line ending, decimal separator and
date style, as the reader saw them (`Ledger.csv_formats`, SPEC §11).  A file
the folder lacks is written in UTF-8 (with a BOM when the folder's Partners
file is not plain UTF-8, so that Excel reads its accents), with the folder's
delimiter and decimal separator and ISO dates.  The header line is never
changed (SPEC §11): a value for a column the file lacks (the ``run`` of an
exchange a run bought, when exchanges.csv has no ``run`` column) is not written,
and the caller is told which.  Text we write that a spreadsheet would run as a formula
(``=``, ``+``, ``-``, ``@``, tab, CR first) gets a leading ``'``.

Rows removed for ``--redo`` are cut out as whole records (every physical line
of a quoted field spanning lines); every other byte stays as it was.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import shutil
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from licreport.errors import LicreportError, UnreadableFile
from licreport.ledger.csvdir import decimal_for, sniff_delimiter
from licreport.ledger.model import CsvFormat, Ledger, Table
from licreport.ledger.schema import BY_NAME, normalise
from licreport.rules.keys import by_distinct, distinct_objects

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Dialect:
    """How one CSV file is written: encoding, BOM, delimiter, line ending."""

    encoding: str = "utf-8"
    bom: bytes = b""
    delimiter: str = ","
    newline: str = "\r\n"


def detect(data: bytes) -> tuple[Dialect, str]:
    """The dialect of a CSV file and its text (same rules as the reader)."""
    bom = b""
    if data.startswith(codecs.BOM_UTF8):
        bom, encoding = codecs.BOM_UTF8, "utf-8"
    elif data.startswith(codecs.BOM_UTF16_LE):
        bom, encoding = codecs.BOM_UTF16_LE, "utf-16-le"
    elif data.startswith(codecs.BOM_UTF16_BE):
        bom, encoding = codecs.BOM_UTF16_BE, "utf-16-be"
    else:
        encoding = "utf-8"
    body = data[len(bom) :]
    for candidate in (encoding, "cp1252", "latin-1"):
        try:
            text = body.decode(candidate)
            encoding = candidate
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - latin-1 decodes anything
        raise UnreadableFile("cannot decode CSV file")
    if "\r\n" in text:
        newline = "\r\n"
    elif "\n" in text:
        newline = "\n"
    elif "\r" in text:
        newline = "\r"
    else:
        newline = "\r\n"
    return Dialect(encoding, bom, sniff_delimiter(text), newline), text


ISO = CsvFormat()


def field(value: Any, form: CsvFormat = ISO) -> str:
    """One value as CSV text in `form`'s style (dates, decimal separator; ISO and a
    point by default), plain decimals (no grouping), yes/no, formulas defused."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (pd.Timestamp, dt.datetime, np.datetime64)):
        ts = pd.Timestamp(value)
        return date_text(ts.date(), form) if ts == ts.normalize() else ts.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return date_text(value, form)
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", form.decimal)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return str(int(f)) if f.is_integer() else repr(f).replace(".", form.decimal)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def date_text(day: dt.date, form: CsvFormat) -> str:
    """A date as the file writes it: ISO, dd/mm/yyyy or mm/dd/yyyy (its own separator)."""
    if form.dates == "dmy":
        return f"{day.day:02d}{form.date_sep}{day.month:02d}{form.date_sep}{day.year:04d}"
    if form.dates == "mdy":
        return f"{day.month:02d}{form.date_sep}{day.day:02d}{form.date_sep}{day.year:04d}"
    return day.isoformat()


def file_format(dialect: Dialect, recorded: CsvFormat | None) -> tuple[Dialect, CsvFormat]:
    """The file's dialect and style: as the reader recorded it, else as `detect` sees it."""
    if recorded is None:
        decimal = decimal_for(dialect.delimiter)
        return dialect, CsvFormat(dialect.delimiter, decimal, dialect.encoding, dialect.bom)
    encoding, bom, delimiter = recorded.encoding, recorded.bom, recorded.delimiter
    return replace(dialect, encoding=encoding, bom=bom, delimiter=delimiter), recorded


def _encode(text: str, dialect: Dialect, name: str) -> bytes:
    """`text` in the file's encoding; a character it cannot hold stops the run (no '?')."""
    try:
        return text.encode(dialect.encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise LicreportError(
            f"{name}: is {dialect.encoding} text, which cannot hold {bad!r} "
            f"(in {exc.object[max(0, exc.start - 20) : exc.end + 20]!r}); "
            "save the file as UTF-8 and run again; nothing was written"
        ) from exc


def _records(text: str, delimiter: str, until: int | None = None) -> list[tuple[int, list[str]]]:
    """Records with the line each starts on (as the reader numbers rows), up to line `until`."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = []
    line = 0
    for record in reader:
        out.append((line + 1, record))
        if until is not None and line + 1 >= until:
            break
        line = reader.line_num
    return out


def _header_positions(table: Table, header: list[str]) -> dict[str, int]:
    """Canonical column -> position in the file's header record."""
    cells = [h.strip() for h in header]
    keys = [normalise(h) for h in cells]
    out: dict[str, int] = {}
    for col in table.schema.columns:
        written = table.headers.get(col.name)
        if written is not None and written.strip() in cells:
            out[col.name] = cells.index(written.strip())
            continue
        for key in (col.name, *col.aliases):
            if normalise(key) in keys:
                out[col.name] = keys.index(normalise(key))
                break
    return out


def _lines(rows: Iterable[Sequence[str]], dialect: Dialect) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=dialect.delimiter, lineterminator=dialect.newline)
    writer.writerows(rows)
    return buf.getvalue()


CHUNK_ROWS = 100_000  # rows of text joined at a time (the Contracts file at 12x is 100 MB)


def column_lines(columns: Sequence[Sequence[str]], dialect: Dialect) -> Iterator[str]:
    """The rows made of `columns` (the fields of each column, all of one length) as the
    csv module writes them, `CHUNK_ROWS` rows at a time.

    The fields are joined directly, each field that needs quoting (a delimiter, a quote
    or a line break in it) quoted as csv quotes it, in a third of the time `csv.writer`
    takes (the Contracts file at 12 x SPEC §6: 1.6 s, 0.6 s); a row of one field (csv
    quotes it when empty), a blank delimiter or a field that is not text go to
    `csv.writer`.  The bytes are the same either way (tested).
    """
    n = len(columns[0]) if columns else 0
    special = _special(dialect.delimiter, dialect.newline)
    plain = len(columns) > 1 and not dialect.delimiter.isspace()
    try:
        columns = [_quoted(col, special) for col in columns] if plain else columns
    except TypeError:  # a field that is not text: the csv module writes it
        plain = False
    for start in range(0, n, CHUNK_ROWS):
        rows = zip(*(col[start : start + CHUNK_ROWS] for col in columns), strict=True)
        if plain:
            yield dialect.newline.join(map(dialect.delimiter.join, rows)) + dialect.newline
        else:
            yield _lines(rows, dialect)


@functools.cache
def _special(delimiter: str, newline: str) -> frozenset[str]:
    """The characters for which the csv module quotes a field in this dialect, asked of
    it: Python versions differ on a carriage return in a file of line feeds."""
    dialect = Dialect(delimiter=delimiter, newline=newline)
    candidates = {delimiter, '"', "\r", "\n", *newline}
    return frozenset(c for c in candidates if _lines([[f"a{c}b", "c"]], dialect)[0] == '"')


def _quoted(fields: Sequence[str], special: frozenset[str]) -> Sequence[str]:
    """`fields` as csv's minimal quoting writes them: those holding a `special` character
    in quotes, their quotes doubled; a column without any, as it is."""
    text = "".join(fields)
    if not any(ch in text for ch in special):
        return fields
    return [
        '"' + f.replace('"', '""') + '"' if any(ch in f for ch in special) else f for f in fields
    ]


def _placed(
    new: pd.DataFrame, kept: list[str], positions: Mapping[str, int], width: int, form: CsvFormat
) -> list[list[str]]:
    """The fields of the new rows in the file's own columns (`positions`, `width` of its
    header), a column at a time; a column of the file the rows lack stays blank."""
    columns: list[list[str]] = [[""] * len(new)] * width
    for c in kept:
        columns[positions[c]] = _fields(new[c], form)
    return columns


def _fields(values: pd.Series, form: CsvFormat) -> list[str]:
    """`field` of every value of a column, a whole column at a time for the usual dtypes
    (a run's Renewals lines are 600,000 rows at SPEC §12 scale); other columns value by
    value.  The text is `field`'s, character for character."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        missing = values.isna().to_numpy(dtype=bool)
        if bool((values.dt.normalize() == values).to_numpy(dtype=bool)[~missing].all()):
            sep = form.date_sep
            pattern = {"dmy": f"%d{sep}%m{sep}%Y", "mdy": f"%m{sep}%d{sep}%Y"}
            return by_distinct(
                values, lambda u: pd.DatetimeIndex(u).strftime(pattern.get(form.dates, "%Y-%m-%d"))
            )
    elif pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return by_distinct(values, lambda u: [str(int(v)) for v in u])
    elif isinstance(dtype, pd.StringDtype):
        return defused(values.to_numpy(dtype=object, na_value=""))
    return [field(v, form) for v in values.tolist()]


def defused(text: np.ndarray) -> list[str]:
    """Text from input (an object array of str) as CSV fields: a value that Excel would
    take for a formula gets a leading ``'``.  Each distinct object is looked at once (the
    loader's text holds each id once however many rows show it: 12 x SPEC §6 writes 10
    million values of a few hundred thousand ids), and a column that has no such value
    is the array as it is.  A comprehension otherwise: pandas' ``str.startswith`` costs
    ten times as much."""
    if not any(v.startswith(FORMULA_START) for v in distinct_objects(text)):
        return text.tolist()
    return ["'" + v if v.startswith(FORMULA_START) else v for v in text]


def _unheaded(new: pd.DataFrame, positions: Mapping[str, int]) -> list[str]:
    """The columns of `new` with a value but no place in the file's header."""
    return [
        c
        for c in new.columns
        if not str(c).startswith("_") and c not in positions and new[c].notna().any()
    ]


def append_to_file(
    path: Path, table: Table, new: pd.DataFrame, recorded: CsvFormat | None = None
) -> list[str]:
    """Append `new` (canonical columns) to the CSV file at `path`, in the file's dialect
    and style: `recorded` (how the reader read it) when known, else as detected.

    Returns the columns whose values were not written because the file's header has no
    place for them (the header line is never changed)."""
    if recorded is not None:
        done = _append_in_place(path, table, new, recorded)
        if done is not None:
            return done
    data = path.read_bytes()
    dialect, form = file_format(detect(data)[0], recorded)
    text = data[len(dialect.bom) :].decode(dialect.encoding)
    records = _records(text, dialect.delimiter, until=table.header_row)
    at = next((i for i, (line, _) in enumerate(records) if line == table.header_row), None)
    if at is None:
        raise UnreadableFile(f"{path.name}: header row {table.header_row} not found")
    header = records[at][1]
    positions = _header_positions(table, header)
    kept = [c for c in new.columns if not str(c).startswith("_") and c in positions]
    tail = "".join(column_lines(_placed(new, kept, positions, len(header), form), dialect))
    if data and not text.endswith(("\n", "\r")):
        tail = dialect.newline + tail
    path.write_bytes(data + _encode(tail, dialect, path.name))
    return _unheaded(new, positions)


HEAD_BYTES = 1 << 16  # enough for the header and the line ending of any ledger file


def _append_in_place(
    path: Path, table: Table, new: pd.DataFrame, recorded: CsvFormat
) -> list[str] | None:
    """`append_to_file` for a file the reader read, without reading it whole: its header
    and line ending from its first bytes, its last bytes for a missing final line break,
    and the new lines appended to the file as it is (a 1.2-million-row Clients file is
    not decoded and rewritten).  None when that does not suffice (a small file, or the
    header not in the first bytes): read the whole file."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        fh.seek(max(0, size - 4))
        last = fh.read()
    if size <= HEAD_BYTES:
        return None  # small: the whole-file path costs nothing
    dialect, form = file_format(detect(head)[0], recorded)
    text = codecs.getincrementaldecoder(dialect.encoding)().decode(head[len(dialect.bom) :])
    if "\n" not in text and "\r" not in text:
        return None
    # only complete lines: the last one of the head may be cut
    text = text[: max(text.rfind("\n"), text.rfind("\r")) + 1]
    records = _records(text, dialect.delimiter, until=table.header_row)
    at = next((i for i, (line, _) in enumerate(records) if line == table.header_row), None)
    if at is None:
        return None
    header = records[at][1]
    positions = _header_positions(table, header)
    wanted = [c for c in new.columns if not str(c).startswith("_")]
    if any(c not in positions and new[c].notna().any() for c in wanted):
        return None
    kept = [c for c in wanted if c in positions]
    tail = "".join(column_lines(_placed(new, kept, positions, len(header), form), dialect))
    if not last.endswith(("\n".encode(dialect.encoding), "\r".encode(dialect.encoding))):
        tail = dialect.newline + tail
    encoded = _encode(tail, dialect, path.name)
    with open(path, "ab") as fh:
        fh.write(encoded)
    return _unheaded(new, positions)


def rows_to_remove(removed: Mapping[str, Sequence[int]] | None) -> dict[str, list[int]]:
    """``removed`` with each sheet's rows sorted and unique, and empty entries dropped."""
    out: dict[str, list[int]] = {}
    for name, rows in (removed or {}).items():
        unique = sorted({int(r) for r in rows})
        if unique:
            out[name] = unique
    return out


def remove_from_file(path: Path, table: Table, rows: Sequence[int]) -> None:
    """Cut the records starting on lines `rows` (the reader's ``_row``) out of a CSV file."""
    wanted = set(rows)
    if min(wanted) <= table.header_row:
        raise ValueError(
            f"{path.name}: cannot remove line {min(wanted)}, "
            f"at or above the header line {table.header_row}"
        )
    data = path.read_bytes()
    dialect, text = detect(data)
    # The physical lines exactly as the csv module (and the reader) sees them.
    lines = io.StringIO(text, newline="").readlines()
    drop = bytearray(len(lines))
    found: set[int] = set()
    reader = csv.reader(iter(lines), delimiter=dialect.delimiter)
    line = 0
    for _ in reader:
        if line + 1 in wanted:
            found.add(line + 1)
            drop[line : reader.line_num] = b"\x01" * (reader.line_num - line)
        line = reader.line_num
    missing = sorted(wanted - found)
    if missing:
        raise ValueError(f"{path.name}: no record starts on line {missing[0]} to remove")
    body = memoryview(data)[len(dialect.bom) :]
    kept = [dialect.bom]
    pos = 0
    for text_line, dropped in zip(lines, drop, strict=True):
        size = len(text_line.encode(dialect.encoding))
        if not dropped:
            kept.append(bytes(body[pos : pos + size]))
        pos += size
    if pos != len(body):  # pragma: no cover - decode/encode round trips for these codecs
        raise UnreadableFile(f"{path.name}: cannot map its lines back to bytes")
    path.write_bytes(b"".join(kept))


def new_file(
    path: Path, name: str, new: pd.DataFrame, dialect: Dialect, form: CsvFormat = ISO
) -> None:
    """A ledger sheet the folder lacks: every canonical header, then the new rows."""
    schema = BY_NAME.get(name)
    columns = schema.names if schema else []
    columns = columns + [
        str(c) for c in new.columns if c not in columns and not str(c).startswith("_")
    ]
    positions = {c: i for i, c in enumerate(columns)}
    kept = [c for c in columns if c in new.columns]
    text = _lines([columns], dialect) + "".join(
        column_lines(_placed(new, kept, positions, len(columns), form), dialect)
    )
    path.write_bytes(dialect.bom + _encode(text, dialect, path.name))


def new_file_format(reference: Dialect, recorded: CsvFormat | None) -> tuple[Dialect, CsvFormat]:
    """How a file the folder lacks is written (SPEC §11): UTF-8, ISO dates, and the
    reference file's delimiter, decimal separator and line ending.  A BOM when the
    reference is not plain UTF-8: Excel reads a UTF-8 file without one as ANSI."""
    dialect, form = file_format(reference, recorded)
    plain = form.encoding == "utf-8" and not form.bom
    bom = b"" if plain else codecs.BOM_UTF8
    dialect = replace(dialect, encoding="utf-8", bom=bom)
    return dialect, replace(form, encoding="utf-8", bom=bom, dates="iso", date_sep="/")


def without_implied_partner(ledger: Ledger, table: Table | None, new: pd.DataFrame) -> pd.DataFrame:
    """Drop ``partner`` from new rows when the sheet has no such column and it is implied.

    SPEC §3: `partner` may be left out when Partners has one row; a run must not
    add the column to such a sheet just to repeat that one partner.
    """
    if "partner" not in new.columns or table is None or not table.present:
        return new
    if "partner" in table.headers:
        return new
    partners = ledger.tables["Partners"].frame["partner"] if "Partners" in ledger.tables else None
    if partners is None or len(partners) != 1:
        return new
    values = new["partner"].dropna()
    if (values.astype(str) == str(partners.iloc[0])).all():
        return new.drop(columns=["partner"])
    return new


def write_csv_folder(
    ledger: Ledger,
    target: Path,
    *,
    appended: Mapping[str, pd.DataFrame],
    removed: Mapping[str, Sequence[int]] | None = None,
    warn: Callable[[str], None] = lambda _: None,
    skip: Collection[str] = (),
) -> None:
    """Write the updated CSV folder to `target` (a staging temp, made if missing; the input
    is only read).

    `removed` maps a ledger sheet to the line numbers (``_row``) of the records
    to cut out before `appended` goes in at the end (``--redo``).  `warn` is told of
    values left out because a file's header has no column for them.  Files named in
    `skip` are not copied (the computed sheets of the folder a run reads, written anew).
    """
    source, target = Path(ledger.path), Path(target)
    dropping = rows_to_remove(removed)
    for name in dropping:
        table = ledger.tables.get(name)
        if table is None or not table.present or not (source / table.file).is_file():
            raise ValueError(f"cannot remove rows of {name!r}: the ledger has no such file")
    target.mkdir(exist_ok=True)
    for f in sorted(source.iterdir()):
        if f.is_file() and not f.is_symlink() and not f.name.startswith(".") and f.name not in skip:
            shutil.copyfile(f, target / f.name)
    for name, rows in dropping.items():
        remove_from_file(target / ledger.tables[name].file, ledger.tables[name], rows)
    reference = ledger.tables.get("Partners")
    default, default_form = Dialect(), ISO
    if reference is not None and (target / reference.file).is_file():
        default, default_form = new_file_format(
            detect((target / reference.file).read_bytes())[0],
            ledger.csv_formats.get(reference.file),
        )
    for name, new in appended.items():
        if new is None or not len(new):
            continue
        table = ledger.tables.get(name)
        new = without_implied_partner(ledger, table, new)
        if table is not None and table.present and (target / table.file).is_file():
            recorded = ledger.csv_formats.get(table.file)
            left_out = append_to_file(target / table.file, table, new, recorded)
            if left_out:
                columns = ", ".join(left_out)
                warn(
                    f"{table.file} has no {columns} column, so the {len(new)} row(s) added "
                    f"do not record it (the header line is never changed); add the column "
                    f"to its header to keep it"
                    + (
                        ": --redo of the month then undoes the points this run bought"
                        if "run" in left_out
                        else ""
                    )
                )
        else:
            new_file(target / f"{name.lower()}.csv", name, new, default, default_form)


# --- the computed sheets as CSV files (SPEC §12) ------------------------------------------------

WORKSHEET_ROWS = 1_048_576  # rows a worksheet holds (Excel's limit, header included)


def computed_file_name(sheet: str) -> str:
    """``Status`` -> ``status.csv``, ``Buying list`` -> ``buying-list.csv``: names the
    reader does not take for a ledger sheet, so the folder can be read next month."""
    return "-".join(sheet.casefold().split()) + ".csv"


def computed_text(values: pd.Series, form: CsvFormat) -> list[str]:
    """One computed column as CSV text: dates ISO, yes/no, plain decimals in the folder's
    decimal separator, text from input with formulas defused.  Whole columns at a time:
    the Contracts sheet has a row per contract (1.2 million at SPEC §12 scale)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return by_distinct(values, lambda u: pd.DatetimeIndex(u).strftime("%Y-%m-%d"))
    if pd.api.types.is_bool_dtype(values):
        return by_distinct(values, lambda u: ["yes" if v else "no" for v in u])
    if pd.api.types.is_integer_dtype(values):
        return by_distinct(values, lambda u: [str(int(v)) for v in u])
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return defused(values.to_numpy(dtype=object, na_value=""))
    return [field(v, form) for v in values.tolist()]  # percents, Decimals: small sheets


def write_computed(folder: Path, sheets: Sequence[Any], reference: Ledger) -> list[Path]:
    """Each computed sheet (`ComputedSheet`: name, frame) as ``folder/<name>.csv``, written
    as a file the folder lacks is (`new_file_format`: UTF-8, the delimiter, decimal
    separator and line ending of the `reference` ledger's Partners file, ISO dates), with
    the csv module's quoting (`column_lines`).  The reference is read in the input
    folder: its copy in `folder` is the same bytes, but may not be written yet (the
    ledger's own files are written beside the computed ones)."""
    partners = reference.tables.get("Partners")
    dialect, form = Dialect(), ISO
    if partners is not None and partners.present:
        source = Path(reference.path) / partners.file
        if source.is_file():
            dialect, form = new_file_format(
                detect(source.read_bytes())[0], reference.csv_formats.get(partners.file)
            )
    written = []
    for sheet in sheets:
        frame = sheet.frame
        columns = [computed_text(frame[c], form) for c in frame.columns]
        path = folder / computed_file_name(sheet.name)
        encoding = "utf-8-sig" if dialect.bom == codecs.BOM_UTF8 else dialect.encoding
        with open(path, "w", encoding=encoding, newline="") as fh:
            fh.write(_lines([[str(c) for c in frame.columns]], dialect))
            fh.writelines(column_lines(columns, dialect))
        written.append(path)
    return written


def oversized_sheets(
    ledger: Ledger,
    appended: Mapping[str, pd.DataFrame],
    computed: Sequence[Any],
    removed: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, int]:
    """Sheet -> rows (header included) of every sheet of the updated workbook that a
    worksheet cannot hold (SPEC §12); empty when the workbook can be written."""
    dropping = rows_to_remove(removed)
    rows = {}
    for name, table in ledger.tables.items():
        new = appended.get(name)
        extra = len(new) if new is not None else 0
        rows[name] = table.header_row + len(table.frame) + extra - len(dropping.get(name, []))
    for name, new in appended.items():
        rows.setdefault(name, 1 + len(new))
    for sheet in computed:
        rows[sheet.name] = 1 + len(sheet.frame)
    return {name: n for name, n in rows.items() if n > WORKSHEET_ROWS}
