"""Sort keys for text columns: integer codes that sort as the text does, made fast.

pandas sorts the distinct values of a python-storage text column with Python string
comparisons (``sort_values``, ``groupby(sort=True)``, ``factorize(sort=True)``): over
700,000 client ids that is most of a groupby.  `sort_key` factorises without sorting
(hashing) and sorts the distinct values once as a fixed-width numpy string array,
which compares code points as Python does, then `lexsort` orders rows by such keys
exactly as a stable ``sort_values`` on the columns would (blanks last).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

MAX_FIXED_BYTES = 1 << 27  # a fixed-width copy of the distinct values above this: sort as usual


def sort_key(values: pd.Series) -> np.ndarray:
    """int64 codes ordered as `values` sort (blanks, NaN and NaT, last)."""
    if not values.isna().any():
        if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":
            return values.to_numpy().view(np.int64)
        if pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            return values.to_numpy(dtype=np.int64)
    codes, uniques = pd.factorize(values)
    codes = np.asarray(codes, dtype=np.int64)
    rank = np.empty(len(uniques) + 1, dtype=np.int64)
    rank[_argsort(uniques)] = np.arange(len(uniques))
    rank[-1] = len(uniques)  # code -1: a blank
    return rank[codes]


def _argsort(uniques: object) -> np.ndarray:
    u = np.asarray(uniques, dtype=object)
    if len(u) and pd.api.types.infer_dtype(u, skipna=False) == "string":
        width = max(map(len, u))
        if width and len(u) * width * 4 <= MAX_FIXED_BYTES and "\x00" not in "".join(u):
            # numpy's fixed-width strings compare code point by code point, as str does
            # (a NUL would be taken for padding: such values sort as Python sorts them)
            return np.argsort(u.astype(f"U{width}"))  # distinct values: no ties
    return np.asarray(pd.Index(u).argsort(), dtype=np.int64)


def sorted_order(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Positions of `frame`'s rows in the order of a stable ``sort_values(columns)``."""
    if not len(frame):
        return np.zeros(0, dtype=np.intp)
    try:
        return np.lexsort([sort_key(frame[c]) for c in reversed(columns)])
    except TypeError:  # values that do not compare (text and numbers): pandas decides
        plain = frame[list(columns)].reset_index(drop=True)
        return plain.sort_values(list(columns), kind="stable").index.to_numpy()


def sorted_groups(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(order, group): `sorted_order`, and for each row in that order the number of its
    group of equal `columns` (blanks are a value of their own, as with
    ``groupby(dropna=False)``), so a groupby on `group` needs no text keys factorised
    again.  Raises TypeError for values that do not compare."""
    ranks = [sort_key(frame[c]) for c in columns]
    order = np.lexsort(ranks[::-1]) if len(frame) else np.zeros(0, dtype=np.intp)
    change = np.zeros(len(order), dtype=bool)
    change[:1] = True
    for rank in ranks:
        ordered = rank[order]
        change[1:] |= ordered[1:] != ordered[:-1]
    return order, np.cumsum(change) - 1


def sort_rows(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``frame.sort_values(columns, kind="stable")``, with `sort_key`'s codes."""
    return frame.take(sorted_order(frame, columns))


def labels(
    conditions: Sequence[pd.Series | np.ndarray | Sequence[bool]],
    choices: Sequence[str],
    default: str,
) -> pd.api.extensions.ExtensionArray:
    """``np.select`` for text: a text array of the given ``str`` objects, the choice of the
    first true condition per row.  ``np.select``/``np.where`` make a fixed-width copy,
    then one new ``str`` per row once pandas takes it: 60 MB at 12 x SPEC §6."""
    out = np.empty(len(conditions[0]), dtype=object)  # len(): Series or arrays
    out[:] = default  # the one object in every row (np.full would make one per row)
    for condition, choice in reversed(list(zip(conditions, choices, strict=True))):
        out[np.asarray(condition, dtype=bool)] = choice
    return pd.array(out, dtype="str")
