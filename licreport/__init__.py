"""licreport: monthly licence-pool reconciliation (see README.md and SPEC.md)."""

__version__ = "0.1.0"

# pandas 3 stores its `str` columns in Arrow when pyarrow is importable, and in Python
# objects when not. licreport's rules are written and tested against the Python storage,
# and Arrow strings were slower here (benchmarks/README.md, round 3); with them some
# operations differ (a blank mapped from a text column is text, not a number: the run
# crashed). So licreport asks for the Python storage wherever it runs, pyarrow or not.
try:
    import pandas as _pd
except ImportError:  # the standard-library-only zip copier is tested on Pythons without it
    pass
else:
    _pd.set_option("mode.string_storage", "python")
