"""An independent, minimal checker of ledger validity for the sample and the generator.

Deliberately separate from `licreport.rules`: it re-implements the replay (R1,
R6, R7) in a few vectorised pandas steps so the data files are checked by code
that did not produce them, and so the engine's own tests are not circular.
`check_ledger` returns a list of messages (empty = valid); `balances` gives the
pools and points as they stand on a date, for tests that assert designed numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from licreport.ledger.schema import BY_NAME, SHEETS

PANDA, WATCHGUARD = "Panda Security", "WatchGuard"
FAR_FUTURE = pd.Timestamp("2200-01-01")
Frames = dict[str, pd.DataFrame]


def frames_from_rows(tables: Mapping[str, Sequence[Mapping[str, object]]]) -> Frames:
    """`sample_tables()`-style rows -> one DataFrame per sheet with every schema column."""
    out: Frames = {}
    for sheet in SHEETS:
        rows = list(tables.get(sheet.name, ()))
        out[sheet.name] = pd.DataFrame(rows, columns=sheet.names)
    return out


def read_xlsx(path: Path) -> Frames:
    """Every schema sheet of a workbook as read by pandas (missing sheets empty)."""
    sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    return {s.name: sheets.get(s.name, pd.DataFrame(columns=s.names)) for s in SHEETS}


def read_csv_folder(path: Path) -> Frames:
    """Every schema sheet of a CSV folder (missing files empty)."""
    out: Frames = {}
    for s in SHEETS:
        file = Path(path) / f"{s.name.lower()}.csv"
        out[s.name] = (
            pd.read_csv(file, dtype=str, keep_default_na=False).replace("", None)
            if file.exists()
            else pd.DataFrame(columns=s.names)
        )
    return out


# -- normalising loosely typed input ---------------------------------------------------------


def _text(s: pd.Series) -> pd.Series:
    """Strings, with whole floats shown as ints ('1.0' -> '1') and blanks as None."""

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        text = str(v).strip()
        if text.endswith(".0") and text[:-2].isdigit():
            text = text[:-2]
        return text or None

    return s.map(one).astype(object)


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce").astype("datetime64[ns]")


def _bool(s: pd.Series, default: pd.Series) -> pd.Series:
    text = _text(s)
    truthy = text.map(lambda v: str(v).casefold() in ("yes", "true", "1", "y"))
    return truthy.where(text.notna(), default).astype(bool)


def normalise(frames: Mapping[str, pd.DataFrame]) -> Frames:
    """Canonical dtypes for the columns the checks use, defaults filled in."""
    f: Frames = {}
    for sheet in SHEETS:
        df = frames.get(sheet.name)
        df = pd.DataFrame(columns=sheet.names) if df is None else df.copy()
        for name in sheet.names:
            if name not in df.columns:
                df[name] = None
        for col in BY_NAME[sheet.name].columns:
            series: pd.Series = df[col.name]
            if col.kind in ("text", "choice"):
                df[col.name] = _text(series)
            elif col.kind in ("int", "decimal"):
                df[col.name] = _num(series)
            elif col.kind == "date":
                df[col.name] = _dates(series)
        f[sheet.name] = df.reset_index(drop=True)
    for name, default in (("Pool", "purchase"), ("Clients", "assign")):
        f[name]["type"] = f[name]["type"].fillna(default)
    clients = f["Clients"]
    clients["auto_renew"] = _bool(clients["auto_renew"], clients["term"] == "monthly")
    return f


# -- R1 ----------------------------------------------------------------------------------------


def prorated(dates: pd.Series, devices: pd.Series) -> pd.Series:
    """R1: ceil(devices × days / 30), days = 30 on the 1st, else min(30, days to next 1st)."""
    day = dates.dt.day.to_numpy()
    left = dates.dt.days_in_month.to_numpy() - day + 1
    days = np.where(day == 1, 30, np.minimum(30, left))
    dev = devices.to_numpy(dtype="int64")
    return pd.Series(-(-(dev * days) // 30), index=dates.index, dtype="int64")


# -- the checks --------------------------------------------------------------------------------


def contracts(f: Frames) -> pd.DataFrame:
    """Assign rows of Clients with kind, family (a module is its own) and end."""
    products = f["Products"].drop_duplicates("product").set_index("product")
    c = f["Clients"][f["Clients"]["type"] == "assign"].copy()
    main = c["product"].map(products["main_product"])
    c["family"] = c["product"].map(products["family"]).where(main.isna(), c["product"])
    years = _num(c["term"].where(c["term"].isin(["1", "2", "3"])))
    end = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns]")
    for y in (1, 2, 3):
        mask = years == y
        end[mask] = c.loc[mask, "start"] + pd.DateOffset(years=y)
    trial_days = _num(c["product"].map(products["trial_days"]))
    trial = c["term"] == "trial"
    end[trial] = c.loc[trial, "start"] + pd.to_timedelta(trial_days[trial], unit="D")
    end[c["term"] == "monthly"] = FAR_FUTURE
    c["end"] = c["end"].where(c["end"].notna(), end)
    return c


def _replay(events: pd.DataFrame, keys: list[str], what: str) -> list[str]:
    """Cumulative balance per key in date order, inflows first on a date; report negatives."""
    if events.empty:
        return []
    ev = events.sort_values([*keys, "date", "outflow"], kind="mergesort").reset_index(drop=True)
    ev["balance"] = ev.groupby(keys, sort=False)["delta"].cumsum()
    bad = ev[ev["balance"] < 0].drop_duplicates(keys)
    return [
        f"{what} {tuple(r[k] for k in keys)} goes to {r['balance']} on {r['date']:%Y-%m-%d}"
        for _, r in bad.iterrows()
    ]


def _events(f: Frames) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(annual pool, monthly pool, points) movements: date, key, delta, outflow flag."""
    products = f["Products"].drop_duplicates("product").set_index("product")
    ppl = products["points_per_licence"]
    pool, clients, exch, ren = f["Pool"], f["Clients"], f["Exchanges"], f["Renewals"]
    assign = clients[clients["type"] == "assign"]
    annual_c = assign[assign["term"].isin(["1", "2", "3"])]
    ren_date = pd.to_datetime(ren["month"].astype(str) + "-01", errors="coerce")
    ren_annual = ren[ren["term"].isin(["1", "2", "3"])]
    annual = pd.concat(
        [
            pd.DataFrame(
                {
                    "partner": pool["partner"],
                    "product": pool["product"],
                    "term": pool["term"],
                    "date": pool["date"],
                    "delta": pool["quantity"],
                    "outflow": 0,
                }
            ),
            pd.DataFrame(
                {
                    "partner": annual_c["partner"],
                    "product": annual_c["product"],
                    "term": annual_c["term"],
                    "date": annual_c["start"],
                    "delta": -annual_c["licences"],
                    "outflow": 1,
                }
            ),
            pd.DataFrame(
                {
                    "partner": ren_annual["partner"],
                    "product": ren_annual["product"],
                    "term": ren_annual["term"],
                    "date": ren_date[ren_annual.index],
                    "delta": -ren_annual["licences"],
                    "outflow": 1,
                }
            ),
        ],
        ignore_index=True,
    )
    ex = exch[exch["type"] == "exchange"]
    ex_lic = ex["licences"].where(
        ex["licences"].notna(), prorated(ex["date"], ex["devices"].fillna(0))
    )
    monthly_c = assign[assign["term"] == "monthly"]
    ren_monthly = ren[ren["term"] == "monthly"]
    monthly = pd.concat(
        [
            pd.DataFrame(
                {
                    "partner": ex["partner"],
                    "product": ex["product"],
                    "date": ex["date"],
                    "delta": ex_lic,
                    "outflow": 0,
                }
            ),
            pd.DataFrame(
                {
                    "partner": monthly_c["partner"],
                    "product": monthly_c["product"],
                    "date": monthly_c["start"],
                    "delta": -prorated(monthly_c["start"], monthly_c["licences"]),
                    "outflow": 1,
                }
            ),
            pd.DataFrame(
                {
                    "partner": ren_monthly["partner"],
                    "product": ren_monthly["product"],
                    "date": ren_date[ren_monthly.index],
                    "delta": -ren_monthly["licences"],
                    "outflow": 1,
                }
            ),
        ],
        ignore_index=True,
    )
    credits = exch[exch["type"] == "credit"]
    ex_points = ex_lic * ex["product"].map(ppl)
    points = pd.concat(
        [
            pd.DataFrame(
                {
                    "partner": credits["partner"],
                    "date": credits["date"],
                    "delta": credits["points"],
                    "outflow": 0,
                }
            ),
            pd.DataFrame(
                {"partner": ex["partner"], "date": ex["date"], "delta": -ex_points, "outflow": 1}
            ),
        ],
        ignore_index=True,
    )
    return annual, monthly, points


