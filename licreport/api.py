"""What each command runs, as visible steps: load → replay/check → compute → write.

Nothing here parses options or prints; `cli.py` does that.  Every function takes
the clock as an argument (`as_of` / `month`) and returns the JSON document of
SPEC §4, so the same input always gives the same output.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from licreport import __version__
from licreport.errors import ConservationError, DataError, DataErrors, LicreportError, UsageError
from licreport.forked import in_two
from licreport.ledger.load import load_ledger
from licreport.ledger.model import Ledger, cell_column
from licreport.ledger.parse import Bad, read_month
from licreport.ledger.schema import MONTHLY, ROW, SHEETS
from licreport.outputs import csvout, jsonout, sheets
from licreport.outputs.filters import pluralise
from licreport.outputs.names import month_stem, safe_name, safe_names
from licreport.outputs.report import (
    REPORT_PARTS,
    ClientNames,
    render_partner_reports,
    render_report,
    report_partners,
)
from licreport.outputs.staging import Staging
from licreport.outputs.workbook import write_csv_folder, write_workbook
from licreport.rules import months
from licreport.rules.book import Book, Both, apply_rows, replay_ledger
from licreport.rules.conservation import conservation
from licreport.rules.diff import SheetDiff, diff_ledgers
from licreport.rules.history import history as history_rows
from licreport.rules.keys import Handover, sort_key
from licreport.rules.keys import forget as forget_ranks
from licreport.rules.months import MonthPlan
from licreport.rules.outlook import (
    DEFAULT_HORIZON,
    MAX_HORIZON,
    build_outlook,
    outlook_months,
    projection,
    without_recorded_runs,
)
from licreport.rules.proration import Proration, prorate
from licreport.rules.recovery import recoverable, recovery_rows
from licreport.rules.renewal import RenewalPlan, partner_halves
from licreport.rules.shortfall import POLICIES
from licreport.rules.status import (
    StatusView,
    Totals,
    pipeline,
    report_totals,
    status_view,
    view_parts,
)
from licreport.rules.status import currencies as status_currencies

Progress = Callable[[str], None]


def _quiet(step: str) -> None:
    """The default progress callback: says nothing."""


@dataclass(frozen=True)
class Options:
    """Reading options every ledger command shares."""

    dayfirst: bool = False
    monthfirst: bool = False
    partner: str | None = None
    warn: Callable[[str], None] = _quiet  # told about encoding fallbacks, open-in-Excel locks
    decimal: str | None = None  # CSV decimal separator forced: "," or "."; None: by delimiter


@dataclass(frozen=True)
class Outputs:
    """Where and whether to write."""

    out_dir: Path = Path("licreport-out")
    force: bool = False
    lang: str = "en"  # the HTML reports' language (SPEC §11)
    # the whole JSON document is wanted (--json); without it the status part and the
    # renewal lines hold only what the report and the printed summary read (at 12 x
    # SPEC §6 the rest is millions of records)
    document: bool = True
    # what the caller makes of the run's JSON document (the command line: the lines it
    # prints), made while the updated ledger is still being written (`RunResult.prepared`)
    prepare: Callable[[dict], Any] | None = None


@dataclass
class Loaded:
    """The ledger as read (for the writers) and the replayed book of the partners in scope."""

    ledger: Ledger
    book: Book
    warnings: list[str] = field(default_factory=list)

    @property
    def partners(self) -> list[str]:
        return self.book.ledger.partners


def _sorted(errors: list[DataError]) -> list[DataError]:
    """Sheet order, then as a person reads the sheet: row by row, left to right."""
    order = {s.name.casefold(): i for i, s in enumerate(SHEETS)}
    return sorted(
        errors,
        key=lambda e: (
            order.get(str(e.sheet).casefold(), 99),
            e.file,
            e.row or 0,
            cell_column(e.cell),
        ),
    )


def load(path: Path, options: Options = Options()) -> tuple[Loaded, list[DataError]]:
    """Read and replay; return every data error of the file (an empty list: clean)."""
    if options.dayfirst and options.monthfirst:
        raise UsageError("--dayfirst and --monthfirst exclude each other")
    with _no_collections():
        return _load(path, options)


@contextmanager
def _no_collections() -> Iterator[None]:
    """No garbage collection while a ledger is read and replayed: what that makes lives
    on (the ledger, its rows, the book), and the collector's passes over it cost the
    load on SPEC §6's workbook about 0.2 s (a row list per row read).  Anything left
    unreachable meanwhile is collected once collections resume."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(path: Path, options: Options) -> tuple[Loaded, list[DataError]]:
    ledger, errors = load_ledger(
        path, dayfirst=options.dayfirst, monthfirst=options.monthfirst, decimal=options.decimal
    )
    scoped = ledger
    if options.partner is not None:
        if options.partner not in ledger.partners:
            known = ", ".join(ledger.partners[:20])
            raise UsageError(f"partner {options.partner!r} is not in Partners (known: {known})")
        scoped = ledger.only_partners([options.partner])
    # The client ids' sort ranks, learnt once here: every process the run forks then
    # sorts its frames of them by identity (`keys.sort_key`), none from scratch.  Those of
    # a ledger read before are dropped first.
    forget_ranks()
    sort_key(scoped["Clients"]["client"])
    book = replay_ledger(scoped, _two_cores(scoped))
    warnings = list(ledger.warnings) + _lock_warning(path)
    for line in warnings:
        options.warn(line)
    return Loaded(ledger, book, warnings), _sorted(errors + book.errors)


