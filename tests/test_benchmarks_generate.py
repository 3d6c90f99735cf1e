"""benchmarks/generate.py: deterministic, scales linearly, and valid by the independent checker."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from openpyxl import load_workbook

from tests.ledger_checks import (
    annual_due,
    balances,
    check_ledger,
    monthly_due,
    read_csv_folder,
    read_xlsx,
)

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "generate.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmarks_generate", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gen = _load()


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    return gen.generate(0.01, 7)


def test_same_seed_same_frames(small: dict[str, pd.DataFrame]) -> None:
    again = gen.generate(0.01, 7)
    assert list(again) == list(small)
    for name in small:
        pd.testing.assert_frame_equal(small[name], again[name])
    other = gen.generate(0.01, 8)
    assert not other["Clients"].equals(small["Clients"])


def test_counts_scale_linearly(small: dict[str, pd.DataFrame]) -> None:
    counts = {name: len(frame) for name, frame in small.items()}
    assert counts["Partners"] == 10
    assert counts["Clients"] == 1_000
    assert counts["Pool"] == 200
    assert counts["Exchanges"] == 500
    double = gen.generate(0.02, 7)
    assert len(double["Partners"]) == 20
    assert len(double["Clients"]) == 2_000
    assert len(double["Pool"]) == 400
    assert len(double["Exchanges"]) == 1_000
    providers = small["Partners"]["provider"].value_counts()
    assert providers["Panda Security"] == 6 and providers["WatchGuard"] == 4


def test_tiny_scale_has_both_providers_and_is_valid() -> None:
    tiny = gen.generate(0.001, 1)
    assert set(tiny["Partners"]["provider"]) == {"Panda Security", "WatchGuard"}
    assert check_ledger(tiny) == []


def test_generated_ledger_is_valid(small: dict[str, pd.DataFrame]) -> None:
    assert check_ledger(small) == []


def test_generated_ledger_has_december_work(small: dict[str, pd.DataFrame]) -> None:
    """A --month 2026-12 run has annual and monthly renewals, and some are short."""
    b = balances(small, "2026-12-01")
    monthly, annual = monthly_due(small, "2026-12"), annual_due(small, "2026-12")
    assert monthly and annual
    assert any(b["monthly"].get(k, 0) < need for k, need in monthly.items())
    assert any(b["monthly"].get(k, 0) >= need for k, need in monthly.items())
    assert any(b["annual"].get(k, 0) < need for k, need in annual.items())
    clients = small["Clients"]
    assert {"1", "2", "3", "monthly", "trial"} <= set(clients["term"])
    assert (clients["devices_used"] < clients["licences"]).any()  # recovery candidates
    assert clients["start"].min() >= pd.Timestamp("2023-01-01")
    assert clients["start"].max() < pd.Timestamp("2026-12-01")


def test_xlsx_round_trip(small: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    path = gen.write_xlsx(small, tmp_path / "ledger.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.xlsx"]
    back = read_xlsx(path)
    assert {n: len(f) for n, f in back.items() if n in small} == {
        n: len(f) for n, f in small.items()
    }
    assert set(back) - set(small) <= {"Mappings"}  # an optional sheet the generator leaves out
    assert check_ledger(back) == []
    ws = load_workbook(path, read_only=True)["Clients"]
    start_col = list(small["Clients"].columns).index("start")
    cell = next(ws.iter_rows(min_row=2, max_row=2))[start_col]
    assert cell.is_date


def test_csv_round_trip(small: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    folder = gen.write_csv(small, tmp_path / "ledger")
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        ["partners.csv", "products.csv", "discounts.csv", "pool.csv", "clients.csv",
         "exchanges.csv"]
    )  # fmt: skip
    assert check_ledger(read_csv_folder(folder)) == []
    first = (folder / "clients.csv").read_text(encoding="utf-8").splitlines()[1]
    assert "-" in first.split(",")[6]  # ISO start date


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "csv"
    assert gen.main(["--scale", "0.002", "--seed", "3", "--out", str(out), "--csv"]) == 0
    printed = capsys.readouterr().out
    assert "Clients" in printed and "200 rows" in printed and "generated in" in printed
    assert (out / "clients.csv").exists()
