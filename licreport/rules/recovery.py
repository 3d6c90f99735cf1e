"""Recovery (R4): unused licences of active annual contracts that can go back to the pool.

``recoverable = min(L − U, floor((L − U) × D / T))`` with L licences, U devices
used, D = end − as_of days left and T = 365 × years; U blank = nothing known,
nothing recovered; trials and monthly licences never.
"""

from __future__ import annotations

import pandas as pd

from licreport.ledger.schema import RECOVERY
from licreport.rules.contracts import ANNUAL, active_mask
from licreport.rules.keys import sort_rows

CANDIDATE_COLUMNS = [
    "partner", "client", "client_name", "product", "term", "licences", "devices_used",
    "days_left", "recoverable", "end", "start",
]  # fmt: skip


def recoverable(contracts: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every contract with something to recover on `as_of` (recoverable ≥ 1)."""
    c = contracts[
        (contracts["kind"] == ANNUAL)
        & active_mask(contracts, as_of)
        & contracts["devices_used"].notna()
        & contracts["licences"].notna()
    ]
    unused = (c["licences"] - c["devices_used"]).astype("int64")
    days_left = (c["end"] - as_of).dt.days.astype("int64")
    term_days = 365 * c["years"].astype("int64")
    # exact integer floor of unused × D / T
    prorated = (unused * days_left) // term_days
    out = c.assign(
        days_left=days_left,
        recoverable=prorated.clip(upper=unused).clip(lower=0).astype("int64"),
    )
    out = out[(unused > 0) & (out["recoverable"] > 0)]
    out["devices_used"] = out["devices_used"].astype("int64")
    out["licences"] = out["licences"].astype("int64")
    return sort_rows(out[CANDIDATE_COLUMNS], ["partner", "client", "product", "term"])


def recovery_rows(
    candidates: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Pool and Clients rows that record applying `candidates` (one recovery id each).

    Pool gets the licences returned (``recoverable``); Clients the licences taken
    off the contract (L − U), dated `as_of` in ``start``, with the contract's end,
    and the contract's own start in ``contract_start``: with its key (partner,
    client, product, term) that names the one contract the recovery reduces.
    """
    ids = [f"REC-{as_of:%Y%m%d}-{n:04d}" for n in range(1, len(candidates) + 1)]
    c = candidates.reset_index(drop=True)
    pool = pd.DataFrame(
        {
            "date": pd.Series(as_of, index=c.index, dtype="datetime64[ns]"),
            "partner": c["partner"],
            "order": ids,
            "product": c["product"],
            "term": c["term"],
            "quantity": c["recoverable"].astype("Int64"),
            "type": RECOVERY,
            "note": [f"recovered from client {x}" for x in c["client"]],
        }
    )
    clients = pd.DataFrame(
        {
            "partner": c["partner"],
            "client": c["client"],
            "client_name": c["client_name"],
            "product": c["product"],
            "term": c["term"],
            "licences": (c["licences"] - c["devices_used"]).astype("Int64"),
            "start": pd.Series(as_of, index=c.index, dtype="datetime64[ns]"),
            "end": c["end"],
            "devices_used": c["devices_used"].astype("Int64"),
            "type": RECOVERY,
            "ref": ids,
            "contract_start": c["start"].astype("datetime64[ns]"),
        }
    )
    return pool, clients