def load_clean(path: Path, options: Options) -> Loaded:
    """`load`, raising `DataErrors` (exit 1, nothing written) when anything is wrong,
    then the R8 totals (`ConservationError`, exit 1)."""
    loaded = _load_without_errors(path, options)
    _check_conservation(loaded.book)
    return loaded


def _load_without_errors(path: Path, options: Options) -> Loaded:
    """`load`, raising `DataErrors` (exit 1, nothing written) when anything is wrong."""
    loaded, errors = load(path, options)
    if errors:
        raise DataErrors(f"{len(errors)} data error(s) in {path.name}", errors)
    return loaded


def validate(path: Path, options: Options = Options()) -> list[DataError]:
    """Every data error; on a clean ledger, any R8 total that does not balance."""
    return check(path, options)[0]


def check(path: Path, options: Options = Options()) -> tuple[list[DataError], list[str]]:
    """`validate`'s errors, and its findings (SPEC §8 over-use) as warning lines."""
    loaded, errors = load(path, options)
    if not errors:
        try:
            _check_conservation(loaded.book)
        except ConservationError as exc:
            errors = exc.errors
    return errors, overuse_warnings(loaded.book.ledger)


def overuse_warnings(ledger: Ledger) -> list[str]:
    """SPEC §8: one warning per Clients row whose devices_used is above its licences
    (a finding, not a data error), as file:sheet:cell: column: message."""
    table = ledger.table("Clients")
    f = table.frame
    over = f[(f["devices_used"] > f["licences"]).fillna(False).astype(bool)]
    return [
        str(
            table.error(
                int(r[ROW]),
                "devices_used",
                f"warning: over-use: {int(r['devices_used'])} devices used on "
                f"{int(r['licences'])} licences ({int(r['devices_used'] - r['licences'])} "
                "unlicensed)",
            )
        )
        for r in over.to_dict("records")
    ]


# --- quote ---------------------------------------------------------------------------------


def quote(
    product: str,
    devices: int,
    when: date,
    *,
    ledger: Path | None = None,
    points_per_licence: int | None = None,
    options: Options = Options(),
) -> Proration:
    """R1 for one exchange; the price comes from the ledger's catalogue or is given."""
    if (ledger is None) == (points_per_licence is None):
        raise UsageError("give exactly one of --ledger or --points-per-licence")
    if devices < 0:
        raise UsageError("--devices cannot be negative")
    if ledger is not None:
        read, _ = load_ledger(
            ledger,
            dayfirst=options.dayfirst,
            monthfirst=options.monthfirst,
            decimal=options.decimal,
        )
        products = read["Products"]
        match = products[products["product"].str.casefold() == product.casefold()]
        if match.empty:
            raise UsageError(f"product {product!r} is not in the ledger's Products")
        ppl = match["points_per_licence"].iloc[0]
        if pd.isna(ppl):
            raise UsageError(f"product {product!r} is not offered monthly (no points_per_licence)")
        product, points_per_licence = str(match["product"].iloc[0]), int(ppl)
    assert points_per_licence is not None
    if points_per_licence <= 0:
        raise UsageError("--points-per-licence must be at least 1")
    return prorate(when, devices, points_per_licence, product)


# --- status / report -----------------------------------------------------------------------


def status_model(
    book: Book,
    as_of: pd.Timestamp,
    horizon: int = DEFAULT_HORIZON,
    policy: str = "priority",
) -> StatusView:
    """The status model on `as_of`, with the outlook over `horizon` months (SPEC §7).

    The runs recorded for the outlook's months (and the exchanges they bought) are left
    out of everything the view shows, so a month is never counted twice; every figure
    dated on or before `as_of` is the same either way.
    """
    return _status_and(book, as_of, horizon, policy, lambda: None)[0]


