"""Matching the ledger against vendor usage and client billing (SPEC §10). Pure pandas.

Rows of the usage and billing exports are matched to ledger clients (by id, by
normalised name, by the `Mappings` sheet) and products (id, name, mapping); the
devices used and the quantities billed are then compared, per partner, client
and product, with the licences the client holds on the 1st of the month.

Only the *distinct* names of a file are normalised and matched (in Python, one
call per name); everything per row is done by merges and group-bys, so a
100,000-row export costs about as much as its distinct names.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from licreport.errors import DataError
from licreport.ledger.model import Table
from licreport.ledger.schema import MONTHLY, ROW, TRIAL
from licreport.rules.contracts import ANNUAL
from licreport.rules.renewal import due_monthly

UNLICENSED, IDLE, UNDERBILLED, OVERBILLED = "unlicensed", "idle", "underbilled", "overbilled"
KINDS = (UNLICENSED, IDLE, UNDERBILLED, OVERBILLED)
# SPEC §10: legal-form suffixes ignored when names are compared.
LEGAL_FORMS = frozenset({"sl", "sa", "gmbh", "ab", "ltd", "inc", "llc", "bv", "srl", "sas", "ag"})
# Why a row is unmatched (codes; the page and the workbook word them).
NO_CLIENT, SEVERAL_CLIENTS, NO_PARTNER, NO_PRODUCT = (
    "no-client", "several-clients", "no-partner", "no-product",
)  # fmt: skip
SUGGESTION_SCORE = 80  # similarity (0-100) a suggestion needs
MAX_SUGGESTIONS = 3

FINDING_COLUMNS = [
    "partner", "client", "client_name", "product", "kind", "licensed", "used", "billed",
    "difference", "monthly_impact", "unit_price",
]  # fmt: skip
SUMMARY_COLUMNS = ["partner", "kind", "count", "difference", "monthly_impact"]
UNMATCHED_COLUMNS = ["file", "row", "client", "product", "suggestions", "reason"]

# Abbreviation marks vanish ("S.L." -> "sl", "O'Neil" -> "oneil"); any other punctuation
# separates words ("Müller-Bau" = "Müller Bau").
_DROP = re.compile(r"[.'’`´]")
_SEPARATORS = re.compile(r"[\W_]+")


def name_words(text: object, *, legal_forms: bool = True) -> str:
    """A name as compared: NFKD without accents, casefolded, punctuation out, words
    single-spaced, and (for clients and partners) trailing legal forms dropped.

    ``"Talleres GÓMEZ, S.L."`` -> ``"talleres gomez"``; ``"Müller-Bau GmbH"`` -> ``"muller bau"``.
    """
    if text is None or text is pd.NA or (isinstance(text, float) and text != text):
        return ""
    text = str(text)
    if text.isascii():  # no accents to take off: skip the per-character pass
        plain = text.casefold()
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    words = _SEPARATORS.sub(" ", _DROP.sub("", plain)).split()
    if legal_forms:
        words = _strip_legal_forms(words)
    return " ".join(words)


def _strip_legal_forms(words: list[str]) -> list[str]:
    """Drop trailing legal forms, also when spelt in parts ("S. L." -> "s l")."""
    stripped = True
    while stripped:
        stripped = False
        for k in (1, 2, 3):
            if len(words) > k and "".join(words[-k:]) in LEGAL_FORMS:
                words = words[:-k]
                stripped = True
                break
    return words


def name_key(words: str) -> str:
    """The equality key of `name_words`: without spaces ("Talleres Gomez" = "TalleresGomez")."""
    return words.replace(" ", "")


def id_key(text: object) -> str:
    """An id as compared: stripped and casefolded ("c-ibx-001" = "C-IBX-001")."""
    if text is None or text is pd.NA or (isinstance(text, float) and text != text):
        return ""
    return str(text).strip().casefold()


def _unique_map(values: pd.Series, f: Callable[[object], str]) -> pd.Series:
    """`f` applied once per distinct value of `values`, taken back to every row
    (a blank value gives "")."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = _objects([f(u) for u in uniques] + [""])
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _zero_where_missing(values: np.ndarray) -> np.ndarray:
    """An object array of Decimals with Decimal(0) where `values` holds None."""
    out = np.array(values, dtype=object, copy=True)
    out[pd.isna(out)] = Decimal(0)
    return out


