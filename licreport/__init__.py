"""licreport: monthly licence-pool reconciliation (see README.md and SPEC.md).

The package imports nothing heavy: the command line begins reading a ledger before
pandas is imported (`ledger.ahead`).  pandas' string storage is set where the ledger's
tables are defined (`ledger.model`), which every module that makes frames imports.
"""

__version__ = "0.1.0"