def _status_and(
    book: Book, as_of: pd.Timestamp, horizon: int, policy: str, also: Callable[[], T]
) -> tuple[StatusView, T]:
    """`status_model`, and `also()` made meanwhile beside the second half of the outlook
    (on the second core from `OUTLOOK_PROCESS_MIN` contracts): a run's R8 totals."""
    _check_outlook(horizon, policy)
    firsts = outlook_months(as_of, horizon)
    without = without_recorded_runs(book.ledger, [f"{f:%Y-%m}" for f in firsts])
    if without is not None:
        book = replay_ledger(without, _two_cores(without))
    contracts = book.contracts_at(as_of)
    ledger = book.ledger
    at_f1 = book.balances(firsts[0])
    partners, products, pool, tiers = (
        ledger[n] for n in ("Partners", "Products", "Pool", "Discounts")
    )

    def parts() -> dict[str, Any]:  # the view but for the outlook
        return view_parts(partners, products, pool, tiers, contracts, book.balances(as_of), as_of)

    # the months of each half of the partners, one half per core; the half projected here
    # is the smaller by the view's other parts, made here meanwhile.  Below
    # `OUTLOOK_PROCESS_MIN` one projection of every partner: the same frames (tested) at
    # half the fixed cost of a month's plan (a sample-sized ledger's run: 0.2 s less)
    forked = len(contracts) >= OUTLOOK_PROCESS_MIN
    halves = (
        partner_halves(contracts, at_f1, first_share=OUTLOOK_FIRST_SHARE)
        if forked
        else [(contracts, at_f1)]
    )
    if len(halves) == 2:
        first, second = (partial(projection, c, b, firsts, policy) for c, b in halves)
        handover = Handover(["partner", "client"])  # the child's text as this process's
        (one, made), (two, extra) = in_two(
            lambda: (first(), parts()), lambda: (handover.pack(second()), also()), fork=True
        )
        projected = [one, handover.unpack(two)]
    else:
        projected, made = [projection(contracts, at_f1, firsts, policy)], parts()
        extra = also()
    outlook = build_outlook(
        contracts,
        at_f1,
        as_of,
        horizon,
        policy,
        recoverable=made["recoverable"],
        partners=partners,
        pool=pool,
        tiers=tiers,
        projected=projected,
    )
    return status_view(made, at_f1, outlook, policy), extra


def _check_outlook(horizon: int, policy: str) -> None:
    if not 1 <= horizon <= MAX_HORIZON:
        raise UsageError(f"--horizon must be 1 to {MAX_HORIZON} months, not {horizon}")
    if policy not in POLICIES:
        raise UsageError(f"--policy must be one of: {', '.join(POLICIES)}")


def status(
    path: Path,
    as_of: date,
    options: Options = Options(),
    *,
    horizon: int = DEFAULT_HORIZON,
    policy: str = "priority",
) -> tuple[dict, StatusView]:
    loaded = load_clean(path, options)
    view = status_model(loaded.book, pd.Timestamp(as_of), horizon, policy)
    return jsonout.status_json(view, loaded.partners), view


def _month(d: date | pd.Timestamp) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _check_conservation(book: Book) -> pd.DataFrame:
    checks = conservation(book.ledger, book.base_contracts, book.exchanges, book.balances())
    bad = checks[checks["difference"] != 0]
    if len(bad):
        file = book.ledger.path.name
        errors = [
            DataError(
                file, "Checks", None, None, None,
                f"{r['check']} — partner {r['partner']} {r['product']} {r['term']}: "
                f"in {r['in']}, out {r['out']}, balance {r['balance']}, "
                f"difference {r['difference']}",
            )
            for r in bad.to_dict("records")
        ]  # fmt: skip
        raise ConservationError(
            "conservation check failed (rule R8 in docs/rules.md); nothing was written", errors
        )
    return checks


def _report_meta(loaded: Loaded, view: StatusView, policy: str) -> dict:
    clients = loaded.book.ledger["Clients"]
    return {
        "as_of": view.as_of.date().isoformat(),
        "month": _month(view.as_of),
        "policy": policy,
        "horizon": len(view.outlook.months),
        "outlook_months": view.outlook.months,
        "input_name": loaded.ledger.path.name,
        "sha256": loaded.ledger.sha256,
        "version": __version__,
        "client_names": ClientNames(clients["client"], clients["client_name"]),
    }


def _report_totals(book: Book, view: StatusView, plan: RenewalPlan | None) -> Totals:
    """The report's aggregates (rules.status), with the history of `book` (the ledger with
    this run's rows) and the run's lines."""
    return report_totals(
        view,
        pipeline_rows=pipeline(view.contracts, view.as_of),
        history_rows=history_rows(book.ledger["Renewals"], book.exchanges),
        lines=plan.lines if plan is not None else None,
        exchanged=plan.exchanged_points if plan is not None else None,
    )


def _stage_reports(
    stage: Staging,
    out_dir: Path,
    month: str,
    options: Options,
    split: dict[str, str] | None,
    **model: Any,
) -> dict[str, Path]:
    """Stage the report and, with `split` (partner -> safe name), one report per partner
    (SPEC §9) at DIR/partners/<safe name>/report-<M>.html.  Returns {partner: path} of the
    partner reports."""
    final = out_dir / report_name(month, options.partner)
    stage.path(final).write_text(render_report(**model), encoding="utf-8")
    if split is None:
        return {}
    finals = {
        partner: out_dir / "partners" / split[partner] / report_name(month)
        for partner in report_partners(model["status"], model["totals"])
    }
    _partner_reports(model, {partner: stage.path(path) for partner, path in finals.items()})
    return finals


SPLIT_PROCESS_MIN = 64  # partners: below this a second process costs more than it saves


