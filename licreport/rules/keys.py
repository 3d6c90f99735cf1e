"""Sort keys for text columns: integer codes that sort as the text does, made fast.

pandas sorts the distinct values of a python-storage text column with Python string
comparisons (``sort_values``, ``groupby(sort=True)``, ``factorize(sort=True)``): over
700,000 client ids that is most of a groupby.  `sort_key` factorises without sorting
(hashing) and sorts the distinct values once as a fixed-width numpy string array,
which compares code points as Python does, then `lexsort` orders rows by such keys
exactly as a stable ``sort_values`` on the columns would (blanks last).

A run sorts the same client ids about twenty times, in frames taken from one another,
so the values are the same ``str`` objects each time.  `sort_key` therefore remembers,
per column name, the ranks of the string objects it has sorted, by identity (`_Ranks`):
a column made only of remembered objects gets its codes from one integer lookup, 20 times
faster than factorising 1.2 million ids again; any other column is sorted as above and
its objects are remembered.  The codes are the same either way (tested).
"""

from __future__ import annotations

import ctypes
import dataclasses
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MAX_FIXED_BYTES = 1 << 27  # a fixed-width copy of the distinct values above this: sort as usual
REMEMBERED_NAMES = 8  # columns whose string ranks `sort_key` keeps, the least recent dropped
REMEMBERED_MAX = 4_000_000  # objects remembered for one column name at most


def sort_key(values: pd.Series) -> np.ndarray:
    """int64 codes ordered as `values` sort (blanks, NaN and NaT, last)."""
    text = _text_objects(values)
    if text is not None:
        known = _RANKS.get(values.name)
        if known is not None and (codes := known.codes(text)) is not None:
            return codes
    elif not values.isna().any():
        if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":
            return values.to_numpy().view(np.int64)
        if pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            return values.to_numpy(dtype=np.int64)
    if text is not None and len(text) >= _Ranks.MIN_ROWS:
        remembered = _Ranks.remember(values.name, text)
        if remembered is not None:
            return remembered
    codes, uniques = pd.factorize(values)
    codes = np.asarray(codes, dtype=np.int64)
    rank = np.empty(len(uniques) + 1, dtype=np.int64)
    rank[_argsort(uniques)] = np.arange(len(uniques))
    rank[-1] = len(uniques)  # code -1: a blank
    return rank[codes]


def _argsort(uniques: object) -> np.ndarray:
    u = np.asarray(uniques, dtype=object)
    if len(u) and pd.api.types.infer_dtype(u, skipna=False) == "string":
        width = max(map(len, u))
        if width and len(u) * width * 4 <= MAX_FIXED_BYTES and "\x00" not in "".join(u):
            # numpy's fixed-width strings compare code point by code point, as str does
            # (a NUL would be taken for padding: such values sort as Python sorts them)
            return np.argsort(u.astype(f"U{width}"))  # distinct values: no ties
    return np.asarray(pd.Index(u).argsort(), dtype=np.int64)


