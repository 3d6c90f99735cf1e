"""Eligibility and consistency checks (R6): data errors, one per offending row."""

from __future__ import annotations

import numpy as np
import pandas as pd
from babel.numbers import list_currencies

from licreport.errors import DataError
from licreport.ledger.model import Ledger, Table
from licreport.ledger.schema import (
    ASSIGN,
    CREDIT,
    EXCHANGE,
    MAX_TRIAL_DAYS,
    MONTHLY,
    PANDA,
    ROW,
    TRIAL,
    WATCHGUARD,
)
from licreport.rules.contracts import ANNUAL
from licreport.rules.keys import sort_key, sorted_groups


def check_ledger(ledger: Ledger, contracts: pd.DataFrame) -> list[DataError]:
    """Every R6 rule and every reference between sheets, over whole columns."""
    return check_sheets(ledger) + check_contracts(ledger, contracts)


def check_contracts(ledger: Ledger, contracts: pd.DataFrame) -> list[DataError]:
    """The rules on contracts as renewal lines and recoveries leave them (one product
    per family at a time)."""
    return _family_overlaps(ledger.table("Clients"), contracts)


def check_sheets(ledger: Ledger) -> list[DataError]:
    """Every other rule: each sheet's rows and the references between sheets, which need
    no contract (so a second process can check them while the contracts are made)."""
    errors: list[DataError] = []
    partners = ledger.table("Partners")
    products = ledger.table("Products")
    errors += _duplicates(partners, "partner")
    errors += _currency_checks(partners)
    errors += _duplicates(products, "product")
    days = products.frame["trial_days"]
    errors += products.errors_at(
        (days < 0) | (days > MAX_TRIAL_DAYS),
        "trial_days",
        f"a trial lasts 0 to {MAX_TRIAL_DAYS} days (blank: no trial)",
    )
    provider = partners.frame.drop_duplicates("partner").set_index("partner")["provider"]
    catalogue = products.frame.drop_duplicates("product").set_index("product")
    known = set(catalogue.index.dropna())

    for name in ("Pool", "Clients", "Exchanges", "Renewals"):
        t = ledger.table(name)
        f = t.frame
        errors += t.errors_at(
            f["partner"].notna() & ~f["partner"].isin(provider.index),
            "partner",
            "unknown partner (not in Partners)",
        )
        errors += t.errors_at(
            f["product"].notna() & ~f["product"].isin(known),
            "product",
            "unknown product (not in Products)",
        )
        prov = f["partner"].map(provider)
        if "term" in f:
            errors += t.errors_at(
                (f["term"] == "2") & (prov == WATCHGUARD),
                "term",
                "2-year licences are for Panda Security partners only",
            )
        if name == "Exchanges":
            errors += t.errors_at(
                f["type"].isin((CREDIT, EXCHANGE)) & (prov == PANDA),
                "type",
                "MSSP Points are for WatchGuard partners only",
            )
        if name == "Clients":
            errors += t.errors_at(
                (f["term"] == MONTHLY) & (prov == PANDA),
                "term",
                "monthly licences (MSSP) are for WatchGuard partners only",
            )

    errors += _pool_checks(ledger.table("Pool"))
    errors += _exchange_checks(ledger.table("Exchanges"), catalogue)
    errors += _client_checks(ledger.table("Clients"), catalogue)
    errors += _discount_checks(ledger.table("Discounts"))
    return errors


def _currency_checks(t: Table) -> list[DataError]:
    """Partners `currency`: blank (EUR) or an ISO 4217 code, in any case (SPEC §7), as
    the currency data of Babel (CLDR) lists them: money is never shown in a made-up unit."""
    f = t.frame
    if "currency" not in f:
        return []
    code = f["currency"].astype("string").str.strip().str.upper()
    bad = code.notna() & (code != "") & ~code.isin(sorted(list_currencies()))
    return [
        t.error(int(row), "currency", f'"{value}" is not an ISO 4217 currency code (e.g. EUR, GBP)')
        for row, value in zip(f.loc[bad, ROW], f.loc[bad, "currency"], strict=True)
    ]


def _duplicates(table: Table, column: str) -> list[DataError]:
    f = table.frame
    dup = f[column].notna() & f.duplicated(column, keep="first")
    return table.errors_at(dup, column, f"duplicate {column} id")


def _pool_checks(t: Table) -> list[DataError]:
    f = t.frame
    return t.errors_at(f["quantity"] <= 0, "quantity", "quantity must be at least 1")


def _exchange_checks(t: Table, catalogue: pd.DataFrame) -> list[DataError]:
    f = t.frame
    is_ex = f["type"] == EXCHANGE
    ppl = f["product"].map(catalogue["points_per_licence"])
    errors = t.errors_at(is_ex & f["product"].isna(), "product", "an exchange needs a product")
    errors += t.errors_at(
        is_ex & f["product"].isin(catalogue.index) & ppl.isna(),
        "product",
        "product is not offered monthly (no points_per_licence in Products)",
    )
    for col in ("devices", "licences", "points"):
        errors += t.errors_at(f[col] < 0, col, f"{col} cannot be negative")
    errors += t.errors_at(
        (f["type"] == CREDIT) & (f["points"] == 0), "points", "a credit of 0 points"
    )
    return errors