def _partner_reports(model: dict[str, Any], temps: dict[str, Path]) -> None:
    """`render_partner_reports` written to `temps` (partner -> staged temp), with every
    other partner rendered and written by a forked second process (the machine has two
    cores; the 1,000 reports of SPEC §9 are mostly template work).  If the child fails,
    its share is rendered here (so an error is raised here, as without it)."""

    def share(k: int) -> Callable[[], None]:
        def write() -> None:
            for partner, html in render_partner_reports(**model, share=(k, 2)):
                temps[partner].write_text(html, encoding="utf-8")

        return write

    # the child renders as much as this process: it is given a good while longer, not for
    # ever (a child that hangs is stopped and its share rendered here)
    in_two(share(0), share(1), fork=len(temps) >= SPLIT_PROCESS_MIN, patience=3.0)


OUTLOOK_PROCESS_MIN = 20_000  # contracts: below this the outlook is projected in one process
OUTLOOK_FIRST_SHARE = 0.5  # of the contracts, projected here beside the view's other parts
WRITE_PROCESS_MIN = 20_000  # ledger rows: below this a second process costs more than it saves
REPLAY_PROCESS_MIN = 20_000  # ledger rows: the replay order and R8 by a second process

T = TypeVar("T")


def _rows(ledger: Ledger) -> int:
    return sum(len(t.frame) for t in ledger.tables.values())


def _two_cores(ledger: Ledger) -> Both:
    """How a replay of `ledger` runs its two independent halves (`replay_ledger`): side by
    side in two processes (`in_two`) from `REPLAY_PROCESS_MIN` rows."""
    return partial(in_two, fork=_rows(ledger) >= REPLAY_PROCESS_MIN)


def _beside(
    write: LedgerWriter, warn: Callable[[str], None], then: Callable[[], T], *, fork: bool
) -> T:
    """`then()` here while the updated ledger is written (`write`: the workbook and the
    computed sheets, a run's largest output, then a CSV ledger's own files) by a forked
    child (`in_two`); its warnings are told once both are done.  A child that fails
    leaves half-written temps: the writer starts by clearing or overwriting them."""

    def child() -> list[str]:
        told: list[str] = []
        write.write(told.append)
        return told

    result, told = in_two(then, child, fork=fork)
    for line in told:
        warn(line)
    return result


def report(
    path: Path,
    as_of: date,
    outputs: Outputs,
    options: Options = Options(),
    policy: str = "priority",
    horizon: int = DEFAULT_HORIZON,
    split: bool = False,
) -> tuple[dict, Path]:
    """Only the HTML status report as of `as_of` (with `split`, also one per partner);
    returns the status document it shows."""
    loaded = load_clean(path, options)
    names = safe_names(loaded.partners) if split else None
    view = status_model(loaded.book, pd.Timestamp(as_of), horizon, policy)
    doc = jsonout.status_json(view, loaded.partners, _status_parts(outputs))
    final = outputs.out_dir / report_name(_month(as_of), options.partner)
    with Staging(outputs.out_dir, force=outputs.force) as stage:
        reports = _stage_reports(
            stage,
            outputs.out_dir,
            _month(as_of),
            options,
            names,
            status=doc,
            renewal=None,
            totals=_report_totals(loaded.book, view, None),
            meta=_report_meta(loaded, view, policy),
            lang=outputs.lang,
        )
    extra = {"reports": {p: str(f) for p, f in reports.items()}} if split else {}
    return {**doc, "report": str(final), **extra}, final


def _status_parts(outputs: Outputs) -> Collection[str]:
    return jsonout.STATUS_PARTS if outputs.document else REPORT_PARTS


def report_name(month: str, partner: str | None = None) -> str:
    """``report-<M>.html``; a ``--partner`` report carries the partner: ``report-<M>-<P>.html``."""
    return f"report-{month}-{safe_name(partner)}.html" if partner else f"report-{month}.html"


# --- writing the updated ledger ------------------------------------------------------------


@dataclass(frozen=True)
class LedgerWriter:
    """The updated ledger: its final paths, and what writes it to their staged temps (and
    is told where to warn)."""

    finals: list[Path]
    write: Callable[[Callable[[str], None]], None]


