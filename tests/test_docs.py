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
