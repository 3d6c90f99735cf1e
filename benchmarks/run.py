"""Time `licreport reconcile` against the I/O floor at distributor scale (SPEC §6).

For each scale the ledger of `generate.py` is written once, then, interleaved
and repeated (the best of `--repeat` runs is kept, because a shared machine is
noisy), three child processes are timed from the outside:

- **floor**: the least I/O any run could do: read every sheet with
  python-calamine, write the same rows once with xlsxwriter (``constant_memory``);
- **reconcile**: ``licreport reconcile LEDGER --month 2026-12`` (workbook + report);
- **validate**: ``licreport validate LEDGER``;
- **match**: ``licreport match LEDGER --usage USAGE --month 2026-12`` with the
  usage export of `exports.py` (100,000 rows at scale 1.0), against validate.
- **split**: ``licreport reconcile LEDGER --month 2026-12 --split`` (also one report per
  partner, SPEC §9), compared with **reconcile** of the same repeat.

Seconds are the child's wall clock (interpreter start and imports included),
peak RSS and CPU seconds (user + system, with the processes the child waited for)
come from ``os.wait4`` on that child.  The per-step breakdown is
taken inside the reconcile child from api's own ``progress(step)`` callback
(see `child`); it needs no change to licreport.

Usage: ``python benchmarks/run.py [--scales 0.1 0.3 1.0] [--repeat 3] [--work DIR]``.
Exit status 1 when a target of the issue is missed.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MONTH = "2026-12"
SEED = 7
STEPS = ("import", "load", "replay", "renew", "recovery", "status", "workbook", "report", "exit")
# Targets of the issues, at the largest scale.
MAX_RATIO = 0.6  # reconcile / floor, .xlsx at 1.0 (issue 14; was 2.0)
MAX_RSS_MB = 600.0  # .xlsx at 1.0 (issue 14; was 1536)
MAX_CSV_RATIO = 3.0  # reconcile / CSV floor, CSV folder at 12 x SPEC §6 (issue 14)
MAX_CSV_RSS_MB = 3072.0
MAX_CSV_GROWTH = 13.0  # time(12 x) / time(1 x)
CSV_SCALES = (1.0, 3.0, 12.0)
MAX_GROWTH = 12.0  # time(1.0) / time(0.1)
MAX_VALIDATE = 0.6  # validate / floor
MAX_REPORT_BYTES = 2_000_000
MAX_MATCH = 2.0  # match / validate (issue 12)
MAX_SPLIT = 1.5  # reconcile --split / reconcile


# -- the children ------------------------------------------------------------------------------


def floor(ledger: Path, out: Path) -> None:
    """Read every sheet with calamine, write the same rows once with xlsxwriter."""
    import datetime as dt

    import xlsxwriter
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(ledger))
    grids = {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}
    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in grids.items():
        ws = wb.add_worksheet(name)
        number, text, when = ws.write_number, ws.write_string, ws.write_datetime
        for r, row in enumerate(rows):
            for c, v in enumerate(row):  # typed writes: the cheapest xlsxwriter offers
                kind = type(v)
                if kind is str:
                    if v:
                        text(r, c, v)
                elif kind is float or kind is int or kind is bool:
                    number(r, c, v)
                elif kind is dt.date or kind is dt.datetime:
                    when(r, c, v, date_fmt)
    wb.close()


def csv_floor(ledger: Path, out: Path) -> None:
    """Read every CSV file of the folder with pandas as text, write it back with `to_csv`."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    for f in sorted(ledger.glob("*.csv")):
        frame = pd.read_csv(f, dtype=str, keep_default_na=False)
        frame.to_csv(out / f.name, index=False)