def _ledger_writer(
    stage: Staging,
    out_dir: Path,
    loaded: Loaded,
    month: str,
    appended: dict[str, pd.DataFrame],
    view: StatusView,
    checks: pd.DataFrame,
    removed: dict[str, list[int]] | None = None,
) -> LedgerWriter:
    """Register the updated workbook and, for a CSV ledger, the updated CSV folder with the
    computed sheets (from `view`, and the R8 `checks` of the book after `appended`) as CSV
    files too, in `stage`; return what writes them to their temps (and is told where to
    warn).

    A CSV ledger's workbook is written only when every sheet fits in a worksheet (SPEC
    §12), else its writer warns which do not (the workbook is an optional final).  Its
    folder holds the ledger's own files and the computed sheets.

    The workbook keeps the input's suffix: an .xlsm keeps its macros and Excel
    refuses a macro workbook named .xlsx.
    """
    ledger = loaded.ledger
    csv = ledger.kind == "csv"
    if ledger.kind == "xlsx":
        book_path = out_dir / f"{month_stem(ledger.path.stem, month)}{ledger.path.suffix.lower()}"
    else:
        book_path = out_dir / f"{month_stem(ledger.path.name, month)}.xlsx"
    finals = [book_path]
    if csv:
        finals.append(out_dir / month_stem(ledger.path.name, month))
    _never_the_input(ledger.path, finals)
    extra = {"removed": removed} if removed else {}
    workbook = stage.path(book_path, optional=csv)
    folder = stage.path(finals[-1])
    if csv:
        folder.mkdir()
    computed_files = [csvout.computed_file_name(name) for name in sheets.COMPUTED]

    def write(warn: Callable[[str], None]) -> None:
        # a writer that failed part way (a forked child) starts again from nothing; the
        # ledger's own files are copied over whatever it left
        for temp in [workbook, *(folder / name for name in computed_files if csv)]:
            if temp.exists():
                temp.unlink()
        made = sheets.computed_sheets(view, checks)
        too_big = csvout.oversized_sheets(ledger, appended, made, removed) if csv else {}
        if too_big:
            sizes = ", ".join(f"{name} has {n:,} rows" for name, n in too_big.items())
            warn(
                f"{book_path.name} was not written: {sizes}, more than a worksheet holds "
                f"({csvout.WORKSHEET_ROWS:,}); the CSV files in {finals[-1]} hold every sheet"
            )
        else:
            write_workbook(ledger, workbook, appended=appended, computed=made, **extra)
        if csv:
            csvout.write_computed(folder, made, ledger)
            # the computed sheets of the input, if it is an output folder, are not copied
            write_csv_folder(
                ledger, folder, appended=appended, warn=warn, skip=computed_files, **extra
            )

    return LedgerWriter(finals, write)


def _never_the_input(source: Path, finals: list[Path]) -> None:
    """An output that would land on the input (even with --force) is refused."""
    src = source.resolve()
    for final in finals:
        target = final.resolve()
        if target == src or src in target.parents or target in src.parents:
            raise UsageError(
                f"the output {final} would overwrite the input {source}; choose another --out"
            )


def _lock_warning(path: Path) -> list[str]:
    """Excel leaves `~$name.xlsx` next to a workbook it has open."""
    lock = path.with_name("~$" + path.name)
    if lock.exists():
        return [f"{path.name} looks open in Excel ({lock.name} exists); unsaved edits are not read"]
    return []


# --- recover -------------------------------------------------------------------------------


def recover(
    path: Path, as_of: date, *, apply: bool, outputs: Outputs, options: Options = Options()
) -> tuple[dict, list[Path]]:
    """R4 candidates on `as_of`; with `apply`, record them in a new workbook."""
    loaded = load_clean(path, options)
    ts = pd.Timestamp(as_of)
    candidates = recoverable(loaded.book.contracts_at(ts), ts)
    doc = jsonout.recover_json(ts, candidates, loaded.partners, applied=apply)
    if not apply or candidates.empty:
        return doc, []
    pool_rows, client_rows = recovery_rows(candidates, ts)
    appended = {"Pool": pool_rows, "Clients": client_rows}
    after = apply_rows(loaded.book, appended)
    _assert_clean(after)
    checks = _check_conservation(after)
    view = status_model(after, ts)
    with Staging(outputs.out_dir, force=outputs.force) as stage:
        writer = _ledger_writer(stage, outputs.out_dir, loaded, _month(ts), appended, view, checks)
        writer.write(options.warn)
        finals = stage.written(writer.finals)
    return doc, finals


def _assert_clean(book: Book) -> None:
    """The rows a run adds must replay cleanly; if not, it is our bug, not the user's data."""
    if book.errors:
        raise DataErrors(
            "with the rows this run adds, the ledger no longer replays cleanly (e.g. points a"
            " later exchange needs would be spent); nothing was written",
            book.errors,
        )


# --- renew / reconcile ---------------------------------------------------------------------


@dataclass(frozen=True)
class RunOptions:
    month: str
    policy: str = "priority"
    exchange: bool = False
    dry_run: bool = False
    redo: bool = False
    horizon: int = DEFAULT_HORIZON
    split: bool = False  # reconcile: one report per partner too (SPEC §9)
    catch_up: bool = False  # run the unrecorded months before `month` first (SPEC §9)


@dataclass
class RunResult:
    document: dict
    written: list[Path]
    summary: list[str]
    prepared: Any = None  # `Outputs.prepare` of the document, when the run made it


def check_month(month: str) -> pd.Timestamp:
    """--month as the 1st of that month, read as the loader reads Renewals.month."""
    first = read_month(month)
    if isinstance(first, Bad) or len(month.strip()) != 7:
        why = first if isinstance(first, Bad) else f'"{month}" is not a month (YYYY-MM)'
        raise UsageError(f"--month: {why}")
    return first


def run_id(month: str, sha256: str) -> str:
    """Deterministic: the month and the input's hash, never the wall clock."""
    return f"{month}-{sha256[:8]}"


