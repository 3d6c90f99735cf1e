"""One vocabulary for contract and pool terms, in every output people read.

`1 year`, `3 years`, `Monthly`, `Trial`: the sheets, the terminal and the
report all call `term_label` (JSON keeps the ledger's values: ``3``, ``monthly``).
"""

from __future__ import annotations

import pandas as pd


def term_label(value: object) -> str:
    """A term for people: ``1`` -> ``1 year``, ``3`` -> ``3 years``, ``monthly`` -> ``Monthly``,
    ``trial`` -> ``Trial``; blank -> ``""``; anything else as written."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    if text.isdigit():
        years = int(text)
        return f"{years} year" if years == 1 else f"{years} years"
    if text.lower() in ("monthly", "trial"):
        return text.capitalize()
    return text


def term_labels(terms: pd.Series) -> pd.Series:
    """`term_label` of every value of a column (object dtype, blanks as ``""``)."""
    return terms.astype(object).map(term_label)