def _objects(values: list[Any]) -> np.ndarray:
    """A 1-D object array holding `values` as they are (Decimals, None, lists)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


# --------------------------------------------------------------------------- holdings


def holdings(contracts: pd.DataFrame, first: pd.Timestamp) -> pd.DataFrame:
    """Licences each client holds on `first` per (partner, client, product): active annual
    contracts and trials (``start <= first < end``), monthly contracts due by R2 or
    starting that day, at their full licences; ``trial`` is the part held as trials."""
    c = contracts
    kind = c["kind"].astype(object)
    active = ((c["start"] <= first) & (c["end"] > first)).fillna(False).astype(bool)
    annual = (kind.isin([ANNUAL, TRIAL]) & active).to_numpy(dtype=bool)
    is_monthly = (kind == MONTHLY).fillna(False).astype(bool)
    starting = is_monthly & (c["start"] == first) & (c["end"].isna() | (c["end"] > first))
    due = c.index.isin(due_monthly(c, first).index)
    held = c[annual | starting.fillna(False).to_numpy(dtype=bool) | due]
    licences = held["licences"].fillna(0).astype("int64")
    frame = pd.DataFrame(
        {
            "partner": held["partner"].astype(object),
            "client": held["client"].astype(object),
            "product": held["product"].astype(object),
            "licensed": licences,
            "trial": licences.where((held["kind"] == TRIAL).fillna(False).astype(bool), 0),
        }
    )
    return frame.groupby(["partner", "client", "product"], sort=False, as_index=False).sum()


# --------------------------------------------------------------------------- directories


@dataclass(frozen=True)
class Directory:
    """What file rows are matched against, built once from the ledger."""

    clients: pd.DataFrame  # partner, client, client_name, words (normalised name or id)
    products: pd.DataFrame  # product, name, words
    partners: pd.DataFrame  # partner, name
    client_keys: pd.DataFrame  # step, key, partner, target
    product_keys: pd.DataFrame  # step, key, partner, target
    partner_keys: pd.DataFrame  # step, key, partner, target


def directory(
    clients: pd.DataFrame,
    products: pd.DataFrame,
    partners: pd.DataFrame,
    mappings: pd.DataFrame,
) -> Directory:
    """Lookup keys: step 0 ids, step 1 normalised names, step 2 `Mappings` sources."""
    c = clients[["partner", "client", "client_name"]].dropna(subset=["partner", "client"])
    c = c.astype(object)
    named = c.assign(has=c["client_name"].notna()).sort_values(
        "has", ascending=False, kind="stable"
    )
    c = named.drop_duplicates(["partner", "client"]).drop(columns="has")
    c = c.sort_values(["partner", "client"], kind="stable").reset_index(drop=True)
    c["words"] = _unique_map(c["client_name"].fillna(c["client"]), name_words)
    c["sorted"] = _unique_map(c["words"], sorted_words)
    p = products[["product", "name"]].dropna(subset=["product"]).drop_duplicates("product")
    p = p.astype(object).sort_values("product", kind="stable").reset_index(drop=True)
    p["words"] = _unique_map(p["name"].fillna(p["product"]), _product_words)
    p["sorted"] = _unique_map(p["words"], sorted_words)
    pa = partners[["partner", "name"]].dropna(subset=["partner"]).astype(object)

    m = mappings[mappings["source"].notna() & mappings["target"].notna()]
    m = m.assign(key=_unique_map(m["source"], _name_key))
    client_map = m[m["kind"] == "client"].merge(
        c[["partner", "client"]], left_on="target", right_on="client"
    )
    client_keys = _keys(
        (0, _unique_map(c["client"], id_key), c["partner"], c["client"]),
        (1, c["words"].str.replace(" ", "", regex=False).where(c["client_name"].notna(), ""),
         c["partner"], c["client"]),
        (2, client_map["key"], client_map["partner"], client_map["client"]),
    )  # fmt: skip
    product_map = m[m["kind"] == "product"].merge(
        p[["product"]], left_on="target", right_on="product"
    )
    none = pd.Series("", index=p.index, dtype=object)
    product_keys = _keys(
        (0, _unique_map(p["product"], id_key), none, p["product"]),
        (1, _unique_map(p["name"], _product_key), none, p["product"]),
        (2, product_map["key"], pd.Series("", index=product_map.index), product_map["product"]),
    )
    partner_keys = _keys(
        (0, _unique_map(pa["partner"], id_key), pa["partner"], pa["partner"]),
        (1, _unique_map(pa["name"], _name_key), pa["partner"], pa["partner"]),
    )  # fmt: skip
    return Directory(c, p, pa, client_keys, product_keys, partner_keys)


def _product_words(text: object) -> str:
    """Product names compare like client names, without the legal-form rule."""
    return name_words(text, legal_forms=False)


def _keys(*steps: tuple[int, pd.Series, pd.Series, pd.Series]) -> pd.DataFrame:
    frames = [
        pd.DataFrame(
            {
                "step": step,
                "key": key.to_numpy(dtype=object),
                "partner": partner.to_numpy(dtype=object),
                "target": target.to_numpy(dtype=object),
            }
        )
        for step, key, partner, target in steps
    ]
    keys = pd.concat(frames, ignore_index=True)
    return keys[keys["key"] != ""].drop_duplicates(ignore_index=True)


def check_mappings(table: Table, clients: pd.DataFrame, products: pd.DataFrame) -> list[DataError]:
    """A `Mappings` target that is no ledger id, or one source mapped to two targets."""
    m = table.frame
    if m.empty:
        return []
    known_clients = set(clients["client"].dropna().astype(str))
    known_products = set(products["product"].dropna().astype(str))
    is_client = (m["kind"] == "client").fillna(False).astype(bool)
    is_product = (m["kind"] == "product").fillna(False).astype(bool)
    target = m["target"]
    errors = table.errors_at(
        is_client & target.notna() & ~target.isin(known_clients),
        "target",
        "is not a client id of the Clients sheet",
    )
    errors += table.errors_at(
        is_product & target.notna() & ~target.isin(known_products),
        "target",
        "is not a product id of the Products sheet",
    )
    key = _unique_map(m["source"], _name_key)
    frame = pd.DataFrame({"kind": m["kind"], "key": key, "target": target})
    frame = frame[frame["target"].notna() & (frame["key"] != "")]
    targets = frame.groupby(["kind", "key"])["target"].transform("nunique")
    clash = pd.Series(False, index=m.index)
    clash.loc[frame.index] = (targets > 1).to_numpy()
    errors += table.errors_at(
        clash, "source", "is mapped to two different targets; keep one of the rows"
    )
    return sorted(errors, key=lambda e: e.row or 0)


# --------------------------------------------------------------------------- matching


KeyOf = Callable[[object], str]  # a text's key in one matching step


def _name_key(text: object) -> str:
    return name_key(name_words(text))


def _product_key(text: object) -> str:
    return name_key(_product_words(text))


def _resolve(queries: pd.DataFrame, keys: pd.DataFrame, steps: list[KeyOf]) -> pd.DataFrame:
    """For each query (``qid``; ``scope``: a partner, or "" for any; ``text``), the one
    (partner, target) of the first step that finds exactly one.

    Step ``i`` keys the texts with ``steps[i]`` (applied per distinct text) and looks them
    up in `keys` of that step; only the queries still unresolved go on to the next step,
    so a file of ids never normalises a name.  ``ambiguous``: some step found several and
    none exactly one; ``candidates``: then the targets of the first such step, by id.
    """
    todo = queries[["qid", "scope", "text"]]
    found, several = [], []
    for step, key_of in enumerate(steps):
        if todo.empty:
            break
        k = keys[keys["step"] == step]
        hit = todo[["qid", "scope"]].assign(key=_unique_map(todo["text"], key_of).to_numpy())
        hit = hit.merge(k[["key", "partner", "target"]], on="key")
        hit = hit[(hit["scope"] == "") | (hit["scope"] == hit["partner"])]
        hit = hit.drop_duplicates(["qid", "partner", "target"])
        n = hit.groupby("qid")["qid"].transform("size")
        found.append(hit.loc[n == 1, ["qid", "partner", "target"]])
        several.append(hit.loc[n > 1, ["qid", "target"]].assign(step=step))
        todo = todo[~todo["qid"].isin(found[-1]["qid"]).to_numpy()]
    one = (
        pd.concat(found, ignore_index=True)
        if found
        else pd.DataFrame(columns=["qid", "partner", "target"])
    )
    out = queries[["qid"]].merge(one, on="qid", how="left")
    many = (
        pd.concat(several, ignore_index=True)
        if several
        else pd.DataFrame(columns=["qid", "target", "step"])
    )
    many = many[many["qid"].isin(todo["qid"]).to_numpy()]  # still unresolved at the end
    out["ambiguous"] = out["qid"].isin(many["qid"]).to_numpy()
    many = many[(many["step"] == many.groupby("qid")["step"].transform("min")).to_numpy()]
    many = many.drop_duplicates(["qid", "target"]).sort_values(["qid", "target"])
    candidates = many.groupby("qid")["target"].agg(lambda t: [str(x) for x in t])
    out["candidates"] = out["qid"].map(candidates)
    return out


def _match_partners(values: pd.Series, d: Directory) -> pd.Series:
    """File partner column -> partner id; "" when blank (any partner), <NA> when unknown."""
    text = values.astype(object).where(values.notna(), "")
    codes, uniques = pd.factorize(text)
    q = pd.DataFrame({"qid": np.arange(len(uniques)), "scope": "", "text": uniques})
    res = _resolve(q, d.partner_keys, [id_key, _name_key])
    partner = res["target"].astype(object).to_numpy().copy()
    blank = np.array([str(u).strip() == "" for u in uniques], dtype=bool)
    partner[blank] = ""
    return pd.Series(partner[codes], index=values.index, dtype=object)


def _distinct_pairs(scope: pd.Series, text: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's code among the distinct (scope, text) pairs, and those pairs (columns
    ``scope`` and ``text``) in order of first appearance, as `pd.factorize` of the pairs
    gives them; the pair is coded as two integers, not factorized as text tuples (a
    MultiIndex sorts its levels' text first: 0.3 s of 100,000 usage rows)."""
    s_codes, s_values = pd.factorize(scope)
    t_codes, t_values = pd.factorize(text)
    width = max(len(t_values), 1)  # a pair's code: scope code * width + text code
    codes, pairs = pd.factorize(s_codes.astype(np.int64) * width + t_codes)
    u = pd.DataFrame(
        {
            "scope": np.asarray(s_values, dtype=object)[pairs // width],
            "text": np.asarray(t_values, dtype=object)[pairs % width],
        }
    )
    return codes, u


def match_rows(frame: pd.DataFrame, d: Directory) -> pd.DataFrame:
    """The export's rows with ``m_partner``, ``m_client``, ``m_product`` (<NA> when they
    match nothing or more than one) and, for unmatched rows, ``reason`` and ``suggestions``."""
    out = frame.copy()
    scope = _match_partners(out["partner"], d)
    out["file_partner"] = scope.replace("", None)
    client_text = out["client"].astype(object).where(out["client"].notna(), "")
    codes, u = _distinct_pairs(scope.fillna("\0unknown"), client_text)
    u["qid"] = np.arange(len(u))
    res = _resolve(u, d.client_keys, [id_key, _name_key, _name_key])
    u_partner, u_client = res["partner"].to_numpy(object), res["target"].to_numpy(object)
    out["m_partner"] = pd.Series(u_partner[codes], index=out.index, dtype=object)
    out["m_client"] = pd.Series(u_client[codes], index=out.index, dtype=object)
    client_ambiguous = res["ambiguous"].to_numpy(bool)[codes]
    u["candidates"] = res["candidates"].to_numpy(object)

    p_text = out["product"].astype(object).where(out["product"].notna(), "")
    p_codes, p_uniques = pd.factorize(p_text)
    pq = pd.DataFrame({"qid": np.arange(len(p_uniques)), "scope": "", "text": p_uniques})
    p_res = _resolve(pq, d.product_keys, [id_key, _product_key, _name_key])
    out["m_product"] = pd.Series(
        p_res["target"].to_numpy(object)[p_codes], index=out.index, dtype=object
    )

    unknown_partner = scope.isna().to_numpy()
    no_client = out["m_client"].isna().to_numpy()
    no_product = out["m_product"].isna().to_numpy()
    reason = np.full(len(out), None, dtype=object)
    reason[no_product] = NO_PRODUCT
    reason[no_client] = NO_CLIENT
    reason[no_client & client_ambiguous] = SEVERAL_CLIENTS
    reason[unknown_partner] = NO_PARTNER
    out["reason"] = reason
    out["suggestions"] = _suggestions(out, u, codes, p_codes, p_uniques, d)
    return out


def _suggestions(
    out: pd.DataFrame,
    u: pd.DataFrame,
    codes: np.ndarray,
    p_codes: np.ndarray,
    p_uniques: np.ndarray | pd.Index,
    d: Directory,
) -> pd.Series:
    """Up to 3 client ids (client unmatched) or product ids (only the product unmatched)
    whose names are closest, computed once per distinct unmatched name; None on rows that
    matched."""
    found: dict[tuple[str, int], list[str]] = {}
    reason = out["reason"].to_numpy(dtype=object)
    bad_client = np.isin(reason, [NO_CLIENT, SEVERAL_CLIENTS, NO_PARTNER])
    several = reason == SEVERAL_CLIENTS
    by_partner = {str(k): g for k, g in d.clients.groupby("partner", sort=False)}
    client_codes, first_row = np.unique(codes[bad_client], return_index=True)
    rows_of_bad = np.flatnonzero(bad_client)
    for code, at in zip(client_codes.tolist(), first_row.tolist(), strict=True):
        scope, words = str(u.at[code, "scope"]), name_words(u.at[code, "text"])
        pool = d.clients if scope in ("", "\0unknown") else by_partner.get(scope, d.clients[:0])
        if several[rows_of_bad[at]]:  # the clients it matched (their names score 100)
            candidates: list[str] = list(u.at[code, "candidates"])  # type: ignore[arg-type]
            found[("client", code)] = candidates[:MAX_SUGGESTIONS]
            continue
        found[("client", code)] = closest(words, pool["sorted"], pool["client"])
    bad_product = reason == NO_PRODUCT
    for code in np.unique(p_codes[bad_product]).tolist():
        words = _product_words(p_uniques[code])
        found[("product", code)] = closest(words, d.products["sorted"], d.products["product"])
    result = np.full(len(out), None, dtype=object)  # a list on every unmatched row
    for i in rows_of_bad.tolist():
        result[i] = found[("client", int(codes[i]))]
    for i in np.flatnonzero(bad_product).tolist():
        result[i] = found[("product", int(p_codes[i]))]
    return pd.Series(result, index=out.index, dtype=object)


def sorted_words(words: object) -> str:
    """The words of a normalised name in sorted order (what token_sort_ratio compares)."""
    return " ".join(sorted(str(words).split()))


def closest(query: str, names: pd.Series, ids: pd.Series) -> list[str]:
    """Up to `MAX_SUGGESTIONS` ids whose names score ≥ `SUGGESTION_SCORE` against the
    normalised `query`, best first (ties by id); `names` are `sorted_words` of normalised
    names.

    The score is rapidfuzz's ``token_sort_ratio`` (computed as ``fuzz.ratio`` of the
    sorted words, sorted once per name rather than per comparison): word order does not
    matter ("Gomez Talleres"), a typo costs a few points, and unlike
    ``WRatio``/``partial_ratio`` a short name is not a near-perfect match for every longer
    name containing it ("Bodegas" is not 90% of "Bodegas Almendral").
    """
    if not query or names.empty:
        return []
    hits = process.extract(
        sorted_words(query),
        names.tolist(),
        scorer=fuzz.ratio,
        score_cutoff=SUGGESTION_SCORE,
        limit=None,
    )
    id_list = ids.tolist()
    best: dict[str, float] = {}
    for _, score, index in hits:
        ident = str(id_list[index])
        best[ident] = max(score, best.get(ident, 0.0))
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
    return [ident for ident, _ in ranked[:MAX_SUGGESTIONS]]


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class MatchResult:
    findings: pd.DataFrame  # FINDING_COLUMNS, sorted (SPEC §10)
    summary: pd.DataFrame  # SUMMARY_COLUMNS
    unmatched: pd.DataFrame  # UNMATCHED_COLUMNS
    has_billing: bool
    has_price: bool


def _matched(rows: pd.DataFrame) -> pd.DataFrame:
    ok = rows["reason"].isna().to_numpy()
    return rows[ok].assign(
        partner=rows.loc[ok, "m_partner"],
        client=rows.loc[ok, "m_client"],
        product=rows.loc[ok, "m_product"],
    )


_KEY = ["partner", "client", "product"]


def _billed(rows: pd.DataFrame) -> pd.DataFrame:
    """Quantity per key and the quantity-weighted mean unit price (plain mean when every
    priced row has quantity 0; None when no row has a price)."""
    m = _matched(rows)
    qty = m["quantity"].fillna(0).astype("int64")
    price = m["unit_price"].to_numpy(dtype=object)
    priced = pd.notna(price)
    qp = np.zeros(len(m), dtype=object)
    qp[:] = Decimal(0)
    qp[priced] = qty.to_numpy(dtype=object)[priced] * price[priced]
    frame = pd.DataFrame(
        {
            "partner": m["partner"].to_numpy(object),
            "client": m["client"].to_numpy(object),
            "product": m["product"].to_numpy(object),
            "billed": qty.to_numpy(),
            "priced_qty": np.where(priced, qty.to_numpy(), 0),
            "qp": qp,
            "priced": priced.astype("int64"),
            "price_sum": _zero_where_missing(price),
        }
    )
    g = frame.groupby(_KEY, sort=False, as_index=False).agg(
        billed=("billed", "sum"),
        priced_qty=("priced_qty", "sum"),
        qp=("qp", "sum"),
        priced=("priced", "sum"),
        price_sum=("price_sum", "sum"),
    )
    unit = np.full(len(g), None, dtype=object)
    weighted = (g["priced_qty"] > 0).to_numpy()
    plain = (g["priced"] > 0).to_numpy() & ~weighted
    unit[weighted] = g["qp"].to_numpy(object)[weighted] / g["priced_qty"].to_numpy(object)[weighted]
    unit[plain] = g["price_sum"].to_numpy(object)[plain] / g["priced"].to_numpy(object)[plain]
    g["billed_price"] = unit
    return g[[*_KEY, "billed", "billed_price"]]


def median_prices(rows: pd.DataFrame) -> dict[str, Decimal]:
    """Per product, the median unit price of every priced billing row of that product in
    the file (its client matched or not)."""
    m = rows[rows["m_product"].notna().to_numpy()]
    prices = m["unit_price"].to_numpy(dtype=object)
    priced = pd.notna(prices)
    by_product: dict[str, list[Decimal]] = {}
    for product, price in zip(m["m_product"].to_numpy(object)[priced], prices[priced], strict=True):
        by_product.setdefault(str(product), []).append(price)
    return {p: statistics.median(v) for p, v in by_product.items()}


def reconcile_usage(
    held: pd.DataFrame,
    usage: pd.DataFrame,
    billing: pd.DataFrame | None,
    client_names: pd.DataFrame,
    *,
    has_price: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Findings (sorted) and summary from holdings and the matched export rows."""
    m = _matched(usage)
    used = (
        pd.DataFrame(
            {
                "partner": m["partner"].to_numpy(object),
                "client": m["client"].to_numpy(object),
                "product": m["product"].to_numpy(object),
                "used": m["devices"].fillna(0).astype("int64").to_numpy(),
            }
        )
        .groupby(_KEY, sort=False, as_index=False)
        .sum()
    )
    t = held.merge(used, on=_KEY, how="outer")
    if billing is not None:
        t = t.merge(_billed(billing), on=_KEY, how="outer")
    for col in ("licensed", "trial", "used", "billed"):
        if col in t:
            t[col] = t[col].fillna(0).astype("int64")
    licensed, used_n = t["licensed"].to_numpy(), t["used"].to_numpy()
    parts = [
        _finding(t, UNLICENSED, used_n > licensed, used_n - licensed, billing is not None),
        _finding(t, IDLE, licensed > used_n, licensed - used_n, billing is not None),
    ]
    if billing is not None:
        billable = np.maximum(np.maximum(used_n, licensed) - t["trial"].to_numpy(), 0)
        billed = t["billed"].to_numpy()
        medians = median_prices(billing) if has_price else {}
        price = t["billed_price"].astype(object).where(t["billed_price"].notna(), None)
        fallback = t["product"].map(medians).astype(object)
        prices = price.where(price.notna(), fallback).to_numpy(object).copy()
        prices[pd.isna(prices)] = None
        t["unit_price"] = prices
        under = _finding(t, UNDERBILLED, billed < billable, billable - billed, True)
        over = _finding(t, OVERBILLED, billed > billable, billed - billable, True)
        for part, sign in ((under, 1), (over, -1)):
            known = part["unit_price"].notna().to_numpy()
            impact = np.full(len(part), None, dtype=object)
            diff = part["difference"].to_numpy(dtype=object)
            impact[known] = diff[known] * part["unit_price"].to_numpy(object)[known] * sign
            part["monthly_impact"] = impact
        parts += [under, over]
    findings = pd.concat(parts, ignore_index=True)
    # a left merge on the two columns (a MultiIndex would sort their text first)
    names = client_names.drop_duplicates(["partner", "client"])[
        ["partner", "client", "client_name"]
    ]
    named = findings[["partner", "client"]].merge(names, how="left", on=["partner", "client"])
    findings["client_name"] = named["client_name"].to_numpy(object)
    findings = _sort(findings)[FINDING_COLUMNS]
    return findings, summarise(findings)


def _finding(
    t: pd.DataFrame, kind: str, mask: np.ndarray, difference: np.ndarray, with_billing: bool
) -> pd.DataFrame:
    rows = t[mask]
    return pd.DataFrame(
        {
            "partner": rows["partner"].to_numpy(object),
            "client": rows["client"].to_numpy(object),
            "product": rows["product"].to_numpy(object),
            "kind": kind,
            "licensed": rows["licensed"].to_numpy(),
            "used": rows["used"].to_numpy(),
            "billed": pd.array(
                rows["billed"].to_numpy(object) if with_billing else [None] * len(rows), "Int64"
            ),
            "difference": difference[mask],
            "monthly_impact": np.full(len(rows), None, dtype=object),
            "unit_price": (
                rows["unit_price"].to_numpy(object)
                if "unit_price" in rows
                else np.full(len(rows), None, dtype=object)
            ),
        }
    )


def _sort(findings: pd.DataFrame) -> pd.DataFrame:
    """|monthly_impact| descending (unknown last), then difference descending, then partner,
    client, product (and the kind, in `KINDS` order)."""
    impact = findings["monthly_impact"].to_numpy(dtype=object)
    known = pd.notna(impact)
    magnitude = np.abs(_zero_where_missing(impact))
    keyed = findings.assign(
        _unknown=~known,
        _magnitude=magnitude,
        _kind=findings["kind"].map({k: i for i, k in enumerate(KINDS)}),
    )
    keyed = keyed.sort_values(
        ["_unknown", "_magnitude", "difference", "partner", "client", "product", "_kind"],
        ascending=[True, False, False, True, True, True, True],
        kind="stable",
    )
    return keyed.drop(columns=["_unknown", "_magnitude", "_kind"]).reset_index(drop=True)


def summarise(findings: pd.DataFrame) -> pd.DataFrame:
    """Per partner and kind with a finding: count, Σ difference, Σ known impacts (None
    when no impact is known)."""
    if findings.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SUMMARY_COLUMNS})
    impact = findings["monthly_impact"].to_numpy(dtype=object)
    known = pd.notna(impact)
    frame = pd.DataFrame(
        {
            "partner": findings["partner"].to_numpy(object),
            "kind": findings["kind"].to_numpy(object),
            "difference": findings["difference"].astype("int64").to_numpy(),
            "known": known.astype("int64"),
            "impact": _zero_where_missing(impact),
        }
    )
    g = frame.groupby(["partner", "kind"], sort=False, as_index=False).agg(
        count=("kind", "size"),
        difference=("difference", "sum"),
        known=("known", "sum"),
        monthly_impact=("impact", "sum"),
    )
    total = g["monthly_impact"].to_numpy(object).copy()
    total[(g["known"] == 0).to_numpy()] = None
    g["monthly_impact"] = total
    g["_kind"] = g["kind"].map({k: i for i, k in enumerate(KINDS)})
    g = g.sort_values(["partner", "_kind"], kind="stable").reset_index(drop=True)
    return g[SUMMARY_COLUMNS]


def unmatched_rows(files: Iterable[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """Every unmatched row of the files, in file order then row order."""
    parts = []
    for name, rows in files:
        bad = rows[rows["reason"].notna().to_numpy()]
        parts.append(
            pd.DataFrame(
                {
                    "file": name,
                    "row": bad[ROW].astype("int64").to_numpy(),
                    "client": bad["client"].astype(object).to_numpy(),
                    "product": bad["product"].astype(object).to_numpy(),
                    "suggestions": bad["suggestions"].to_numpy(object),
                    "reason": bad["reason"].to_numpy(object),
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in UNMATCHED_COLUMNS})
    return pd.concat(parts, ignore_index=True)[UNMATCHED_COLUMNS]


def match_ledger(
    contracts: pd.DataFrame,
    first: pd.Timestamp,
    d: Directory,
    usage: tuple[str, pd.DataFrame],
    billing: tuple[str, pd.DataFrame] | None,
    *,
    has_price: bool = True,
    partners: Iterable[str] | None = None,
) -> MatchResult:
    """The whole §10 comparison: match the rows, compare with the holdings on `first`.

    `partners` restricts the findings (``--partner``): rows matched to other partners
    are out of scope, and so are unmatched rows whose partner column names another one.
    """
    held = holdings(contracts, first)
    usage_rows = match_rows(usage[1], d)
    billing_rows = match_rows(billing[1], d) if billing is not None else None
    if partners is not None:
        keep = set(partners)
        usage_rows = _in_scope(usage_rows, keep)
        billing_rows = _in_scope(billing_rows, keep) if billing_rows is not None else None
        held = held[held["partner"].isin(keep)]
    findings, summary = reconcile_usage(
        held, usage_rows, billing_rows, d.clients, has_price=has_price
    )
    files = [(usage[0], usage_rows)]
    if billing is not None and billing_rows is not None:
        files.append((billing[0], billing_rows))
    return MatchResult(
        findings,
        summary,
        unmatched_rows(files),
        billing is not None,
        has_price and billing is not None,
    )


def _in_scope(rows: pd.DataFrame, keep: set[str]) -> pd.DataFrame:
    matched_elsewhere = rows["reason"].isna() & ~rows["m_partner"].isin(keep)
    named = rows["file_partner"]
    named_elsewhere = rows["reason"].notna() & named.notna() & ~named.isin(keep)
    return rows[~(matched_elsewhere | named_elsewhere).to_numpy(dtype=bool)]
