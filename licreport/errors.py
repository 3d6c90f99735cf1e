"""Errors: data problems are values (`DataError`); what stops a run is an exception.

A `DataError` points at the place a person fixes: file, sheet, spreadsheet row,
cell address and the column header as the user wrote it.  The exceptions carry
the exit code the CLI maps them to (SPEC §4: 1 data errors, 2 usage / unreadable
/ unsafe file / sheet not a table).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class DataError:
    """One problem in one place of the ledger."""

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    cell: str | None
    message: str

    def __str__(self) -> str:
        where = self.cell or (str(self.row) if self.row is not None else "")
        parts = [self.file, self.sheet or "", where]
        location = ":".join(p for p in parts if p)
        if self.column:
            return f"{location}: {self.column}: {self.message}"
        return f"{location}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class LicreportError(Exception):
    """Base for what stops a run. `errors` lists every problem found at once."""

    exit_code = 2

    def __init__(self, message: str, errors: list[DataError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors: list[DataError] = list(errors or [])

    def lines(self) -> list[str]:
        return [str(e) for e in self.errors] or [self.message]


class UsageError(LicreportError):
    """Options that do not fit together or name something that does not exist."""


class UnreadableFile(LicreportError):
    """Not a workbook or CSV folder we can read: truncated, .xls, encrypted, empty."""


class UnsafeFile(LicreportError):
    """A file that looks hostile: XML entities, zip bomb, absurd dimensions."""


class SheetError(LicreportError):
    """A sheet that cannot be read as a table: missing sheet/column, duplicate headers."""


class DataErrors(LicreportError):
    """The ledger was read, but its rows break the rules (exit 1, nothing written)."""

    exit_code = 1


class ConservationError(LicreportError):
    """R8 totals do not balance: the run is aborted and nothing is written."""

    exit_code = 1


class OutputExists(LicreportError):
    """An output file is already there and `--force` was not given."""
