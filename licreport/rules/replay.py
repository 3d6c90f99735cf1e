"""Replay (R7): every movement of every balance in date order, and balances at a date.

Three kinds of balance ("accounts"), each per partner:
- ``annual``  per (product, term): + Pool purchases and recoveries;
  − annual assignments (Clients, on ``start``) and annual renewal lines (on the 1st);
- ``monthly`` per product: + licences obtained by exchanges;
  − a monthly contract's prorated licences on its start (R1), − monthly renewal lines;
- ``points``: + credits, − exchanges.

On one date inflows come before outflows, then sheet order, then row order.  The
first movement that takes an account below zero is a data error naming its row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from licreport.errors import DataError
from licreport.ledger.model import Ledger
from licreport.ledger.schema import CREDIT, EXCHANGE, MONTH_FIRST, MONTHLY, PURCHASE, ROW, TERMS
from licreport.rules.contracts import ANNUAL
from licreport.rules.keys import account_ids, factorize, labels, lexsort, sort_key
from licreport.rules.proration import prorated_licences

MOVEMENT_COLUMNS = [
    "account", "partner", "product", "term", "date", "delta", "category",
    "sheet", "row", "column",
]  # fmt: skip
SHEET_ORDER = {"Pool": 0, "Exchanges": 1, "Clients": 2, "Renewals": 3}
INFLOWS = ("bought", "recovered", "obtained", "credited")


def priced_exchanges(ledger: Ledger) -> tuple[pd.DataFrame, list[DataError]]:
    """Exchanges with ``licences``/``points`` filled from R1 or the full price, and checked.

    An exchange gives ``devices`` (prorated by its date) or ``licences`` (whole
    licences at full price); a filled ``licences``/``points`` must agree.
    """
    table = ledger.table("Exchanges")
    ex = table.frame.copy(deep=False)  # copy on write: the columns set below are new
    errors: list[DataError] = []
    catalogue = ledger["Products"].drop_duplicates("product").set_index("product")
    ppl = ex["product"].map(catalogue["points_per_licence"]).astype("Int64")
    is_ex = ex["type"] == EXCHANGE
    has_devices = ex["devices"].notna()
    computed = pd.Series(pd.NA, index=ex.index, dtype="Int64")
    # a negative device count is a data error of its own (checks.py), never prorated
    prorate = (is_ex & has_devices & (ex["devices"] >= 0) & ex["date"].notna()).fillna(False)
    if prorate.any():
        computed[prorate] = prorated_licences(
            ex.loc[prorate, "date"], ex.loc[prorate, "devices"].astype("int64")
        ).to_numpy()
    disagree = (prorate & ex["licences"].notna() & (ex["licences"] != computed)).fillna(False)
    for r in ex[disagree].assign(need=computed[disagree]).to_dict("records"):
        errors.append(
            table.error(
                int(r[ROW]),
                "licences",
                f"{r['licences']} licences given, but {r['devices']} devices on "
                f"{r['date']:%Y-%m-%d} need {r['need']} (rule R1 in docs/rules.md)",
            )
        )
    licences = computed.where(prorate, ex["licences"])
    neither = is_ex & ~has_devices & ex["licences"].isna()
    errors += table.errors_at(neither, "devices", "an exchange needs devices or licences")
    points = (licences * ppl).astype("Int64")
    bad_points = is_ex & ex["points"].notna() & points.notna() & (ex["points"] != points)
    bad_points = bad_points.fillna(False)
    checked = ex[bad_points].assign(
        computed=points[bad_points], ppl=ppl[bad_points], given=licences[bad_points]
    )
    for r in checked.to_dict("records"):
        errors.append(
            table.error(
                int(r[ROW]),
                "points",
                f"{r['points']} points given, but {r['given']} licences × "
                f"{r['ppl']} points = {r['computed']}",
            )
        )
    ex.loc[is_ex, "licences"] = licences[is_ex]
    ex.loc[is_ex, "points"] = points[is_ex].where(points[is_ex].notna(), ex.loc[is_ex, "points"])
    is_credit = ex["type"] == CREDIT
    errors += table.errors_at(is_credit & ex["points"].isna(), "points", "a credit needs points")
    ex["points_per_licence"] = ppl
    return ex, errors


def _frame(
    account: str,
    rows: pd.DataFrame,
    delta: pd.Series,
    category: object,
    sheet: str,
    column: str,
    date: pd.Series,
    term: pd.Series | str = "",
) -> pd.DataFrame:
    product = rows["product"] if "product" in rows and account != "points" else ""
    return pd.DataFrame(
        {
            "account": account,
            "partner": rows["partner"],
            "product": product,
            "term": term,
            "date": date,
            "delta": delta.astype("int64"),
            "category": category,
            "sheet": sheet,
            "row": rows[ROW].astype("int64"),
            "column": column,
        }
    )


def movements(ledger: Ledger, contracts: pd.DataFrame, exchanges: pd.DataFrame) -> pd.DataFrame:
    """Every movement of every account, unsorted; rows with missing keys are left out
    (they already carry a data error from the reader or the checks)."""
    parts = []
    # only the columns a movement takes are copied by the filters below (the contracts
    # have 20 columns: 1.2 million rows of each at 12 x SPEC §6)
    pool = ledger["Pool"][["partner", "product", "term", "type", "quantity", "date", ROW]]
    pool = pool[pool["quantity"].notna() & pool["date"].notna() & pool["term"].isin(TERMS)]
    parts.append(
        _frame(
            ANNUAL,
            pool,
            pool["quantity"],
            labels([pool["type"].fillna(PURCHASE) == PURCHASE], ["bought"], "recovered"),
            "Pool",
            "quantity",
            pool["date"],
            pool["term"],
        )
    )
    contracts = contracts[["partner", "product", "term", "kind", "licences", "start", ROW]]
    annual = contracts[(contracts["kind"] == ANNUAL) & contracts["licences"].notna()]
    annual = annual[annual["start"].notna()]
    parts.append(
        _frame(
            ANNUAL,
            annual,
            -annual["licences"],
            "assigned",
            "Clients",
            "licences",
            annual["start"],
            annual["term"],
        )
    )
    # a negative count is a data error of its own (checks.py), never prorated
    monthly = contracts[
        ((contracts["kind"] == MONTHLY) & (contracts["licences"] >= 0)).fillna(False)
    ]
    monthly = monthly[monthly["start"].notna()]
    used = prorated_licences(monthly["start"], monthly["licences"].astype("int64"))
    parts.append(
        _frame(MONTHLY, monthly, -used, "consumed", "Clients", "licences", monthly["start"])
    )
    lines = ledger["Renewals"]
    lines = lines[lines[MONTH_FIRST].notna() & lines["renewed"].notna()]
    when = lines[MONTH_FIRST]
    is_monthly = lines["term"] == MONTHLY
    ann = lines[lines["term"].isin(TERMS)]
    parts.append(
        _frame(
            ANNUAL,
            ann,
            -ann["renewed"],
            "renewed",
            "Renewals",
            "renewed",
            when[ann.index],
            ann["term"],
        )
    )
    mon = lines[is_monthly]
    parts.append(
        _frame(MONTHLY, mon, -mon["renewed"], "consumed", "Renewals", "renewed", when[mon.index])
    )
    ex = exchanges[exchanges["date"].notna()]
    obtained = ex[(ex["type"] == EXCHANGE) & ex["licences"].notna() & ex["product"].notna()]
    parts.append(
        _frame(
            MONTHLY,
            obtained,
            obtained["licences"],
            "obtained",
            "Exchanges",
            "licences",
            obtained["date"],
        )
    )
    spent = ex[(ex["type"] == EXCHANGE) & ex["points"].notna()]
    parts.append(
        _frame("points", spent, -spent["points"], "exchanged", "Exchanges", "points", spent["date"])
    )
    credits = ex[(ex["type"] == CREDIT) & ex["points"].notna()]
    parts.append(
        _frame(
            "points", credits, credits["points"], "credited", "Exchanges", "points", credits["date"]
        )
    )
    parts = [p for p in parts if len(p)]
    if not parts:
        moves = pd.DataFrame({c: pd.Series(dtype="object") for c in MOVEMENT_COLUMNS})
        moves["delta"] = moves["delta"].astype("int64")
        moves["date"] = moves["date"].astype("datetime64[ns]")
        return moves
    moves = pd.concat(parts, ignore_index=True)
    moves = moves[moves["partner"].notna()]
    for col in ("product", "term"):
        moves[col] = moves[col].fillna("").astype(str)
    moves["partner"] = moves["partner"].astype(str)
    return moves


ACCOUNT_KEYS = ["account", "partner", "product", "term"]
ACCOUNT_ID = "_account"  # ordered movements: one integer per account, in the keys' order


@dataclass(frozen=True)
class Ordering:
    """Where each movement goes in replay order (`order`), and for the movements in that
    order their account's id and running balance (None: a delta that is not int64)."""

    order: np.ndarray
    ids: np.ndarray
    balance: np.ndarray | None


