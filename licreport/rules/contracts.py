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
from licreport.rules.keys import labels

ANNUAL = "annual"


def build_contracts(clients: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """One row per ``assign`` row of Clients, with kind, years, family and the base end."""
    rows = clients[clients["type"].fillna(ASSIGN) == ASSIGN]
    catalogue = products.drop_duplicates("product").set_index("product")
    c = pd.DataFrame(index=rows.index)
    for col in ("partner", "client", "client_name", "product", "term", "priority", "start"):
        c[col] = rows[col]
    c[ROW] = rows[ROW]
    term = rows["term"]
    c["kind"] = labels([term == MONTHLY, term == TRIAL], [MONTHLY, TRIAL], ANNUAL)
    c.loc[term.isna(), "kind"] = pd.NA
    c["years"] = pd.to_numeric(term.where(term.isin(TERMS)), errors="coerce").astype("Int64")
    c["licences"] = rows["licences"]
    c["devices_used"] = rows["devices_used"]
    main = rows["product"].map(catalogue["main_product"])
    c["family"] = rows["product"].map(catalogue["family"]).where(main.isna(), rows["product"])
    c["points_per_licence"] = rows["product"].map(catalogue["points_per_licence"]).astype("Int64")
    trial_days = rows["product"].map(catalogue["trial_days"]).astype("Int64")
    # a trial length out of range is a data error (checks.py): no end, never an overflow
    trial_days = trial_days.where((trial_days >= 0) & (trial_days <= MAX_TRIAL_DAYS))
    computed = add_years(rows["start"], c["years"])
    is_trial = c["kind"] == TRIAL
    trial_end = rows["start"] + pd.to_timedelta(trial_days.astype("float64"), unit="D")
    computed = computed.where(~is_trial, trial_end)
    default_renew = c["kind"] == MONTHLY
    c["auto_renew"] = rows["auto_renew"].fillna(default_renew).astype("boolean")
    # a monthly licence without auto_renew lapses on the next 1st (monthly licences expire then)
    lapses = (c["kind"] == MONTHLY) & ~c["auto_renew"].fillna(True).astype(bool)
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
    few contracts they touch are looked at and written back.
    """
    # pandas copies on write: a shallow copy shares the columns this leaves alone (a deep
    # one would copy every column of 1.2 million contracts at 12 x SPEC §6, per call)
    out = contracts.copy(deep=False)
    out["renewals"] = 0
    errors: list[DataError] = []
    events = _events(renewals, recoveries, cutoff)
    if not events:
        return ContractState(out, errors)

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


def _events(
    renewals: pd.DataFrame, recoveries: pd.DataFrame, cutoff: pd.Timestamp | None
) -> list[Event]:
    """Renewal lines (annual terms) and recovery rows as (date, kind, key, qty, row, detail),
    sorted by date, renewals before recoveries on one date, then row."""
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
    frame = frame.iloc[order]
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


def _key(key: tuple[str, str, str, str]) -> str:
    partner, client, product, term = key
    return f"client {client} / {product} / term {term} (partner {partner})"


def active_mask(contracts: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """start <= as_of < end; a monthly contract with no end runs until cancelled."""
    open_ended = contracts["end"].isna() & (contracts["kind"] == MONTHLY)
    return (contracts["start"] <= as_of) & ((as_of < contracts["end"]) | open_ended)
