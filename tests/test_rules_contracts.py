"""Contract ends, trials, renewal lines and recoveries applied to contracts."""

from __future__ import annotations

import pandas as pd
import pytest

from licreport.rules.book import replay_ledger
from licreport.rules.contracts import active_mask, apply_events, build_contracts
from licreport.rules.dates import add_years
from tests.factory import PANDA, PRODUCTS, make_ledger


@pytest.mark.parametrize(
    ("start", "years", "end"),
    [
        ("2026-03-15", 1, "2027-03-15"),
        ("2026-03-15", 3, "2029-03-15"),
        ("2024-02-29", 1, "2025-02-28"),  # 29 February + 1 year = 28 February (stated in README)
        ("2024-02-29", 4, "2028-02-29"),  # leap to leap keeps the 29th
        ("2023-12-31", 2, "2025-12-31"),
    ],
)
def test_add_years(start: str, years: int, end: str) -> None:
    out = add_years(pd.Series([pd.Timestamp(start)]), pd.Series([years]))
    assert out[0] == pd.Timestamp(end)


def _contracts(rows: list[dict]) -> pd.DataFrame:
    ledger = make_ledger(Partners=[PANDA], Products=PRODUCTS, Clients=rows)
    return build_contracts(ledger["Clients"], ledger["Products"])


def test_end_is_start_plus_term_unless_given() -> None:
    c = _contracts(
        [
            {"client": "A", "product": "EPP", "term": "1", "licences": 5, "start": "2026-01-10"},
            {
                "client": "B",
                "product": "EPP",
                "term": "3",
                "licences": 5,
                "start": "2026-01-10",
                "end": "2027-06-30",
            },
            {
                "client": "C",
                "product": "AD360",
                "term": "trial",
                "licences": 5,
                "start": "2026-01-10",
            },
        ]
    )
    assert list(c["end"]) == [
        pd.Timestamp("2027-01-10"),
        pd.Timestamp("2027-06-30"),  # co-termed: the given end wins
        pd.Timestamp("2026-02-09"),  # trial: start + 30 trial days
    ]
    assert list(c["kind"]) == ["annual", "annual", "trial"]
    assert list(c["auto_renew"]) == [False, False, False]


def test_each_row_takes_what_its_term_and_product_give_blanks_and_unknowns_included() -> None:
    """Kind, years, family, points and the trial end are worked out once per distinct term
    and product, then taken per row: every row still gets its own term's and product's."""
    blank_product = {"product": None, "family": "Blank", "points_per_licence": 7}
    rows = [  # client, product, term
        ("A", "EPP", "3"),
        ("B", "PM", "monthly"),
        ("C", "AD360", "trial"),
        ("D", "NOPE", None),
        ("E", None, "weekly"),
        ("F", "EPP", "1"),
    ]
    ledger = make_ledger(
        Partners=[PANDA],
        Products=[*PRODUCTS, blank_product],
        Clients=[
            {"client": c, "product": p, "term": t, "licences": 1, "start": "2026-01-10"}
            for c, p, t in rows
        ],
    )
    c = build_contracts(ledger["Clients"], ledger["Products"])
    # a blank term has no kind; any other term that is not monthly or a trial is annual
    assert c["kind"].tolist()[:3] == ["annual", "monthly", "trial"]
    assert pd.isna(c["kind"].iloc[3])
    assert c["kind"].tolist()[4:] == ["annual", "annual"]
    assert [None if pd.isna(y) else int(y) for y in c["years"]] == [3, None, None, None, None, 1]
    # PM's main product is AD360: its own id is its family; a blank product takes the
    # blank catalogue row's (a data error either way, as `map` gives it)
    assert c["family"].tolist()[:3] == ["EPP", "PM", "EDR"]
    assert pd.isna(c["family"].iloc[3])
    assert c["family"].tolist()[4:] == ["Blank", "EPP"]
    points = [None if pd.isna(p) else int(p) for p in c["points_per_licence"]]
    assert points == [1, 1, 3, None, 7, 1]
    assert c["auto_renew"].tolist() == [False, True, False, False, False, False]
    assert c["end"].iloc[0] == pd.Timestamp("2029-01-10")
    assert pd.isna(c["end"].iloc[1])  # monthly: renewed on the 1st, no end
    assert c["end"].iloc[2] == pd.Timestamp("2026-02-09")  # AD360's 30 trial days
    assert pd.isna(c["end"].iloc[3]) and pd.isna(c["end"].iloc[4])  # no years, no trial
    assert c["end"].iloc[5] == pd.Timestamp("2027-01-10")