def ordering(moves: pd.DataFrame) -> Ordering:
    """The replay order of `moves`: a stable sort on account, partner, product, term,
    date, inflows first, sheet and row (blanks last), taken with one `lexsort` of
    integer keys (each text key factorised once in sorted order), and the running
    balance as a cumsum per run of one account (an account's rows are contiguous once
    sorted).  Arrays only: a forked process can make them and hand them back cheaply."""
    n = len(moves)
    keys = [sort_key(moves[c]) for c in ACCOUNT_KEYS]
    account = account_ids(keys)
    when = sort_key(moves["date"])
    # a few categories and sheets: each looked up once
    codes, names = factorize(moves["category"])
    out = np.array([c not in INFLOWS for c in names] + [True], dtype=np.int64)[codes]
    codes, names = factorize(moves["sheet"])
    last = len(SHEET_ORDER)  # blank or unknown: last, as a NaN sorts
    sheet = np.array([SHEET_ORDER.get(s, last) for s in names] + [last], dtype=np.int64)[codes]
    row = sort_key(moves["row"])
    order = lexsort((row, sheet, out, when, account)) if n else np.zeros(0, dtype=np.intp)
    ids = account[order]
    delta = moves["delta"]
    if not (n and delta.dtype == np.int64):
        return Ordering(order, ids, None)
    total = np.cumsum(delta.to_numpy()[order])
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    before = np.repeat(np.r_[0, total[starts[1:] - 1]], np.diff(np.r_[starts, n]))
    return Ordering(order, ids, total - before)


