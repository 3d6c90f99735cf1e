"""The outlook, buying list and findings through the command line, on the sample ledger
chained month by month (SPEC §7 and §8; the facts of issue #9)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.factory import sample_csv_with_currencies
from tests.test_cli import SAMPLE, SAMPLE_CSV, run


@pytest.fixture(scope="module")
def december(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's December run (with --exchange), as a finance user chains it."""
    out = tmp_path_factory.mktemp("december")
    code, _, stderr = run("reconcile", SAMPLE, "--month", "2026-12", "--exchange", "--out", out)
    assert code == 0, stderr
    return out


def partner(doc: dict, pid: str) -> dict:
    return next(p for p in doc["partners"] if p["partner"] == pid)


def status(ledger: Path, *args: str) -> dict:
    code, stdout, stderr = run("status", ledger, "--json", *args)
    assert code == 0, stderr
    return json.loads(stdout)


def test_december_shows_the_coming_annual_shortfalls_and_the_net_points(december: Path) -> None:
    doc = status(december / "ledger-2026-12.xlsx", "--as-of", "2026-12-01")
    # NRD: C-NRD-009 asks its 15 AD360 3-year licences in January; the pool holds 5
    nrd = partner(doc, "NRD")["outlook"]
    jan = next(r for r in nrd if r["month"] == "2027-01" and r["product"] == "AD360")
    assert (jan["kind"], jan["term"], jan["due"], jan["available"], jan["shortfall"]) == (
        "annual",
        3,
        15,
        5,
        10,
    )
    assert jan["at_risk"] == [
        {"client": "C-NRD-009", "client_name": "Västerås Bygg AB", "short": 10}
    ]
    # IBX: C-IBX-001's 45 AD360 1-year licences in February; December's run emptied the pool
    ibx = partner(doc, "IBX")
    feb = next(r for r in ibx["outlook"] if r["month"] == "2027-02")
    assert (feb["product"], feb["due"], feb["available"], feb["served"]) == ("AD360", 45, 0, 0)
    assert [x["client"] for x in feb["at_risk"]] == ["C-IBX-001"]
    # recover first: C-IBX-001 1 + C-IBX-002 6 + C-IBX-004 2 = 9 recoverable on 1 Dec
    line = ibx["buy"]["licences"][0]
    assert (line["short"], line["to_buy"]) == (45, 45 - line["recoverable"])
    # 36 AD360 1-year at the latest block's 40.00, 5 % tier (25+): 36 × 40 × 0.95
    assert (line["recoverable"], line["unit_price"], line["estimated_cost"]) == (
        9,
        "40.00",
        "1368.00",
    )
    assert ibx["currency"] == "EUR" and ibx["buy"]["estimated_total"] == "1368.00"
    assert ibx["buy"]["points_to_buy"] == 0  # Panda Security: no points


def test_cbt_points_to_buy_are_net_of_the_balance(december: Path) -> None:
    ledger = december / "ledger-2026-12.xlsx"
    # January: AD 15 × 2 + AD360 45 × 3 + EP 40 × 1 + FE 50 × 1 = 255 points; 167 held
    one = partner(status(ledger, "--as-of", "2026-12-01", "--horizon", "1"), "CBT")["buy"]
    assert (one["points_needed"], one["points_balance"], one["points_to_buy"]) == (255, 167, 88)
    # three months: February and March need AD 30 + AD360 150 + EP 40 + FE 50 = 270 each
    three = partner(status(ledger, "--as-of", "2026-12-01"), "CBT")["buy"]
    assert (three["points_needed"], three["points_to_buy"]) == (255 + 270 + 270, 795 - 167)


def test_december_report_shows_shortfalls_buying_list_and_money(december: Path) -> None:
    html = (december / "report-2026-12.html").read_text(encoding="utf-8")
    text = " ".join(html.split())
    assert "What to buy" in text and "Renewal worklist" in text
    assert "Västerås Bygg AB" in text and "Talleres Gómez SA" in text
    assert "EUR 920.00" in text  # NRD: 10 AD360 3-year at 92.00
    assert "EUR 1,368.00" in text  # IBX
    assert "EUR 2,360.00" in text  # 72 + 1,368 + 920
    assert "Trials ending (conversion opportunities)" in text


def test_a_recorded_month_is_not_counted_twice(december: Path) -> None:
    # status before December on the December output: December's run is left out
    doc = status(december / "ledger-2026-12.xlsx", "--as-of", "2026-11-15")
    atl = partner(doc, "ATL")
    ad360 = next(f for f in atl["forecast"] if f["product"] == "AD360")
    assert (ad360["devices_due"], ad360["available"], ad360["shortfall"]) == (67, 40, 27)
    dec = next(r for r in atl["outlook"] if r["month"] == "2026-12" and r["product"] == "AD360")
    assert (dec["due"], dec["available"], dec["shortfall"]) == (67, 40, 27)
    # and it is what the input ledger shows on the same date
    same = partner(status(SAMPLE, "--as-of", "2026-11-15"), "ATL")
    assert same["outlook"] == atl["outlook"]


