"""`licreport match` through the CLI: the sample exports, outputs, hostile names, exit codes.

The sample's expected findings are worked by hand in sample_data/make_exports.py (each
deviation from the licences held is commented there) and repeated below.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from licreport.cli import main
from tests.factory import sample_csv_with_currencies

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
SAMPLE_CSV = ROOT / "sample_data" / "ledger"
USAGE = ROOT / "sample_data" / "usage-2026-12.csv"
BILLING = ROOT / "sample_data" / "billing-2026-12.xlsx"
BROKEN = ROOT / "sample_data" / "broken"


def run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def sample_json(out: Path, ledger: Path = SAMPLE, *extra: object) -> dict:
    code, stdout, stderr = run(
        "match", ledger, "--usage", USAGE, "--billing", BILLING, "--month", "2026-12",
        "--out", out, "--json", *extra,
    )  # fmt: skip
    assert code == 0, stderr
    return json.loads(stdout)


# Per partner and kind: (count, difference, monthly impact), from make_exports.py:
SAMPLE_SUMMARY = [
    # Harbour Freight uses 34 of 30; billed 30 at 4.20: 4 x 4.20
    ("ATL", "unlicensed", 1, 4, None),
    ("ATL", "underbilled", 1, 4, "16.80"),
    # Oakridge billed 30, billable 25: -5 x 4.20
    ("ATL", "overbilled", 1, 5, "-21.00"),
    # Hansa Spedition uses 20 of 35 EPP
    ("CBT", "idle", 1, 15, None),
    # Talleres Gómez 52 of 45 (7), Hotel Brisa del Mar 11 of 8 (3)
    ("IBX", "unlicensed", 2, 10, None),
    # Clínica Dental Sonrisa 20 (its usage row is unmatched), Colegio 6, Ondarreta trial 3
    ("IBX", "idle", 3, 29, None),
    # Talleres 7 x 4.20 = 29.40, Hotel Brisa 3 x 2.60 = 7.80, Ebro FUSION 2 x unknown
    ("IBX", "underbilled", 3, 12, "37.20"),
    # Kiruna uses 40 of 45 AD360
    ("NRD", "idle", 1, 5, None),
    # Fjordvik not invoiced: 25 x the AD360 median 4.20
    ("NRD", "underbilled", 1, 25, "105.00"),
    # Kiruna FE billed 35, billable 30: -5 x 1.20
    ("NRD", "overbilled", 1, 5, "-6.00"),
]


@pytest.mark.parametrize("ledger", [SAMPLE, SAMPLE_CSV])
def test_sample_findings_summary_and_unmatched(ledger: Path, out: Path) -> None:
    doc = sample_json(out, ledger)
    assert set(doc) == {"month", "summary", "findings", "unmatched"}
    assert doc["month"] == "2026-12"
    got = [
        (s["partner"], s["kind"], s["count"], s["difference"], s["monthly_impact"])
        for s in doc["summary"]
    ]
    assert got == SAMPLE_SUMMARY
    assert doc["unmatched"] == [
        {"file": "usage-2026-12.csv", "row": 20, "client": "Clinica Dental Sonrrisa",
         "product": "AD360", "suggestions": ["C-IBX-004"]},
        {"file": "usage-2026-12.csv", "row": 39, "client": "Clínica Veterinaria Los Robles SL",
         "product": "AD360", "suggestions": []},
        {"file": "billing-2026-12.xlsx", "row": 39, "client": "Gimnasio Fuerza Total SL",
         "product": "AD360", "suggestions": []},
    ]  # fmt: skip


def test_sample_findings_shape_and_order(out: Path) -> None:
    findings = sample_json(out)["findings"]
    keys = ["partner", "client", "client_name", "product", "kind", "licensed", "used",
            "billed", "difference", "monthly_impact"]  # fmt: skip
    assert all(list(f) == keys for f in findings)
    assert findings[0] == {
        "partner": "NRD",
        "client": "C-NRD-003",
        "client_name": "Fjordvik Shipping AS",
        "product": "AD360",
        "kind": "underbilled",
        "licensed": 25,
        "used": 25,
        "billed": 0,
        "difference": 25,
        "monthly_impact": "105.00",
    }
    impacts = [f["monthly_impact"] for f in findings]
    assert impacts[:6] == ["105.00", "29.40", "-21.00", "16.80", "7.80", "-6.00"]
    assert all(i is None for i in impacts[6:])  # unknown last, then by difference
    assert [f["difference"] for f in findings[6:]] == [20, 15, 7, 6, 5, 4, 3, 3, 2]
    ebro = next(f for f in findings if f["client"] == "C-IBX-013")
    assert (ebro["kind"], ebro["billed"], ebro["monthly_impact"]) == ("underbilled", 18, None)


def test_usage_only_has_no_billing_findings(out: Path) -> None:
    code, stdout, _ = run(
        "match", SAMPLE, "--usage", USAGE, "--month", "2026-12", "--out", out, "--json"
    )
    assert code == 0
    doc = json.loads(stdout)
    assert {f["kind"] for f in doc["findings"]} == {"unlicensed", "idle"}
    assert all(f["billed"] is None and f["monthly_impact"] is None for f in doc["findings"])


def test_outputs_workbook_and_page(out: Path) -> None:
    code, stdout, _ = run(
        "match", SAMPLE, "--usage", USAGE, "--billing", BILLING, "--month", "2026-12",
        "--out", out,
    )  # fmt: skip
    assert code == 0
    assert f"wrote {out / 'match-2026-12.xlsx'}" in stdout
    assert "Clinica Dental Sonrrisa / AD360 (did you mean C-IBX-004?)" in stdout
    wb = openpyxl.load_workbook(out / "match-2026-12.xlsx")
    assert wb.sheetnames == ["Findings", "Summary", "Unmatched"]
    ws = wb["Findings"]
    assert [c.value for c in ws[1]] == [
        "partner", "client", "client_name", "product", "kind", "licensed", "used", "billed",
        "difference", "unit_price", "monthly_impact",
    ]  # fmt: skip
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:K16"  # 15 findings
    assert [c.value for c in ws[2]] == [
        "NRD", "C-NRD-003", "Fjordvik Shipping AS", "AD360", "underbilled", 25, 25, 0, 25,
        4.2, 105,
    ]  # fmt: skip
    assert ws["K2"].number_format == "#,##0.00"
    summary = wb["Summary"]
    assert [c.value for c in summary[2]] == [
        "ATL", "Atlas Managed Services Ltd", "unlicensed", 1, 4, None,
    ]  # fmt: skip
    page = (out / "match-2026-12.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page
    assert 'id="reconciliation"' in page
    assert "<script" not in page.lower().replace("&lt;script", "")


def test_hostile_names_in_exports_stay_inert(tmp_path: Path, out: Path) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "client,product,devices\n"
        '"=HYPERLINK(""http://evil"",""click"")",AD360,3\n'
        "<script>alert(1)</script> SL,<img src=x onerror=alert(2)>,4\n"
        "+cmd|' /C calc'!A0,@SUM(1),5\n",
        encoding="utf-8",
    )
    code, _, stderr = run("match", SAMPLE, "--usage", usage, "--month", "2026-12", "--out", out)
    assert code == 0, stderr
    ws = openpyxl.load_workbook(out / "match-2026-12.xlsx")["Unmatched"]
    cells = {ws.cell(r, c).value: ws.cell(r, c).data_type for r in (2, 3, 4) for c in (3, 4)}
    assert cells == {
        '=HYPERLINK("http://evil","click")': "s",
        "AD360": "s",
        "<script>alert(1)</script> SL": "s",
        "<img src=x onerror=alert(2)>": "s",
        "+cmd|' /C calc'!A0": "s",
        "@SUM(1)": "s",
    }
    page = (out / "match-2026-12.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; SL" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page


# --------------------------------------------------------------------------- exit codes


def test_ledger_with_data_errors_exits_1_and_writes_nothing(out: Path) -> None:
    code, _, stderr = run(
        "match", BROKEN / "bad-values.xlsx", "--usage", USAGE, "--month", "2026-12", "--out", out
    )
    assert code == 1
    assert 'bad-values.xlsx:Clients:F3: licences: "ten" is not a whole number' in stderr
    assert not out.exists()


def test_bad_value_in_usage_exits_1_naming_the_cell(tmp_path: Path, out: Path) -> None:
    usage = tmp_path / "console.csv"
    usage.write_text(
        "Customer;Service;Endpoints\nTalleres Gómez SA;AD360;ten\n;AD360;3\nX;AD360;-2\n",
        encoding="utf-8",
    )
    code, stdout, _ = run(
        "match", SAMPLE, "--usage", usage, "--month", "2026-12", "--out", out, "--json"
    )
    assert code == 1
    assert json.loads(stdout)["errors"] == [
        {"file": "console.csv", "sheet": "console", "row": 2, "column": "Endpoints",
         "cell": "C2", "message": '"ten" is not a whole number'},
        {"file": "console.csv", "sheet": "console", "row": 3, "column": "Customer",
         "cell": "A3", "message": "required value is blank"},
        {"file": "console.csv", "sheet": "console", "row": 4, "column": "Endpoints",
         "cell": "C4", "message": "cannot be negative"},
    ]  # fmt: skip
    assert not out.exists()


def test_missing_required_column_exits_2(tmp_path: Path, out: Path) -> None:
    billing = tmp_path / "billing.csv"
    billing.write_text("Company,Service,Price\nA,AD360,3\n", encoding="utf-8")
    code, _, stderr = run(
        "match", SAMPLE, "--usage", USAGE, "--billing", billing, "--month", "2026-12",
        "--out", out,
    )  # fmt: skip
    assert code == 2
    assert 'billing.csv:billing: required column "quantity" is missing' in stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not-a-workbook.xlsx", "is not an Excel workbook"),
        ("legacy.xls", "is an Excel 97-2003 .xls file; save it as .xlsx"),
        ("entity-bomb.xlsx", "declares XML entities"),
        ("truncated.xlsx", "damaged or truncated"),
    ],
)
def test_unreadable_or_unsafe_export_exits_2(name: str, message: str, out: Path) -> None:
    code, _, stderr = run(
        "match", SAMPLE, "--usage", BROKEN / name, "--month", "2026-12", "--out", out
    )
    assert code == 2
    assert message in stderr
    assert "Traceback" not in stderr
    assert not out.exists()


def test_existing_output_needs_force(out: Path) -> None:
    args = ["match", SAMPLE, "--usage", USAGE, "--month", "2026-12", "--out", out]
    assert run(*args)[0] == 0
    code, _, stderr = run(*args)
    assert code == 2 and "already exists; use --force" in stderr
    assert run(*args, "--force")[0] == 0


def test_bad_month_is_a_usage_error(out: Path) -> None:
    code, _, stderr = run("match", SAMPLE, "--usage", USAGE, "--month", "2026-13", "--out", out)
    assert code == 2 and "--month" in stderr


def test_partner_option_keeps_one_partner(out: Path) -> None:
    doc = sample_json(out, SAMPLE, "--partner", "ATL")
    assert {s["partner"] for s in doc["summary"]} == {"ATL"}
    assert {f["partner"] for f in doc["findings"]} == {"ATL"}


def test_input_is_not_modified(tmp_path: Path, out: Path) -> None:
    ledger = tmp_path / "ledger.xlsx"
    shutil.copy(SAMPLE, ledger)
    before = ledger.read_bytes(), USAGE.read_bytes(), BILLING.read_bytes()
    sample_json(out, ledger)
    assert (ledger.read_bytes(), USAGE.read_bytes(), BILLING.read_bytes()) == before


def test_init_template_has_the_mappings_sheet(tmp_path: Path) -> None:
    assert run("init", tmp_path / "t")[0] == 0
    wb = openpyxl.load_workbook(tmp_path / "t" / "ledger.xlsx")
    assert [c.value for c in wb["Mappings"][1]] == ["kind", "source", "target"]


def test_billing_file_without_price_column_gives_null_impacts(tmp_path: Path, out: Path) -> None:
    billing = tmp_path / "billing.csv"
    # Talleres Gómez uses 52 (sample usage) and holds 45: billable 52, billed 40 -> 12 short
    billing.write_text("Company,Service,Units\nTalleres Gómez SA,AD360,40\n", encoding="utf-8")
    code, stdout, _ = run(
        "match", SAMPLE, "--usage", USAGE, "--billing", billing, "--month", "2026-12",
        "--out", out, "--json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(stdout)
    assert all(f["monthly_impact"] is None for f in doc["findings"])
    assert all(s["monthly_impact"] is None for s in doc["summary"])
    talleres = [f for f in doc["findings"] if f["client"] == "C-IBX-001"]
    assert [(f["kind"], f["billed"], f["difference"]) for f in talleres] == [
        ("underbilled", 40, 12),
        ("unlicensed", 40, 7),
    ]
    page = (out / "match-2026-12.html").read_text(encoding="utf-8")
    assert "The billing file has no price column" in page


def _with_mappings(tmp_path: Path, rows: list[list[str]]) -> Path:
    ledger = tmp_path / "ledger.xlsx"
    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["Mappings"]
    for row in rows:
        ws.append(row)
    wb.save(ledger)
    return ledger


def test_mappings_sheet_matches_a_name_the_ledger_spells_differently(
    tmp_path: Path, out: Path
) -> None:
    ledger = _with_mappings(tmp_path, [["client", "CLINICA DENTAL SONRRISA", "C-IBX-004"]])
    doc = sample_json(out, ledger)
    assert [u["client"] for u in doc["unmatched"]] == [
        "Clínica Veterinaria Los Robles SL",
        "Gimnasio Fuerza Total SL",
    ]
    ibx_idle = next(s for s in doc["summary"] if (s["partner"], s["kind"]) == ("IBX", "idle"))
    assert (ibx_idle["count"], ibx_idle["difference"]) == (2, 9)  # 29 - Clínica Dental's 20


def test_a_mapping_to_no_ledger_id_is_a_data_error(tmp_path: Path, out: Path) -> None:
    ledger = _with_mappings(tmp_path, [["client", "Clinica Dental Sonrrisa", "C-IBX-999"]])
    code, _, stderr = run("match", ledger, "--usage", USAGE, "--month", "2026-12", "--out", out)
    assert code == 1
    assert "ledger.xlsx:Mappings:C2: target: is not a client id of the Clients sheet" in stderr
    assert not out.exists()


def test_all_partner_totals_are_summed_per_currency(tmp_path: Path) -> None:
    """Money in different currencies is never added up: ATL in GBP, NRD in SEK, IBX in
    EUR (the ledger's default). Underbilled: IBX 37.20 EUR, ATL 16.80 GBP, NRD 105.00
    SEK; overbilled: ATL -21.00 GBP, NRD -6.00 SEK (the sample's summary above)."""
    ledger = sample_csv_with_currencies(tmp_path / "ledger", {"ATL": "GBP", "NRD": "SEK"})
    result = CliRunner().invoke(
        main,
        ["match", str(ledger), "--usage", str(USAGE), "--billing", str(BILLING),
         "--month", "2026-12", "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out" / "match-2026-12.html").read_text(encoding="utf-8")
    assert "5 rows · EUR 37.20 + GBP 16.80 + SEK 105.00 a month" in html
    assert "2 rows · GBP -21.00 + SEK -6.00 a month" in html
    assert "159.00" not in html and "-27.00" not in html  # no sum across currencies