def _text_objects(values: pd.Series) -> np.ndarray | None:
    """The object array behind a text column (no copy), None for other columns."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "python":
        return values.to_numpy(dtype=object)  # the array pandas keeps: not a copy
    if values.dtype == object:
        return values.to_numpy()
    return None


def _identities(objects: np.ndarray) -> np.ndarray:
    """Each element's identity (its address, as ``id()`` tells in CPython), read from the
    object array's own buffer of pointers: 1 ms for 1.2 million elements, where
    ``map(id, ...)`` takes 200 ms (it touches every object)."""
    objects = np.ascontiguousarray(objects)
    if not len(objects):
        return np.zeros(0, dtype=np.intp)
    pointers = (ctypes.c_ssize_t * len(objects)).from_address(objects.ctypes.data)
    return np.frombuffer(memoryview(pointers), dtype=np.intp).copy()


def by_distinct(values: pd.Series, text: Callable[[pd.Index], Iterable[str]]) -> list[str]:
    """The text of every value, made by `text` once per distinct value (`text` takes them
    as an Index): 1.2 million dates hold a few thousand days.  Missing values are ""."""
    codes, uniques = pd.factorize(values)  # a missing value's code is -1: the last item
    return np.array([*text(uniques), ""], dtype=object)[codes].tolist()


class Handover:
    """Text that a forked process (`forked.in_two`) hands back to the process that forked
    it, as positions among the ``str`` objects whose sort ranks both processes know,
    taken before the fork: the text comes back as this process's own objects, which
    `sort_key` ranks by identity.  Unpickled, it would be new objects, ranked again in
    each process that sorts them (the 650,000 client ids at risk in half of the
    partners' outlook at 12 x SPEC §6: 0.5 s in each), or looked up by text (0.3 s).

    Made before the fork; `pack` runs in the child, `unpack` here.  Text that is not
    among the known objects (a blank, an id the child made) goes as text."""

    def __init__(self, columns: Sequence[str]) -> None:
        with _REMEMBERING:
            self.known = {c: _RANKS[c] for c in columns if c in _RANKS}

    def pack(self, value: Any) -> Any:
        """`value` (a frame, or a list or dataclass of frames) with each known column whose
        every value is a known object as those objects' positions."""
        if isinstance(value, pd.DataFrame):
            packed = {}
            for name, ranks in self.known.items():
                text = _text_objects(value[name]) if name in value else None
                if text is None or not isinstance(value[name].dtype, pd.StringDtype):
                    continue
                at = ranks.where.get_indexer(pd.Index(_identities(text)))
                if not len(at) or at.min() >= 0:
                    packed[name] = at
            dtypes = {name: value[name].dtype for name in packed}
            return _Packed(value.assign(**packed), dtypes) if packed else value
        return self._each(value, self.pack)

    def unpack(self, value: Any) -> Any:
        """What `pack` made, with the text again (as the known objects)."""
        if isinstance(value, _Packed):
            frame = value.frame
            return frame.assign(
                **{
                    name: pd.array(self.known[name].objects.take(frame[name]), dtype=dtype)
                    for name, dtype in value.columns.items()
                }
            )
        return self._each(value, self.unpack)

    @staticmethod
    def _each(value: Any, do: Callable[[Any], Any]) -> Any:
        if isinstance(value, list):
            return [do(v) for v in value]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.replace(
                value,
                **{f.name: do(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init},
            )
        return value


@dataclass(frozen=True)
class _Packed:
    """A frame whose `columns` hold positions among a `Handover`'s known objects (with the
    text columns' dtypes)."""

    frame: pd.DataFrame
    columns: dict[str, Any]


def factorize(values: pd.Series, *, use_na_sentinel: bool = True) -> tuple[np.ndarray, Any]:
    """``pd.factorize(values)``, the same codes and uniques, for a text column by the
    identity of its objects first: pandas hashes the characters of every row (3 million
    movements: 0.15 s), where a column made by the run holds a few ``str`` objects (a
    sheet's name, a partner id) that are told apart by address (0.03 s).  Equal texts
    held by different objects are then one value, as pandas makes them."""
    text = _text_objects(values)
    if text is None or len(text) < _Ranks.MIN_ROWS:
        return pd.factorize(values, use_na_sentinel=use_na_sentinel)
    at, first = _by_identity(text)
    codes, uniques = pd.factorize(values.iloc[first], use_na_sentinel=use_na_sentinel)
    return codes[at], uniques


def distinct_objects(objects: np.ndarray) -> np.ndarray:
    """The distinct objects of an object array, by identity, in the order first seen: a
    text column from the loader holds each id once however many rows show it (equal
    strings held by different objects are both kept)."""
    return objects[_by_identity(objects)[1]]


def _by_identity(objects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each element the number of its object (in the order first seen), and each
    object's first position."""
    at, distinct = pd.factorize(_identities(objects))
    first = np.empty(len(distinct), dtype=np.intp)
    first[at[::-1]] = np.arange(len(at) - 1, -1, -1)  # the last written is the first seen
    return at, first


@dataclass(frozen=True)
class _Ranks:
    """The sort ranks of some ``str`` objects, found by identity.  `objects` keeps them
    alive, so no other object can take one of their addresses; equal strings held by
    different objects have equal ranks."""

    objects: np.ndarray  # object: distinct str objects
    where: pd.Index  # their identities
    rank: np.ndarray  # int64: each object's position in `texts`
    texts: np.ndarray  # fixed-width str: the distinct texts, sorted

    MIN_ROWS = 10_000  # below this a column is sorted as it comes, nothing remembered

    def codes(self, text: np.ndarray) -> np.ndarray | None:
        """Codes for `text` if every element is one of these objects, else None."""
        at = self.where.get_indexer(pd.Index(_identities(text)))
        if len(at) and at.min() < 0:
            return None
        return self.rank[at]

    @classmethod
    def remember(cls, name: object, text: np.ndarray) -> np.ndarray | None:
        """`sort_key` of `text`, whose objects are remembered for `name` with those
        remembered before; None, and nothing remembered, unless every element is a
        ``str`` that a fixed-width array can hold (see `_argsort`)."""
        known = _RANKS.get(name)
        if known is None or len(known.objects) + len(text) > REMEMBERED_MAX:
            known = _NOTHING
        fresh = known.where.get_indexer(pd.Index(_identities(text))) < 0
        ranks = known.joined(distinct_objects(text[fresh]))
        if ranks is None:
            return None
        with _REMEMBERING:
            _RANKS[name] = ranks
            _RANKS.move_to_end(name)
            while len(_RANKS) > REMEMBERED_NAMES:
                _RANKS.popitem(last=False)
        return ranks.codes(text)

    def joined(self, objects: np.ndarray) -> _Ranks | None:
        """These ranks and those of `objects` (distinct objects, none of them here),
        their texts merged into the sorted ones (no sort of what is known already)."""
        if pd.api.types.infer_dtype(objects, skipna=False) not in ("string", "empty"):
            return None
        width = max([self.texts.dtype.itemsize // 4, 1, *map(len, objects)])
        too_big = (len(self.texts) + len(objects)) * width * 4 > MAX_FIXED_BYTES
        if too_big or "\x00" in "".join(objects):
            return None
        fixed = objects.astype(f"U{width}")
        texts = self.texts.astype(f"U{width}", copy=False)
        at = np.searchsorted(texts, fixed)
        if len(texts) and (texts[np.minimum(at, len(texts) - 1)] == fixed).all():
            # every text known already (equal strings held by other objects: the rows a
            # forked process handed back, unpickled): their ranks, nothing to sort
            return self._with(objects, self.rank, at, texts)
        order = np.argsort(fixed)
        ordered = fixed[order]
        first = np.r_[True, ordered[1:] != ordered[:-1]][: len(ordered)]  # equal texts: one
        added = ordered[first]  # the objects' distinct texts, sorted
        text_of = np.empty(len(objects), dtype=np.intp)
        text_of[order] = np.cumsum(first) - 1  # each object's text in `added`
        at = np.searchsorted(texts, added)
        new = np.ones(len(added), dtype=bool)
        inside = at < len(texts)
        new[inside] = texts[at[inside]] != added[inside]
        merged = np.insert(texts, at[new], added[new])
        # a known text moves up by the number of new texts inserted before it
        moved = np.searchsorted(at[new], np.arange(len(texts)), side="right")
        return self._with(
            objects, self.rank + moved[self.rank], np.searchsorted(merged, added)[text_of], merged
        )

    def _with(
        self, objects: np.ndarray, rank: np.ndarray, ranks: np.ndarray, texts: np.ndarray
    ) -> _Ranks:
        """These objects (their ranks `rank` now) and `objects` (ranks `ranks`) in `texts`."""
        return _Ranks(
            np.concatenate([self.objects, objects]),
            pd.Index(np.concatenate([self.where.to_numpy(), _identities(objects)])),
            np.concatenate([rank, ranks]),
            texts,
        )


_NOTHING = _Ranks(
    np.zeros(0, dtype=object),
    pd.Index([], dtype=np.intp),
    np.zeros(0, dtype=np.int64),
    np.zeros(0, dtype="U1"),
)
_RANKS: OrderedDict[object, _Ranks] = OrderedDict()
_REMEMBERING = threading.Lock()


def forget() -> None:
    """Drop every remembered rank (and the objects they keep alive: 100 MB at 12 x SPEC §6),
    as a run ends or before another ledger is read."""
    with _REMEMBERING:
        _RANKS.clear()


def isin(values: pd.Series, among: pd.Series) -> np.ndarray:
    """``values.isin(among)`` as a bool array (a blank is among blanks), from the
    `sort_key` codes of both columns at once: with the objects known (a run's client
    ids, in frames taken from one another) 0.1 s for 1.2 million ids, where hashing
    them again takes 0.5 s."""
    both = pd.concat([values, among], ignore_index=True)
    both.name = values.name  # the ranks remembered for it
    try:
        codes = sort_key(both)
    except TypeError:  # values that do not compare: pandas decides
        return values.isin(among).fillna(False).to_numpy(dtype=bool)
    return np.isin(codes[: len(values)], codes[len(values) :])


def account_ids(keys: list[np.ndarray]) -> np.ndarray:
    """One id per combination of `keys` (arrays of codes from 0, such as `sort_key`'s),
    ordered as the keys sort: the keys as digits of one number (ids need not be dense);
    made dense after each key, so the product never overflows, only when the digits
    would not fit in 62 bits."""
    if not len(keys[0]):
        return np.zeros(0, dtype=np.int64)
    sizes = [int(k.max()) + 1 for k in keys]
    if math.prod(sizes) < 1 << 62:
        ids = keys[0].astype(np.int64)
        for k, size in zip(keys[1:], sizes[1:], strict=True):
            ids = ids * size + k
        return ids
    ids = keys[0]
    for k in keys[1:]:
        ids = np.unique(ids * (int(k.max()) + 1) + k, return_inverse=True)[1]
    return ids.astype(np.int64).reshape(-1)


def lexsort(keys: Sequence[np.ndarray]) -> np.ndarray:
    """``np.lexsort(keys)`` (the last key primary) for integer keys: the keys packed as
    the digits of one int64, then one stable argsort.  numpy's stable sort of int64 is a
    timsort, which takes rows already in order as one run: a run's rows appended to a
    replayed book's 2.5 million movements (12 x SPEC §6) are ordered in 0.1 s, where
    `np.lexsort` sorts every key again (0.6 s).  A key too wide to pack (a timestamp in
    nanoseconds) is packed divided by the greatest common divisor of its values (a date:
    its days), else as the rank of its value among its distinct values; keys that still
    need more than 63 bits go to `np.lexsort`."""
    if not len(keys) or not len(keys[0]):
        return np.lexsort(keys) if len(keys) else np.zeros(0, dtype=np.intp)
    digits: list[tuple[np.ndarray, int]] = []
    bits = 0
    for key in reversed(keys):  # the primary key first
        if key.dtype.kind not in "iub":
            return np.lexsort(keys)
        low = int(key.min())
        width = (int(key.max()) - low).bit_length()
        digit = key.astype(np.int64, copy=False) - low
        if PACKED_BITS // 2 < width <= PACKED_BITS:
            # a date in nanoseconds is a whole number of days: packed as days, in order
            step = int(np.gcd.reduce(digit))
            if step > 1:
                digit //= step
                width = int(digit.max()).bit_length()
        if width > PACKED_BITS // 2:
            codes, distinct = pd.factorize(key, sort=True)
            digit, width = codes.astype(np.int64), (len(distinct) - 1).bit_length()
        bits += width
        if bits > PACKED_BITS:
            return np.lexsort(keys)
        digits.append((digit, width))
    packed = np.zeros(len(keys[0]), dtype=np.int64)
    for digit, width in digits:
        packed <<= width
        packed |= digit
    return np.argsort(packed, kind="stable")


PACKED_BITS = 63  # an int64's bits that `lexsort` packs keys into (no sign)


def sorted_order(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Positions of `frame`'s rows in the order of a stable ``sort_values(columns)``."""
    if not len(frame):
        return np.zeros(0, dtype=np.intp)
    try:
        return lexsort([sort_key(frame[c]) for c in reversed(columns)])
    except TypeError:  # values that do not compare (text and numbers): pandas decides
        plain = frame[list(columns)].reset_index(drop=True)
        return plain.sort_values(list(columns), kind="stable").index.to_numpy()


def sorted_groups(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(order, group): `sorted_order`, and for each row in that order the number of its
    group of equal `columns` (blanks are a value of their own, as with
    ``groupby(dropna=False)``), so a groupby on `group` needs no text keys factorised
    again.  Raises TypeError for values that do not compare."""
    ranks = [sort_key(frame[c]) for c in columns]
    order = lexsort(ranks[::-1]) if len(frame) else np.zeros(0, dtype=np.intp)
    change = np.zeros(len(order), dtype=bool)
    change[:1] = True
    for rank in ranks:
        ordered = rank[order]
        change[1:] |= ordered[1:] != ordered[:-1]
    return order, np.cumsum(change) - 1


def sort_rows(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``frame.sort_values(columns, kind="stable")``, with `sort_key`'s codes."""
    return frame.take(sorted_order(frame, columns))


def labels(
    conditions: Sequence[pd.Series | np.ndarray | Sequence[bool]],
    choices: Sequence[str],
    default: str,
) -> pd.api.extensions.ExtensionArray:
    """``np.select`` for text: a text array of the given ``str`` objects, the choice of the
    first true condition per row.  ``np.select``/``np.where`` make a fixed-width copy,
    then one new ``str`` per row once pandas takes it: 60 MB at 12 x SPEC §6."""
    out = np.empty(len(conditions[0]), dtype=object)  # len(): Series or arrays
    out[:] = default  # the one object in every row (np.full would make one per row)
    for condition, choice in reversed(list(zip(conditions, choices, strict=True))):
        out[np.asarray(condition, dtype=bool)] = choice
    return pd.array(out, dtype="str")
