"""A vendor usage export for the benchmark ledger of `generate.py` (SPEC §10 at scale).

One row per client and product as a distributor's console exports it, ``100,000 ×
scale`` rows: every (partner, client, product) holding licences on 2026-12-01 (as
`licreport.rules.match.holdings` counts them) once, then random ones split over two or
more rows (their devices divided; `match` adds them up) until the count is reached.
Columns: ``Partner`` (the partner id), ``Customer`` (the client id for 90% of the rows,
the client's name for the rest), ``Product``, ``Protected Devices`` (the licences of
the contract; 10% of the rows fewer, 10% more).  About 0.1% of the rows name a client
the ledger does not know, and 0.1% misspell a known name, so the suggestion search
runs too.  Deterministic for a seed.

Usage: ``python benchmarks/exports.py LEDGER_SCALE OUT.csv`` (generates the ledger's
tables in memory with `generate.generate(scale, 7)`).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROWS_AT_1 = 100_000
FIRST = "2026-12-01"  # the benchmark's month, 2026-12


def usage(tables: dict[str, pd.DataFrame], scale: float, seed: int = 11) -> pd.DataFrame:
    """The usage rows for the generated ledger `tables` (columns as the CSV has them)."""
    from licreport.rules.contracts import build_contracts
    from licreport.rules.match import holdings

    rng = np.random.default_rng(seed)
    n_rows = max(10, round(ROWS_AT_1 * scale))
    c = tables["Clients"]
    typed = c.assign(
        auto_renew=c["auto_renew"].map({"yes": True, "no": False}).astype("boolean"),
        _row=pd.array(range(2, len(c) + 2), dtype="Int64"),
    )
    held = holdings(build_contracts(typed, tables["Products"]), pd.Timestamp(FIRST))
    names = c.drop_duplicates("client").set_index("client")["client_name"]
    keys = held.assign(licences=held["licensed"], name=held["client"].map(names))
    pick = np.arange(len(keys))
    if n_rows > len(keys):
        pick = np.sort(np.concatenate([pick, rng.integers(0, len(keys), n_rows - len(keys))]))
    else:
        pick = np.sort(rng.choice(len(keys), n_rows, replace=False))
    rows = keys.iloc[pick].reset_index(drop=True)
    licences = rows["licences"].to_numpy(dtype=np.int64)
    u = rng.random(len(keys))[pick]  # one deviation per key, whatever its rows
    total = np.where(
        u < 0.1,
        np.floor(licences * rng.random(len(keys))[pick]).astype(np.int64),
        np.where(u > 0.9, licences + rng.integers(1, 10, len(keys))[pick], licences),
    )
    # a key exported in k rows splits its devices: total // k each, the remainder on the first
    k = pd.Series(pick).groupby(pick).transform("size").to_numpy()
    first = pd.Series(pick).groupby(pick).cumcount().to_numpy() == 0
    devices = total // k + np.where(first, total % k, 0)
    by_name = rng.random(len(rows)) < 0.1
    customer = np.where(by_name, rows["name"].to_numpy(object), rows["client"].to_numpy(object))
    odd = rng.random(len(rows))
    unknown = odd < 0.001
    typo = (odd >= 0.001) & (odd < 0.002)
    customer = customer.astype(object)
    customer[unknown] = [f"Unknown Customer {i:05d} Ltd" for i in range(int(unknown.sum()))]
    names = rows["name"].to_numpy(object)[typo]
    customer[typo] = [n[:-2] + n[-1] + n[-2] if len(n) > 3 else n + "x" for n in names]
    return pd.DataFrame(
        {
            "Partner": rows["partner"].to_numpy(object),
            "Customer": customer,
            "Product": rows["product"].to_numpy(object),
            "Protected Devices": devices,
        }
    )


def write_usage(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(list(frame.columns))
        out.writerows(frame.itertuples(index=False, name=None))
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    sys.path.insert(0, str(HERE))
    import generate

    scale = float(args[0])
    path = write_usage(usage(generate.generate(scale, 7), scale), Path(args[1]))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