def ordered(moves: pd.DataFrame, made: Ordering | None = None) -> pd.DataFrame:
    """Movements in replay order with the running balance of their account (`ordering`,
    or `made`: `ordering(moves)` made elsewhere)."""
    made = ordering(moves) if made is None else made
    m = moves.take(made.order)
    m[ACCOUNT_ID] = made.ids
    if made.balance is not None:
        m["balance"] = made.balance
    else:
        m["balance"] = m["delta"].groupby(made.ids, sort=False).cumsum().array
    return m


ACCOUNT_LABEL = {ANNUAL: "pool", MONTHLY: "monthly pool", "points": "points balance"}


def negative_balances(ordered_moves: pd.DataFrame, ledger: Ledger) -> list[DataError]:
    """R7: the first movement that takes each account below zero."""
    neg = ordered_moves[ordered_moves["balance"] < 0]
    first = neg.groupby(["account", "partner", "product", "term"], sort=False).head(1)
    errors = []
    for r in first.to_dict("records"):
        what = ACCOUNT_LABEL[r["account"]]
        subject = {
            ANNUAL: f"{r['product']} {r['term']}-year {what}",
            MONTHLY: f"{r['product']} {what}",
            "points": what,
        }[r["account"]]
        errors.append(
            ledger.table(r["sheet"]).error(
                int(r["row"]),
                r["column"],
                f"partner {r['partner']}: this takes the {subject} to {r['balance']} on "
                f"{r['date']:%Y-%m-%d} (balances never go negative)",
            )
        )
    return errors


@dataclass(frozen=True)
class Balances:
    """Balances of every account as they stand after every movement up to a date."""

    annual: pd.DataFrame  # partner, product, term, available
    monthly: pd.DataFrame  # partner, product, available
    points: pd.DataFrame  # partner, available


def balances(moves: pd.DataFrame, at: pd.Timestamp | None = None) -> Balances:
    m = moves if at is None else moves[(moves["date"] <= at).to_numpy(dtype=bool)]
    if ACCOUNT_ID in m and m["delta"].dtype == np.int64 and len(m):
        # `ordered` movements: each account's rows together, accounts in key order, so
        # the groupby below is a sum per run of one account id
        ids = m[ACCOUNT_ID].to_numpy()
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        totals = m[ACCOUNT_KEYS].iloc[starts].reset_index(drop=True)
        totals["available"] = np.add.reduceat(m["delta"].to_numpy(), starts)
    else:
        totals = m.groupby(ACCOUNT_KEYS, sort=True)["delta"].sum().rename("available").reset_index()
    by = {k: g.drop(columns="account") for k, g in totals.groupby("account")}
    empty = pd.DataFrame(
        {c: pd.Series(dtype="object") for c in ("partner", "product", "term")}
        | {"available": pd.Series(dtype="int64")}
    )
    annual = by.get(ANNUAL, empty).reset_index(drop=True)
    monthly = by.get(MONTHLY, empty).drop(columns="term").reset_index(drop=True)
    points = by.get("points", empty).drop(columns=["term", "product"]).reset_index(drop=True)
    for f in (annual, monthly, points):
        f["available"] = f["available"].astype("int64")
    return Balances(annual, monthly, points)