def _month_plans(loaded: Loaded, run: RunOptions) -> tuple[list[MonthPlan], Book]:
    """Plan and apply each month of the run on the book, in order: with ``--catch-up``
    every month after the last one recorded and before ``--month`` first (SPEC §9), each
    seeing the rows of the months before it; returns the plans and the book after them."""
    first = check_month(run.month)
    book = loaded.book
    firsts = months.catch_up_months(book.ledger["Renewals"], first) if run.catch_up else []
    plans = []
    for m in [*firsts, first]:
        plan = months.plan_month(
            book,
            m,
            run=run_id(months.month_text(m), loaded.ledger.sha256),
            policy=run.policy,
            exchange=run.exchange,
            redo=run.redo and m == first,
        )
        if plan.errors:
            _assert_clean(plan.book)
        if plan.plan is not None:
            book = apply_rows(plan.book, plan.appended, _two_cores(plan.book.ledger))
            _assert_clean(book)
        plans.append(plan)
    return plans, book


def _checked_plans(loaded: Loaded, run: RunOptions) -> tuple[list[MonthPlan], Book]:
    """`_month_plans`, with the R8 totals of the ledger as read checked meanwhile by a
    second process: a `ConservationError` wins over an error of the plans, as when the
    totals are checked first (`load_clean`)."""

    def plans() -> tuple[list[MonthPlan], Book] | LicreportError:
        try:
            return _month_plans(loaded, run)
        except LicreportError as exc:
            return exc

    def r8() -> None:
        _check_conservation(loaded.book)

    got, _ = in_two(plans, r8, fork=_rows(loaded.ledger) >= REPLAY_PROCESS_MIN)
    if isinstance(got, LicreportError):
        raise got
    return got


def _skipped_warning(skipped: months.SkippedMonth | None) -> list[str]:
    if skipped is None:
        return []
    return [
        f"{skipped.month} has no recorded renewals although {skipped.due} monthly contract(s) "
        f"were due then; run --month {skipped.month} first if it was missed, or pass "
        "--catch-up (a run renews only its own month)"
    ]


def _already_applied_line(doc: dict) -> str:
    by_run: dict[str, list[str]] = {}
    for p in doc["partners"]:
        if p.get("run"):
            by_run.setdefault(p["run"], []).append(p["partner"])
    if len(by_run) > 1:
        runs = "; ".join(f"{r} ({', '.join(ps)})" for r, ps in by_run.items())
        return f"{doc['month']} was already applied by runs {runs}"
    return f"{doc['month']} was already applied by run {doc['run']}"


def _summary(plan: RenewalPlan) -> list[str]:
    """The run in three lines: monthly contracts count devices (one licence each per
    month), annual ones licences; thousands separated as the report shows them."""
    lines = plan.lines
    keep = plan.would_keep[plan.would_keep > 0]
    hint = (
        [
            f"hint: --exchange would have kept {int(keep.sum())} dropped device(s) with the "
            "MSSP Points already held ("
            + ", ".join(f"{p} {int(n)}" for p, n in keep.sort_index().items())
            + ")"
        ]
        if len(keep)
        else []
    )
    monthly = lines[lines["term"] == MONTHLY]
    annual = lines[lines["term"] != MONTHLY]

    def told(part: pd.DataFrame, unit: str) -> str:
        renewed, requested = int(part["renewed"].sum()), int(part["requested"].sum())
        return (
            f"{renewed:,} of {pluralise(requested, unit)} renewed, {int(part['dropped'].sum()):,}"
        )

    return [
        f"monthly: {told(monthly, 'device')} dropped",
        f"annual: {told(annual, 'licence')} not renewed",
        f"points exchanged: {int(plan.exchanged_points.sum()):,}",
        *hint,
    ]


RECONCILE_STEPS = ("load", "renew", "recovery", "status", "workbook", "report")


def renew(
    path: Path,
    run: RunOptions,
    outputs: Outputs,
    options: Options = Options(),
    progress: Progress = _quiet,
) -> RunResult:
    """R2 + R3 for one month; writes the updated workbook unless `dry_run`."""
    return _monthly(path, run, outputs, options, progress, with_report=False)


def reconcile(
    path: Path,
    run: RunOptions,
    outputs: Outputs,
    options: Options = Options(),
    progress: Progress = _quiet,
) -> RunResult:
    """The monthly run: validate → renew → recovery candidates → status → workbook + report."""
    return _monthly(path, run, outputs, options, progress, with_report=True)


def _monthly(
    path: Path,
    run: RunOptions,
    outputs: Outputs,
    options: Options,
    progress: Progress,
    *,
    with_report: bool,
) -> RunResult:
    """`renew` and `reconcile`: load → check → plan and apply the month(s) → status → write."""
    progress("load")
    _check_outlook(run.horizon, run.policy)
    check_month(run.month)  # a usage error is told before the ledger is read
    loaded = _load_without_errors(path, options)
    with _long_lived():
        return _month_run(loaded, run, outputs, options, progress, with_report=with_report)


