"""Finding a sheet's header row and matching its headers to the schema's columns.

Headers match case-insensitively with spaces, ``_`` and ``-`` alike and the
aliases of `schema` (SPEC §3); the header row is the first of the first 30 rows
holding every required header, so title rows above it are allowed.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, overload

from licreport.errors import DataError
from licreport.ledger.schema import Sheet, normalise, schema_sheet
from licreport.outputs.xlsx.utility import column_letter

if TYPE_CHECKING:  # imported where used: `ledger.ahead` reads before numpy is imported
    import numpy as np

HEADER_SCAN_ROWS = 30


@dataclass(frozen=True)
class CsvFormat:
    """How one CSV file was read, so that rows appended to it are written the same way.

    ``decimal`` is the decimal separator numbers were read with (``","``: ``1.234,50``);
    ``dates`` the order its text dates were read in (``"iso"``, ``"dmy"``, ``"mdy"``)
    and ``date_sep`` the separator they were written with (``26.11.2026``).
    """

    delimiter: str = ","
    decimal: str = "."
    encoding: str = "utf-8"
    bom: bytes = b""
    dates: str = "iso"
    date_sep: str = "/"


@dataclass
class RawSheet:
    """One sheet (or CSV file) as read: a grid of cell values before any typing.

    ``row_numbers[i]`` is the row number the user sees for ``rows[i]`` (the CSV
    line number); ``cell_errors`` maps ``(i, column index)`` to an Excel error
    such as ``#N/A`` that the reader returned as blank.  ``csv`` says how a CSV
    file was read (delimiter, decimal separator, encoding); ``None`` for a worksheet.
    ``rows`` is a list of rows; a 2-D object array of str when a CSV file was read by
    pandas' C reader, or `Columns` when pyarrow read it (`csvdir`): no list per row, and
    with `Columns` no string per cell, at a million rows.
    """

    file: str
    name: str
    rows: list[list[Any]] | np.ndarray | Columns
    row_numbers: list[int] | np.ndarray | None = None
    cell_errors: dict[tuple[int, int], str] = field(default_factory=dict)
    csv: CsvFormat | None = None

    def row_number(self, i: int) -> int:
        return int(self.row_numbers[i]) if self.row_numbers is not None else i + 1


@dataclass(frozen=True)
class Columns:
    """A grid held column by column, each column as codes into its distinct values (the
    form `parse.Cells` types): a CSV file read by pyarrow makes one Python string per
    distinct value, not one per cell.  Rows are made when asked for (the header scan reads
    the first 30); a slice of rows shares the distinct values."""

    codes: tuple[np.ndarray, ...]  # intp, one array per column, all the same length
    uniques: tuple[np.ndarray, ...]  # object: the distinct values of each column, all str

    def __len__(self) -> int:
        return len(self.codes[0]) if self.codes else 0

    @property
    def width(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, key: int) -> list[Any]: ...
    @overload
    def __getitem__(self, key: slice) -> Columns: ...
    def __getitem__(self, key: int | slice) -> list[Any] | Columns:
        if isinstance(key, slice):
            return Columns(tuple(c[key] for c in self.codes), self.uniques)
        return [u[c[key]] for c, u in zip(self.codes, self.uniques, strict=True)]

    def __iter__(self) -> Iterator[list[Any]]:
        return (self[i] for i in range(len(self)))

    def distinct(self, j: int) -> set[Any]:
        """The distinct values of column `j` that occur in these rows."""
        if j >= self.width:
            return set()
        import numpy as np

        return set(self.uniques[j][np.unique(self.codes[j])].tolist())


class SheetsAhead(Mapping[str, RawSheet]):
    """A reader's sheets, read in a thread while the loader types the ones before.

    calamine and pandas' CSV tokenizer release the GIL while they parse, so reading
    sheet k+1 overlaps typing sheet k (measured: the Clients sheet of SPEC §6 parses
    in 0.8 s beside Python work in the same 0.8 s).  The names are known at once;
    a sheet asked for waits until it is read.  An error of the reader is raised
    where a sheet it did not read is asked for, and by `close`, which waits for the
    thread (no thread may outlive the load: a run forks later).
    """

    def __init__(
        self,
        names: Iterable[str],
        read: Callable[[], Iterator[tuple[str, RawSheet]]],
        thread: str = "ledger-read",
    ):
        self._names = list(names)
        self._read: dict[str, RawSheet] = {}
        self._error: BaseException | None = None
        self._finished = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(read,), name=thread)
        self._thread.start()

    def _run(self, read: Callable[[], Iterator[tuple[str, RawSheet]]]) -> None:
        try:
            for name, sheet in read():
                with self._changed:
                    self._read[name] = sheet
                    self._changed.notify_all()
        except BaseException as exc:  # handed to the loading thread
            self._error = exc
        finally:
            with self._changed:
                self._finished = True
                self._changed.notify_all()

    def __getitem__(self, name: str) -> RawSheet:
        if name not in self._names:
            raise KeyError(name)
        with self._changed:
            self._changed.wait_for(lambda: name in self._read or self._finished)
        if name in self._read:
            return self._read[name]
        if self._error is not None:
            raise self._error
        raise KeyError(name)  # pragma: no cover - a reader yields every name it was given

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def close(self) -> None:
        """Wait for the reading thread; raise its error, if any."""
        self._thread.join()
        if self._error is not None:
            raise self._error


@dataclass
class RawBook:
    """Every schema sheet found in a workbook or CSV folder, keyed by schema sheet name.

    `sheets` may still be being read (`SheetsAhead`): `close` waits for the reader, and
    `warnings` and the sheets' `csv` formats are final only then."""

    path_display: str  # "ledger.xlsx" or "ledger/" (the folder)
    kind: str  # "xlsx" or "csv"
    sha256: str
    sheets: Mapping[str, RawSheet]
    present: list[str]  # every sheet / file name present, as written
    warnings: list[str] = field(default_factory=list)
    date1904: bool = False

    def close(self) -> None:
        if isinstance(self.sheets, SheetsAhead):
            self.sheets.close()


