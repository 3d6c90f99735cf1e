"""The loaded ledger: one typed table per sheet, and where each value came from."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from licreport.errors import DataError
from licreport.ledger.headers import CsvFormat as CsvFormat
from licreport.ledger.schema import MONTH_FIRST, ROW, Sheet

# Column letters are converted in one place (`outputs.xlsx.utility`), named here for the
# loader; the readers that run before pandas is imported take them from there.
from licreport.outputs.xlsx.utility import cell_column as cell_column
from licreport.outputs.xlsx.utility import column_letter as column_letter

# pandas 3 stores its `str` columns in Arrow when pyarrow is importable, and in Python
# objects when not. licreport's rules are written and tested against the Python storage,
# and Arrow strings were slower here (benchmarks/README.md, round 3); with them some
# operations differ (a blank mapped from a text column is text, not a number: the run
# crashed). So licreport asks for the Python storage wherever it runs, pyarrow or not,
# here: the module of the ledger's tables, imported before any frame is made (not the
# package, which stays light for `ledger.ahead`).
pd.set_option("mode.string_storage", "python")


@dataclass
class Table:
    """One sheet as a typed frame (columns of `schema`, plus ``_row``).

    ``headers`` maps a canonical column to the header as the user wrote it and
    ``letters`` to its column letter, so errors name the cell the user sees.
    ``extra`` holds the columns we do not know, as read, for writers that
    rebuild the sheet (CSV output); the xlsx writer keeps them in place.
    """

    schema: Sheet
    frame: pd.DataFrame
    file: str
    sheet: str
    present: bool = True
    header_row: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    letters: dict[str, str] = field(default_factory=dict)
    extra: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        return self.schema.name

    def error(self, row: int | None, column: str | None, message: str) -> DataError:
        """An error at spreadsheet row `row` (the ``_row`` value) in canonical `column`."""
        header = self.headers.get(column, column) if column else None
        letter = self.letters.get(column) if column else None
        cell = f"{letter}{row}" if letter and row is not None else None
        return DataError(self.file, self.sheet, row, header, cell, message)

    def errors_at(self, mask: pd.Series, column: str | None, message: str) -> list[DataError]:
        """The same error for every row where `mask` is true (vectorised checks)."""
        rows = self.frame.loc[mask.fillna(False).astype(bool), ROW]
        return [self.error(int(r), column, message) for r in rows]


def empty_table(schema: Sheet, file: str) -> Table:
    """The table of a sheet the ledger does not have: every column, no rows."""
    frame = pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in schema.columns})
    frame[ROW] = pd.Series(dtype="Int64")
    if "month" in schema.names:
        frame[MONTH_FIRST] = pd.Series(dtype="datetime64[ns]")
    return Table(schema, frame, file, schema.name, present=False)


@dataclass
class Ledger:
    """Everything `load_ledger` read: typed tables, their origin, the file hash.

    ``csv_formats`` maps each CSV file name (``Table.file``) to how it was read.
    """

    path: Path
    kind: str  # "xlsx" or "csv"
    sha256: str
    tables: dict[str, Table]
    warnings: list[str] = field(default_factory=list)
    csv_formats: dict[str, CsvFormat] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name].frame

    def table(self, name: str) -> Table:
        return self.tables[name]

    def with_rows(self, appended: Mapping[str, pd.DataFrame]) -> Ledger:
        """A copy with `appended` rows (canonical columns) below each sheet's rows."""
        tables = dict(self.tables)
        for name, rows in appended.items():
            if rows.empty:
                continue
            t = tables[name]
            new = pd.DataFrame(index=range(len(rows)))
            for col in t.schema.columns:
                values = rows[col.name].to_numpy() if col.name in rows else None
                new[col.name] = pd.Series(values, index=new.index, dtype=col.dtype)
            last = int(t.frame[ROW].max()) if len(t.frame) else t.header_row
            new[ROW] = pd.array(range(last + 1, last + 1 + len(new)), dtype="Int64")
            if MONTH_FIRST in t.frame:  # typed as the loader types it
                from licreport.ledger.parse import to_months  # parse imports this module

                new[MONTH_FIRST] = to_months(new["month"])[1]
            frame = pd.concat([t.frame, new], ignore_index=True)
            tables[name] = replace(t, frame=frame)
        return replace(self, tables=tables)

    def without(self, name: str, mask: pd.Series) -> Ledger:
        """A copy without the rows of sheet `name` where `mask` is true."""
        t = self.tables[name]
        tables = dict(self.tables)
        tables[name] = replace(t, frame=t.frame[~mask.fillna(False).astype(bool)])
        return replace(self, tables=tables)

    def only_partners(self, partners: Collection[str]) -> Ledger:
        """A copy restricted to some partners (``--partner``, or those a run still needs)."""
        tables = {}
        for name, t in self.tables.items():
            if "partner" in t.frame:
                t = replace(t, frame=t.frame[t.frame["partner"].isin(list(partners))])
            tables[name] = t
        return replace(self, tables=tables)

    @property
    def partners(self) -> list[str]:
        return sorted(self.tables["Partners"].frame["partner"].dropna().unique().tolist())