@contextmanager
def _long_lived() -> Iterator[None]:
    """What exists now (the loaded ledger and its replay) lives until the run ends: it is set
    apart from the garbage collector (`gc.freeze`), whose full collections would otherwise
    walk it again each time the run makes many new objects (the documents of 12,000
    partners: 0.5 s at 12 x SPEC §6), and handed back to it when the run ends, with the
    sort ranks the run remembered (a process that goes on, a service or a test run, does
    not keep its client ids)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        forget_ranks()


def _month_run(
    loaded: Loaded,
    run: RunOptions,
    outputs: Outputs,
    options: Options,
    progress: Progress,
    *,
    with_report: bool,
) -> RunResult:
    """`_monthly` once the ledger is loaded."""
    names = safe_names(loaded.partners) if run.split and with_report else None
    first = check_month(run.month)
    progress("renew")
    plans, book = _checked_plans(loaded, run)
    month = plans[-1]
    if month.plan is None:
        document = jsonout.month_json(month)
        if with_report:  # the status after the recorded run (SPEC §7)
            view = status_model(loaded.book, first, run.horizon, run.policy)
            parts = _status_parts(outputs)
            document = {**document, "status": jsonout.status_json(view, loaded.partners, parts)}
        if run.catch_up:  # M recorded: nothing after the last recorded month comes before it
            document = {**document, "caught_up": []}
        return RunResult(document, [], [_already_applied_line(document)])
    if not run.catch_up:
        for line in _skipped_warning(months.skipped_month(loaded.book, first)):
            options.warn(line)
    # The book before the run's rows is not needed any more (the book after them has the
    # same ledger sheets but Renewals and Exchanges): let it go, with the plans' references
    # to it.  At 12 x SPEC §6 its contracts and movements are half a gigabyte.
    loaded.book = book
    plans = [replace(p, book=book) for p in plans]
    month = plans[-1]
    plan = month.plan
    assert plan is not None
    progress("recovery")
    # the R8 totals after the run's rows (the Checks sheet) beside the outlook's second half
    view, checks = _status_and(
        book, first, run.horizon, run.policy, partial(_check_conservation, book)
    )
    summary = [
        f"caught up {p.month}: " + "; ".join(_summary(p.plan)[:3])
        for p in plans[:-1]
        if p.plan is not None
    ] + _summary(plan)
    if with_report:
        summary.append(
            f"recoverable now: {pluralise(int(view.recoverable['recoverable'].sum()), 'licence')}"
            f" in {pluralise(len(view.recoverable), 'contract')}"
        )

    def documents() -> tuple[dict, dict, dict]:
        """The command's JSON document, the renewal document, the status document."""
        renewal = jsonout.month_json(month, every_line=outputs.document)
        document, status_doc = renewal, {}
        if with_report:
            status_doc = jsonout.status_json(view, loaded.partners, _status_parts(outputs))
            document = {**document, "status": status_doc}
        if run.catch_up:
            document = {**document, "caught_up": [jsonout.month_json(p) for p in plans[:-1]]}
        return document, renewal, status_doc

    if run.dry_run:
        summary.append("dry run: nothing was written (run again without --dry-run to record it)")
        return RunResult(documents()[0], [], summary)
    appended = _all_rows([p.appended for p in plans])
    with Staging(outputs.out_dir, force=outputs.force) as stage:
        progress("workbook")
        writer = _ledger_writer(
            stage, outputs.out_dir, loaded, run.month, appended, view, checks, month.removed
        )
        if not with_report:
            progress("status")
            writer.write(options.warn)
            return RunResult(documents()[0], stage.written(writer.finals), summary)

        def report() -> tuple[dict, dict[str, Path], Any]:
            """What this process does while the ledger is written: the JSON documents, what
            the caller makes of them, the report(s)."""
            progress("status")
            document, renewal, status_doc = documents()
            progress("report")
            reports = _stage_reports(
                stage,
                outputs.out_dir,
                run.month,
                options,
                names,
                status=status_doc,
                renewal=renewal,
                totals=_report_totals(book, view, plan),
                meta=_report_meta(loaded, view, run.policy),
                lang=outputs.lang,
            )
            if names is not None:
                document = {**document, "reports": {p: str(f) for p, f in reports.items()}}
            prepared = outputs.prepare(document) if outputs.prepare is not None else None
            return document, reports, prepared

        document, reports, prepared = _beside(
            writer, options.warn, report, fork=_rows(loaded.ledger) >= WRITE_PROCESS_MIN
        )
        written = stage.written(writer.finals)
        written.append(outputs.out_dir / report_name(run.month, options.partner))
        if names is not None:
            summary.append(
                f"partner reports: {len(reports)} in "
                f"{outputs.out_dir / 'partners'}/<partner>/{report_name(run.month)}"
            )
    return RunResult(document, written, summary, prepared)