@dataclass
class HeaderMatch:
    """Where a sheet's header row is and which column holds what."""

    index: int  # index of the header row in RawSheet.rows
    columns: dict[str, int]  # canonical column -> column index
    written: dict[str, str]  # canonical column -> header as written
    extra: dict[str, int]  # unknown header as written -> column index


def cell_text(value: Any) -> str:
    """A cell value as the user reads it (1001.0 -> "1001", a date -> ISO)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def lookup(schema: Sheet) -> dict[str, str]:
    """Normalised header or alias -> canonical column name."""
    keys: dict[str, str] = {}
    for col in schema.columns:
        for name in (col.name, *col.aliases):
            keys[normalise(name)] = col.name
    return keys


def _known(row: list[Any], keys: dict[str, str]) -> set[str]:
    return {keys[k] for k in (normalise(cell_text(v)) for v in row) if k in keys}


def find_header(raw: RawSheet, schema: Sheet) -> tuple[HeaderMatch | None, list[DataError]]:
    """The header row of `raw`, or the structural problems that stop us reading it.

    Returns ``(None, [])`` for an optional sheet with nothing in it.
    """
    keys = lookup(schema)
    required = {c.name for c in schema.required_columns}
    scanned = raw.rows[:HEADER_SCAN_ROWS]
    found = [_known(row, keys) for row in scanned]
    index = next((i for i, k in enumerate(found) if k and required <= k), None)
    problems: list[DataError] = []
    if index is None:
        best = max(range(len(found)), key=lambda i: (len(found[i]), -i), default=None)
        if best is None or not found[best] or (len(found[best]) < 2 and not found[best] & required):
            empty = not any(cell_text(v) for row in raw.rows for v in row)
            if empty and not schema.required:
                return None, []
            expected = ", ".join(c.name for c in schema.required_columns or schema.columns)
            what = (
                "is empty" if empty else f"has no header row in its first {HEADER_SCAN_ROWS} rows"
            )
            message = f"the sheet {what}; expected a header row with the columns {expected}"
            return None, [DataError(raw.file, raw.name, None, None, None, message)]
        index = best
        row_no = raw.row_number(best)
        for name in sorted(required - found[best], key=schema.names.index):
            problems.append(
                DataError(
                    raw.file,
                    raw.name,
                    None,
                    None,
                    None,
                    f'required column "{name}" is missing (the header row is row {row_no})',
                )
            )
    match, duplicates = _match_row(raw, index, keys)
    return (None if problems or duplicates else match), problems + duplicates


def _match_row(
    raw: RawSheet, index: int, keys: dict[str, str]
) -> tuple[HeaderMatch, list[DataError]]:
    """Map the header row's cells to columns, reporting duplicate headers by both cells."""
    row_no = raw.row_number(index)
    columns: dict[str, int] = {}
    written: dict[str, str] = {}
    extra: dict[str, int] = {}
    problems: list[DataError] = []
    for j, value in enumerate(raw.rows[index]):
        header = cell_text(value)
        if not header:
            continue
        canonical = keys.get(normalise(header))
        if canonical is not None:
            if canonical in columns:
                first = columns[canonical]
                problems.append(
                    _duplicate(raw, row_no, first, j, written[canonical], header, canonical)
                )
                continue
            columns[canonical], written[canonical] = j, header
        elif header in extra:
            problems.append(_duplicate(raw, row_no, extra[header], j, header, header, None))
        else:
            extra[header] = j
    return HeaderMatch(index, columns, written, extra), problems


def _duplicate(
    raw: RawSheet, row_no: int, first: int, second: int, h1: str, h2: str, canonical: str | None
) -> DataError:
    c1, c2 = f"{column_letter(first)}{row_no}", f"{column_letter(second)}{row_no}"
    same = f' (both are the "{canonical}" column)' if canonical and h1 != h2 else ""
    return DataError(
        raw.file,
        raw.name,
        row_no,
        None,
        c2,
        f'duplicate header "{h2}": {c1} already holds "{h1}"{same}; keep one of the two columns',
    )


T = TypeVar("T")


def match_sheets(
    candidates: list[tuple[str, T]],
) -> tuple[dict[str, tuple[str, T]], list[tuple[str, str, str]]]:
    """Schema sheet -> (name as written, value) for names that match one; and every
    (schema sheet, first name, second name) where two names match the same sheet."""
    chosen: dict[str, tuple[str, T]] = {}
    clashes: list[tuple[str, str, str]] = []
    for name, value in candidates:
        sheet = schema_sheet(name)
        if sheet is None:
            continue
        if sheet in chosen:
            clashes.append((sheet, chosen[sheet][0], name))
        else:
            chosen[sheet] = (name, value)
    return chosen, clashes