def test_monthly_defaults_to_auto_renew_and_has_no_end() -> None:
    c = _contracts(
        [{"client": "A", "product": "EPP", "term": "monthly", "licences": 5, "start": "2026-01-10"}]
    )
    assert bool(c["auto_renew"].iloc[0]) is True
    assert pd.isna(c["end"].iloc[0])


def test_contract_starting_on_as_of_is_active_and_ending_on_it_is_not() -> None:
    c = _contracts(
        [
            {"client": "A", "product": "EPP", "term": "1", "licences": 5, "start": "2026-06-01"},
            {"client": "B", "product": "EPP", "term": "1", "licences": 5, "start": "2025-06-01"},
        ]
    )
    assert list(active_mask(c, pd.Timestamp("2026-06-01"))) == [True, False]


def test_renewal_line_moves_end_and_sets_licences_recovery_takes_off() -> None:
    ledger = make_ledger(
        Partners=[PANDA],
        Products=PRODUCTS,
        Clients=[
            {
                "client": "A",
                "product": "EPP",
                "term": "1",
                "licences": 10,
                "start": "2025-12-10",
                "auto_renew": True,
            },
            {
                "client": "A",
                "product": "EPP",
                "term": "1",
                "licences": 4,
                "start": "2026-03-01",
                "type": "recovery",
                "devices_used": 6,
            },
        ],
        Renewals=[
            {
                "run": "r",
                "month": "2026-12",
                "client": "A",
                "product": "EPP",
                "term": "1",
                "requested": 6,
                "renewed": 5,
                "dropped": 1,
                "licences": 5,
            },
        ],
    )
    base = build_contracts(ledger["Clients"], ledger["Products"])
    assert len(base) == 1  # the recovery row is not a contract
    state = apply_events(base, ledger["Renewals"], ledger["Clients"])
    assert state.errors == []
    row = state.contracts.iloc[0]
    assert row["end"] == pd.Timestamp("2027-12-10")
    assert row["licences"] == 5  # 10 - 4 recovered = 6 requested, 5 renewed
    before = apply_events(
        base, ledger["Renewals"], ledger["Clients"], cutoff=pd.Timestamp("2026-06-01")
    ).contracts.iloc[0]
    assert before["licences"] == 6 and before["end"] == pd.Timestamp("2026-12-10")


def test_recovery_that_matches_nothing_is_an_error() -> None:
    ledger = make_ledger(
        Partners=[PANDA],
        Products=PRODUCTS,
        Clients=[
            {"client": "A", "product": "EPP", "term": "1", "licences": 3, "start": "2026-01-01"},
            {
                "client": "A",
                "product": "EPP",
                "term": "1",
                "licences": 4,
                "start": "2026-03-01",
                "type": "recovery",
            },
        ],
    )
    base = build_contracts(ledger["Clients"], ledger["Products"])
    state = apply_events(
        base, ledger["Renewals"], ledger["Clients"], clients_table=ledger.table("Clients")
    )
    assert [str(e) for e in state.errors] == [
        "ledger.xlsx:Clients:F3: licences: recovery of 4 matches no active contract of client A"
        " / EPP / term 1 (partner PA1) holding that many licences on 2026-03-01"
    ]


