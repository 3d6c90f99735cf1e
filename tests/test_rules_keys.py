"""Sort keys for text columns: the order of a stable sort_values, blanks last."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from licreport.ledger import model  # noqa: F401  (pandas' Python string storage, as in a run)
from licreport.rules import keys
from licreport.rules.keys import labels, sort_key, sort_rows, sorted_groups


@pytest.mark.parametrize(
    "columns",
    [["client"], ["kind", "end", "client"], ["term", "n", "kind"], ["end", "kind"], ["mixed"]],
)
def test_sort_rows_is_a_stable_sort_values(columns: list[str]) -> None:
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame(
        {
            "client": pd.Series([f"C{k:05d}" for k in rng.integers(0, 900, n)], dtype="str"),
            "kind": pd.Series(rng.choice(["x", "y", None, "é", "Z", "aa", "a", "a\x00"], n)),
            "end": pd.to_datetime(rng.integers(0, 50, n), unit="D").where(rng.random(n) > 0.1),
            "n": rng.integers(0, 5, n),
            "term": pd.Series(rng.choice(["1", "2", "monthly"], n), dtype=object),
            "mixed": pd.Series(rng.choice([1, 2, 3], n), dtype=object),
        },
        index=rng.permutation(n),
    )
    want = frame.sort_values(columns, kind="stable")
    pd.testing.assert_frame_equal(sort_rows(frame, columns), want)


def test_labels_is_select_with_one_object_per_label() -> None:
    term = pd.Series(["1", "monthly", None, "trial", "3", "monthly"], dtype="str")
    got = labels([term == "monthly", term == "trial"], ["monthly", "trial"], "annual")
    expected = np.select([term == "monthly", term == "trial"], ["monthly", "trial"], "annual")
    assert got.dtype == "str"
    assert list(got) == expected.tolist()
    # the labels given, not a copy per row: at 12 x SPEC §6 that is 60 MB per column
    assert len({id(v) for v in got.to_numpy(dtype=object)}) == 3
    # the first true condition wins, as in np.select
    both = labels([[True, False], [True, True]], ["first", "second"], "none")
    assert list(both) == ["first", "second"]


def _ids(n: int, distinct: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    names = [f"C{k:06d}" for k in rng.permutation(distinct)]
    return pd.Series(pd.array([names[k] for k in rng.integers(0, distinct, n)], dtype="str"))


def _fresh_copies(values: pd.Series) -> pd.Series:
    """The same text in new str objects (as another sheet's cells would be)."""
    return pd.Series(pd.array(["".join(list(v)) for v in values], dtype="str"), name=values.name)


def test_sort_key_remembers_string_ranks_by_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    keys._RANKS.clear()
    clients = _ids(30_000, 9_000, seed=3).rename("client_memo")
    frame = pd.DataFrame({"client_memo": clients, "n": np.arange(len(clients))})
    first = sort_rows(frame, ["client_memo"])
    pd.testing.assert_frame_equal(first, frame.sort_values("client_memo", kind="stable"))
    assert "client_memo" in keys._RANKS

    # a frame taken from it holds the same objects: its codes come from the ranks kept,
    # with no text factorised again, and give the order of sort_values
    part = frame.sample(frac=0.4, random_state=1)

    def no_factorize(*args: object, **kwargs: object) -> None:
        raise AssertionError("text factorised again")

    with monkeypatch.context() as m:
        m.setattr(pd, "factorize", no_factorize)
        got = sort_rows(part, ["client_memo"])
    pd.testing.assert_frame_equal(got, part.sort_values("client_memo", kind="stable"))


def test_known_text_in_new_objects_is_ranked_without_a_sort(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows a forked process hands back hold the same text in new (unpickled) objects:
    they get the ranks of their text, found in the sorted texts, with no sort."""
    keys._RANKS.clear()
    base = _ids(20_000, 5_000, seed=6).rename("back")
    want = sort_key(base)
    copies = _fresh_copies(base)

    def no_sort(*args: object, **kwargs: object) -> None:
        raise AssertionError("sorted again")

    with monkeypatch.context() as m:
        m.setattr(np, "argsort", no_sort)
        got = sort_key(copies)
    np.testing.assert_array_equal(got, want)
    assert len(keys._RANKS["back"].objects) == len({*map(id, base), *map(id, copies)})


@pytest.mark.parametrize("other", ["copies", "blanks", "new ids", "numbers"])
def test_remembered_ranks_sort_as_text_sorts(other: str) -> None:
    """A column mixing remembered objects with others (the same text in new objects,
    blanks, ids never seen, non-text) sorts exactly as sort_values; so does a column
    made only of remembered objects afterwards."""
    keys._RANKS.clear()
    base = _ids(20_000, 5_000, seed=4).rename("who")
    sort_key(base)
    extra = {
        "copies": _fresh_copies(base[:7_000]),
        "blanks": pd.Series(pd.array([None, "", " "] * 4_000, dtype="str"), name="who"),
        "new ids": _ids(12_000, 3_000, seed=9).str.replace("C", "B").rename("who"),
        "numbers": pd.Series([1, "C000001", 2.5] * 4_000, dtype=object, name="who"),
    }[other]
    mixed = pd.concat([base[:15_000], extra, base[15_000:]], ignore_index=True)
    frame = pd.DataFrame({"who": mixed, "n": np.arange(len(mixed))}).sample(frac=1, random_state=2)
    if other == "numbers":  # text and numbers do not compare: sort_values decides
        with pytest.raises(TypeError):
            frame.sort_values("who", kind="stable")
        return
    for columns in (["who"], ["who", "n"]):
        pd.testing.assert_frame_equal(
            sort_rows(frame, columns), frame.sort_values(columns, kind="stable")
        )
    again = frame[frame["who"].notna()].iloc[::3]
    pd.testing.assert_frame_equal(
        sort_rows(again, ["who"]), again.sort_values("who", kind="stable")
    )
    order, group = sorted_groups(frame, ["who"])
    want = frame.groupby("who", sort=True, dropna=False).ngroup().to_numpy()
    np.testing.assert_array_equal(group, want[order])


@pytest.mark.parametrize("other", ["remembered", "copies", "blanks", "new ids", "numbers"])
def test_isin_is_series_isin(other: str) -> None:
    """`keys.isin` by sort codes gives `Series.isin` (blank among blanks): for objects
    remembered, the same text in new objects, blanks, ids never seen and values that do
    not compare (where pandas decides)."""
    keys._RANKS.clear()
    base = _ids(20_000, 5_000, seed=5).rename("whom")
    sort_key(base)
    among = {
        "remembered": base.sample(3_000, random_state=1),
        "copies": _fresh_copies(base[:2_000]),
        "blanks": pd.Series(pd.array([None, "", *base[:50]], dtype="str"), name="whom"),
        "new ids": pd.concat([_ids(2_000, 800, seed=9).str.replace("C", "B"), base[:9]]),
        "numbers": pd.Series([1, base.iloc[0], 2.5], dtype=object, name="whom"),
    }[other]
    values = pd.concat(
        [base, pd.Series(pd.array([None, ""], dtype="str"), name="whom")], ignore_index=True
    )
    want = values.isin(among).fillna(False).to_numpy(dtype=bool)
    got = keys.isin(values, among)
    np.testing.assert_array_equal(got, want)
    assert want.any() and not want.all()


@given(
    st.lists(
        st.sampled_from(["small", "mid", "wide", "bool", "days", "huge"]), min_size=1, max_size=5
    ),
    st.integers(0, 60),
    st.randoms(use_true_random=False),
)
def test_lexsort_is_numpys_lexsort(kinds: list[str], n: int, rnd: random.Random) -> None:
    """`keys.lexsort` packs the keys into one int64 (a wide key as the rank of its
    value) and sorts once: the order `np.lexsort` gives, ties kept in place, for small
    codes, booleans, negative and 62-bit values, nanosecond days, and keys that cannot
    all be packed."""
    day = 86_400 * 10**9
    make = {
        "small": lambda: rnd.randrange(4),
        "mid": lambda: rnd.randrange(2**30),  # three of them do not fit in 63 bits
        "wide": lambda: rnd.randrange(-(2**62), 2**62),
        "bool": lambda: rnd.random() < 0.5,
        "days": lambda: 1_700_000_000 * 10**9 + rnd.randrange(5) * day,
        "huge": lambda: rnd.choice([0, 2**40, -(2**40), 7]),
    }
    columns = [np.array([make[k]() for _ in range(n)]) for k in kinds]
    columns = [c if len(c) else np.zeros(0, dtype=np.int64) for c in columns]
    np.testing.assert_array_equal(keys.lexsort(columns), np.lexsort(columns))


def test_lexsort_takes_rows_in_order_as_they_are() -> None:
    """Rows already in key order, then a few out of order (a run's rows below a
    replayed book), at a size where the sort merges runs: the order of `np.lexsort`."""
    rng = np.random.default_rng(7)
    account = np.sort(rng.integers(0, 1000, 50_000))
    when = rng.integers(0, 3, 50_000)
    order = np.lexsort((when, account))
    columns = [when[order], account[order]]
    extra = [rng.integers(0, 3, 500), rng.integers(0, 1000, 500)]
    both = [np.concatenate([c, e]) for c, e in zip(columns, extra, strict=True)]
    got = keys.lexsort(both)
    np.testing.assert_array_equal(got, np.lexsort(both))
    assert (np.diff(got[got < 50_000]) > 0).all()


@pytest.mark.parametrize("fork", [True, False])
def test_a_handover_gives_back_the_text_as_the_objects_this_process_holds(fork: bool) -> None:
    """`Handover`: a frame made by a forked child comes back with each column whose
    objects are known (the client ids the process had ranked) as those very objects, in
    its dtype, the other columns and a column with a blank or a new text as they were;
    the same without a fork.  Pickled as text, the ids would be new objects."""
    from licreport.forked import in_two
    from licreport.rules.outlook import Projection

    keys.forget()
    clients = _ids(20_000, 3_000, seed=11).rename("client")
    sort_key(clients)  # ranked: known from here on, here and in a child forked after
    handover = keys.Handover(["client", "partner"])
    assert list(handover.known) == ["client"]

    def made() -> Projection:
        rows = pd.DataFrame({"client": clients[::-1].to_numpy(), "n": np.arange(len(clients))})
        rows.index = rows.index + 7
        blank = rows.head(3).assign(client=pd.array(["C000001", None, "C000002"], dtype="str"))
        fresh = rows.head(3).assign(client=_fresh_copies(rows["client"].head(3)).array)
        fresh.loc[fresh.index[0], "client"] = "not known"
        return Projection([rows, None], [blank], [fresh])

    _, packed = in_two(lambda: None, lambda: handover.pack(made()), fork=fork)
    if fork:  # unpickled: not the objects of this process
        assert not {id(v) for v in packed.rows[0].frame["client"]} & {id(v) for v in clients}
    got = handover.unpack(packed)
    expected = made()
    pd.testing.assert_frame_equal(got.rows[0], expected.rows[0])
    assert got.rows[1] is None
    pd.testing.assert_frame_equal(got.risks[0], expected.risks[0])
    pd.testing.assert_frame_equal(got.work[0], expected.work[0])
    known = {id(v) for v in clients}
    assert all(id(v) in known for v in got.rows[0]["client"])
    assert got.rows[0]["client"].dtype == clients.dtype
    keys.forget()


@pytest.mark.parametrize("sentinel", [True, False])
def test_factorize_by_identity_is_pandas_factorize(sentinel: bool) -> None:
    """`keys.factorize` of a text column (objects first, then their text): the codes and
    uniques of ``pd.factorize``, with equal text in different objects one value and
    blanks as pandas has them."""
    ids = _ids(30_000, 40, seed=5)
    values = pd.concat(
        [ids, _fresh_copies(ids[:500]), pd.Series([None, "Z9", None], dtype="str")],
        ignore_index=True,
    )
    codes, uniques = keys.factorize(values, use_na_sentinel=sentinel)
    want_codes, want_uniques = pd.factorize(values, use_na_sentinel=sentinel)
    np.testing.assert_array_equal(codes, want_codes)
    pd.testing.assert_index_equal(uniques, want_uniques)


def test_lexsort_packs_dates_as_days() -> None:
    """A key of dates in nanoseconds (too wide to pack as it is) is packed divided by its
    values' common divisor: the order of ``np.lexsort``, also with a time of day."""
    rng = np.random.default_rng(4)
    days = rng.integers(0, 20_000, 50_000) * 86_400 * 10**9 + 10**18
    account = rng.integers(0, 5_000, 50_000)
    row = rng.integers(0, 1 << 20, 50_000)
    np.testing.assert_array_equal(
        keys.lexsort([row, days, account]), np.lexsort([row, days, account])
    )
    days[7] += 1  # one timestamp a nanosecond past midnight: divisor 1, ranks instead
    np.testing.assert_array_equal(
        keys.lexsort([row, days, account]), np.lexsort([row, days, account])
    )