def _all_rows(appended: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """The rows of several runs, sheet by sheet, in run order."""
    sheets_: dict[str, list[pd.DataFrame]] = {}
    for rows in appended:
        for name, frame in rows.items():
            if not frame.empty:
                sheets_.setdefault(name, []).append(frame)
    return {name: pd.concat(fs, ignore_index=True) for name, fs in sheets_.items()}


def init(directory: Path, *, sample: bool, force: bool) -> Path:
    """Write an empty ledger template (or the sample ledger) as DIR/ledger.xlsx."""
    from licreport.ledger.template import write_template

    target = directory / "ledger.xlsx"
    if target.exists() and not force:
        from licreport.errors import OutputExists

        raise OutputExists(f"{target} exists; pass --force to overwrite it")
    directory.mkdir(parents=True, exist_ok=True)
    return write_template(target, sample=sample)


# --- history / diff ------------------------------------------------------------------------


def history(path: Path, options: Options = Options()) -> dict:
    """Per partner, the recorded months: renewals and points (SPEC §9)."""
    loaded, errors = load(path, options)
    if errors:
        options.warn(
            f"{len(errors)} data error(s) in {path.name}; the history shows the rows as "
            "recorded (run validate for the list)"
        )
    table = history_rows(loaded.book.ledger["Renewals"], loaded.book.exchanges)
    return jsonout.history_json(table, loaded.partners)


def diff(old: Path, new: Path, options: Options = Options()) -> tuple[dict, list[SheetDiff]]:
    """Rows added, removed and changed per ledger sheet between two ledgers (SPEC §9).

    Both are read with every check of `validate`'s reading; data errors do not
    stop the comparison."""
    if options.dayfirst and options.monthfirst:
        raise UsageError("--dayfirst and --monthfirst exclude each other")
    read = [
        load_ledger(
            p, dayfirst=options.dayfirst, monthfirst=options.monthfirst, decimal=options.decimal
        )[0]
        for p in (old, new)
    ]
    if options.partner is not None:  # that partner's rows; Products and Discounts whole
        if not any(options.partner in ledger.partners for ledger in read):
            known = ", ".join(sorted(set(read[0].partners) | set(read[1].partners))[:20])
            raise UsageError(f"partner {options.partner!r} is in neither ledger (known: {known})")
        read = [ledger.only_partners([options.partner]) for ledger in read]
    sheets_ = diff_ledgers(read[0], read[1])
    return jsonout.diff_json(old, new, sheets_), sheets_


# --- match ---------------------------------------------------------------------------------


def match(
    path: Path,
    usage: Path,
    billing: Path | None,
    month: str,
    outputs: Outputs,
    options: Options = Options(),
) -> tuple[dict, list[Path]]:
    """SPEC §10: the ledger on the 1st of `month` against a vendor usage export and,
    optionally, a client billing export; writes DIR/match-<M>.xlsx and .html.

    Findings are results (exit 0); data errors of the ledger, of its Mappings sheet or of
    a value in the exports stop the run (exit 1); an unreadable export or one without a
    required column is exit 2. Nothing is written unless the run succeeds.
    """
    # imported here so that `match` stays one self-contained block at the end of this module
    from licreport.ledger.exports import BILLING_FILE, USAGE_FILE, read_export
    from licreport.outputs import match_out
    from licreport.rules import match as rules_match

    first = check_month(month)
    loaded, errors = load(path, options)
    usage_export, usage_errors = read_export(usage, USAGE_FILE, decimal=options.decimal)
    billing_export = None
    billing_errors: list[DataError] = []
    if billing is not None:
        billing_export, billing_errors = read_export(billing, BILLING_FILE, decimal=options.decimal)
    for export in (usage_export, billing_export):
        for line in export.warnings if export is not None else ():
            options.warn(line)
    ledger = loaded.ledger
    errors += rules_match.check_mappings(
        ledger.table("Mappings"), ledger["Clients"], ledger["Products"]
    )
    errors += usage_errors + billing_errors
    if errors:
        raise DataErrors(f"{len(errors)} data error(s); nothing was written", errors)
    _check_conservation(loaded.book)
    directory = rules_match.directory(
        ledger["Clients"], ledger["Products"], ledger["Partners"], ledger["Mappings"]
    )
    result = rules_match.match_ledger(
        loaded.book.contracts_at(first),
        first,
        directory,
        (usage_export.file, usage_export.frame),
        (billing_export.file, billing_export.frame) if billing_export is not None else None,
        has_price=billing_export is not None and billing_export.has_price,
        partners=[options.partner] if options.partner is not None else None,
    )
    doc = match_out.match_json(month, result)
    partners = ledger["Partners"].dropna(subset=["partner"])
    names = dict(zip(partners["partner"], partners["name"].fillna(""), strict=True))
    currencies = dict(zip(partners["partner"], status_currencies(partners), strict=True))
    meta = {
        "month": month,
        "as_of": first.date().isoformat(),
        "usage_name": usage_export.file,
        "billing_name": billing_export.file if billing_export is not None else "",
        "input_name": ledger.path.name,
        "sha256": ledger.sha256,
        "version": __version__,
    }
    book_path = outputs.out_dir / f"match-{month}.xlsx"
    page_path = outputs.out_dir / f"match-{month}.html"
    inputs = [path, usage] + ([billing] if billing is not None else [])
    for source in inputs:
        _never_the_input(Path(source), [book_path, page_path])
    with Staging(outputs.out_dir, force=outputs.force) as stage:
        match_out.write_match_workbook(stage.path(book_path), result, names)
        html = match_out.render_match(result, meta, names, lang=outputs.lang, currencies=currencies)
        stage.path(page_path).write_text(html, encoding="utf-8")
    return doc, [book_path, page_path]
