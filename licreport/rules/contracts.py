"""Contracts: the Clients rows that assign licences, with their ends and current size.

A contract runs from ``start`` to ``end`` (exclusive).  ``end`` is the given one
when filled (co-termed contracts), else ``start + term`` calendar years, and a
trial ends at ``start + trial_days``.  Two kinds of later rows change a contract:
a renewal line (Renewals sheet) moves the end by the term and sets the licences
to those renewed; a recovery row (Clients, type ``recovery``) takes licences off.
Both are few next to the contracts, so they are applied in one ordered pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from licreport.errors import DataError
from licreport.ledger.model import Table
from licreport.ledger.schema import (
    ASSIGN,
    MAX_TRIAL_DAYS,
    MONTH_FIRST,
    MONTHLY,
    RECOVERY,
    ROW,
    TERMS,
    TRIAL,
)
from licreport.rules.dates import add_years
from licreport.rules.keys import account_ids, factorize, isin, labels

ANNUAL = "annual"


def build_contracts(clients: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """One row per ``assign`` row of Clients, with kind, years, family and the base end.

    What a contract takes from its term and product is worked out once per distinct term
    and product (`keys.factorize`: a few objects in 1.2 million rows at 12 x SPEC §6),
    then taken for every row: the same values as per row, a third of the time."""
    rows = clients[clients["type"].fillna(ASSIGN) == ASSIGN]
    catalogue = products.drop_duplicates("product").set_index("product")
    c = pd.DataFrame(index=rows.index)
    for col in ("partner", "client", "client_name", "product", "term", "priority", "start"):
        c[col] = rows[col]
    c[ROW] = rows[ROW]
    codes, distinct = factorize(rows["term"])  # a blank term: -1, no kind and no years
    terms = pd.Series(distinct)
    kinds = labels([terms == MONTHLY, terms == TRIAL], [MONTHLY, TRIAL], ANNUAL)
    c["kind"] = kinds.take(codes, allow_fill=True)
    years = pd.to_numeric(terms.where(terms.isin(TERMS)), errors="coerce").astype("Int64")
    c["years"] = years.array.take(codes, allow_fill=True)
    # code -1 (a blank term) takes the appended False
    monthly = pd.Series(np.append(kinds == MONTHLY, False)[codes], index=rows.index)
    is_trial = np.append(kinds == TRIAL, False)[codes]
    c["licences"] = rows["licences"]
    c["devices_used"] = rows["devices_used"]
    # a blank product is a value of its own here, as in ``map``: a blank catalogue row's
    at, products_ = factorize(rows["product"], use_na_sentinel=False)
    listed = catalogue.reindex(pd.Index(products_))

    def of_product(column: str) -> pd.Series:
        return pd.Series(listed[column].array.take(at), index=rows.index)

    main = of_product("main_product")
    c["family"] = of_product("family").where(main.isna(), rows["product"])
    c["points_per_licence"] = of_product("points_per_licence").astype("Int64")
    trial_days = of_product("trial_days").astype("Int64")
    # a trial length out of range is a data error (checks.py): no end, never an overflow
    trial_days = trial_days.where((trial_days >= 0) & (trial_days <= MAX_TRIAL_DAYS))
    computed = add_years(rows["start"], c["years"])
    trial_end = rows["start"] + pd.to_timedelta(trial_days.astype("float64"), unit="D")
    computed = computed.where(~is_trial, trial_end)
    c["auto_renew"] = rows["auto_renew"].fillna(monthly).astype("boolean")
    # a monthly licence without auto_renew lapses on the next 1st (monthly licences expire then)
    lapses = monthly & ~c["auto_renew"].fillna(True).astype(bool)
    next_first = (rows["start"] + pd.offsets.MonthBegin(1)).where(lapses)
    computed = computed.where(~lapses, next_first)
    c["end"] = rows["end"].where(rows["end"].notna(), computed)
    if lapses.any():  # a given end later than the lapse does not extend it
        c.loc[lapses, "end"] = c.loc[lapses, "end"].where(
            c.loc[lapses, "end"] <= next_first[lapses], next_first[lapses]
        )
    return c


@dataclass(frozen=True)
class ContractState:
    """Contracts after the renewal lines and recoveries dated up to a cutoff."""

    contracts: pd.DataFrame
    errors: list[DataError]
    last_event: pd.Timestamp | None = None  # the latest event applied (None: none)


Key = tuple[str, str, str, str]
_KEY = ["partner", "client", "product", "term"]


def apply_events(
    contracts: pd.DataFrame,
    renewals: pd.DataFrame,
    recoveries: pd.DataFrame,
    *,
    cutoff: pd.Timestamp | None = None,
    renewals_table: Table | None = None,
    clients_table: Table | None = None,
) -> ContractState:
    """Apply annual renewal lines and recovery rows dated on or before `cutoff`, in date order.

    A renewal line for month M matches the contract of its (partner, client,
    product, term) whose end falls in M; a recovery row matches the contract of
    its key active on its date, holding at least the licences it takes off, that
    started on its ``contract_start`` (see `_recovered_contract` for rows written
    without one).  Rows that match nothing, or several different contracts, are
    data errors.
    Events depend on the ones before them, so they run in order, but only the
    few contracts they touch are looked at and written back; renewal lines alone,
    none of them for the key of another, do not, and are applied at once
    (`_renewed_at_once`: a month's 250,000 lines at 12 x SPEC §6).
    """
    # pandas copies on write: a shallow copy shares the columns this leaves alone (a deep
    # one would copy every column of 1.2 million contracts at 12 x SPEC §6, per call)
    out = contracts.copy(deep=False)
    out["renewals"] = 0
    frame = _event_frame(renewals, recoveries, cutoff)
    if not len(frame):
        return ContractState(out, [])
    last = pd.Timestamp(frame["when"].iloc[-1]) if cutoff is None else None
    at_once = _renewed_at_once(out, frame, renewals_table)
    if at_once is not None:
        return ContractState(at_once[0], at_once[1], last)
    errors: list[DataError] = []
    events = _events(frame)

    annual = out[out["kind"] == ANNUAL]
    clients = {e[2][1] for e in events}
    touched = annual[annual["client"].isin(clients).fillna(False).to_numpy(dtype=bool)]
    by_key: dict[Key, list[object]] = {}
    for idx, key in zip(
        touched.index,
        zip(*(touched[k] for k in _KEY), strict=True),
        strict=True,
    ):
        by_key.setdefault(key, []).append(idx)
    end = touched["end"].to_dict()
    start = touched["start"].to_dict()
    licences = touched["licences"].to_dict()
    used = touched["devices_used"].to_dict()
    rows = touched[ROW].to_dict()
    years = touched["years"].to_dict()
    count = dict.fromkeys(touched.index, 0)
    month_ends: dict[pd.Timestamp, pd.Timestamp] = {}  # offsets are slow to build and add
    terms: dict[int, pd.DateOffset] = {}

    for when, kind, key, qty, row, detail in events:
        candidates = by_key.get(key, [])
        if kind == "renewal":
            month_end = month_ends.get(when)
            if month_end is None:
                month_end = month_ends[when] = when + pd.offsets.MonthBegin(1)
            hits = [i for i in candidates if pd.notna(end[i]) and when <= end[i] < month_end]
            if not hits:
                if renewals_table is not None:
                    errors.append(
                        renewals_table.error(
                            row,
                            None,
                            f"renewal line matches no contract of {_key(key)} ending in "
                            f"{when:%Y-%m}",
                        )
                    )
                continue
            left = qty
            for i in hits:
                take = min(left, int(licences[i]) if pd.notna(licences[i]) else 0)
                left -= take
                if take:  # an unrenewed contract simply ends
                    licences[i] = take
                    n = int(years[i])
                    if n not in terms:
                        terms[n] = pd.DateOffset(years=n)
                    end[i] = end[i] + terms[n]
                    count[i] += 1
        else:
            hits = [
                i
                for i in candidates
                if pd.notna(end[i])
                and start[i] <= when < end[i]
                and pd.notna(licences[i])
                and licences[i] >= qty
            ]
            target, problem = _recovered_contract(hits, qty, detail, start, end, licences, used)
            if target is None:
                if clients_table is not None:
                    what = _key(key)
                    if problem == "none":
                        since = detail[0]
                        if pd.notna(since):
                            what += f" started {since:%Y-%m-%d}"
                        message = (
                            f"recovery of {qty} matches no active contract of {what} "
                            f"holding that many licences on {when:%Y-%m-%d}"
                        )
                        errors.append(clients_table.error(row, "licences", message))
                    else:
                        listed = ", ".join(str(rows[i]) for i in hits)
                        message = (
                            f"recovery of {qty} could reduce any of the contracts of {what} "
                            f"at rows {listed}; fill contract_start with the start of the "
                            "contract it reduces"
                        )
                        errors.append(clients_table.error(row, "contract_start", message))
                continue
            licences[target] = int(licences[target]) - qty
            if licences[target] == 0:  # a total recovery: the client no longer holds it
                end[target] = when

    out["end"] = out["end"].astype("datetime64[ns]")
    out["licences"] = out["licences"].astype("Int64")
    if len(touched):
        at = list(touched.index)
        out.loc[at, "end"] = pd.Series(end, dtype="datetime64[ns]").reindex(at)
        out.loc[at, "licences"] = pd.Series(licences, dtype="Int64").reindex(at)
        out.loc[at, "renewals"] = pd.Series(count, dtype="int64").reindex(at)
    return ContractState(out, errors, events[-1][0] if cutoff is None else None)


Detail = tuple[pd.Timestamp, pd.Timestamp, int | None]  # contract_start, end, devices_used
Event = tuple[pd.Timestamp, str, Key, int, int, Detail]


def _recovered_contract(
    hits: list[object],
    qty: int,
    detail: Detail,
    start: dict[Any, pd.Timestamp],
    end: dict[Any, pd.Timestamp],
    licences: dict[Any, Any],
    used: dict[Any, Any],
) -> tuple[object | None, str]:
    """The one contract among `hits` (active, same key, enough licences) a recovery reduces.

    ``contract_start`` (written since issue 10) must match.  A row without it (written
    before) is resolved by what it recorded: the contract's end, its licences
    (taken off + devices_used) and its devices_used, each used only when it leaves a
    candidate.  Contracts left that agree on end, licences and devices_used are
    interchangeable (the first in sheet order); contracts that differ are ambiguous.
    Returns (index, "") or (None, "none" | "ambiguous").
    """
    since, rec_end, rec_used = detail
    if pd.notna(since):
        hits = [i for i in hits if start[i] == since]
    narrowing = [lambda i: end[i] == rec_end] if pd.notna(rec_end) else []
    if rec_used is not None:
        narrowing += [
            lambda i: pd.notna(licences[i]) and licences[i] == qty + rec_used,
            lambda i: pd.notna(used[i]) and used[i] == rec_used,
        ]
    for keep in narrowing:
        narrowed = [i for i in hits if keep(i)]
        if narrowed:
            hits = narrowed
    if not hits:
        return None, "none"
    alike = {(end[i], licences[i], None if pd.isna(used[i]) else used[i]) for i in hits}
    if len(alike) > 1:
        return None, "ambiguous"
    return hits[0], ""


def _event_frame(
    renewals: pd.DataFrame, recoveries: pd.DataFrame, cutoff: pd.Timestamp | None
) -> pd.DataFrame:
    """Renewal lines (annual terms) and recovery rows, one row each (when, recovery, qty,
    row, the key, and a recovery's since, rec_end and rec_used), sorted by date,
    renewals before recoveries on one date, then row."""
    lines = renewals[renewals["term"].isin(TERMS) & renewals[MONTH_FIRST].notna()]
    rec = recoveries[(recoveries["type"] == RECOVERY).fillna(False).to_numpy(dtype=bool)]
    rec = rec[rec["start"].notna()]
    frame = pd.DataFrame(
        {
            "when": pd.concat(
                [lines[MONTH_FIRST].astype("datetime64[ns]"), rec["start"]],
                ignore_index=True,
            ),
            "recovery": np.r_[np.zeros(len(lines), bool), np.ones(len(rec), bool)],
            "qty": pd.concat(
                [lines["renewed"].fillna(0), rec["licences"].fillna(0)], ignore_index=True
            ).astype("int64"),
            "row": pd.concat([lines[ROW], rec[ROW]], ignore_index=True).astype("int64"),
        }
    )
    for k in _KEY:
        frame[k] = pd.concat([lines[k], rec[k]], ignore_index=True).astype(object)
    nat = pd.Series(pd.NaT, index=lines.index, dtype="datetime64[ns]")
    for k, column in (("since", "contract_start"), ("rec_end", "end")):
        frame[k] = pd.concat([nat, rec[column].astype("datetime64[ns]")], ignore_index=True)
    frame["rec_used"] = pd.concat(
        [pd.Series(pd.NA, index=lines.index, dtype="Int64"), rec["devices_used"]],
        ignore_index=True,
    ).astype(object)
    keep = frame["when"].notna()
    if cutoff is not None:
        keep &= frame["when"] <= cutoff
    frame = frame[keep.to_numpy(dtype=bool)]
    order = np.lexsort((frame["row"], frame["recovery"], frame["when"]))
    return frame.iloc[order]


def _events(frame: pd.DataFrame) -> list[Event]:
    """`_event_frame`'s rows as (date, kind, key, qty, row, detail), in its order."""
    kinds = np.where(frame["recovery"], "recovery", "renewal").tolist()
    keys = zip(*(frame[k].tolist() for k in _KEY), strict=True)
    return list(
        zip(
            (pd.Timestamp(t) for t in frame["when"].to_numpy()),
            kinds,
            keys,
            frame["qty"].tolist(),
            frame["row"].tolist(),
            zip(
                (pd.Timestamp(t) for t in frame["since"].to_numpy()),
                (pd.Timestamp(t) for t in frame["rec_end"].to_numpy()),
                [None if pd.isna(u) else int(u) for u in frame["rec_used"].tolist()],
                strict=True,
            ),
            strict=True,
        )
    )


def _renewed_at_once(
    out: pd.DataFrame, frame: pd.DataFrame, renewals_table: Table | None
) -> tuple[pd.DataFrame, list[DataError]] | None:
    """`apply_events`'s result when the events are renewal lines alone, each for a key
    (partner, client, product, term) no other line has, so that none changes what
    another finds: every line takes the annual contracts of its key ending in its
    month, in contract order, each up to its licences until the line's quantity is
    taken (a running sum), as the ordered pass does.  None when that does not hold
    (a recovery, a key twice, a blank key part, a negative quantity): the pass runs."""
    key = frame[_KEY]
    if frame["recovery"].any() or (frame["qty"] < 0).any() or key.isna().to_numpy().any():
        return None
    if key.duplicated().any():
        return None
    annual = (out["kind"] == ANNUAL).fillna(False).to_numpy(dtype=bool)
    near = np.flatnonzero(annual & isin(out["client"], key["client"]))
    # each contract's line: one id per key (`account_ids`), looked up once
    parts = []
    for k in _KEY:
        both = np.concatenate([key[k].to_numpy(dtype=object), out[k].to_numpy(dtype=object)[near]])
        parts.append(pd.factorize(both)[0] + 1)  # a blank part is 0, which no line has
    codes = account_ids(parts)
    line = pd.Index(codes[: len(frame)]).get_indexer(pd.Index(codes[len(frame) :]))
    found = line >= 0
    near, line = near[found], line[found]
    when = frame["when"].to_numpy()
    end = out["end"].to_numpy(dtype="datetime64[ns]")
    month_end = (frame["when"] + pd.offsets.MonthBegin(1)).to_numpy()
    ending = ~np.isnat(end[near]) & (when[line] <= end[near]) & (end[near] < month_end[line])
    near, line = near[ending], line[ending]
    licences = out["licences"].astype("Int64")
    counts = licences.fillna(0).to_numpy(np.int64, copy=True)
    have = counts[near]
    if (have < 0).any():
        return None
    order = np.lexsort((near, line))  # each line's contracts, in contract order
    near, line, have = near[order], line[order], have[order]
    total = np.cumsum(have)
    first = np.r_[True, line[1:] != line[:-1]][: len(line)]
    before = (
        total
        - have
        - np.repeat((total - have)[first], np.diff(np.r_[np.flatnonzero(first), len(line)]))
    )
    qty = frame["qty"].to_numpy()[line]
    take = np.minimum(np.maximum(qty - before, 0), have)
    renewed = near[take != 0]
    counts[renewed] = take[take != 0]
    blank = licences.isna().to_numpy(bool, copy=True)
    blank[renewed] = False
    new_end = out["end"].astype("datetime64[ns]").to_numpy().copy()
    years = out["years"].to_numpy(dtype=object)[renewed]
    if pd.isna(years).any():
        return None
    for n in pd.unique(years):
        these = renewed[years == n]
        new_end[these] = (pd.Series(new_end[these]) + pd.DateOffset(years=int(n))).to_numpy()
    count = np.zeros(len(out), dtype=np.int64)
    count[renewed] = 1
    out["end"] = pd.Series(new_end, index=out.index, dtype="datetime64[ns]")
    out["licences"] = pd.Series(pd.arrays.IntegerArray(counts, blank), index=out.index)
    out["renewals"] = pd.Series(count, index=out.index)
    errors = []
    if renewals_table is not None:
        unmatched = np.ones(len(frame), dtype=bool)
        unmatched[line] = False
        for i in np.flatnonzero(unmatched):
            at = frame.iloc[i]
            errors.append(
                renewals_table.error(
                    int(at["row"]),
                    None,
                    f"renewal line matches no contract of {_key(tuple(at[_KEY]))} ending in "
                    f"{pd.Timestamp(at['when']):%Y-%m}",
                )
            )
    return out, errors


def _key(key: tuple[str, str, str, str]) -> str:
    partner, client, product, term = key
    return f"client {client} / {product} / term {term} (partner {partner})"


def active_mask(contracts: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """start <= as_of < end; a monthly contract with no end runs until cancelled."""
    open_ended = contracts["end"].isna() & (contracts["kind"] == MONTHLY)
    return (contracts["start"] <= as_of) & ((as_of < contracts["end"]) | open_ended)