def test_first_outlook_month_equals_the_january_dry_run(december: Path) -> None:
    ledger = december / "ledger-2026-12.xlsx"
    for policy in ("priority", "smallest-first", "proportional"):
        doc = status(ledger, "--as-of", "2026-12-01", "--policy", policy)
        code, stdout, _ = run("renew", ledger, "--month", "2027-01", "--dry-run", "--json",
                              "--policy", policy)  # fmt: skip
        assert code == 0
        renew = json.loads(stdout)
        for p in doc["partners"]:
            outlook = sorted(
                (x["client"], r["product"], str(r["term"]), x["short"])
                for r in p["outlook"]
                if r["month"] == "2027-01"
                for x in r["at_risk"]
            )
            dropped = sorted(
                (ln["client"], ln["product"], str(ln["term"]), ln["dropped"])
                for ln in partner(renew, p["partner"])["lines"]
                if ln["dropped"]
            )
            assert outlook == dropped, (policy, p["partner"])


def test_reconcile_json_has_the_status_and_exchange_would_keep(tmp_path: Path) -> None:
    code, stdout, _ = run("reconcile", SAMPLE, "--month", "2026-12", "--json", "--out",
                          tmp_path / "o", "--horizon", "2")  # fmt: skip
    assert code == 0
    doc = json.loads(stdout)
    assert doc["status"]["as_of"] == "2026-12-01"
    months = {r["month"] for p in doc["status"]["partners"] for r in p["outlook"]}
    assert months == {"2027-01", "2027-02"}
    # ATL: 47 devices dropped; its 59 points buy 19 AD360 (3 points) + 1 EPP (2 points)
    assert partner(doc, "ATL")["exchange_would_keep"] == 20
    assert partner(doc, "CBT")["exchange_would_keep"] == 0


def test_renew_without_exchange_hints_at_the_points_held() -> None:
    code, stdout, _ = run("renew", SAMPLE, "--month", "2026-12", "--dry-run")
    assert code == 0
    hints = [ln for ln in stdout.splitlines() if ln.startswith("hint:")]
    assert len(hints) == 1 and "--exchange" in hints[0] and "ATL 20" in hints[0]
    code, stdout, _ = run("renew", SAMPLE, "--month", "2026-12", "--dry-run", "--exchange")
    assert "hint:" not in stdout


@pytest.mark.parametrize("horizon", ["0", "13", "x"])
def test_horizon_outside_1_to_12_is_a_usage_error(horizon: str) -> None:
    code, _, stderr = run("status", SAMPLE, "--horizon", horizon)
    assert code == 2 and "--horizon" in stderr


def test_terminal_status_shows_the_outlook_and_buying_list(december: Path) -> None:
    code, stdout, _ = run("status", december / "ledger-2026-12.xlsx", "--as-of", "2026-12-01",
                          "--partner", "CBT", "--horizon", "1")  # fmt: skip
    assert code == 0
    assert "Outlook" in stdout and "C-CBT-001 45" in stdout
    assert "255 needed over the outlook, 167 held → buy 88" in stdout


def test_overuse_is_a_warning_in_validate_and_a_finding_in_status(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    shutil.copytree(SAMPLE_CSV, ledger)
    clients = ledger / "clients.csv"
    text = clients.read_text(encoding="utf-8")
    old = "NRD,C-NRD-005,Kiruna Gruvteknik AB,FE,1,30,2026-05-04,2027-04-14,30,yes"
    assert old in text
    clients.write_text(text.replace(old, old.replace(",30,yes", ",34,yes")), encoding="utf-8")
    code, stdout, stderr = run("validate", ledger)
    assert code == 0, stdout + stderr
    warning = [ln for ln in stderr.splitlines() if "over-use" in ln]
    assert len(warning) == 1
    assert warning[0].startswith("clients.csv:clients:I") and "4 unlicensed" in warning[0]
    nrd = partner(status(ledger, "--as-of", "2026-12-01"), "NRD")
    assert nrd["overuse"] == [
        {"client": "C-NRD-005", "product": "FE", "term": 1, "licences": 30,
         "devices_used": 34, "unlicensed": 4}
    ]  # fmt: skip
    assert not [r for r in nrd["recoverable"] if r["product"] == "FE"]


def test_a_currency_that_is_not_iso_4217_is_a_data_error(tmp_path: Path) -> None:
    """Partners `currency` "Pounds" named its cell; "sek" is SEK (any case)."""
    ledger = sample_csv_with_currencies(tmp_path / "ledger", {"ATL": "Pounds", "NRD": "sek"})
    code, stdout, _ = run("validate", str(ledger))
    assert code == 1
    assert stdout.splitlines() == [
        'partners.csv:partners:D4: currency: "Pounds" is not an ISO 4217 currency code '
        "(e.g. EUR, GBP)"
    ]
