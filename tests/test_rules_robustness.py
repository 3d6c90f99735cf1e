"""Cells the reader could not type arrive as blanks: the rules must report, never crash."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licreport.api import status_model
from licreport.ledger.load import load_ledger
from licreport.ledger.model import Ledger
from licreport.ledger.schema import ROW
from licreport.rules.book import replay_ledger
from licreport.rules.renewal import plan_renewals

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "ledger.xlsx"
LEDGER, _ = load_ledger(SAMPLE)
FIRST = pd.Timestamp("2026-12-01")
CELLS = [
    (name, col)
    for name in ("Partners", "Products", "Pool", "Clients", "Exchanges")
    for col in LEDGER[name].columns
    if col != ROW
]


def _blank(ledger: Ledger, holes: list[tuple[int, int]]) -> Ledger:
    tables = dict(ledger.tables)
    for which, row in holes:
        name, col = CELLS[which % len(CELLS)]
        t = tables[name]
        frame = t.frame.copy()
        frame.loc[frame.index[row % len(frame)], col] = None
        tables[name] = type(t)(**{**t.__dict__, "frame": frame})
    return Ledger(ledger.path, ledger.kind, ledger.sha256, tables)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(holes=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)), max_size=12))
def test_blank_cells_anywhere_never_crash_the_rules(holes: list[tuple[int, int]]) -> None:
    book = replay_ledger(_blank(LEDGER, holes))
    plan_renewals(book.contracts_at(FIRST), book.balances(FIRST), month="2026-12", run="r")
    status_model(book, FIRST)
    for e in book.errors:
        assert e.file == "ledger.xlsx" and e.message
