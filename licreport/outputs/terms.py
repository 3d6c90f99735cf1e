"""One vocabulary for contract and pool terms, in every output people read.

`1 year`, `3 years`, `Monthly`, `Trial`: the sheets, the terminal and the
report all call `term_label` (JSON keeps the ledger's values: ``3``, ``monthly``).
"""

from __future__ import annotations

import numpy as np
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
    """`term_label` of every value of a column (object dtype, blanks as ``""``).

    A text column (the usual case: a term per contract, 1.2 million at SPEC §12 scale)
    is labelled once per distinct value; anything else value by value."""
    values = terms.astype(object)
    if not isinstance(terms.dtype, pd.StringDtype):
        return values.map(term_label)
    codes, uniques = pd.factorize(values)
    labels = np.array([*(term_label(u) for u in uniques), ""], dtype=object)
    return pd.Series(labels[codes], index=terms.index, name=terms.name)
