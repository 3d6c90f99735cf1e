"""The `licreport` command ends its process without the interpreter's teardown (`cli.run`):
the output and exit status `main` gives, every stream flushed first, and the usual ending
while another thread still runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from licreport.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
BAD = ROOT / "sample_data" / "broken" / "bad-values.xlsx"

# the command as the console script runs it, with an exit handler that tells whether the
# interpreter's own ending ran, and optionally a thread still running when it returns
COMMAND = """
import atexit, sys, threading
atexit.register(lambda: print("interpreter ending", file=sys.stderr))
if {thread}:  # waits for ever; a daemon, so the interpreter's ending does not wait for it
    threading.Thread(target=threading.Event().wait, daemon=True).start()
sys.stdout.write({early!r})  # not flushed: the pipe's buffer holds it
sys.argv = ["licreport", *{argv!r}]
from licreport.cli import run
run()
"""


def command(
    argv: list[str], *, thread: bool = False, early: str = ""
) -> subprocess.CompletedProcess[str]:
    code = COMMAND.format(argv=argv, thread=thread, early=early)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as usual
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["status", str(SAMPLE), "--as-of", "2026-12-01"], 0),
        (["status", str(SAMPLE), "--as-of", "2026-12-01", "--json"], 0),
        (["validate", str(BAD)], 1),
        (["reconcile", str(SAMPLE), "--month", "2026-13"], 2),
        (["status", str(SAMPLE), "--horizon", "0"], 2),
    ],
)
def test_the_command_ends_with_main_s_output_and_status_without_the_teardown(
    argv: list[str], status: int
) -> None:
    done = command(argv)
    expected = CliRunner().invoke(main, argv, prog_name="licreport")
    assert done.returncode == expected.exit_code == status
    assert done.stdout == expected.stdout  # every line, flushed before the process ended
    assert done.stderr == expected.stderr  # and no "interpreter ending"
    if status == 0:
        assert len(done.stdout) > 1000


def test_what_is_still_buffered_is_written_before_the_process_ends() -> None:
    # a usage error: the command itself writes to stderr only, and flushes it
    done = command(["reconcile", str(SAMPLE), "--month", "2026-13"], early="before\n")
    assert done.returncode == 2
    assert done.stdout == "before\n"
    assert done.stderr.startswith("licreport: --month: ")


def test_a_thread_still_running_gets_the_interpreter_s_ending() -> None:
    done = command(["status", str(SAMPLE), "--as-of", "2026-12-01"], thread=True)
    assert done.returncode == 0
    assert done.stdout.startswith("Status as of 2026-12-01\n")
    assert done.stderr == "interpreter ending\n"


def test_the_console_script_and_python_m_run_it() -> None:
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["options.entry_points"]["console_scripts"].split() == [
        "licreport",
        "=",
        "licreport.cli:run",
    ]
    assert (ROOT / "licreport" / "__main__.py").read_text().split() == [
        "from", "licreport.cli", "import", "run", "run()"
    ]  # fmt: skip
