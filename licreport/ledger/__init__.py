"""Reading ledgers: xlsx/CSV files -> typed tables (see `load.load_ledger`).

Importing the package imports no pandas: `ahead` begins a workbook's read first."""

from __future__ import annotations

from licreport.ledger.safety import Limits

__all__ = ["Limits"]
