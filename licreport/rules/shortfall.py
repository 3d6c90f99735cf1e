"""R2/R3 shortfall policies: who is renewed when a pool cannot cover every request.

Shared by the monthly and the annual renewal.  Every group (one pool, e.g. a
partner's product and term) is shared out independently, all groups at once:
the rows are sorted once and filled with a grouped cumulative sum, no loops.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from licreport.rules import POLICIES as POLICIES
from licreport.rules.keys import sort_key

REQUIRED = ("group", "client", "requested", "priority", "start")
# Above this, requested × available might overflow int64: use exact Python ints.
_INT64_SAFE = 2**62


def _check(requests: pd.DataFrame, policy: str) -> None:
    if policy not in POLICIES:
        valid = ", ".join(POLICIES)
        raise ValueError(f"unknown shortfall policy {policy!r}; choose one of {valid}")
    missing = [c for c in REQUIRED if c not in requests.columns]
    if missing:
        raise ValueError(f"requests lack column(s): {', '.join(missing)}")
    if requests["requested"].isna().any() or (requests["requested"] < 0).any():
        raise ValueError("requested must be a whole number, 0 or more, on every row")


def _available(available: pd.Series, groups: pd.Index) -> np.ndarray:
    """Licences available per group, in the order of `groups`; a missing group has 0."""
    if not available.index.is_unique:
        raise ValueError("available must have one value per group")
    counts = available.reindex(groups).fillna(0)
    if (counts < 0).any():
        raise ValueError("available must be 0 or more for every group")
    return counts.to_numpy(dtype=np.int64)


def _tie_keys(requests: pd.DataFrame, codes: np.ndarray) -> list[np.ndarray]:
    """Sort keys of the priority order, least significant first (for `np.lexsort`).

    Priority ascending (blank last), earliest start (blank last), client id in
    string order (blank last), then row order.  When the rows of each group (`codes`)
    already come in client order (renewal requests do: they are grouped by partner
    and client), row order is client order and the clients need no sort.
    """
    priority = requests["priority"]
    priority_blank = priority.isna().to_numpy()
    priority_value = priority.fillna(0).to_numpy(dtype=np.int64)
    start = pd.to_datetime(requests["start"])
    start_blank = start.isna().to_numpy()
    start_value = start.to_numpy().view(np.int64)
    row = np.arange(len(requests))
    client = requests["client"].astype("string")
    if _clients_in_order(client, codes):
        client_code = np.zeros(len(requests), dtype=np.int64)
    else:
        client_code = sort_key(client)
    return [row, client_code, start_value, start_blank, priority_value, priority_blank]


def _clients_in_order(client: pd.Series, codes: np.ndarray) -> bool:
    """Whether, within every group, a later row never has a smaller client id (no blanks)."""
    if client.isna().any():
        return False
    by_group = np.argsort(codes, kind="stable")
    ids = client.to_numpy(dtype=object)[by_group]
    same = codes[by_group][1:] == codes[by_group][:-1]
    if not same.any():
        return True
    later, earlier = ids[1:][same], ids[:-1][same]
    return bool(np.all(np.asarray(later >= earlier, dtype=bool)))


def _group_starts(codes: np.ndarray) -> np.ndarray:
    """For rows sorted by group code: the position where each row's group begins."""
    first = np.r_[True, codes[1:] != codes[:-1]] if len(codes) else np.zeros(0, dtype=bool)
    return np.maximum.accumulate(np.where(first, np.arange(len(codes)), 0))


def _greedy(requested: np.ndarray, codes: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Fill rows in order (sorted by group) while licences last; the first short one is partial."""
    before = np.cumsum(requested) - requested
    starts = _group_starts(codes)
    served_before = before - before[starts]
    return np.clip(pool[codes] - served_before, 0, requested)


def _proportional(
    requested: np.ndarray, codes: np.ndarray, pool: np.ndarray, groups: int
) -> np.ndarray:
    """floor(share) each, then one leftover licence each by largest remainder.

    Rows arrive sorted by group, then in priority order, which breaks ties on
    the remainder.  Shares are exact: requested × available is done in Python
    integers when it could overflow int64 (the quotient and remainder always fit).
    """
    total = np.zeros(groups, dtype=np.int64)
    np.add.at(total, codes, requested)
    share = np.minimum(pool, total)
    exact = int(requested.max()) * int(share.max()) >= _INT64_SAFE
    kind = object if exact else np.int64
    numerator = requested.astype(kind) * share[codes].astype(kind)
    divisor = np.maximum(total[codes], 1).astype(kind)
    base = (numerator // divisor).astype(np.int64)
    remainder = (numerator % divisor).astype(np.int64)
    served = np.zeros(groups, dtype=np.int64)
    np.add.at(served, codes, base)
    leftover = share - served
    # Largest remainder first within each group; the incoming (priority) order breaks ties.
    by_remainder = np.lexsort((np.arange(len(codes)), -remainder, codes))
    sorted_codes = codes[by_remainder]
    place = np.arange(len(codes)) - _group_starts(sorted_codes)
    bonus = np.zeros(len(codes), dtype=np.int64)
    bonus[by_remainder] = place < leftover[sorted_codes]
    return base + bonus


def allocate(requests: pd.DataFrame, available: pd.Series, policy: str = "priority") -> pd.Series:
    """Licences granted to each request row when its group's pool may be short.

    `requests` has ``group``, ``client``, ``requested``, ``priority`` (Int64,
    blank last) and ``start``; `available` is indexed by group (missing = 0).
    A group whose pool covers every request grants them all; otherwise `policy`
    (SPEC R2) decides.  Result: int64, same index as `requests`.
    """
    _check(requests, policy)
    if requests.empty:
        return pd.Series(np.zeros(0, dtype=np.int64), index=requests.index, name="granted")
    codes, groups = pd.factorize(requests["group"], use_na_sentinel=False)
    pool = _available(available, pd.Index(groups))
    requested = requests["requested"].to_numpy(dtype=np.int64)
    keys = _tie_keys(requests, codes)
    if policy == "smallest-first":
        keys.append(requested)
    order = np.lexsort((*keys, codes))
    sorted_codes = codes[order]
    sorted_requested = requested[order]
    if policy == "proportional":
        granted_sorted = _proportional(sorted_requested, sorted_codes, pool, len(groups))
    else:
        granted_sorted = _greedy(sorted_requested, sorted_codes, pool)
    granted = np.empty(len(requests), dtype=np.int64)
    granted[order] = granted_sorted
    return pd.Series(granted, index=requests.index, name="granted")
