"""Generate a valid synthetic distributor ledger at the scale of SPEC §6 (times --scale).

At scale 1.0: 1,000 partners (~60% Panda Security, the rest WatchGuard),
100,000 client contracts, 20,000 pool blocks and 50,000 exchange rows, dated
2023-01..2026-11 so a ``--month 2026-12`` run has annual renewals, monthly
renewals and some shortfalls.  The ledger is valid by construction, not by
retrying:

- clients take products of distinct families (so R6's family rule holds);
- per (partner, product, term) the contracts are split into chunks in date
  order and each chunk gets a block dated on or before its first assignment,
  holding at least its licences (annual pools never go negative);
- every monthly contract has an exchange of its own devices on its start date
  (the exchange and the contract's R1 consumption cancel), plus top-ups in
  November 2026 that cover 60-160% of the December need (some short);
- per WatchGuard partner, exchanges are chunked the same way and each chunk is
  preceded by a credit of at least its points (points never go negative).

Deterministic for a seed (numpy Generator, no clock).  Usage:
``python benchmarks/generate.py --scale 1.0 --seed 7 --out big.xlsx [--csv]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

PANDA, WATCHGUARD = "Panda Security", "WatchGuard"
FIRST_DAY = np.datetime64("2023-01-02", "D")
LAST_DAY = np.datetime64("2026-11-26", "D")
RUN_MONTH = np.datetime64("2026-12-01", "D")
EXCEL_EPOCH = np.datetime64("1899-12-30", "D")

# product, name, family, main_product, points_per_licence, trial_days, 1-year unit price
CATALOGUE = (
    ("AD360", "Panda Adaptive Defense 360", "Adaptive Defense", None, 3, 30, 40.0),
    ("AD", "Panda Adaptive Defense", "Adaptive Defense", None, 2, 30, 29.0),
    ("EPP", "Panda Endpoint Protection Plus", "Endpoint Protection", None, 2, 30, 25.0),
    ("EP", "Panda Endpoint Protection", "Endpoint Protection", None, 1, None, 16.0),
    ("FUSION", "Panda Fusion", "Fusion", None, None, None, 18.0),
    ("PM", "Panda Patch Management", "Patch Management", "AD360", 1, 30, 9.0),
    ("FE", "Panda Full Encryption", "Full Encryption", "AD360", 1, None, 7.0),
    ("ART", "Panda Advanced Reporting Tool", "Advanced Reporting", "AD360", None, 30, 11.0),
    ("DC", "Panda Data Control", "Data Control", "AD360", None, None, 12.0),
)
PRODUCT = np.array([p[0] for p in CATALOGUE], dtype=object)
PPL = np.array([p[4] or 0 for p in CATALOGUE])
HAS_TRIAL = np.array([p[5] is not None for p in CATALOGUE])
PRICE = np.array([p[6] for p in CATALOGUE])
# Distinct-family groups a client picks from (a module is its own family), with weights;
# within a group, the products and their shares.
FAMILY_GROUPS = (((0, 1), (0.65, 0.35)), ((2, 3), (0.55, 0.45)), ((4,), (1.0,)),
                 ((5,), (1.0,)), ((6,), (1.0,)), ((7,), (1.0,)), ((8,), (1.0,)))  # fmt: skip
GROUP_WEIGHTS = np.array([0.34, 0.30, 0.08, 0.10, 0.08, 0.05, 0.05])
TERM_PRICE = np.array([0.0, 1.0, 1.8, 2.5])  # by term in years
DISCOUNTS = ((1, 0.0), (25, 5.0), (50, 7.5), (100, 10.0), (250, 15.0), (500, 20.0))

COLUMNS = {
    "Partners": ["partner", "name", "provider"],
    "Products": ["product", "name", "family", "main_product", "points_per_licence", "trial_days"],
    "Discounts": ["min_quantity", "discount"],
    "Pool": ["date", "partner", "order", "product", "term", "quantity", "unit_price", "type",
             "note"],
    "Clients": ["partner", "client", "client_name", "product", "term", "licences", "start", "end",
                "devices_used", "auto_renew", "priority", "type", "ref"],
    "Exchanges": ["date", "partner", "type", "product", "devices", "points", "licences", "client",
                  "run"],
    "Renewals": ["run", "month", "partner", "client", "product", "term", "requested", "renewed",
                 "dropped", "licences", "points"],
}  # fmt: skip
DATE_COLUMNS = {"date", "start", "end"}
INT_COLUMNS = {
    "points_per_licence", "trial_days", "min_quantity", "quantity", "licences", "devices_used",
    "priority", "devices", "points", "requested", "renewed", "dropped",
}  # fmt: skip

NAME_A = ("Alder", "Birch", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbour", "Iris",
          "Juniper", "Kestrel", "Lumen", "Meridian", "Nordic", "Orion", "Pioneer", "Quarry",
          "Riverside", "Summit", "Tidewater", "Union", "Vega", "Willow", "Zenith")  # fmt: skip
NAME_B = ("Logistics", "Dental", "Engineering", "Accountancy", "Legal", "Retail", "Clinic",
          "Construction", "Hotels", "Foods", "Motors", "Design", "Consulting", "Pharma",
          "Textiles", "Farms", "Print", "Energy", "Media", "Properties")  # fmt: skip
NAME_C = ("Ltd", "GmbH", "SL", "SA", "AB", "BV", "Srl", "SAS", "Oy", "AS", "LLP", "Inc")


def _days(n: int | np.ndarray) -> np.ndarray:
    return np.asarray(n).astype("timedelta64[D]")


def _r1_licences(dates: np.ndarray, devices: np.ndarray) -> np.ndarray:
    """R1: ceil(devices × days / 30), days = 30 on the 1st, else min(30, days to next 1st)."""
    month = dates.astype("datetime64[M]")
    day = (dates - month.astype("datetime64[D]")).astype(np.int64) + 1
    left = ((month + 1).astype("datetime64[D]") - dates).astype(np.int64)
    days = np.where(day == 1, 30, np.minimum(30, left))
    return -(-(devices.astype(np.int64) * days) // 30)


def _no_leap_day(dates: np.ndarray) -> np.ndarray:
    """Move 29 February to the 28th (keeps start + N years unambiguous)."""
    leap = dates == np.datetime64("2024-02-29", "D")
    return np.where(leap, dates - _days(1), dates)


def _cover(
    rng: np.random.Generator,
    group: np.ndarray,
    dates: np.ndarray,
    amounts: np.ndarray,
    chunks: np.ndarray,
    lead_days: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inflows that keep each group's balance >= 0 whatever the outflows.

    The outflows of group ``g`` (sorted by date) are cut into ``chunks[g]``
    chunks; each chunk gets one inflow dated up to `lead_days` before its first
    outflow (never before FIRST_DAY) holding the chunk's total.  Returns
    (group, date, amount) per inflow.
    """
    order = np.lexsort((dates, group))
    g, d, a = group[order], dates[order], amounts[order]
    sizes = np.bincount(g, minlength=len(chunks))
    starts = np.cumsum(sizes) - sizes
    rank = np.arange(len(g)) - starts[g]
    chunk = rank * chunks[g] // np.maximum(sizes[g], 1)
    offsets = np.cumsum(chunks) - chunks
    block = offsets[g] + chunk
    n_blocks = int(chunks.sum())
    total = np.bincount(block, weights=a, minlength=n_blocks).round().astype(np.int64)
    first = np.full(n_blocks, LAST_DAY)
    np.minimum.at(first, block, d)
    when = np.maximum(first - _days(rng.integers(0, lead_days + 1, n_blocks)), FIRST_DAY)
    return np.repeat(np.arange(len(chunks)), chunks), when, total


