"""Reading a vendor usage export and a client billing export for `match` (SPEC §10).

Each is one ``.csv`` file or the first sheet of an ``.xlsx``/``.xlsm`` workbook,
read with the ledger's own machinery: the safety scan (`xlsx.read_first_sheet`),
the CSV decoding and delimiter sniffing (`csvdir.parse_csv`), the header
matching with aliases (`headers.find_header`) and the column typing
(`load.build_table`).  A value that cannot be read is a data error naming the
file, sheet, cell and column (exit 1); a missing required column stops the read
(exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from licreport.errors import DataError, UnreadableFile, UnsafeFile
from licreport.ledger import safety
from licreport.ledger.csvdir import parse_csv
from licreport.ledger.headers import RawSheet
from licreport.ledger.load import XLSX_SUFFIXES, build_table
from licreport.ledger.model import Table, cell_column
from licreport.ledger.safety import Limits
from licreport.ledger.schema import DECIMAL, INT, TEXT, Column, Sheet
from licreport.ledger.xlsx import read_first_sheet

USAGE_FILE, BILLING_FILE = "usage", "billing"

_CLIENT_ALIASES = ("client_id", "customer", "account", "client_name", "customer name", "company")
_PRODUCT_ALIASES = ("product_id", "product name", "license", "licence", "service")


def _client() -> Column:
    return Column("client", TEXT, True, aliases=_CLIENT_ALIASES, help="Client id or name.")


def _product() -> Column:
    return Column("product", TEXT, True, aliases=_PRODUCT_ALIASES, help="Product id or name.")


def _partner() -> Column:
    return Column("partner", TEXT, aliases=("partner_id",), help="Partner id or name (optional).")


USAGE = Sheet(
    "Usage",
    (
        _client(),
        _product(),
        Column(
            "devices",
            INT,
            True,
            aliases=("protected devices", "endpoints", "devices used", "quantity", "seats"),
            help="Devices the vendor console protects.",
        ),
        _partner(),
    ),
    required=True,
    help="One row per client and product as the vendor console exports it.",
)

BILLING = Sheet(
    "Billing",
    (
        _client(),
        _product(),
        Column("quantity", INT, True, aliases=("qty", "billed", "units"), help="Units invoiced."),
        Column(
            "unit_price", DECIMAL, aliases=("price", "rate", "unit price"), help="Price per unit."
        ),
        _partner(),
    ),
    required=True,
    help="One row per client and product invoiced for the month.",
)

CSV_SUFFIXES = (".csv",)


@dataclass(frozen=True)
class Export:
    """One export as read: its typed rows (the schema's columns and ``_row``)."""

    kind: str  # USAGE_FILE or BILLING_FILE
    file: str  # the file's name, as errors and the unmatched list show it
    table: Table
    has_price: bool = False  # billing: whether the file has a unit price column
    warnings: tuple[str, ...] = ()  # e.g. "not UTF-8; read as Windows-1252"

    @property
    def frame(self) -> pd.DataFrame:
        return self.table.frame


def read_raw(
    path: Path, limits: Limits, warnings: list[str] | None = None, decimal: str | None = None
) -> RawSheet:
    """The grid of a CSV file or of a workbook's first sheet, after the safety checks
    (an encoding fallback is added to `warnings`); `decimal` forces a CSV file's decimal
    separator as ``--decimal-comma``/``--decimal-point`` do (SPEC §11)."""
    path = Path(path)
    if not path.exists():
        raise UnreadableFile(f"{path}: no such file")
    if not path.is_file():
        raise UnreadableFile(f"{path.name}: is not a regular file")
    safety.check_signature(path, path.name)
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return read_first_sheet(path, limits)
    if suffix not in CSV_SUFFIXES:
        raise UnreadableFile(f"{path.name}: is not a .csv file or an .xlsx/.xlsm workbook")
    size = path.stat().st_size
    if size > limits.max_total_bytes:
        raise UnsafeFile(f"{path.name}: the file holds {size} bytes; refusing to read so much")
    return parse_csv(
        path.read_bytes(),
        path.name,
        path.stem,
        [] if warnings is None else warnings,
        decimal=decimal,
    )


def _negative(table: Table, column: str) -> list[DataError]:
    """Rows whose count or price is below 0 (prices compared once per distinct value)."""
    values = table.frame[column]
    if values.dtype == object:
        codes, uniques = pd.factorize(values)
        below = np.array([d is not None and d < 0 for d in uniques] + [False], dtype=bool)
        mask = pd.Series(below[codes], index=values.index)
    else:
        mask = values < 0
    return table.errors_at(mask, column, "cannot be negative")


def read_export(
    path: Path, kind: str, limits: Limits | None = None, decimal: str | None = None
) -> tuple[Export, list[DataError]]:
    """Read a usage (`USAGE_FILE`) or billing (`BILLING_FILE`) export: typed rows and every
    cell that could not be read (blank client/product/count, text in a count, a negative
    count)."""
    schema = USAGE if kind == USAGE_FILE else BILLING
    warnings: list[str] = []
    raw = read_raw(path, limits or Limits(), warnings, decimal)
    table, errors = build_table(raw, schema)
    count = "devices" if kind == USAGE_FILE else "quantity"
    errors += _negative(table, count)
    has_price = kind == BILLING_FILE and "unit_price" in table.headers
    if has_price:
        errors += _negative(table, "unit_price")
    errors.sort(key=lambda e: (e.row or 0, cell_column(e.cell)))
    return Export(kind, Path(path).name, table, has_price, tuple(warnings)), errors
