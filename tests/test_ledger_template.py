"""The ledger template (sheets, headers, read-me, drop-downs) and the sample ledger's validity."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from licreport.ledger.sample import sample_tables
from licreport.ledger.schema import SHEETS
from licreport.ledger.template import README_SHEET, write_csv_folder, write_template
from tests.ledger_checks import (
    annual_due,
    balances,
    check_ledger,
    frames_from_rows,
    monthly_due,
    read_csv_folder,
    read_xlsx,
)

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"

DROPDOWNS = {
    ("Partners", "provider"): ["Panda Security", "WatchGuard"],
    ("Pool", "term"): ["1", "2", "3"],
    ("Pool", "type"): ["purchase", "recovery"],
    ("Clients", "term"): ["1", "2", "3", "monthly", "trial"],
    ("Clients", "type"): ["assign", "recovery"],
    ("Clients", "auto_renew"): ["yes", "no"],
    ("Exchanges", "type"): ["credit", "exchange"],
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_template(tmp_path_factory.mktemp("t") / "ledger.xlsx")


@pytest.fixture(scope="module")
def sample_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_template(tmp_path_factory.mktemp("s") / "sample.xlsx", sample=True)


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return frames_from_rows(sample_tables())


# -- the template ------------------------------------------------------------------------------


def test_template_has_readme_first_then_every_sheet_with_headers(template: Path) -> None:
    wb = load_workbook(template)
    assert wb.sheetnames == [README_SHEET, *(s.name for s in SHEETS)]
    for sheet in SHEETS:
        ws = wb[sheet.name]
        assert [c.value for c in ws[1]] == sheet.names
        assert all(c.font.bold for c in ws[1])
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref is not None
        assert ws.max_row == 1  # empty template: headers only


def test_readme_lists_every_sheet_and_column_with_required_marked(template: Path) -> None:
    ws = load_workbook(template)[README_SHEET]
    rows = list(ws.iter_rows(values_only=True))
    listed = {(r[0], r[1]): r for r in rows if r[1] is not None and r[0] != "sheet"}
    for sheet in SHEETS:
        for col in sheet.columns:
            row = listed[(sheet.name, col.name)]
            assert row[2] == ("yes" if col.required else None)
            assert row[4] == (col.help or None)


def test_dropdowns_exist(template: Path) -> None:
    wb = load_workbook(template)
    for (sheet, column), values in DROPDOWNS.items():
        ws = wb[sheet]
        letter = ws.cell(1, [c.value for c in ws[1]].index(column) + 1).column_letter
        found = [
            dv
            for dv in ws.data_validations.dataValidation
            if dv.type == "list" and str(dv.sqref).startswith(f"{letter}2:")
        ]
        assert found, f"no drop-down on {sheet}.{column}"
        assert found[0].formula1 == '"' + ",".join(values) + '"'


def test_date_columns_have_date_format(sample_xlsx: Path) -> None:
    ws = load_workbook(sample_xlsx)["Pool"]
    assert ws["A2"].is_date and ws["A2"].number_format == "yyyy-mm-dd"
    assert ws.column_dimensions["A"].number_format == "yyyy-mm-dd"


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = write_template(tmp_path / "ledger.xlsx")
    write_template(target, sample=True)  # replaces in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.xlsx"]


# -- the sample --------------------------------------------------------------------------------


def test_sample_has_the_seed_exchange(sample: dict[str, pd.DataFrame]) -> None:
    ex = sample["Exchanges"]
    seed = ex[(ex["date"] == date(2026, 1, 23)) & (ex["product"] == "AD360")]
    assert len(seed) == 1
    row = seed.iloc[0]
    assert (row["devices"], row["licences"], row["points"]) == (30, 9, 27)
    partners = sample["Partners"].set_index("partner")["provider"]
    assert partners[row["partner"]] == "WatchGuard"
    products = sample["Products"].set_index("product")
    assert products.loc["AD360", "points_per_licence"] == 3
    clients = sample["Clients"]
    contract = clients[(clients["client"] == row["client"]) & (clients["term"] == "monthly")]
    assert contract[["product", "licences", "start"]].values.tolist() == [
        ["AD360", 30, date(2026, 1, 23)]
    ]


def test_sample_obeys_the_replay_rules(sample: dict[str, pd.DataFrame]) -> None:
    assert check_ledger(sample) == []


def test_sample_written_files_read_back_valid(sample_xlsx: Path, tmp_path: Path) -> None:
    assert check_ledger(read_xlsx(sample_xlsx)) == []
    folder = write_csv_folder(tmp_path / "ledger", sample_tables())
    assert check_ledger(read_csv_folder(folder)) == []


def test_sample_numbers_designed_for_december_2026(sample: dict[str, pd.DataFrame]) -> None:
    b = balances(sample, "2026-12-01")
    # Annual shortfall: IBX AD360 1-year holds 30 for 50 renewing licences.
    assert b["annual"][("IBX", "AD360", "1")] == 30
    assert annual_due(sample, "2026-12")[("IBX", "AD360", "1")] == 50
    # Every other December annual renewal is covered.
    for key, need in annual_due(sample, "2026-12").items():
        if key != ("IBX", "AD360", "1"):
            assert b["annual"][key] >= need, key
    # Monthly: ATL is short (40 of 67 AD360, 0 of 20 EPP) with 59 points; CBT is covered.
    due = monthly_due(sample, "2026-12")
    assert (b["monthly"][("ATL", "AD360")], due[("ATL", "AD360")]) == (40, 67)
    assert (b["monthly"].get(("ATL", "EPP"), 0), due[("ATL", "EPP")]) == (0, 20)
    assert b["points"][("ATL",)] == 59
    for (partner, product), need in due.items():
        if partner == "CBT":
            assert b["monthly"][(partner, product)] >= need
    # Seed contract: the exchange's 9 licences are consumed on 2026-01-23.
    assert balances(sample, "2026-01-23")["monthly"][("ATL", "AD360")] == 0


def test_sample_keeps_hostile_names(sample: dict[str, pd.DataFrame]) -> None:
    names = set(sample["Clients"]["client_name"])
    assert any("<script>alert(1)</script>" in n for n in names)
    assert '=HYPERLINK("http://x","y")' in names


def test_formula_like_name_is_written_as_text(sample_xlsx: Path) -> None:
    ws = load_workbook(sample_xlsx)["Clients"]
    cells = [c for c in ws["C"] if c.value == '=HYPERLINK("http://x","y")']
    assert cells and all(c.data_type == "s" for c in cells)


def test_sample_data_files_match_the_sample(sample: dict[str, pd.DataFrame]) -> None:
    """sample_data/ is regenerated by make_sample.py; it must not drift from sample.py."""
    for sheet in SHEETS:
        rows = sample_tables()[sheet.name]
        file = SAMPLE_DIR / "ledger" / f"{sheet.name.lower()}.csv"
        if not rows:
            assert not file.exists()
            continue
        with file.open(encoding="utf-8", newline="") as fh:
            got = list(csv.reader(fh))
        assert got[0] == sheet.names
        assert len(got) == len(rows) + 1
    wb = load_workbook(SAMPLE_DIR / "ledger.xlsx", read_only=True)
    for sheet in SHEETS:
        assert wb[sheet.name].max_row == len(sample_tables()[sheet.name]) + 1


# -- the checker catches what it should (so a passing check means something) -------------------


def _mutated(sample: dict[str, pd.DataFrame], sheet: str, row: dict[str, object]) -> dict:
    out = dict(sample)
    out[sheet] = pd.concat([sample[sheet], pd.DataFrame([row])], ignore_index=True)
    return out


@pytest.mark.parametrize(
    ("sheet", "row", "expected"),
    [
        (
            "Clients",
            dict(
                partner="IBX",
                client="C-X",
                product="AD360",
                term="1",
                licences=500,
                start=date(2026, 11, 1),
            ),
            "annual pool",
        ),
        (
            "Pool",
            dict(date=date(2026, 1, 1), partner="ATL", product="AD360", term="2", quantity=5),
            "2-year block",
        ),
        (
            "Clients",
            dict(
                partner="IBX",
                client="C-IBX-003",
                product="AD",
                term="1",
                licences=1,
                start=date(2026, 3, 1),
            ),
            "at once",
        ),
        (
            "Exchanges",
            dict(
                date=date(2026, 11, 30),
                partner="ATL",
                type="exchange",
                product="AD360",
                licences=100,
            ),
            "points",
        ),
        (
            "Clients",
            dict(
                partner="NRD",
                client="C-NRD-101",
                product="FE",
                term="trial",
                licences=1,
                start=date(2026, 3, 1),
            ),
            "trial_days",
        ),
    ],
)
def test_checker_catches_broken_rows(
    sample: dict[str, pd.DataFrame], sheet: str, row: dict[str, object], expected: str
) -> None:
    problems = check_ledger(_mutated(sample, sheet, row))
    assert any(expected in p for p in problems), problems
