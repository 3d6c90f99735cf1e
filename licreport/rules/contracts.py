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

import numpy as np
import pandas as pd

from licreport.errors import DataError
from licreport.ledger.model import Table
from licreport.ledger.schema import ASSIGN, MONTHLY, RECOVERY, ROW, TERMS, TRIAL
from licreport.rules.dates import add_years

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
    c["kind"] = np.where(term == MONTHLY, MONTHLY, np.where(term == TRIAL, TRIAL, ANNUAL))
    c.loc[term.isna(), "kind"] = pd.NA
    c["years"] = pd.to_numeric(term.where(term.isin(TERMS)), errors="coerce").astype("Int64")
    c["licences"] = rows["licences"]
    c["devices_used"] = rows["devices_used"]
    main = rows["product"].map(catalogue["main_product"])
    c["family"] = rows["product"].map(catalogue["family"]).where(main.isna(), rows["product"])
    c["points_per_licence"] = rows["product"].map(catalogue["points_per_licence"]).astype("Int64")
    trial_days = rows["product"].map(catalogue["trial_days"]).astype("Int64")
    computed = add_years(rows["start"], c["years"])
    is_trial = c["kind"] == TRIAL
    trial_end = rows["start"] + pd.to_timedelta(trial_days.astype("float64"), unit="D")
    computed = computed.where(~is_trial, trial_end)
    c["end"] = rows["end"].where(rows["end"].notna(), computed)
    default_renew = c["kind"] == MONTHLY
    c["auto_renew"] = rows["auto_renew"].fillna(default_renew).astype("boolean")
    return c


@dataclass(frozen=True)
class ContractState:
    """Contracts after the renewal lines and recoveries dated up to a cutoff."""

    contracts: pd.DataFrame
    errors: list[DataError]


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
    its key active on its date.  Rows that match nothing are data errors.
    """
    out = contracts.copy()
    out["renewals"] = 0
    errors: list[DataError] = []
    events = _events(renewals, recoveries, cutoff)
    if not events:
        return ContractState(out, errors)

    annual = out[out["kind"] == ANNUAL]
    by_key: dict[tuple[str, str, str, str], list[object]] = {}
    for idx, key in zip(
        annual.index,
        zip(annual["partner"], annual["client"], annual["product"], annual["term"], strict=True),
        strict=True,
    ):
        by_key.setdefault(key, []).append(idx)
    end = out["end"].to_dict()
    start = out["start"].to_dict()
    licences = out["licences"].to_dict()
    years = out["years"].to_dict()
    count = dict.fromkeys(out.index, 0)

    for when, kind, key, qty, row in events:
        candidates = by_key.get(key, [])
        if kind == "renewal":
            month_end = when + pd.offsets.MonthBegin(1)
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
                    end[i] = end[i] + pd.DateOffset(years=int(years[i]))
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
            if not hits:
                if clients_table is not None:
                    errors.append(
                        clients_table.error(
                            row,
                            "licences",
                            f"recovery of {qty} matches no active contract of "
                            f"{_key(key)} holding that many licences on {when:%Y-%m-%d}",
                        )
                    )
                continue
            licences[hits[0]] = int(licences[hits[0]]) - qty

    out["end"] = pd.Series(end, dtype="datetime64[ns]")
    out["licences"] = pd.Series(licences, dtype="Int64")
    out["renewals"] = pd.Series(count, dtype="int64")
    return ContractState(out, errors)


def _events(
    renewals: pd.DataFrame, recoveries: pd.DataFrame, cutoff: pd.Timestamp | None
) -> list[tuple[pd.Timestamp, str, tuple[str, str, str, str], int, int]]:
    """Renewal lines (annual terms) and recovery rows as (date, kind, key, qty, row), sorted."""
    events = []
    lines = renewals[renewals["term"].isin(TERMS) & renewals["month"].notna()]
    for month, p, c, prod, t, renewed, row in zip(
        lines["month"],
        lines["partner"],
        lines["client"],
        lines["product"],
        lines["term"],
        lines["renewed"].fillna(0),
        lines[ROW],
        strict=True,
    ):
        try:
            when = pd.Timestamp(f"{month}-01")
        except ValueError:
            continue
        events.append((when, "renewal", (p, c, prod, t), int(renewed), int(row)))
    rec = recoveries[recoveries["type"] == RECOVERY]
    for when, p, c, prod, t, qty, row in zip(
        rec["start"],
        rec["partner"],
        rec["client"],
        rec["product"],
        rec["term"],
        rec["licences"].fillna(0),
        rec[ROW],
        strict=True,
    ):
        if pd.isna(when):
            continue
        events.append((when, "recovery", (p, c, prod, t), int(qty), int(row)))
    if cutoff is not None:
        events = [e for e in events if e[0] <= cutoff]
    events.sort(key=lambda e: (e[0], e[1] == "recovery", e[4]))
    return events


def _key(key: tuple[str, str, str, str]) -> str:
    partner, client, product, term = key
    return f"client {client} / {product} / term {term} (partner {partner})"


def active_mask(contracts: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """start <= as_of < end; a monthly contract with no end runs until cancelled."""
    open_ended = contracts["end"].isna() & (contracts["kind"] == MONTHLY)
    return (contracts["start"] <= as_of) & ((as_of < contracts["end"]) | open_ended)
