"""The month rules of a renewal run (SPEC §4 idempotency, §9 catch-up): pure, no I/O.

A month is applied *per partner*: its Renewals rows (typed month ``MONTH_FIRST``,
the 1st of the month) say which partners a run already renewed.  From the book
as replayed these functions say what a run of one month has left to do
(`plan_month`), what ``--redo`` removes (`redo_selection`), what an applied
month looked like (`applied_month`), which month before it was skipped
(`skipped_month`) and which months a ``--catch-up`` runs first
(`catch_up_months`).  Rendering (JSON, text) is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from licreport.errors import DataError
from licreport.ledger.model import Ledger
from licreport.ledger.schema import MONTH_FIRST, ROW
from licreport.rules.book import Book, replay_ledger
from licreport.rules.renewal import RenewalPlan, due_monthly, plan_renewals
from licreport.rules.replay import Balances


def month_text(first: pd.Timestamp) -> str:
    """The 1st of a month as ``YYYY-MM`` (the text of ``--month`` and Renewals.month)."""
    return f"{first.year:04d}-{first.month:02d}"


def recorded(renewals: pd.DataFrame, first: pd.Timestamp) -> pd.DataFrame:
    """The Renewals rows of the month starting on `first`."""
    return renewals[(renewals[MONTH_FIRST] == first).fillna(False).astype(bool)]


def partners_to_run(recorded_lines: pd.DataFrame, partners: list[str]) -> list[str]:
    """Idempotency per partner: the partners (in `partners` order) with no recorded line
    for the month, e.g. those a ``--partner`` run left out."""
    done = set(recorded_lines["partner"].dropna())
    return [p for p in partners if p not in done]


@dataclass(frozen=True)
class RedoSelection:
    """What ``--redo`` removes: the month's Renewals rows and the Exchanges rows its runs
    bought (``removed``: sheet → the rows' ``_row`` numbers), and the ledger without them."""

    removed: dict[str, list[int]]
    ledger: Ledger


def redo_selection(ledger: Ledger, first: pd.Timestamp) -> RedoSelection:
    lines = recorded(ledger["Renewals"], first)
    exchanges = ledger["Exchanges"]
    bought = exchanges["run"].isin(lines["run"].dropna()).fillna(False).astype(bool)
    removed = {
        "Renewals": [int(r) for r in lines[ROW]],
        "Exchanges": [int(r) for r in exchanges.loc[bought, ROW]],
    }
    without = ledger.without("Renewals", ledger["Renewals"][MONTH_FIRST] == first)
    return RedoSelection(removed, without.without("Exchanges", bought))


@dataclass(frozen=True)
class AppliedMonth:
    """A month already applied, reconstructed from the ledger.

    A month may have been applied by several runs (``--partner`` first, then the
    rest): each partner's lines, run id and points bought come from its own run;
    ``run`` is the run recorded last.
    """

    month: str
    run: str
    runs: pd.Series  # partner -> its own run id
    lines: pd.DataFrame  # the recorded lines, licences filled with renewed where blank
    spent: pd.Series  # partner -> points its own run bought with
    balances: Balances  # as they stand on the 1st, the run included


def applied_month(book: Book, first: pd.Timestamp, lines: pd.DataFrame) -> AppliedMonth:
    runs = lines.dropna(subset=["partner"]).groupby("partner", sort=False)["run"].last()
    run = str(lines["run"].dropna().iloc[-1]) if lines["run"].notna().any() else ""
    ex = book.exchanges
    own = ex["run"].notna() & (ex["run"] == ex["partner"].map(runs))
    spent = ex[own.fillna(False).to_numpy(dtype=bool)].groupby("partner")["points"].sum()
    filled = lines.assign(licences=lines["licences"].fillna(lines["renewed"]))
    return AppliedMonth(month_text(first), run, runs, filled, spent, book.balances(first))


@dataclass(frozen=True)
class MonthPlan:
    """What one month's run does on a book.

    Exactly one of ``applied`` (nothing left to do: the month as recorded) and
    ``plan`` (the renewal to record) is set, unless ``errors`` is not empty: the
    ledger without the ``--redo`` rows does not replay cleanly.
    """

    month: str
    first: pd.Timestamp
    book: Book  # the book the run's rows go on (after a --redo removal)
    partners: list[str]  # the partners the run renews
    before: Balances | None = None  # the balances on the 1st the plan started from
    plan: RenewalPlan | None = None
    applied: AppliedMonth | None = None
    removed: dict[str, list[int]] = field(default_factory=dict)
    errors: list[DataError] = field(default_factory=list)

    @property
    def appended(self) -> dict[str, pd.DataFrame]:
        """The rows the run adds (canonical columns), by sheet."""
        if self.plan is None:
            return {}
        return {
            "Renewals": self.plan.lines.assign(run=self.plan.run, month=self.plan.month),
            "Exchanges": self.plan.exchanges,
        }


def plan_month(
    book: Book,
    first: pd.Timestamp,
    *,
    run: str,
    policy: str,
    exchange: bool,
    redo: bool = False,
) -> MonthPlan:
    """Idempotency check (or ``--redo``), then R2 + R3 planned on the 1st.

    A month counts as applied per partner: after a ``--partner`` run, a full run
    renews the partners that were not in it and leaves the applied one alone.  The
    month is planned in one piece: a run checks the ledger's R8 totals in a second
    process meanwhile (`api`), and halves of the partners planned side by side made a
    third (benchmarks/README.md, round 13).
    """
    month = month_text(first)
    partners = book.ledger.partners
    lines = recorded(book.ledger["Renewals"], first)
    removed: dict[str, list[int]] = {}
    plan_book = book
    if len(lines) and not redo:
        todo = partners_to_run(lines, partners)
        if not todo:
            return MonthPlan(month, first, book, [], applied=applied_month(book, first, lines))
        plan_book, partners = replay_ledger(book.ledger.only_partners(todo)), todo
    elif len(lines):
        selection = redo_selection(book.ledger, first)
        removed = selection.removed
        book = plan_book = replay_ledger(selection.ledger)
        if book.errors:
            return MonthPlan(month, first, book, partners, removed=removed, errors=book.errors)
    before = plan_book.balances(first)
    contracts = plan_book.contracts_at(first)
    plan = plan_renewals(contracts, before, month=month, run=run, policy=policy, exchange=exchange)
    if plan_book is not book and plan.lines.empty and plan.exchanges.empty:
        # the partners left out have nothing due: the month stands as applied
        return MonthPlan(month, first, book, [], applied=applied_month(book, first, lines))
    return MonthPlan(month, first, book, partners, before, plan, removed=removed)


@dataclass(frozen=True)
class SkippedMonth:
    """The month before a run that has no recorded renewals although some were due."""

    month: str  # YYYY-MM
    due: int  # monthly contracts due then


def skipped_month(book: Book, first: pd.Timestamp) -> SkippedMonth | None:
    """A ledger kept by licreport's runs (Renewals not empty) whose month before `first`
    was never run although monthly contracts were due then; a run renews only its own
    month."""
    lines = book.ledger["Renewals"]
    if lines.empty:
        return None  # no run recorded yet: the ledger's history is the user's own
    prev = first - pd.offsets.MonthBegin(1)
    if (lines[MONTH_FIRST] == prev).any() or not (lines[MONTH_FIRST] < first).any():
        return None
    due = due_monthly(book.contracts_at(prev), prev)
    return SkippedMonth(month_text(prev), len(due)) if len(due) else None


def catch_up_months(renewals: pd.DataFrame, first: pd.Timestamp) -> list[pd.Timestamp]:
    """SPEC §9 catch-up: every month after the last month recorded in Renewals and before
    `first`, in order; none when nothing is recorded."""
    months = renewals[MONTH_FIRST].dropna()
    if months.empty:
        return []
    last = pd.Timestamp(months.max())
    return list(pd.date_range(last + pd.offsets.MonthBegin(1), first, freq="MS", inclusive="left"))