def generate(scale: float, seed: int) -> dict[str, pd.DataFrame]:
    """The synthetic ledger: sheet name -> frame with the canonical columns."""
    rng = np.random.default_rng(seed)
    n_partners = max(2, round(1000 * scale))
    n_panda = min(n_partners - 1, max(1, round(0.6 * n_partners)))
    n_contracts = max(10, round(100_000 * scale))
    n_blocks = max(1, round(20_000 * scale))
    n_exchanges = max(1, round(50_000 * scale))

    # Partners: ~60% Panda Security; WatchGuard MSPs hold more (monthly) contracts.
    is_wg = np.zeros(n_partners, dtype=bool)
    is_wg[rng.choice(n_partners, n_partners - n_panda, replace=False)] = True
    n_wg = int(is_wg.sum())
    pid = np.array([f"P{i + 1:05d}" for i in range(n_partners)], dtype=object)
    weight = rng.lognormal(0.0, 0.8, n_partners) * np.where(is_wg, 2.0, 1.0)

    # Clients hold 1-3 contracts, each of a different family group.
    per_client = rng.choice([1, 2, 3], size=n_contracts, p=[0.5, 0.3, 0.2])
    cum = np.cumsum(per_client)
    n_clients = int(np.searchsorted(cum, n_contracts)) + 1
    per_client = per_client[:n_clients]
    per_client[-1] -= int(cum[n_clients - 1]) - n_contracts
    client_partner = rng.choice(n_partners, n_clients, p=weight / weight.sum())
    client_of = np.repeat(np.arange(n_clients), per_client)
    first_of_client = np.cumsum(per_client) - per_client
    position = np.arange(n_contracts) - first_of_client[client_of]
    gumbel = np.log(GROUP_WEIGHTS) + rng.gumbel(size=(n_clients, len(GROUP_WEIGHTS)))
    family_group = np.argsort(-gumbel, axis=1)[client_of, position]
    u = rng.random(n_contracts)
    product = np.empty(n_contracts, dtype=np.int64)
    for gi, (members, shares) in enumerate(FAMILY_GROUPS):
        pick = np.searchsorted(np.cumsum(shares)[:-1], u, side="right")
        product = np.where(family_group == gi, np.asarray(members)[pick], product)
    partner = client_partner[client_of]
    wg = is_wg[partner]

    # Kind: trial, monthly (WatchGuard, products with points) or annual.
    trial = HAS_TRIAL[product] & (rng.random(n_contracts) < 0.04)
    n_credits = 3 * n_wg
    topups_min = max(n_wg, round(0.15 * n_exchanges))
    eligible = np.flatnonzero(wg & (PPL[product] > 0) & ~trial)
    n_monthly = min(len(eligible), max(0, n_exchanges - n_credits - topups_min))
    monthly = np.zeros(n_contracts, dtype=bool)
    monthly[rng.choice(eligible, n_monthly, replace=False)] = True
    n_topups = max(0, n_exchanges - n_credits - n_monthly)
    annual = ~trial & ~monthly
    term = np.where(
        wg,
        rng.choice([1, 3], n_contracts, p=[0.65, 0.35]),
        rng.choice([1, 2, 3], n_contracts, p=[0.55, 0.15, 0.30]),
    )

    # Dates, sizes, renewal settings.
    span = int((LAST_DAY - FIRST_DAY).astype(np.int64))
    start = FIRST_DAY + _days(rng.integers(0, span + 1, n_contracts))
    ends_december = annual & (rng.random(n_contracts) < 0.06)
    dec_start = ((2026 - term - 1970) * 12 + 11).astype("datetime64[M]").astype(
        "datetime64[D]"
    ) + _days(rng.integers(0, 31, n_contracts))
    start = np.where(ends_december, dec_start, start)
    trial_from = np.datetime64("2026-08-01", "D")
    trial_start = trial_from + _days(rng.integers(0, int((LAST_DAY - trial_from).astype(int)) + 1,
                                                  n_contracts))  # fmt: skip
    start = _no_leap_day(np.where(trial, trial_start, start))
    licences = np.clip(np.rint(rng.lognormal(2.6, 0.9, n_contracts)), 1, 2000).astype(np.int64)
    licences = np.where(trial, rng.integers(5, 51, n_contracts), licences)
    known = annual & (rng.random(n_contracts) < 0.6)
    unused = rng.random(n_contracts) < 0.3
    used = np.where(unused, (rng.random(n_contracts) * licences).astype(np.int64), licences)
    r = rng.random(n_contracts)
    renew_annual = np.where(ends_december, r < 0.8, r < 0.3)
    auto_renew = np.full(n_contracts, None, dtype=object)
    auto_renew[annual & renew_annual] = "yes"
    auto_renew[annual & ~renew_annual & (r > 0.85)] = "no"
    auto_renew[monthly & (r < 0.03)] = "no"
    auto_renew[monthly & (r > 0.9)] = "yes"
    cancelled = monthly & (rng.random(n_contracts) < 0.05)
    start_month = start.astype("datetime64[M]").astype(np.int64)
    run_month = RUN_MONTH.astype("datetime64[M]").astype(np.int64)
    end_month = start_month + 1 + (rng.random(n_contracts) * (run_month - start_month)).astype(int)
    end = np.where(
        cancelled, end_month.astype("datetime64[M]").astype("datetime64[D]"), np.datetime64("NaT")
    )
    priority_set = (monthly & (rng.random(n_contracts) < 0.7)) | (
        annual & (rng.random(n_contracts) < 0.1)
    )
    priority = np.where(priority_set, rng.integers(1, 6, n_contracts), -1)

    clients = pd.DataFrame(
        {
            "partner": pid[partner],
            "client": np.array([f"C{i + 1:07d}" for i in range(n_clients)], dtype=object)[
                client_of
            ],
            "client_name": _names(rng, n_clients)[client_of],
            "product": PRODUCT[product],
            "term": np.where(trial, "trial", np.where(monthly, "monthly", term.astype(str))).astype(
                object
            ),
            "licences": licences,
            "start": start,
            "end": end,
            "devices_used": np.where(known, used, -1),
            "auto_renew": auto_renew,
            "priority": priority,
            "type": "assign",
            "ref": None,
        }
    )

    pool = _pool(rng, partner, product, term, start, licences, annual, n_blocks, pid)
    exchanges = _exchanges(
        rng, partner, product, start, licences, monthly, auto_renew, end, clients, is_wg, pid,
        n_topups,
    )  # fmt: skip

    tables = {
        "Partners": pd.DataFrame(
            {
                "partner": pid,
                "name": _names(rng, n_partners, partner=True),
                "provider": np.where(is_wg, WATCHGUARD, PANDA).astype(object),
            }
        ),
        "Products": pd.DataFrame([p[:6] for p in CATALOGUE], columns=COLUMNS["Products"]),
        "Discounts": pd.DataFrame(DISCOUNTS, columns=COLUMNS["Discounts"]),
        "Pool": pool,
        "Clients": clients.sort_values(["start", "partner"], kind="mergesort"),
        "Exchanges": exchanges,
        "Renewals": pd.DataFrame(columns=COLUMNS["Renewals"]),
    }
    return {name: _typed(name, frame) for name, frame in tables.items()}