def check_ledger(frames: Mapping[str, pd.DataFrame]) -> list[str]:
    """Every rule the sample and the generator promise; returns problems (empty = valid)."""
    f = normalise(frames)
    errors: list[str] = []
    partners, products = f["Partners"], f["Products"]
    provider = partners.set_index("partner")["provider"]
    known = set(products["product"])
    ppl = products.drop_duplicates("product").set_index("product")["points_per_licence"]
    trial_days = products.drop_duplicates("product").set_index("product")["trial_days"]
    if partners["partner"].duplicated().any() or products["product"].duplicated().any():
        errors.append("duplicate partner or product id")
    if not set(partners["provider"]) <= {PANDA, WATCHGUARD}:
        errors.append("unknown provider")

    for name, date_col in (("Pool", "date"), ("Clients", "start"), ("Exchanges", "date")):
        df = f[name]
        if df[date_col].isna().any():
            errors.append(f"{name}: blank or unreadable {date_col}")
        if (~df["partner"].isin(provider.index)).any():
            errors.append(f"{name}: unknown partner")
        prods = df["product"].dropna()
        if (~prods.isin(known)).any():
            errors.append(f"{name}: unknown product {sorted(set(prods) - known)[:5]}")
    pool, clients, exch = f["Pool"], f["Clients"], f["Exchanges"]
    if (~pool["term"].isin(["1", "2", "3"])).any() or (pool["quantity"] <= 0).any():
        errors.append("Pool: bad term or quantity")
    if (clients["licences"] <= 0).any() or clients["licences"].isna().any():
        errors.append("Clients: bad licences")
    bad_terms = ~clients["term"].isin(["1", "2", "3", "monthly", "trial"])
    if bad_terms.any():
        errors.append("Clients: bad term")

    # R6: provider rules.
    wg = lambda df: df["partner"].map(provider) == WATCHGUARD  # noqa: E731
    if (wg(pool) & (pool["term"] == "2")).any():
        errors.append("R6: 2-year block for a WatchGuard partner")
    if (wg(clients) & (clients["term"] == "2")).any():
        errors.append("R6: 2-year contract for a WatchGuard partner")
    if (~wg(clients) & (clients["term"] == "monthly")).any():
        errors.append("R6: monthly contract for a Panda Security partner")
    if (~wg(exch)).any():
        errors.append("R6: exchange or credit for a Panda Security partner")
    ex = exch[exch["type"] == "exchange"]
    if ex["product"].map(ppl).isna().any():
        errors.append("R6: exchange of a product without points_per_licence")
    if (ex["devices"].isna() & ex["licences"].isna()).any():
        errors.append("Exchanges: exchange without devices or licences")
    monthly = clients[(clients["term"] == "monthly") & (clients["type"] == "assign")]
    if monthly["product"].map(ppl).isna().any():
        errors.append("R6: monthly contract of a product without points_per_licence")
    if (exch["type"] == "credit").any() and exch.loc[
        exch["type"] == "credit", "points"
    ].isna().any():
        errors.append("Exchanges: credit without points")

    # Filled licences/points of exchanges must agree with R1 / points_per_licence.
    with_dev = ex[ex["devices"].notna()]
    r1 = prorated(with_dev["date"], with_dev["devices"])
    if (with_dev["licences"].notna() & (with_dev["licences"] != r1)).any():
        errors.append("Exchanges: licences disagree with R1")
    lic = ex["licences"].where(
        ex["licences"].notna(), prorated(ex["date"], ex["devices"].fillna(0))
    )
    pts = lic * ex["product"].map(ppl)
    if (ex["points"].notna() & (ex["points"] != pts)).any():
        errors.append("Exchanges: points disagree with licences × points_per_licence")

    # R6: trials.
    trials = clients[clients["term"] == "trial"]
    if trials["product"].map(trial_days).isna().any():
        errors.append("R6: trial of a product without trial_days")
    if trials.duplicated(["partner", "client", "product"]).any():
        errors.append("R6: second trial of one product for one client")

    # R6: one product per family at a time (trials exempt, a module is its own family).
    c = contracts(f)
    c = c[c["term"] != "trial"].reset_index(drop=True)
    c["i"] = c.index
    pairs = c[["partner", "client", "family", "product", "start", "end", "i"]]
    m = pairs.merge(pairs, on=["partner", "client", "family"])
    clash = m[
        (m["i_x"] < m["i_y"])
        & (m["product_x"] != m["product_y"])
        & (m["start_x"] < m["end_y"])
        & (m["start_y"] < m["end_x"])
    ]
    if len(clash):
        r = clash.iloc[0]
        errors.append(
            f"R6: client {r['client']} holds {r['product_x']} and {r['product_y']} "
            f"({r['family']}) at once ({len(clash)} clashes)"
        )
    if (c["end"] <= c["start"]).any():
        errors.append("Clients: end on or before start")

    # R7: balances never negative.
    annual, monthly_ev, points = _events(f)
    errors += _replay(annual, ["partner", "product", "term"], "annual pool")
    errors += _replay(monthly_ev, ["partner", "product"], "monthly pool")
    errors += _replay(points, ["partner"], "points")
    return errors


