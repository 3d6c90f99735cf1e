"""The replayed ledger: contracts, priced exchanges, ordered movements and every data error.

`replay_ledger` runs the checks in the order a reader would: contracts are
built, later rows (renewal lines, recoveries) applied, exchanges priced (R1),
eligibility checked (R6), then every balance replayed (R7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from licreport.errors import DataError
from licreport.ledger.model import Ledger
from licreport.rules import replay
from licreport.rules.checks import check_ledger
from licreport.rules.contracts import apply_events, build_contracts


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


def replay_ledger(ledger: Ledger) -> Book:
    """Build, check and replay everything in `ledger`."""
    base = build_contracts(ledger["Clients"], ledger["Products"])
    state = apply_events(
        base,
        ledger["Renewals"],
        ledger["Clients"],
        renewals_table=ledger.table("Renewals"),
        clients_table=ledger.table("Clients"),
    )
    exchanges, exchange_errors = replay.priced_exchanges(ledger)
    errors = list(state.errors) + exchange_errors + check_ledger(ledger, state.contracts)
    moves = replay.ordered(replay.movements(ledger, base, exchanges))
    errors += replay.negative_balances(moves, ledger)
    return Book(ledger, base, state.contracts, exchanges, moves, errors, state.last_event)


def apply_rows(book: Book, appended: Mapping[str, pd.DataFrame]) -> Book:
    """The book with `appended` rows (canonical columns) below each sheet's rows."""
    return replay_ledger(book.ledger.with_rows(appended))