def _names(rng: np.random.Generator, n: int, *, partner: bool = False) -> np.ndarray:
    """Plausible company names (deterministic for the generator's state)."""
    a = rng.integers(0, len(NAME_A), n)
    b = rng.integers(0, len(NAME_B), n)
    c = rng.integers(0, len(NAME_C), n)
    middle = ("IT Solutions", "Managed Services", "Cyber", "Systems") if partner else NAME_B
    b = b % len(middle)
    return np.array(
        [f"{NAME_A[x]} {middle[y]} {NAME_C[z]}" for x, y, z in zip(a, b, c, strict=True)],
        dtype=object,
    )


def _pool(
    rng: np.random.Generator,
    partner: np.ndarray,
    product: np.ndarray,
    term: np.ndarray,
    start: np.ndarray,
    licences: np.ndarray,
    annual: np.ndarray,
    n_blocks: int,
    pid: np.ndarray,
) -> pd.DataFrame:
    """Blocks per (partner, product, term): one per chunk of contracts, then stock blocks."""
    key = (partner[annual] * len(CATALOGUE) + product[annual]) * 4 + term[annual]
    groups, group = np.unique(key, return_inverse=True)
    sizes = np.bincount(group, minlength=len(groups))
    spare = max(n_blocks - len(groups), 0)
    chunks = np.minimum(sizes, 1 + (spare * sizes) // max(int(sizes.sum()), 1))
    g, when, demand = _cover(rng, group, start[annual], licences[annual], chunks, 45)
    headroom = np.where(
        rng.random(len(g)) < 0.6, np.rint(demand * rng.uniform(0.1, 0.4, len(g))), 0
    )
    quantity = (-(-demand // 10) * 10 + headroom).astype(np.int64)
    n_stock = max(n_blocks - len(g), 0)
    stock_g = rng.integers(0, max(len(groups), 1), n_stock)
    span = int((LAST_DAY - FIRST_DAY).astype(np.int64))
    stock_when = FIRST_DAY + _days(rng.integers(0, span + 1, n_stock))
    g = np.concatenate([g, stock_g])
    when = np.concatenate([when, stock_when])
    quantity = np.concatenate([quantity, rng.choice([10, 20, 25, 50, 100], n_stock)])
    group_key = groups[g]
    term_of = group_key % 4
    product_of = (group_key // 4) % len(CATALOGUE)
    partner_of = group_key // 4 // len(CATALOGUE)
    price = PRICE[product_of] * TERM_PRICE[term_of] * (1 + rng.normal(0, 0.03, len(g)))
    price = np.round(price, 2)
    frame = pd.DataFrame(
        {
            "date": when,
            "partner": pid[partner_of],
            "product": PRODUCT[product_of],
            "term": term_of.astype(str).astype(object),
            "quantity": quantity,
            "unit_price": price,
            "type": "purchase",
            "note": None,
        }
    ).sort_values(["date", "partner"], kind="mergesort")
    frame.insert(2, "order", [f"SO-{i + 1:06d}" for i in range(len(frame))])
    return frame


def _exchanges(
    rng: np.random.Generator,
    partner: np.ndarray,
    product: np.ndarray,
    start: np.ndarray,
    licences: np.ndarray,
    monthly: np.ndarray,
    auto_renew: np.ndarray,
    end: np.ndarray,
    clients: pd.DataFrame,
    is_wg: np.ndarray,
    pid: np.ndarray,
    n_topups: int,
) -> pd.DataFrame:
    """One exchange per monthly contract, November top-ups, and credits ahead of spending."""
    # Exchange of each monthly contract's devices on its start: its R1 licences exactly.
    m_partner, m_product, m_date = partner[monthly], product[monthly], start[monthly]
    m_devices = licences[monthly]
    m_licences = _r1_licences(m_date, m_devices)
    filled = rng.random(len(m_date)) < 0.5

    # November top-ups: 60-160% of each (partner, product)'s December need.
    due = monthly & (auto_renew != "no") & ~(~np.isnat(end) & (end <= RUN_MONTH))
    combo = partner[due] * len(CATALOGUE) + product[due]
    combos, inverse = np.unique(combo, return_inverse=True)
    need = np.bincount(inverse, weights=licences[due], minlength=len(combos))
    wg_ids = np.flatnonzero(is_wg)
    if len(combos):
        t_combo = rng.integers(0, len(combos), n_topups)
        per_combo = np.bincount(t_combo, minlength=len(combos))
        target = np.ceil(need * rng.uniform(0.6, 1.6, len(combos)))
        t_licences = np.maximum(1, np.ceil(target[t_combo] / per_combo[t_combo])).astype(np.int64)
        t_partner = combos[t_combo] // len(CATALOGUE)
        t_product = combos[t_combo] % len(CATALOGUE)
    else:  # tiny scales: nothing due, top up AD360 anyway
        t_partner = rng.choice(wg_ids, n_topups)
        t_product = np.zeros(n_topups, dtype=np.int64)
        t_licences = np.full(n_topups, 10, dtype=np.int64)
    t_date = np.datetime64("2026-11-01", "D") + _days(rng.integers(0, 30, n_topups))

    # Credits: three per WatchGuard partner, each ahead of (and covering) a chunk of spending.
    s_partner = np.concatenate([m_partner, t_partner])
    s_date = np.concatenate([m_date, t_date])
    s_points = (
        np.concatenate([m_licences, t_licences]) * PPL[np.concatenate([m_product, t_product])]
    )
    spenders = np.bincount(s_partner, minlength=len(is_wg))
    chunks = np.where(is_wg, np.minimum(3, spenders), 0)
    c_partner, c_date, c_points = _cover(rng, s_partner, s_date, s_points, chunks, 20)
    c_points = -(-c_points // 50) * 50 + np.where(
        rng.random(len(c_points)) < 0.5, rng.integers(1, 11, len(c_points)) * 50, 0
    )
    extra = np.repeat(wg_ids, 3 - chunks[wg_ids])
    span = int((LAST_DAY - FIRST_DAY).astype(np.int64))
    c_partner = np.concatenate([c_partner, extra])
    c_date = np.concatenate([c_date, FIRST_DAY + _days(rng.integers(0, span + 1, len(extra)))])
    c_points = np.concatenate([c_points, rng.integers(1, 11, len(extra)) * 50])

    n_m, n_t, n_c = len(m_date), len(t_date), len(c_date)
    none = np.full(n_m + n_t + n_c, -1, dtype=np.int64)
    devices = none.copy()
    devices[:n_m] = m_devices
    ex_licences = none.copy()
    ex_licences[:n_m] = np.where(filled, m_licences, -1)
    ex_licences[n_m : n_m + n_t] = t_licences
    points = none.copy()
    points[:n_m] = np.where(filled, m_licences * PPL[m_product], -1)
    points[n_m + n_t :] = c_points
    client = np.full(n_m + n_t + n_c, None, dtype=object)
    client[:n_m] = clients["client"].to_numpy()[monthly]
    products = np.concatenate([PRODUCT[m_product], PRODUCT[t_product], np.full(n_c, None)])
    frame = pd.DataFrame(
        {
            "date": np.concatenate([m_date, t_date, c_date]),
            "partner": pid[np.concatenate([m_partner, t_partner, c_partner])],
            "type": np.array(["exchange"] * (n_m + n_t) + ["credit"] * n_c, dtype=object),
            "product": products,
            "devices": devices,
            "points": points,
            "licences": ex_licences,
            "client": client,
            "run": None,
        }
    )
    return frame.sort_values(["date", "partner"], kind="mergesort")


def _typed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical column order and dtypes: Int64 (-1 = blank), datetime64, object text."""
    frame = frame.reset_index(drop=True).reindex(columns=COLUMNS[name])
    for col in frame.columns:
        if col in DATE_COLUMNS:
            frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
        elif col in INT_COLUMNS:
            values = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
            frame[col] = values.mask(values < 0)
        elif col not in ("unit_price", "discount"):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


# -- writers -----------------------------------------------------------------------------------


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through a temp file next to `path`, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _cells(series: pd.Series) -> tuple[str, list[object]]:
    """A column as ('d'ate serials | 'n'umbers | 'a'uto) and its values, None for blanks."""
    if series.name in DATE_COLUMNS:
        days = (series.to_numpy(dtype="datetime64[D]") - EXCEL_EPOCH).astype(np.int64)
        return "d", [None if na else int(v) for v, na in zip(days, series.isna(), strict=True)]
    if series.name in INT_COLUMNS:
        return "n", [None if v is pd.NA else int(v) for v in series.astype(object)]
    if series.name in ("unit_price", "discount"):
        return "n", [None if pd.isna(v) else float(v) for v in series]
    values = [None if v is None or v is pd.NA else v for v in series.astype(object)]
    if series.name == "term":  # 1/2/3 as the numbers a user types, monthly/trial as text
        values = [int(v) if isinstance(v, str) and v.isdigit() else v for v in values]
    return "a", values


def write_xlsx(tables: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write the ledger with xlsxwriter in constant-memory mode (dates as real date cells)."""
    import xlsxwriter

    def write(tmp: Path) -> None:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
        bold = wb.add_format({"bold": True})
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
        for name, frame in tables.items():
            ws = wb.add_worksheet(name)
            ws.freeze_panes(1, 0)
            for c, col in enumerate(frame.columns):
                ws.set_column(c, c, 12 if col in DATE_COLUMNS else max(10, len(col) + 2))
            ws.write_row(0, 0, list(frame.columns), bold)
            cols = [_cells(frame[col]) for col in frame.columns]
            ws.autofilter(0, 0, max(len(frame), 1), max(len(cols) - 1, 0))
            write_string, write_number = ws.write_string, ws.write_number
            for r in range(len(frame)):
                row = r + 1
                for c, (kind, values) in enumerate(cols):
                    v = values[r]
                    if v is None:
                        continue
                    if kind == "d":
                        write_number(row, c, v, date_fmt)
                    elif kind == "n" or not isinstance(v, str):
                        write_number(row, c, v)
                    else:
                        write_string(row, c, v)
        wb.close()

    return _atomic(Path(path), write)


def write_csv(tables: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write one CSV per sheet (UTF-8, ISO dates) in folder `path`; empty Renewals is left out."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if frame.empty and name not in ("Partners", "Products"):
            continue

        def write(tmp: Path, frame: pd.DataFrame = frame) -> None:
            frame.to_csv(tmp, index=False, date_format="%Y-%m-%d", float_format="%.2f")

        _atomic(folder / f"{name.lower()}.csv", write)
    return folder


def main(argv: list[str] | None = None) -> int:
    """Command line: generate, write, print the row counts and the seconds taken."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = SPEC §6 distributor")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True, help=".xlsx file (or folder with --csv)")
    parser.add_argument("--csv", action="store_true", help="write a CSV folder instead")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    tables = generate(args.scale, args.seed)
    t1 = time.perf_counter()
    (write_csv if args.csv else write_xlsx)(tables, args.out)
    t2 = time.perf_counter()
    for name, frame in tables.items():
        print(f"{name:<10} {len(frame):>8,} rows")
    print(f"generated in {t1 - t0:.1f}s, wrote {args.out} in {t2 - t1:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