def _client_checks(t: Table, catalogue: pd.DataFrame) -> list[DataError]:
    f = t.frame
    assign = f["type"].fillna(ASSIGN) == ASSIGN
    errors = t.errors_at(f["licences"] <= 0, "licences", "licences must be at least 1")
    errors += t.errors_at(f["devices_used"] < 0, "devices_used", "cannot be negative")
    # devices_used above licences is over-use: a finding (SPEC §8), not a data error
    errors += t.errors_at(f["end"] <= f["start"], "end", "end is not after start")
    trial = assign & (f["term"] == TRIAL)
    days = f["product"].map(catalogue["trial_days"])
    errors += t.errors_at(
        trial & f["product"].isin(catalogue.index) & (days.isna() | (days <= 0)),
        "term",
        "this product has no trial (no trial_days in Products)",
    )
    # only rows with the trial term can repeat a trial's key (the term is part of it): the
    # duplicate check runs on them, not on every Clients row
    keyed = f[(f["term"] == TRIAL).to_numpy(dtype=bool)]
    repeated = keyed.duplicated(["partner", "client", "product", "term"], keep="first")
    second = trial & repeated.reindex(f.index, fill_value=False)
    errors += t.errors_at(second, "term", "a second trial of this product for this client")
    ppl = f["product"].map(catalogue["points_per_licence"])
    errors += t.errors_at(
        assign & (f["term"] == MONTHLY) & f["product"].isin(catalogue.index) & ppl.isna(),
        "product",
        "product is not offered monthly (no points_per_licence in Products)",
    )
    return errors


def _family_overlaps(t: Table, contracts: pd.DataFrame) -> list[DataError]:
    """Two different products of one family held by one client at the same time (no trials)."""
    c = contracts[(contracts["kind"].isin((ANNUAL, MONTHLY))) & contracts["family"].notna()]
    c = c[c["start"].notna()]
    c = c.assign(_end=c["end"].fillna(pd.Timestamp.max))
    keys = ["partner", "client", "family"]
    c = c[_several_products(c, keys)]
    if c.empty:
        return []
    pairs = c.reset_index().merge(c.reset_index(), on=keys, suffixes=("", "_o"))
    later = (pairs["start"] > pairs["start_o"]) | (
        (pairs["start"] == pairs["start_o"]) & (pairs[ROW] > pairs[f"{ROW}_o"])
    )
    overlap = (pairs["start"] < pairs["_end_o"]) & (pairs["start_o"] < pairs["_end"])
    clash = (pairs["product"] != pairs["product_o"]) & overlap & later
    hits = pairs[clash].drop_duplicates(ROW)
    return [
        t.error(
            int(r[ROW]),
            "product",
            f"client {r['client']} already holds {r['product_o']} of family {r['family']} "
            f"(row {r[f'{ROW}_o']}) at the same time; one product per family unless a trial",
        )
        for _, r in hits.iterrows()
    ]


def _several_products(c: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Rows whose group of `keys` (blanks a value of their own) holds two products or more
    (blank products not counted): ``groupby(keys)["product"].transform("nunique") > 1``,
    from sort keys (the client ids' ranks are known: 0.6 s for that groupby at 12 x SPEC
    §6), as the smallest and largest product code of each group differ."""
    try:
        order, group = sorted_groups(c, keys)
        product = sort_key(c["product"])
    except TypeError:  # keys that do not compare: pandas decides
        nunique = c.groupby(keys, dropna=False, sort=False)["product"].transform("nunique")
        return (nunique > 1).to_numpy(dtype=bool)
    if not len(order):
        return np.zeros(0, dtype=bool)
    blank = c["product"].isna().to_numpy()
    lowest = np.where(blank, np.iinfo(np.int64).max, product)[order]
    highest = np.where(blank, -1, product)[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    several = np.maximum.reduceat(highest, starts) > np.minimum.reduceat(lowest, starts)
    out = np.empty(len(order), dtype=bool)
    out[order] = several[group]
    return out


def _discount_checks(t: Table) -> list[DataError]:
    f = t.frame
    d = f["discount"]
    bad = d.map(lambda x: x is not None and not (0 <= x < 100), na_action="ignore")
    errors = t.errors_at(bad.fillna(False).astype(bool), "discount", "must be from 0 to under 100")
    errors += t.errors_at(f["min_quantity"] < 0, "min_quantity", "cannot be negative")
    errors += t.errors_at(
        f["min_quantity"].notna() & f.duplicated("min_quantity"),
        "min_quantity",
        "two tiers with the same min_quantity",
    )
    return errors
