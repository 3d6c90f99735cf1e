"""The README and .ci/run stay in step with the commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from licreport.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(main.commands)


def test_every_command_is_documented() -> None:
    assert set(COMMANDS) == {
        "init",
        "validate",
        "quote",
        "status",
        "renew",
        "recover",
        "report",
        "reconcile",
        "history",
        "diff",
        "match",
    }


@pytest.mark.parametrize("name", COMMANDS)
def test_help_and_readme_section(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    first = main.commands[name].help.split("\n\n")[0]
    first = " ".join(first.split())
    section = README.split(f"### {name}\n", 1)[1].split("\n\n", 1)[0]
    assert " ".join(section.split()) == first


def test_readme_opens_with_two_commands_and_ci_runs_the_second() -> None:
    head = README.split("---", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", head, flags=re.S)
    assert len(blocks) == 2
    assert "licreport reconcile sample_data/" in blocks[0]
    assert "pytest" in blocks[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert blocks[1].strip() in [line.strip() for line in ci]


def test_version() -> None:
    from licreport import __version__

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


RULES = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")


def test_every_rule_reference_points_to_a_section_of_docs_rules() -> None:
    sections = set(re.findall(r"^## (R\d) ", RULES, flags=re.M))
    assert sections == {f"R{n}" for n in range(1, 9)}
    shown = [main.commands[c].help or "" for c in COMMANDS] + [README]
    for path in [*(ROOT / "licreport").rglob("*.py"), *(ROOT / "templates").glob("*.j2")]:
        shown.append(path.read_text(encoding="utf-8"))
    refs = [r for text in shown for r in re.findall(r"rules? (R\d)(?: and (R\d))?", text)]
    assert refs  # help texts, messages and the report point there
    assert {r for pair in refs for r in pair if r} <= sections
    assert "SPEC.md" not in README and "[docs/rules.md](docs/rules.md)" in README
    # no bare "(R1)" left where a user reads it: help texts, README, the report template
    for text in [*(main.commands[c].help or "" for c in COMMANDS), README,
                 (ROOT / "templates" / "report.html.j2").read_text(encoding="utf-8")]:  # fmt: skip
        assert not re.search(r"\(R\d\)", text)


def test_the_rules_documents_numbers_are_the_samples() -> None:
    """docs/rules.md quotes the sample's numbers: they must stay what licreport computes."""
    import json

    sample = str(ROOT / "sample_data" / "ledger.xlsx")

    def run(*args: str) -> dict:
        result = CliRunner().invoke(main, [*args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    q = run("quote", "--product", "AD360", "--devices", "30", "--date", "2026-01-23",
            "--points-per-licence", "3")  # fmt: skip
    assert (q["days"], q["device_days"], q["licences"], q["points"]) == (9, 270, 9, 27)
    assert "9 days to 1 February, 30 × 9 = 270" in RULES
    status = {p["partner"]: p for p in run("status", sample, "--as-of", "2026-12-01")["partners"]}
    (ad360,) = [f for f in status["ATL"]["forecast"] if f["product"] == "AD360"]
    assert (ad360["devices_due"], ad360["available"], ad360["shortfall"]) == (67, 40, 27)
    assert ad360["points_needed"] == 81 and "27 × 3 = 81 points" in RULES
    (spend,) = [s for s in status["ATL"]["spend"] if s["product"] == "AD360"]
    assert spend["spend"] == "2736.00" and "30 × 96.00 × 0.95 = 2,736.00" in RULES
    recover = run("recover", sample, "--as-of", "2026-12-01")["partners"]
    found = {r["client"]: r for p in recover for r in p["recoverable"]}
    assert (found["C-ATL-006"]["days_left"], found["C-ATL-006"]["recoverable"]) == (472, 8)
    assert (found["C-IBX-002"]["days_left"], found["C-IBX-002"]["recoverable"]) == (158, 6)
    renew = run("renew", sample, "--month", "2026-12", "--dry-run")["partners"]
    ibx = {ln["client"]: ln for p in renew if p["partner"] == "IBX" for ln in p["lines"]
           if ln["product"] == "AD360" and ln["term"] == 1}  # fmt: skip
    assert (ibx["C-IBX-004"]["renewed"], ibx["C-IBX-004"]["dropped"]) == (20, 0)
    assert (ibx["C-IBX-003"]["renewed"], ibx["C-IBX-003"]["dropped"]) == (10, 20)
    checks = (ROOT / "tests" / "golden" / "sample-2026-12-checks.csv").read_text(encoding="utf-8")
    assert "= assigned + renewed + available,ATL,AD360,3 years,30,20,10,0,yes" in checks