def test_book_contracts_at_a_cutoff_sees_only_earlier_events() -> None:
    # Book.contracts_at: a renewal line of 2026-12 and a recovery of 2027-03-01
    ledger = make_ledger(
        Partners=[PANDA],
        Products=PRODUCTS,
        Pool=[{"date": "2025-12-01", "product": "EPP", "term": "1", "quantity": 30}],
        Clients=[
            {"client": "A", "product": "EPP", "term": "1", "licences": 10,
             "start": "2025-12-10", "auto_renew": True},
            {"client": "A", "product": "EPP", "term": "1", "licences": 4,
             "start": "2027-03-01", "type": "recovery", "devices_used": 4,
             "contract_start": "2025-12-10"},
        ],
        Renewals=[
            {"run": "r", "month": "2026-12", "client": "A", "product": "EPP", "term": "1",
             "requested": 10, "renewed": 8, "dropped": 2, "licences": 8},
        ],
    )  # fmt: skip
    book = replay_ledger(ledger)
    assert book.errors == []
    assert book.last_event == pd.Timestamp("2027-03-01")

    def at(day: str) -> tuple[int, pd.Timestamp]:
        row = book.contracts_at(pd.Timestamp(day)).iloc[0]
        return int(row["licences"]), row["end"]

    assert at("2026-11-30") == (10, pd.Timestamp("2026-12-10"))  # nothing applied yet
    assert at("2026-12-01") == (8, pd.Timestamp("2027-12-10"))  # renewed 8 of 10 on the 1st
    assert at("2027-02-28") == (8, pd.Timestamp("2027-12-10"))
    assert at("2027-03-01") == (4, pd.Timestamp("2027-12-10"))  # 8 − 4 recovered
    assert book.contracts_at(pd.Timestamp("2030-01-01")) is book.contracts  # nothing to redo
    first = book.contracts_at(pd.Timestamp("2026-11-30"))
    assert book.contracts_at(pd.Timestamp("2026-11-30")) is first  # computed once


@pytest.mark.parametrize("seed", range(12))
def test_renewal_lines_at_once_are_the_ordered_pass(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Renewal lines whose keys differ are applied at once (`_renewed_at_once`): the same
    contracts, errors and last event as the ordered pass, event by event.  Random
    contracts: several of one key, some ending in the lines' month, blank licences and
    ends, 29 February; lines for keys with no contract, quantities below, equal to and
    above what the key holds; a few seeds with a key twice or a recovery, which the
    ordered pass takes."""
    import numpy as np

    from licreport.rules import contracts as module

    rng = np.random.default_rng(seed)
    clients, lines = [], []
    keys = [(f"C{c}", p, t) for c in range(25) for p in ("EPP", "EDR") for t in ("1", "2")]
    for _ in range(160):
        client, product, term = keys[rng.integers(len(keys))]
        start = pd.Timestamp("2024-02-29") + pd.Timedelta(days=int(rng.integers(0, 700)))
        row = {"client": client, "product": product, "term": term, "start": start.date()}
        row["licences"] = None if rng.random() < 0.05 else int(rng.integers(1, 9))
        if rng.random() < 0.3:  # co-termed: an end in the lines' month or not
            end = pd.Timestamp("2026-12-01") + pd.Timedelta(days=int(rng.integers(-40, 40)))
            row["end"] = None if rng.random() < 0.1 else end.date()
        clients.append(row)
    if seed % 4 == 3:
        clients.append({**clients[0], "type": "recovery", "licences": 1, "start": "2026-01-05"})
    picked = rng.choice(len(keys), size=40, replace=seed % 4 == 2)
    for k in picked:
        client, product, term = keys[k]
        renewed = int(rng.integers(0, 20))
        lines.append(
            {"run": "r", "month": "2026-12", "client": client, "product": product,
             "term": term, "requested": renewed, "renewed": renewed, "dropped": 0,
             "licences": renewed}
        )  # fmt: skip
    ledger = make_ledger(Partners=[PANDA], Products=PRODUCTS, Clients=clients, Renewals=lines)
    base = build_contracts(ledger["Clients"], ledger["Products"])

    def run() -> object:
        return apply_events(
            base, ledger["Renewals"], ledger["Clients"],
            renewals_table=ledger.table("Renewals"), clients_table=ledger.table("Clients"),
        )  # fmt: skip

    took = []  # what the fast path gave: None when it stood aside
    at_once = module._renewed_at_once
    monkeypatch.setattr(module, "_renewed_at_once", lambda *a: took.append(at_once(*a)) or took[-1])
    fast = run()
    monkeypatch.setattr(module, "_renewed_at_once", lambda *a: None)
    slow = run()
    assert len(took) == 1 and (took[0] is None) == (seed % 4 in (2, 3))
    pd.testing.assert_frame_equal(fast.contracts, slow.contracts)
    assert [str(e) for e in fast.errors] == [str(e) for e in slow.errors]
    assert fast.last_event == slow.last_event
    assert slow.contracts["renewals"].sum() > 0 and slow.errors