def _key(k: object) -> tuple[str, ...]:
    return tuple(str(x) for x in k) if isinstance(k, tuple) else (str(k),)


def balances(frames: Mapping[str, pd.DataFrame], at: str) -> dict[str, dict[tuple[str, ...], int]]:
    """Annual pool, monthly pool and points as they stand after every movement dated <= `at`."""
    annual, monthly, points = _events(normalise(frames))
    when = pd.Timestamp(at)
    out: dict[str, dict[tuple[str, ...], int]] = {}
    for name, ev, keys in (
        ("annual", annual, ["partner", "product", "term"]),
        ("monthly", monthly, ["partner", "product"]),
        ("points", points, ["partner"]),
    ):
        sums = ev[ev["date"] <= when].groupby(keys)["delta"].sum()
        out[name] = {_key(k): int(v) for k, v in sums.items()}
    return out


def monthly_due(frames: Mapping[str, pd.DataFrame], month: str) -> dict[tuple[str, ...], int]:
    """R2: devices due per (partner, product) in `month` (auto-renew, started before, no end)."""
    f = normalise(frames)
    first = pd.Timestamp(f"{month}-01")
    c = f["Clients"]
    due = c[
        (c["type"] == "assign")
        & (c["term"] == "monthly")
        & c["auto_renew"]
        & (c["start"] < first)
        & ~(c["end"].notna() & (c["end"] <= first))
    ]
    sums = due.groupby(["partner", "product"])["licences"].sum()
    return {_key(k): int(v) for k, v in sums.items()}


def annual_due(frames: Mapping[str, pd.DataFrame], month: str) -> dict[tuple[str, ...], int]:
    """R3: licences of auto-renew annual contracts whose end falls in `month`."""
    f = normalise(frames)
    c = contracts(f)
    first = pd.Timestamp(f"{month}-01")
    nxt = first + pd.offsets.MonthBegin(1)
    due = c[
        c["term"].isin(["1", "2", "3"]) & c["auto_renew"] & (c["end"] >= first) & (c["end"] < nxt)
    ]
    sums = due.groupby(["partner", "product", "term"])["licences"].sum()
    return {_key(k): int(v) for k, v in sums.items()}
