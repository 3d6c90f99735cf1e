"""R5 volume discounts and money: hand-computed block prices, half-up cents."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from licreport.rules.pricing import block_prices, money, spend_summary, tier_discounts

D = Decimal


def make_tiers(rows: list[tuple[int, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "min_quantity": pd.array([q for q, _ in rows], dtype="Int64"),
            "discount": pd.Series([D(d) for _, d in rows], dtype=object),
        }
    )


TIERS = make_tiers([(1, "0"), (10, "5"), (50, "7.5"), (100, "10")])
NO_TIERS = make_tiers([])


def make_pool(rows: list[tuple[str, str, str, int | None, str | None, str | None]]) -> pd.DataFrame:
    """(partner, product, term, quantity, unit_price, type) rows as the typed Pool frame."""
    return pd.DataFrame(
        {
            "partner": pd.array([r[0] for r in rows], dtype="string"),
            "product": pd.array([r[1] for r in rows], dtype="string"),
            "term": pd.array([r[2] for r in rows], dtype="string"),
            "quantity": pd.array([r[3] for r in rows], dtype="Int64"),
            "unit_price": pd.Series([r[4] and D(r[4]) for r in rows], dtype=object),
            "type": pd.array([r[5] for r in rows], dtype="string"),
        }
    )


@pytest.mark.parametrize(
    ("quantity", "discount"),
    [
        (0, "0"),  # below the lowest tier: no tier applies
        (1, "0"),
        (9, "0"),
        (10, "5"),
        (49, "5"),
        (50, "7.5"),  # exactly on a tier's minimum
        (60, "7.5"),
        (100, "10"),
        (10_000, "10"),
    ],
)
def test_tier_discounts(quantity: int, discount: str) -> None:
    got = tier_discounts(pd.Series([quantity], dtype="Int64"), TIERS)
    assert got.tolist() == [D(discount)]


def test_tier_discounts_unsorted_gaps_blanks_and_empty_table() -> None:
    tiers = make_tiers([(100, "10"), (20, "4")])  # no tier below 20, sheet order reversed
    quantities = pd.Series([5, 20, 99, None, 150], dtype="Int64", index=list("abcde"))
    got = tier_discounts(quantities, tiers)
    assert got.tolist() == [D(0), D(4), D(4), None, D(10)]
    assert list(got.index) == list("abcde")
    assert tier_discounts(quantities, NO_TIERS).tolist() == [D(0), D(0), D(0), None, D(0)]


def test_duplicate_tier_minimum_takes_the_larger_discount_in_any_order() -> None:
    for rows in ([(10, "5"), (10, "6")], [(10, "6"), (10, "5")]):
        assert tier_discounts(pd.Series([10], dtype="Int64"), make_tiers(rows)).tolist() == [D(6)]


@pytest.mark.parametrize(
    ("quantity", "unit_price", "list_price", "discount", "price", "shown"),
    [
        # 60 × 12.40 = 744.00; 744.00 × (1 − 7.5/100) = 744.00 × 0.925 = 688.2
        (60, "12.40", "744.00", "7.5", "688.2", "688.20"),
        # 9 is below the 10 tier: list price, no discount.
        (9, "12.40", "111.60", "0", "111.60", "111.60"),
        # exactly 50: 50 × 3.33 = 166.50; × 0.925 = 154.0125 (kept exact, shown 154.01)
        (50, "3.33", "166.50", "7.5", "154.0125", "154.01"),
        # 100 × 0.0001 = 0.01; × 0.9 = 0.009 -> shown 0.01
        (100, "0.0001", "0.0100", "10", "0.009", "0.01"),
        # 10 × 0.001 = 0.010; × 0.95 = 0.0095 -> 0.01 (half-up of 0.0095 at cents)
        (10, "0.001", "0.010", "5", "0.0095", "0.01"),
        # 1 × 0.005 below every discount tier: exactly half a cent rounds up.
        (1, "0.005", "0.005", "0", "0.005", "0.01"),
    ],
)
def test_block_price(
    quantity: int, unit_price: str, list_price: str, discount: str, price: str, shown: str
) -> None:
    priced = block_prices(make_pool([("P1", "AD360", "1", quantity, unit_price, None)]), TIERS)
    row = priced.iloc[0]
    assert row["list_price"] == D(list_price)
    assert row["discount"] == D(discount)
    assert row["price"] == D(price)  # exact, not rounded
    assert money(row["price"]) == shown


def test_block_prices_unpriced_and_recovery_rows() -> None:
    pool = make_pool(
        [
            ("P1", "AD360", "1", 60, "12.40", "purchase"),
            ("P1", "AD360", "1", 60, None, "purchase"),  # no unit price: not priced
            ("P1", "AD360", "1", 60, "12.40", "recovery"),  # recovered: never priced
        ]
    )
    priced = block_prices(pool, TIERS)
    assert list(priced.columns) == [*pool.columns, "list_price", "discount", "price"]
    assert priced["price"].tolist() == [D("688.2"), None, None]
    assert priced["list_price"].tolist() == [D("744.00"), None, None]
    assert priced["discount"].tolist() == [D("7.5"), D("7.5"), None]


def test_spend_summary_hand_computed() -> None:
    pool = make_pool(
        [
            ("P1", "AD360", "1", 60, "12.40", None),  # 744.00 list, 688.20 paid
            ("P1", "AD360", "1", 9, "12.40", "purchase"),  # 111.60 list and paid
            ("P1", "AD360", "1", 5, None, "purchase"),  # no price: left out
            ("P1", "AD360", "1", 20, "12.40", "recovery"),  # recovery: left out
            ("P1", "AD360", "3", 100, "30", None),  # 3000 list, 2700 paid
            ("P2", "AD360", "1", 10, "10", None),  # 100 list, 95 paid
        ]
    )
    summary = spend_summary(pool, TIERS)
    rows = summary.to_dict("records")
    assert [(r["partner"], r["product"], r["term"]) for r in rows] == [
        ("P1", "AD360", "1"),
        ("P1", "AD360", "3"),
        ("P2", "AD360", "1"),
    ]
    assert summary["blocks"].tolist() == [2, 1, 1]
    assert summary["quantity"].tolist() == [69, 100, 10]
    assert summary["list_price"].tolist() == [D("855.60"), D("3000"), D("100")]
    assert summary["spend"].tolist() == [D("799.8"), D("2700"), D("95")]
    assert summary["discount_amount"].tolist() == [D("55.8"), D("300"), D("5")]
    # 55.8 / 855.60 × 100 = 6.5217391304347826086956521739... (28 significant digits)
    assert summary["average_discount"].tolist()[1:] == [D("10"), D("5")]
    assert str(summary["average_discount"].iloc[0]) == "6.521739130434782608695652174"


def test_spend_summary_empty() -> None:
    summary = spend_summary(make_pool([("P1", "AD360", "1", 5, None, None)]), NO_TIERS)
    assert summary.empty
    assert list(summary.columns) == [
        "partner",
        "product",
        "term",
        "blocks",
        "quantity",
        "list_price",
        "spend",
        "discount_amount",
        "average_discount",
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (D("2.675"), "2.68"),  # float(2.675) is 2.67499…; round(2.675, 2) gives 2.67
        (D("0.005"), "0.01"),
        (D("0.004"), "0.00"),
        (D("1234.5"), "1234.50"),
        (D("0"), "0.00"),
        (D("-2.675"), "-2.68"),  # half-up is away from zero on a tie
        (D("-0.001"), "0.00"),  # no "-0.00"
        (D("688.200"), "688.20"),
        (D("1E+3"), "1000.00"),
        (D("123456789012345678901234567890.125"), "123456789012345678901234567890.13"),
        (None, None),
    ],
)
def test_money(value: Decimal | None, shown: str | None) -> None:
    assert money(value) == shown


def test_money_refuses_non_finite() -> None:
    with pytest.raises(ValueError):
        money(D("NaN"))


@given(
    st.integers(min_value=0, max_value=10**6),
    st.decimals(min_value=0, max_value=10**4, places=4, allow_nan=False, allow_infinity=False),
)
def test_price_is_exact_and_never_above_list(quantity: int, unit_price: Decimal) -> None:
    priced = block_prices(make_pool([("P1", "X", "1", quantity, str(unit_price), None)]), TIERS)
    row = priced.iloc[0]
    assert row["list_price"] == quantity * unit_price
    assert row["price"] * 100 == row["list_price"] * (100 - row["discount"])
    assert 0 <= row["price"] <= row["list_price"]
