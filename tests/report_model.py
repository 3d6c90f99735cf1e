"""Hand-written status/renew documents turned into the status model the report renders.

The report's numbers come from `rules.status` (one status model); tests that write
their inputs as small JSON-like documents build that model's frames from them here,
so every total they assert is the production aggregation's.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from licreport.outputs import jsonout
from licreport.rules import status as status_rules
from licreport.rules.outlook import (
    BUY_COLUMNS,
    POINTS_COLUMNS,
    RISK_COLUMNS,
    ROW_COLUMNS,
    TRIAL_COLUMNS,
    WORK_COLUMNS,
    Outlook,
    latest_prices,
)
from licreport.rules.pricing import SUMMARY_COLUMNS
from licreport.rules.recovery import CANDIDATE_COLUMNS
from tests.factory import make_table


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for c in columns:
        if frame[c].dtype == object and frame[c].map(lambda v: isinstance(v, int)).all():
            frame[c] = frame[c].astype("int64") if len(frame) else frame[c]
    return frame


def _tagged(status: dict[str, Any], key: str, columns: list[str]) -> pd.DataFrame:
    rows = [{"partner": p["partner"], **x} for p in status["partners"] for x in p.get(key) or []]
    frame = _frame(rows, ["partner", *columns])
    if "term" in frame:
        frame["term"] = frame["term"].astype(str)
    return frame


def view_from(status: dict[str, Any], pipeline: list[dict[str, Any]]) -> status_rules.StatusView:
    """A StatusView holding what the documents say (no outlook: nothing due, nothing short)."""
    info = _frame(
        [
            {
                "partner": p["partner"],
                "name": p.get("name"),
                "provider": p.get("provider"),
                "currency": "EUR",
            }
            for p in status["partners"]
        ],
        ["partner", "name", "provider", "currency"],
    )
    expiring = _tagged(
        status, "expiring", ["client", "product", "term", "licences", "end", "days_left"]
    )
    expiring["end"] = pd.to_datetime(expiring["end"])
    expiring["client_name"] = None
    recoverable = _tagged(status, "recoverable", ["client", "product", "term", "recoverable"])
    for c in CANDIDATE_COLUMNS:
        if c not in recoverable:
            recoverable[c] = None
    forecast = _tagged(
        status, "forecast", ["product", "devices_due", "available", "shortfall", "points_needed"]
    )
    forecast["points_balance_after"] = 0
    empty = {
        cols: pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        for cols in map(tuple, (ROW_COLUMNS, RISK_COLUMNS, BUY_COLUMNS, WORK_COLUMNS,
                                TRIAL_COLUMNS, SUMMARY_COLUMNS))
    }  # fmt: skip
    points = _frame(
        [{"partner": p["partner"], "points_needed": 0, "points_balance": 0, "points_to_buy": 0}
         for p in status["partners"]],
        POINTS_COLUMNS,
    )  # fmt: skip
    trials = status["partners"][0]["trials"] if status["partners"] else []
    return status_rules.StatusView(
        as_of=pd.Timestamp(status["as_of"]),
        partners=info,
        pool=_tagged(status, "pool", ["product", "term", "available"]),
        monthly_pool=_tagged(status, "monthly_pool", ["product", "available"]),
        points=_frame(
            [
                {"partner": p["partner"], "available": p.get("points_balance", 0)}
                for p in status["partners"]
            ],
            ["partner", "available"],
        ),
        trials=_frame(trials, ["product", "available", "days"]),
        expiring=expiring,
        recoverable=recoverable[CANDIDATE_COLUMNS],
        forecast=forecast,
        contracts=pd.DataFrame(),
        spend=empty[tuple(SUMMARY_COLUMNS)],
        overuse=pd.DataFrame({c: pd.Series(dtype=object) for c in status_rules.OVERUSE_COLUMNS}),
        outlook=Outlook(
            months=[],
            rows=empty[tuple(ROW_COLUMNS)],
            at_risk=empty[tuple(RISK_COLUMNS)],
            buy=empty[tuple(BUY_COLUMNS)],
            points=points,
            worklist=empty[tuple(WORK_COLUMNS)],
            trials=empty[tuple(TRIAL_COLUMNS)],
            prices=latest_prices(make_table("Pool", []).frame),
        ),
    )


def model_inputs(
    status: dict[str, Any],
    renewal: dict[str, Any] | None,
    pipeline: list[dict[str, Any]],
    meta: dict[str, Any],
    history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """render_report's keyword arguments for the documents: the status document as
    `status_json` writes it and the model's totals."""
    view = view_from(status, pipeline)
    lines = exchanged = None
    if renewal is not None:
        lines = _frame(
            [{"partner": p["partner"], **x} for p in renewal["partners"] for x in p["lines"]],
            ["partner", *jsonout.LINE_KEYS],
        )
        lines["term"] = lines["term"].astype(str)
        exchanged = pd.Series(
            {p["partner"]: p["exchanged_points"] for p in renewal["partners"]}, dtype="int64"
        )
    totals = status_rules.report_totals(
        view,
        pipeline_rows=_frame(pipeline, ["partner", "month", "contracts", "licences"]),
        history_rows=_frame(history or [], ["partner", *HISTORY_KEYS]),
        lines=lines,
        exchanged=exchanged,
    )
    doc = jsonout.status_json(view, [p["partner"] for p in status["partners"]])
    return {"status": doc, "renewal": renewal, "totals": totals, "meta": meta}


HISTORY_KEYS = [
    "month", "requested", "renewed", "dropped", "points_renewed", "points_bought",
    "points_credited",
]  # fmt: skip
