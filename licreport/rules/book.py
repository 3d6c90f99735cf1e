"""The replayed ledger: contracts, priced exchanges, ordered movements and every data error.

`replay_ledger` runs the checks in the order a reader would: contracts are
built, later rows (renewal lines, recoveries) applied, exchanges priced (R1),
eligibility checked (R6), then every balance replayed (R7).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TypeVar

import pandas as pd

from licreport.errors import DataError
from licreport.ledger.model import Ledger
from licreport.ledger.schema import MONTH_FIRST
from licreport.rules import replay
from licreport.rules.checks import check_contracts, check_ledger, check_sheets
from licreport.rules.contracts import ContractState, apply_events, build_contracts
from licreport.rules.keys import isin


@dataclass(frozen=True)
class Book:
    ledger: Ledger
    base_contracts: pd.DataFrame  # as assigned, before renewal lines and recoveries
    contracts: pd.DataFrame  # after every recorded renewal line and recovery
    exchanges: pd.DataFrame  # Exchanges with licences and points computed
    moves: pd.DataFrame  # every movement, in replay order, with running balance
    errors: list[DataError]
    last_event: pd.Timestamp | None = None  # date of the latest renewal line or recovery
    # Results by date: a run asks for the same dates several times (frames are not mutated).
    _contracts_at: dict[pd.Timestamp, pd.DataFrame] = field(
        default_factory=dict, compare=False, repr=False
    )
    _balances_at: dict[pd.Timestamp | None, replay.Balances] = field(
        default_factory=dict, compare=False, repr=False
    )

    def contracts_at(self, when: pd.Timestamp) -> pd.DataFrame:
        """Contracts after the renewal lines and recoveries dated on or before `when`."""
        if self.last_event is None or self.last_event <= when:
            return self.contracts  # every event is on or before `when`: nothing to redo
        if when not in self._contracts_at:
            self._contracts_at[when] = apply_events(
                self.base_contracts, self.ledger["Renewals"], self.ledger["Clients"], cutoff=when
            ).contracts
        return self._contracts_at[when]

    def balances(self, at: pd.Timestamp | None = None) -> replay.Balances:
        if at not in self._balances_at:
            self._balances_at[at] = replay.balances(self.moves, at)
        return self._balances_at[at]


T = TypeVar("T")
U = TypeVar("U")
# `both(mine, theirs)` is (mine(), theirs()), however it runs them: one after the other
# (`one_after_other`), or `theirs` in a second process (`api` decides, by size)
Both = Callable[[Callable[[], T], Callable[[], U]], tuple[T, U]]


def one_after_other(mine: Callable[[], T], theirs: Callable[[], U]) -> tuple[T, U]:
    return mine(), theirs()


def replay_ledger(ledger: Ledger, both: Both = one_after_other) -> Book:
    """Build, check and replay everything in `ledger`.  `both` makes side by side what
    does not depend on each other: the sheets' checks beside the contracts and movements,
    then the movements' replay order beside the contracts' events and their checks."""

    def made() -> tuple[pd.DataFrame, pd.DataFrame, list[DataError], pd.DataFrame]:
        base = build_contracts(ledger["Clients"], ledger["Products"])
        exchanges, exchange_errors = replay.priced_exchanges(ledger)
        return base, exchanges, exchange_errors, replay.movements(ledger, base, exchanges)

    (base, exchanges, exchange_errors, moves), sheet_errors = both(
        made, partial(check_sheets, ledger)
    )

    def events() -> tuple[ContractState, list[DataError]]:
        state = apply_events(
            base,
            ledger["Renewals"],
            ledger["Clients"],
            renewals_table=ledger.table("Renewals"),
            clients_table=ledger.table("Clients"),
        )
        return state, check_contracts(ledger, state.contracts)

    (state, contract_errors), order = both(events, partial(replay.ordering, moves))
    errors = list(state.errors) + exchange_errors + sheet_errors + contract_errors
    moves = replay.ordered(moves, order)
    errors += replay.negative_balances(moves, ledger)
    return Book(ledger, base, state.contracts, exchanges, moves, errors, state.last_event)


def apply_rows(
    book: Book, appended: Mapping[str, pd.DataFrame], both: Both = one_after_other
) -> Book:
    """The book with `appended` rows (canonical columns) below each sheet's rows: the same
    book `replay_ledger` gives on the ledger with those rows.

    A run's own rows (Renewals lines and the Exchanges it bought, dated on its 1st) are
    applied to the replayed book instead of replaying the whole ledger again: only they
    are priced, checked and turned into movements; the contracts they renew are
    extended; the movements are put in replay order again and every balance replayed
    (R7), so a run's row that would take a later movement below zero is still an
    error.  Anything else (Pool or Clients rows, a book with errors, events dated after
    the new rows) is replayed from scratch.
    """
    new = {name: rows for name, rows in appended.items() if len(rows)}
    if not new:
        return book  # `with_rows` adds nothing: the same ledger
    ledger = book.ledger.with_rows(new)
    dated = [
        ledger[name][column].iloc[len(ledger[name]) - len(new[name]) :]
        for name, column in (("Renewals", MONTH_FIRST), ("Exchanges", "date"))
        if name in new
    ]
    dates = pd.concat(dated) if dated else pd.Series(dtype="datetime64[ns]")
    when = dates.min() if len(dates) and dates.notna().all() else None
    if (
        set(new) - {"Renewals", "Exchanges"}
        or book.errors
        or when is None
        or (book.last_event is not None and book.last_event > when)
    ):
        return replay_ledger(ledger, both)
    # the ledger of the new rows alone, for pricing, checks and movements
    only_new = {
        name: replace(t, frame=t.frame.iloc[len(t.frame) - len(new[name]) :])
        if name in new
        else replace(t, frame=t.frame.iloc[:0])
        for name, t in ledger.tables.items()
        if name not in ("Partners", "Products")
    }
    delta = replace(ledger, tables={**ledger.tables, **only_new})
    priced, errors = replay.priced_exchanges(delta)
    exchanges = (
        pd.concat([book.exchanges, priced], ignore_index=True) if len(priced) else book.exchanges
    )
    moves = pd.concat(
        [
            book.moves.drop(columns=["balance", replay.ACCOUNT_ID]),
            replay.movements(delta, book.base_contracts.iloc[:0], priced),
        ],
        ignore_index=True,
    )

    def renewed_and_checked() -> tuple[ContractState, pd.DataFrame, list[DataError]]:
        renewed = apply_events(
            book.contracts, delta["Renewals"], delta["Clients"],
            renewals_table=delta.table("Renewals"),
        )  # fmt: skip
        contracts = renewed.contracts.assign(
            renewals=renewed.contracts["renewals"] + book.contracts["renewals"]
        )
        renewing = contracts[isin(contracts["client"], delta["Renewals"]["client"])]
        return renewed, contracts, check_ledger(delta, renewing)

    # the movements' replay order (arrays only) beside the contracts' events and checks
    (renewed, contracts, checked_errors), order = both(
        renewed_and_checked, partial(replay.ordering, moves)
    )
    moves = replay.ordered(moves, order)
    errors = list(renewed.errors) + errors + checked_errors
    errors += replay.negative_balances(moves, ledger)
    last = renewed.last_event if renewed.last_event is not None else book.last_event
    return Book(ledger, book.base_contracts, contracts, exchanges, moves, errors, last)
