"""SPEC §10 matching and findings, on small ledgers worked by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from licreport.rules import match as m
from licreport.rules.book import replay_ledger
from tests.factory import make_ledger

FIRST = pd.Timestamp("2026-12-01")
IB = {"partner": "IB", "name": "Iberix Seguridad SL", "provider": "Panda Security"}
NO = {"partner": "NO", "name": "Nordvakt AB", "provider": "Panda Security"}
PRODUCTS = [
    {"product": "AD360", "name": "Panda Adaptive Defense 360", "family": "EDR", "trial_days": 30},
    {"product": "EPP", "name": "Panda Endpoint Protection Plus", "family": "EPP"},
    {"product": "PM", "name": "Panda Patch Management", "family": "Patch"},
]


def annual(partner: str, client: str, name: str, product: str, licences: int, **kw: Any) -> dict:
    row = {"partner": partner, "client": client, "client_name": name, "product": product,
           "term": "1", "licences": licences, "start": "2026-03-01"}  # fmt: skip
    return row | kw


def export(rows: list[tuple], count: str = "devices") -> pd.DataFrame:
    """Usage rows (client, product, devices[, partner]) or billing rows (client, product,
    quantity, unit_price[, partner]) as a typed export frame."""
    at = 3 if count == "devices" else 4
    frame = pd.DataFrame(
        {
            "client": pd.array([r[0] for r in rows], dtype="str"),
            "product": pd.array([r[1] for r in rows], dtype="str"),
            count: pd.array([r[2] for r in rows], dtype="Int64"),
            "partner": pd.array([r[at] if len(r) > at else None for r in rows], dtype="str"),
            "_row": pd.array(range(2, len(rows) + 2), dtype="Int64"),
        }
    )
    if count == "quantity":
        prices = [Decimal(r[3]) if r[3] is not None else None for r in rows]
        frame["unit_price"] = pd.Series(prices, dtype=object)
    return frame


def run(
    clients: list[dict],
    usage: list[tuple],
    billing: list[tuple] | None = None,
    *,
    partners: list[dict] | None = None,
    mappings: list[dict] | None = None,
    has_price: bool = True,
) -> m.MatchResult:
    ledger = make_ledger(
        Partners=partners or [IB, NO],
        Products=PRODUCTS,
        Clients=clients,
        Mappings=mappings or [],
    )
    book = replay_ledger(ledger)
    d = m.directory(ledger["Clients"], ledger["Products"], ledger["Partners"], ledger["Mappings"])
    return m.match_ledger(
        book.contracts_at(FIRST),
        FIRST,
        d,
        ("usage.csv", export(usage)),
        ("billing.csv", export(billing, "quantity")) if billing is not None else None,
        has_price=has_price,
    )


def findings(result: m.MatchResult) -> list[tuple]:
    cols = ["client", "product", "kind", "licensed", "used", "billed", "difference",
            "monthly_impact"]  # fmt: skip
    rows = result.findings[cols].astype(object).itertuples(index=False)
    return [tuple(None if v is pd.NA else v for v in r) for r in rows]


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Talleres GÓMEZ, S.L.", "talleres gomez"),
        ("Talleres Gomez SL", "talleres gomez"),
        ("Bodegas Almendral S. L.", "bodegas almendral"),
        ("Müller-Maschinenbau GmbH", "muller maschinenbau"),
        ("Weber & Partner AG", "weber partner"),
        ("O'Neil Holdings Ltd.", "oneil holdings"),
        ("Acme Inc", "acme"),
        ("Acme LLC", "acme"),
        ("Acme B.V.", "acme"),
        ("Acme S.R.L.", "acme"),
        ("Acme SAS", "acme"),
        ("Sjöberg Logistik AB", "sjoberg logistik"),
        ("SA", "sa"),  # a name that is only a legal form keeps it
        ("Sable Creative Agency", "sable creative agency"),  # "Agency" is not a legal form
    ],
)
def test_name_words(text: str, words: str) -> None:
    assert m.name_words(text) == words


def test_name_key_ignores_spaces_and_ids_ignore_case() -> None:
    assert m.name_key(m.name_words("Talleres Gomez")) == m.name_key(m.name_words("TalleresGómez"))
    assert m.id_key(" c-ibx-001 ") == m.id_key("C-IBX-001")


# --------------------------------------------------------------------------- licensed


def test_licensed_counts_what_is_held_on_the_first() -> None:
    clients = [
        annual("IB", "A", "Alpha", "AD360", 10),  # active: 10
        annual("IB", "A", "Alpha", "AD360", 4, start="2025-01-01"),  # ended 2026-01-01
        annual("IB", "A", "Alpha", "AD360", 7, start="2026-12-02"),  # starts later
        annual("IB", "A", "Alpha", "AD360", 3, term="trial", start="2026-11-20"),  # trial: 3
        annual("IB", "B", "Beta", "EPP", 6, term="monthly", start="2026-10-05"),  # due: 6
        annual("IB", "B", "Beta", "EPP", 2, term="monthly", start="2026-12-01"),  # starts: 2
        annual("IB", "B", "Beta", "EPP", 5, term="monthly", start="2026-12-15"),  # later
        annual("IB", "B", "Beta", "EPP", 9, term="monthly", start="2026-09-01",
               end="2026-12-01"),  # cancelled on the 1st
    ]  # fmt: skip
    ledger = make_ledger(Partners=[IB], Products=PRODUCTS, Clients=clients)
    held = m.holdings(replay_ledger(ledger).contracts_at(FIRST), FIRST)
    got = {(r.client, r.product): (r.licensed, r.trial) for r in held.itertuples()}
    assert got == {("A", "AD360"): (10 + 3, 3), ("B", "EPP"): (6 + 2, 0)}


# --------------------------------------------------------------------------- matching


def test_clients_match_by_id_by_normalised_name_and_by_mapping() -> None:
    clients = [
        annual("IB", "C-1", "Talleres Gómez SA", "AD360", 10),
        annual("IB", "C-2", "Bodegas Almendral SL", "AD360", 5),
        annual("IB", "C-3", "Hotel Brisa del Mar", "EPP", 8),
    ]
    usage = [
        ("c-1", "AD360", 10),  # id, other case
        ("BODEGAS ALMENDRAL, S.L.", "AD360", 5),  # name: case, punctuation, legal form
        ("Brisa Hotels Group", "EPP", 8),  # only the Mappings sheet knows it
    ]
    mappings = [{"kind": "client", "source": "brisa hotels group", "target": "C-3"}]
    result = run(clients, usage, mappings=mappings)
    assert result.unmatched.empty
    assert findings(result) == []  # every device is where the ledger has a licence


def test_product_matches_by_id_name_and_mapping() -> None:
    clients = [annual("IB", "C-1", "Alpha", "AD360", 3), annual("IB", "C-1", "Alpha", "PM", 4),
               annual("IB", "C-1", "Alpha", "EPP", 5)]  # fmt: skip
    usage = [
        ("C-1", "ad360", 3),  # id
        ("C-1", "panda patch-management", 4),  # name, punctuation and case ignored
        ("C-1", "Endpoint Plus (legacy)", 5),  # mapping, whose source compares like names
    ]
    mappings = [{"kind": "product", "source": "ENDPOINT PLUS legacy", "target": "EPP"}]
    result = run(clients, usage, mappings=mappings)
    assert result.unmatched.empty
    assert findings(result) == []


def test_a_name_under_two_partners_is_unmatched_unless_the_row_names_the_partner() -> None:
    clients = [
        annual("IB", "C-IB-1", "Acme SL", "AD360", 10),
        annual("NO", "C-NO-1", "Acme AB", "AD360", 10),
    ]
    usage = [
        ("ACME", "AD360", 10),  # both partners hold an "acme": unmatched
        ("Acme", "AD360", 10, "Nordvakt AB"),  # partner by name: C-NO-1
        ("Acme", "AD360", 10, "ib"),  # partner by id: C-IB-1
    ]
    result = run(clients, usage)
    u = result.unmatched
    assert u[["row", "client", "reason"]].values.tolist() == [[2, "ACME", m.SEVERAL_CLIENTS]]
    assert u.at[0, "suggestions"] == ["C-IB-1", "C-NO-1"]  # both score 100; ties by id
    assert findings(result) == []  # rows 3 and 4 cover both clients


def test_an_id_under_two_partners_is_unmatched() -> None:
    clients = [annual("IB", "C-1", "Alpha", "AD360", 1), annual("NO", "C-1", "Beta", "AD360", 1)]
    result = run(clients, [("C-1", "AD360", 1)])
    assert result.unmatched["reason"].tolist() == [m.SEVERAL_CLIENTS]


def test_unknown_partner_and_unknown_product_are_unmatched() -> None:
    clients = [annual("IB", "C-1", "Alpha", "AD360", 2)]
    usage = [("Alpha", "AD360", 2, "Someone Else Ltd"), ("Alpha", "Firewall X", 1)]
    result = run(clients, usage)
    assert result.unmatched["reason"].tolist() == [m.NO_PARTNER, m.NO_PRODUCT]
    # their devices count nowhere: C-1 holds 2 and uses 0
    assert findings(result) == [("C-1", "AD360", "idle", 2, 0, None, 2, None)]


def test_suggestions_need_80_and_stop_at_three() -> None:
    names = ["Talleres Gomez", "Talleres Gomes", "Talleres Gómezz", "Taller Gomez", "Vega"]
    clients = [annual("IB", f"C-{i}", n, "AD360", 1) for i, n in enumerate(names)]
    result = run(clients, [("Talleres Gomex", "AD360", 1)])
    # token_sort_ratio("talleres gomex", …): gomez 92.9, gomes 92.9, gomezz 89.7,
    # "taller gomez" 84.6 (4th: cut), vega 22.2 (below 80)
    assert result.unmatched.at[0, "suggestions"] == ["C-0", "C-1", "C-2"]
    nothing = run(clients, [("Completely Different", "AD360", 1)])
    assert nothing.unmatched.at[0, "suggestions"] == []


def test_closest_scores_names_not_substrings() -> None:
    names = pd.Series(["almendral bodegas", "bodegas"])  # sorted words
    ids = pd.Series(["C-1", "C-2"])
    assert m.closest("bodegas", names, ids) == ["C-2"]  # not C-1: "bodegas" ⊂ its name


# --------------------------------------------------------------------------- findings


def test_hand_worked_findings_and_impacts() -> None:
    clients = [
        annual("IB", "A", "Alpha", "AD360", 10),
        annual("IB", "B", "Beta", "AD360", 20),
        annual("IB", "C", "Gamma", "EPP", 8),
        annual("IB", "D", "Delta", "AD360", 5, term="trial", start="2026-11-20"),
        annual("NO", "E", "Epsilon", "AD360", 12),
    ]
    usage = [
        ("A", "AD360", 14),  # holds 10: unlicensed 4
        ("B", "AD360", 15),  # holds 20: idle 5
        ("C", "EPP", 8),
        ("D", "AD360", 5),  # trial
        # E absent: used 0 -> idle 12
    ]
    billing = [
        ("A", "AD360", 10, "4.00"),  # billable max(14, 10) = 14: underbilled 4 x 4.00 = 16.00
        ("B", "AD360", 25, "3.00"),  # billable max(15, 20) = 20: overbilled 5 x 3.00 = -15.00
        ("C", "EPP", 8, None),  # no price for C/EPP and no other EPP price: no finding anyway
        ("D", "AD360", 0, None),  # trial: billable 5 - 5 = 0
        # E absent: billed 0, billable 12 at the AD360 median of (4.00, 3.00) = 3.50: 42.00
    ]
    result = run(clients, usage, billing)
    assert findings(result) == [
        ("E", "AD360", "underbilled", 12, 0, 0, 12, Decimal("42.00")),
        ("A", "AD360", "underbilled", 10, 14, 10, 4, Decimal("16.00")),
        ("B", "AD360", "overbilled", 20, 15, 25, 5, Decimal("-15.00")),
        ("E", "AD360", "idle", 12, 0, 0, 12, None),
        ("B", "AD360", "idle", 20, 15, 25, 5, None),
        ("A", "AD360", "unlicensed", 10, 14, 10, 4, None),
    ]
    s = result.summary
    assert s.astype(object).values.tolist() == [
        ["IB", "unlicensed", 1, 4, None],
        ["IB", "idle", 1, 5, None],
        ["IB", "underbilled", 1, 4, Decimal("16.00")],
        ["IB", "overbilled", 1, 5, Decimal("-15.00")],
        ["NO", "idle", 1, 12, None],
        ["NO", "underbilled", 1, 12, Decimal("42.00")],
    ]


def test_several_rows_add_up_and_price_is_their_weighted_mean() -> None:
    clients = [annual("IB", "A", "Alpha", "AD360", 40)]
    usage = [("A", "AD360", 30), ("Alpha", "AD360", 20)]  # 50 used
    billing = [("A", "AD360", 10, "3.00"), ("alpha", "AD360", 30, "4.00")]  # 40 billed
    result = run(clients, usage, billing)
    # price (10 x 3.00 + 30 x 4.00) / 40 = 150 / 40 = 3.75; underbilled 50 - 40 = 10: 37.50
    rows = findings(result)
    assert ("A", "AD360", "underbilled", 40, 50, 40, 10, Decimal("37.50")) in rows
    assert ("A", "AD360", "unlicensed", 40, 50, 40, 10, None) in rows


def test_median_price_of_the_product_when_the_client_has_none() -> None:
    clients = [annual("IB", c, c, "AD360", 10) for c in "ABCDE"]
    usage = [(c, "AD360", 10) for c in "ABCDE"]
    # A..D billed in full at 2, 3, 5 and 100 (median (3 + 5) / 2 = 4); E billed 6 with no price
    # and the unknown client's price counts in the median only if its product matched
    billing = [("A", "AD360", 10, "2"), ("B", "AD360", 10, "3"), ("C", "AD360", 10, "5"),
               ("D", "AD360", 10, "100"), ("E", "AD360", 6, None),
               ("Nobody", "AD360", 1, "1")]  # fmt: skip
    result = run(clients, usage, billing)
    # with "Nobody"'s 1: prices 1, 2, 3, 5, 100 -> median 3; E underbilled 4 x 3 = 12
    assert findings(result) == [("E", "AD360", "underbilled", 10, 10, 6, 4, Decimal("12"))]


def test_billing_without_price_column_gives_null_impacts() -> None:
    clients = [annual("IB", "A", "Alpha", "AD360", 10)]
    result = run(clients, [("A", "AD360", 10)], [("A", "AD360", 7, None)], has_price=False)
    assert findings(result) == [("A", "AD360", "underbilled", 10, 10, 7, 3, None)]
    assert result.summary["monthly_impact"].tolist() == [None]
    assert not result.has_price


def test_without_billing_billed_is_null_and_no_billing_kinds() -> None:
    clients = [annual("IB", "A", "Alpha", "AD360", 10)]
    result = run(clients, [("A", "AD360", 12)])
    assert findings(result) == [("A", "AD360", "unlicensed", 10, 12, None, 2, None)]


def test_findings_sorted_by_impact_then_difference_then_ids() -> None:
    clients = [annual("IB", c, c, "AD360", 10) for c in "ABCD"]
    usage = [("A", "AD360", 10), ("B", "AD360", 10), ("C", "AD360", 10), ("D", "AD360", 10)]
    billing = [("A", "AD360", 9, "10"), ("B", "AD360", 12, "10"), ("C", "AD360", 7, None),
               ("D", "AD360", 4, None)]  # fmt: skip
    result = run(clients, usage, billing)
    # |impacts|: B -20, A 10; C and D use the median of (10, 10) = 10: C 30, D 60
    assert [(r[0], r[7]) for r in findings(result)] == [
        ("D", Decimal("60")),
        ("C", Decimal("30")),
        ("B", Decimal("-20")),
        ("A", Decimal("10")),
    ]


def test_mappings_errors_name_the_cell() -> None:
    ledger = make_ledger(
        Partners=[IB],
        Products=PRODUCTS,
        Clients=[annual("IB", "C-1", "Alpha", "AD360", 1)],
        Mappings=[
            {"kind": "client", "source": "Alpha Group", "target": "C-9"},
            {"kind": "product", "source": "Endpoint", "target": "EPP"},
            {"kind": "product", "source": "ENDPOINT", "target": "PM"},
        ],
    )
    errors = m.check_mappings(ledger.table("Mappings"), ledger["Clients"], ledger["Products"])
    assert [str(e) for e in errors] == [
        "ledger.xlsx:Mappings:C2: target: is not a client id of the Clients sheet",
        "ledger.xlsx:Mappings:B3: source: is mapped to two different targets; keep one of the rows",
        "ledger.xlsx:Mappings:B4: source: is mapped to two different targets; keep one of the rows",
    ]


def test_closest_is_token_sort_ratio() -> None:
    from rapidfuzz import fuzz

    names = ["talleres gomez", "gomez talleres hermanos", "vega transportes"]
    query = "Gómez Talleres Hnos"
    words = m.name_words(query)
    scores = {i: fuzz.token_sort_ratio(words, n) for i, n in enumerate(names)}
    expected = sorted((i for i in scores if scores[i] >= 80), key=lambda i: -scores[i])
    assert expected == [1, 0]  # 90.5 and 84.8; "vega transportes" is far below 80
    ids = pd.Series([f"C-{i}" for i in range(len(names))])
    sorted_names = pd.Series([m.sorted_words(n) for n in names])
    assert m.closest(words, sorted_names, ids) == ["C-1", "C-0"]


def test_distinct_pairs_are_the_pairs_in_order_of_first_appearance() -> None:
    """`_distinct_pairs` gives each row the code of its (scope, text) pair, the pairs
    numbered as they first appear: the same as factorizing the pairs themselves."""
    scope = pd.Series(["P1", "", "P1", "P2", "", "P1", "\0unknown", "P2"])
    text = pd.Series(["Acme", "Acme", "Acme", "acme", "Bolt", "Bolt", "Acme", "acme"])
    codes, pairs = m._distinct_pairs(scope, text)
    assert codes.tolist() == [0, 1, 0, 2, 3, 4, 5, 2]
    assert list(zip(pairs["scope"], pairs["text"], strict=True)) == [
        ("P1", "Acme"), ("", "Acme"), ("P2", "acme"), ("", "Bolt"), ("P1", "Bolt"),
        ("\0unknown", "Acme"),
    ]  # fmt: skip
    assert pairs.index.tolist() == list(range(6))
    empty_codes, empty = m._distinct_pairs(pd.Series([], dtype=object), pd.Series([], dtype=object))
    assert len(empty_codes) == 0 and empty.empty and list(empty.columns) == ["scope", "text"]