def child(timings: Path, argv: list[str]) -> int:
    """Run the licreport CLI on `argv`, recording when each step of api begins.

    The command starts at "load": the command line is parsed (and the ledger's read
    begun, `licreport.ledger.ahead`) before, the run's modules are imported after, as
    the CLI does (it imports them lazily).  Steps come from the ``progress`` callback
    api already takes (wrapped around the one the CLI passes) and from the first
    ``replay_ledger`` call, which splits reading the ledger from replaying it.  Written
    as JSON to `timings`:
    ``{"marks": [[step, seconds since start], ...], "end": seconds, "exit": code}``.
    """
    start = time.perf_counter()
    marks: list[tuple[str, float]] = []

    def mark(step: str) -> None:
        if step not in (m[0] for m in marks):
            marks.append((step, time.perf_counter() - start))

    from licreport import cli

    def with_marks(f: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(f)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            if "progress" in signature.parameters:
                inner = bound.arguments.get("progress", lambda step: None)

                def progress(step: str) -> None:
                    mark(step)
                    inner(step)

                bound.arguments["progress"] = progress
            try:
                return f(*bound.args, **bound.kwargs)
            finally:
                mark("exit")

        return wrapped

    originals: dict[str, Any] = {}
    command = cli.main.commands[argv[0]] if argv and argv[0] in cli.main.commands else None
    callback = command.callback if command is not None else None

    def started(*args: Any, **kwargs: Any) -> Any:
        mark("load")
        from licreport import api  # where the command's first use of api imports it

        replay = api.replay_ledger

        def replay_marked(*args: Any, **kwargs: Any) -> Any:
            mark("replay")
            return replay(*args, **kwargs)

        originals.update({name: getattr(api, name) for name in ("replay_ledger", *WRAPPED)})
        api.replay_ledger = replay_marked
        for name in WRAPPED:
            setattr(api, name, with_marks(getattr(api, name)))
        assert callback is not None
        return callback(*args, **kwargs)

    if command is not None:
        command.callback = started
    code = 0
    try:
        returned = cli.main.main(argv, prog_name="licreport", standalone_mode=False)
        code = returned if isinstance(returned, int) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        # leave licreport as found (the CI test runs this in-process)
        if command is not None:
            command.callback = callback
        if originals:
            from licreport import api

            for name, f in originals.items():
                setattr(api, name, f)
        mark("exit")
        result = {"marks": marks, "end": time.perf_counter() - start, "exit": code}
        timings.write_text(json.dumps(result), encoding="utf-8")
    return code


WRAPPED = ("reconcile", "validate", "match")  # the api functions whose steps are marked


# -- timing children from the parent -----------------------------------------------------------


@dataclass
class Run:
    seconds: float
    rss_mb: float
    steps: dict[str, float] = field(default_factory=dict)
    # user + system CPU seconds of the child and every process it waited for (its forked
    # children, the strict re-read): what the run costs on any number of cores
    cpu: float = 0.0


def _spawn(argv: list[str], log: Path) -> Run:
    """Wall seconds, peak RSS and CPU seconds of one child (`os.wait4` gives that child's
    own rusage, its CPU time with that of the processes it waited for)."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    with log.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:  # the generated ledger is valid: anything else is a failure
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}; see {log}")
    return Run(seconds, usage.ru_maxrss / 1024, cpu=usage.ru_utime + usage.ru_stime)


def _steps(timings: Path, wall: float) -> dict[str, float]:
    """Seconds per step: from its mark to the next one.

    'import' runs from the parent's spawn to api's first step (interpreter,
    imports, option parsing); 'exit' from api's return to the child's end
    (printing, interpreter teardown).
    """
    data = json.loads(timings.read_text(encoding="utf-8"))
    marks: list[tuple[str, float]] = [("import", 0.0), *(tuple(m) for m in data["marks"])]
    ends = [t for _, t in marks[1:]] + [data["end"]]
    out = {name: end - begin for (name, begin), end in zip(marks, ends, strict=True)}
    outside = wall - data["end"]  # start-up before the child's clock and teardown after it
    out["import"] = out.get("import", 0.0) + outside
    return {k: round(v, 3) for k, v in out.items()}


def time_floor(ledger: Path, work: Path) -> Run:
    return _spawn(
        [sys.executable, __file__, "--floor", str(ledger), str(work / "floor.xlsx")],
        work / "floor.log",
    )


def time_csv_floor(ledger: Path, work: Path) -> Run:
    shutil.rmtree(work / "csv-floor", ignore_errors=True)
    return _spawn(
        [sys.executable, __file__, "--csv-floor", str(ledger), str(work / "csv-floor")],
        work / "csv-floor.log",
    )


def time_licreport(command: list[str], work: Path, name: str) -> Run:
    timings = work / f"{name}.timings.json"
    run = _spawn(
        [sys.executable, __file__, "--child", str(timings), "--", *command], work / f"{name}.log"
    )
    run.steps = _steps(timings, run.seconds)
    return run


@dataclass
class Scale:
    scale: float
    rows: int
    floor: Run
    reconcile: Run
    validate: Run
    report_bytes: int
    workbook_bytes: int
    split: Run
    split_reports: int
    split_bytes: int  # the largest partner report
    match: Run | None = None
    usage_rows: int = 0


def bench_scale(scale: float, work: Path, repeat: int, seed: int) -> Scale:
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    import generate

    folder = work / f"scale-{scale:g}"
    folder.mkdir(parents=True, exist_ok=True)
    ledger = folder / "ledger.xlsx"
    tables = generate.generate(scale, seed)
    generate.write_xlsx(tables, ledger)
    rows = sum(len(t) for t in tables.values())
    import exports

    usage = exports.usage(tables, scale)
    usage_path = exports.write_usage(usage, folder / "usage.csv")
    out = folder / "out"
    reconcile_argv = ["reconcile", str(ledger), "--month", MONTH, "--out", str(out), "--force"]
    match_argv = ["match", str(ledger), "--usage", str(usage_path), "--month", MONTH,
                  "--out", str(folder / "match-out"), "--force"]  # fmt: skip
    split_out = folder / "out-split"
    split_argv = [*reconcile_argv[:-3], "--out", str(split_out), "--force", "--split"]
    best: dict[str, Run] = {}
    for _ in range(repeat):  # interleaved, so load from other processes hits all alike
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(split_out, ignore_errors=True)
        runs = {
            "floor": time_floor(ledger, folder),
            "reconcile": time_licreport(reconcile_argv, folder, "reconcile"),
            "validate": time_licreport(["validate", str(ledger)], folder, "validate"),
            "match": time_licreport(match_argv, folder, "match"),
            "split": time_licreport(split_argv, folder, "split"),
        }
        for key, r in runs.items():
            if key not in best or r.seconds < best[key].seconds:
                best[key] = r
    report = out / f"report-{MONTH}.html"
    workbook = out / f"ledger-{MONTH}.xlsx"
    partner_reports = list((split_out / "partners").glob(f"*/report-{MONTH}.html"))
    return Scale(
        scale,
        rows,
        best["floor"],
        best["reconcile"],
        best["validate"],
        report.stat().st_size,
        workbook.stat().st_size,
        best["split"],
        len(partner_reports),
        max((p.stat().st_size for p in partner_reports), default=0),
        best["match"],
        len(usage),
    )


@dataclass
class CsvScale:
    scale: float
    rows: int
    floor: Run
    reconcile: Run
    workbook: bool  # the .xlsx was written (every sheet fits in a worksheet)
    report_bytes: int


def bench_csv(scale: float, work: Path, repeat: int, seed: int) -> CsvScale:
    """The CSV folder at `scale` × SPEC §6, generated once (kept in `work` for the next run),
    against the CSV floor."""
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    import generate

    folder = work / f"csv-{scale:g}"
    ledger = folder / "ledger"
    marker = folder / "rows.txt"
    if not marker.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        tables = generate.generate(scale, seed)
        generate.write_csv(tables, ledger)
        marker.write_text(str(sum(len(t) for t in tables.values())), encoding="utf-8")
        del tables
    rows = int(marker.read_text(encoding="utf-8"))
    out = folder / "out"
    argv = ["reconcile", str(ledger), "--month", MONTH, "--out", str(out), "--force"]
    best: dict[str, Run] = {}
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        runs = {
            "floor": time_csv_floor(ledger, folder),
            "reconcile": time_licreport(argv, folder, "csv-reconcile"),
        }
        for key, r in runs.items():
            if key not in best or r.seconds < best[key].seconds:
                best[key] = r
    report = out / f"report-{MONTH}.html"
    return CsvScale(
        scale,
        rows,
        best["floor"],
        best["reconcile"],
        (out / f"ledger-{MONTH}.xlsx").is_file(),
        report.stat().st_size,
    )


def csv_table(results: list[CsvScale]) -> list[str]:
    """Markdown rows for the CSV folder: times, ratio, RSS, workbook written, then steps."""
    head = ["× §6", "rows", "CSV floor s", "reconcile s", "ratio", "RSS MB", "workbook",
            "report KB"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in results:
        lines.append(
            f"| {s.scale:g} | {s.rows:,} | {s.floor.seconds:.2f} | {s.reconcile.seconds:.2f} | "
            f"{s.reconcile.seconds / s.floor.seconds:.2f} | {s.reconcile.rss_mb:.0f} | "
            f"{'yes' if s.workbook else 'no (too big)'} | {s.report_bytes / 1024:.0f} |"
        )
    steps = [k for k in STEPS if any(k in s.reconcile.steps for s in results)]
    lines += ["", "| × §6 | " + " | ".join(steps) + " |", "|---|" + "---|" * len(steps)]
    for s in results:
        cells = [f"{s.reconcile.steps.get(k, 0.0):.2f}" for k in steps]
        lines.append(f"| {s.scale:g} | " + " | ".join(cells) + " |")
    return lines


def csv_verdict(results: list[CsvScale]) -> list[str]:
    by = {s.scale: s for s in results}
    checks: list[tuple[str, bool]] = []
    top = by.get(12.0)
    if top is not None:
        ratio = top.reconcile.seconds / top.floor.seconds
        checks.append(
            (
                f"CSV reconcile/floor at 12 = {ratio:.2f} (<= {MAX_CSV_RATIO})",
                ratio <= MAX_CSV_RATIO,
            )
        )
        checks.append(
            (f"CSV peak RSS at 12 = {top.reconcile.rss_mb:.0f} MB (<= {MAX_CSV_RSS_MB:.0f})",
             top.reconcile.rss_mb <= MAX_CSV_RSS_MB)
        )  # fmt: skip
        if 1.0 in by:
            growth = top.reconcile.seconds / by[1.0].reconcile.seconds
            checks.append(
                (f"CSV time(12)/time(1) = {growth:.1f} (<= {MAX_CSV_GROWTH:g})",
                 growth <= MAX_CSV_GROWTH)
            )  # fmt: skip
    for s in results:
        checks.append(
            (f"CSV report at {s.scale:g} = {s.report_bytes / 1e6:.2f} MB (< 2 MB)",
             s.report_bytes < MAX_REPORT_BYTES)
        )  # fmt: skip
    return [f"{'ok    ' if good else 'MISSED'} {text}" for text, good in checks]


# -- the table ---------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def table(results: list[Scale]) -> list[str]:
    """Markdown rows: times, ratios, RSS, then the reconcile steps."""
    head = [
        "scale",
        "rows",
        "floor s",
        "reconcile s",
        "ratio",
        "validate s",
        "validate/floor",
        "match s",
        "match/validate",
        "RSS MB",
        "report KB",
        "split s",
        "split/reconcile",
        "partner reports",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in results:
        lines.append(
            f"| {s.scale:g} | {s.rows:,} | {s.floor.seconds:.2f} | {s.reconcile.seconds:.2f} | "
            f"{s.reconcile.seconds / s.floor.seconds:.2f} | {s.validate.seconds:.2f} | "
            f"{s.validate.seconds / s.floor.seconds:.2f} | {_match_cells(s)} | "
            f"{s.reconcile.rss_mb:.0f} | "
            f"{s.report_bytes / 1024:.0f} | {s.split.seconds:.2f} | "
            f"{s.split.seconds / s.reconcile.seconds:.2f} | {s.split_reports:,} |"
        )
    steps = [k for k in STEPS if any(k in s.reconcile.steps for s in results)]
    lines += ["", "| scale | " + " | ".join(steps) + " |", "|---|" + "---|" * len(steps)]
    for s in results:
        cells = [f"{s.reconcile.steps.get(k, 0.0):.2f}" for k in steps]
        lines.append(f"| {s.scale:g} | " + " | ".join(cells) + " |")
    return lines


def _match_cells(s: Scale) -> str:
    if s.match is None:
        return "– | –"
    return f"{s.match.seconds:.2f} | {s.match.seconds / s.validate.seconds:.2f}"


def verdict(results: list[Scale]) -> list[str]:
    """The issue's targets, each as 'ok'/'MISSED' with the measured value."""
    by = {s.scale: s for s in results}
    checks: list[tuple[str, bool]] = []
    if 1.0 in by:
        s = by[1.0]
        ratio = s.reconcile.seconds / s.floor.seconds
        checks.append(
            (f"reconcile/floor at 1.0 = {ratio:.2f} (<= {MAX_RATIO})", ratio <= MAX_RATIO)
        )
        checks.append(
            (
                f"peak RSS at 1.0 = {s.reconcile.rss_mb:.0f} MB (<= {MAX_RSS_MB:.0f})",
                s.reconcile.rss_mb <= MAX_RSS_MB,
            )
        )
        v = s.validate.seconds / s.floor.seconds
        checks.append((f"validate/floor at 1.0 = {v:.2f} (<= {MAX_VALIDATE})", v <= MAX_VALIDATE))
        if s.match is not None:
            mv = s.match.seconds / s.validate.seconds
            checks.append(
                (f"match/validate at 1.0 = {mv:.2f} (<= {MAX_MATCH}, {s.usage_rows:,} usage rows)",
                 mv <= MAX_MATCH)
            )  # fmt: skip
        split = s.split.seconds / s.reconcile.seconds
        checks.append(
            (
                f"reconcile --split/reconcile at 1.0 = {split:.2f} (<= {MAX_SPLIT}), "
                f"{s.split_reports:,} partner reports",
                split <= MAX_SPLIT,
            )
        )
    if 1.0 in by and 0.1 in by:
        growth = by[1.0].reconcile.seconds / by[0.1].reconcile.seconds
        checks.append(
            (f"time(1.0)/time(0.1) = {growth:.1f} (<= {MAX_GROWTH:g})", growth <= MAX_GROWTH)
        )
    for s in results:
        checks.append(
            (
                f"report at {s.scale:g} = {s.report_bytes / 1e6:.2f} MB (< 2 MB)",
                s.report_bytes < MAX_REPORT_BYTES,
            )
        )
    return [f"{'ok    ' if good else 'MISSED'} {text}" for text, good in checks]


def byte_compile_licreport() -> None:
    """licreport's modules compiled to bytecode before the runs, as `pip install .` leaves
    an installed package.  An editable install under ``PYTHONDONTWRITEBYTECODE`` (this
    machine's environment) has none, and each run would compile every module again:
    about 0.2 s of a run that the users' installed licreport does not spend."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("licreport")
    if spec is not None and spec.origin is not None:
        compileall.compile_dir(Path(spec.origin).parent, quiet=1)


def warm_memory(gib: float) -> float:
    """Write `gib` GiB of memory once, all held at the same time; the seconds it took.

    A virtual machine's host may back its memory only when the guest first touches it:
    minutes after a start, the first benchmark then pays for it (benchmarks/README.md,
    "A fresh virtual machine": a ratio of 0.74 that was 0.56 once memory was touched)."""
    # In a child process: a parent that held it would pass its peak RSS to every child it
    # starts (a forked process inherits the high-water mark that `os.wait4` reports).
    start = time.perf_counter()
    code = f"import numpy as np; np.ones({int(gib * 2**30)}, dtype=np.uint8)"
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def uptime_minutes() -> float | None:
    try:
        return float(Path("/proc/uptime").read_text().split()[0]) / 60
    except (OSError, ValueError, IndexError):
        return None


FRESH_MINUTES = 30  # a machine started this recently may not have touched its memory yet

_SPIN = (
    "import time\nt = time.perf_counter()\nfor i in range({n}): pass\n"
    "print(time.perf_counter() - t)"
)


def second_core(loops: int = 30_000_000) -> float:
    """What two busy processes get done at once against one alone, measured now: 2.0 is
    two free cores.  `reconcile` keeps both cores busy, each floor uses one: on this
    machine's virtual CPUs this moved between 1.3 and 2.0 within an hour, and the
    `.xlsx` ratio with it (benchmarks/README.md, round 16)."""

    def spin(count: int) -> list[float]:
        code = _SPIN.format(n=loops)
        procs = [
            subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
            for _ in range(count)
        ]
        return [float(p.communicate()[0]) for p in procs]

    (alone,) = spin(1)
    return 2 * alone / max(spin(2))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--floor"]:
        floor(Path(args[1]), Path(args[2]))
        return 0
    if args[:1] == ["--csv-floor"]:
        csv_floor(Path(args[1]), Path(args[2]))
        return 0
    if args[:1] == ["--child"]:  # timed as the command runs: ended as `licreport` ends
        from licreport.cli import end

        end(child(Path(args[1]), args[3:] if args[2:3] == ["--"] else args[2:]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales",
        type=float,
        nargs="*",
        default=[0.1, 0.3, 1.0],
        help=".xlsx ledger scales (1.0 = SPEC §6); none to skip",
    )
    parser.add_argument(
        "--csv-scales",
        type=float,
        nargs="*",
        default=list(CSV_SCALES),
        help="CSV folder scales (12 = SPEC §12); none to skip",
    )
    parser.add_argument(
        "--csv-repeat", type=int, default=3, help="runs per CSV scale; the best is kept"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per scale; the best is kept")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--work", type=Path, help="folder for ledgers and outputs (default: temp)")
    parser.add_argument(
        "--warm",
        type=float,
        default=0.0,
        metavar="GIB",
        help="write this much memory once before the runs (a freshly started virtual machine)",
    )
    ns = parser.parse_args(args)
    work = ns.work or Path(tempfile.mkdtemp(prefix="licreport-bench-"))
    byte_compile_licreport()
    print(f"machine: {machine()}")
    if ns.warm > 0:
        print(f"memory warmed: {ns.warm:g} GiB written in {warm_memory(ns.warm):.1f} s")
    elif (up := uptime_minutes()) is not None and up < FRESH_MINUTES:
        print(
            f"note: the machine started {up:.0f} minutes ago; if its memory was never "
            "touched, the first runs are slow (--warm GIB, benchmarks/README.md)"
        )
    print(f"load average before: {os.getloadavg()[0]:.2f}; work folder: {work}")
    print(f"second core before: {second_core():.2f} (two busy processes against one)", flush=True)
    results = []
    for scale in ns.scales:
        s = bench_scale(scale, work, ns.repeat, ns.seed)
        results.append(s)
        print(
            f"scale {scale:g}: floor {s.floor.seconds:.2f}s ({s.floor.cpu:.1f}s CPU), reconcile "
            f"{s.reconcile.seconds:.2f}s ({s.reconcile.cpu:.1f}s CPU), validate "
            f"{s.validate.seconds:.2f}s, match {s.match.seconds if s.match else 0:.2f}s",
            f"reconcile --split {s.split.seconds:.2f}s ({s.split_reports:,} partner reports)",
            flush=True,
        )
    csv_results = []
    for scale in ns.csv_scales:
        c = bench_csv(scale, work, ns.csv_repeat, ns.seed)
        csv_results.append(c)
        print(
            f"CSV {scale:g}x: floor {c.floor.seconds:.2f}s ({c.floor.cpu:.1f}s CPU), reconcile "
            f"{c.reconcile.seconds:.2f}s ({c.reconcile.cpu:.1f}s CPU), "
            f"peak {c.reconcile.rss_mb:.0f} MB, load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"second core after: {second_core():.2f}")
    verdicts = (verdict(results) if results else []) + csv_verdict(csv_results)
    lines = [*table(results), ""] if results else []
    lines += [*csv_table(csv_results), ""] if csv_results else []
    print("\n".join(["", *lines, *verdicts]))
    return 0 if all(line.startswith("ok") for line in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
