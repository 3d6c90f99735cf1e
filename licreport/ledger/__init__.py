"""Reading ledgers: xlsx/CSV files -> typed tables (see `load_ledger`)."""

from __future__ import annotations

from licreport.ledger.load import load_ledger
from licreport.ledger.safety import Limits

__all__ = ["Limits", "load_ledger"]
