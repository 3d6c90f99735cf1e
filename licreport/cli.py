"""The command line: parse options, call one `api` function, print, map errors to exit codes.

Exit codes (SPEC §4): 0 done; 1 data errors (nothing written); 2 usage error,
unreadable or unsafe file, a sheet that is not a table, or an output that cannot
be written (nothing written); 3 an internal error (a bug: run with --debug).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click

from licreport import __version__, api
from licreport.errors import LicreportError
from licreport.outputs import jsonout
from licreport.rules.shortfall import POLICIES

LEDGER = click.Path(exists=True, path_type=Path)


def _today() -> date:
    return date.today()


def _month_first(month: str) -> date:
    try:
        return date.fromisoformat(f"{month}-01")
    except ValueError:
        raise click.BadParameter(f"{month!r} is not YYYY-MM", param_hint="--month") from None


def reading_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--dayfirst / --monthfirst / --partner, shared by every command that reads a ledger."""
    f = click.option("--partner", help="Restrict to one partner id.")(f)
    f = click.option(
        "--monthfirst", is_flag=True, help="Read text dates like 12/31/2026 as month/day/year."
    )(f)
    f = click.option(
        "--dayfirst", is_flag=True, help="Read text dates like 31/12/2026 as day/month/year."
    )(f)
    return f


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(f)


def output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--force", is_flag=True, help="Overwrite outputs that exist.")(f)
    f = click.option(
        "--out",
        "out_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("licreport-out"),
        show_default=True,
        help="Folder for the outputs.",
    )(f)
    return f


def as_of_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--as-of DATE or --month YYYY-MM (its 1st); the command receives `day`."""

    @functools.wraps(f)
    def wrapper(*args: Any, as_of: Any, month: str | None, **kwargs: Any) -> Any:
        if as_of and month:
            raise click.UsageError("give --as-of or --month, not both")
        day = as_of.date() if as_of else _month_first(month) if month else _today()
        return f(*args, day=day, **kwargs)

    wrapper = click.option("--month", help="Compute as of the 1st of this month, YYYY-MM.")(wrapper)
    return click.option(
        "--as-of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        help="The date to compute for (default: today).",
    )(wrapper)


def _warn(message: str) -> None:
    click.echo(f"licreport: warning: {message}", err=True)


def _options(dayfirst: bool, monthfirst: bool, partner: str | None) -> api.Options:
    return api.Options(dayfirst=dayfirst, monthfirst=monthfirst, partner=partner, warn=_warn)


def handle_errors(f: Callable[..., Any]) -> Callable[..., Any]:
    """Turn what stops a run into its exit code and readable lines (traceback only with --debug)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return f(*args, **kwargs)
        except LicreportError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            if kwargs.get("as_json") and exc.errors:
                click.echo(jsonout.dumps({"errors": [e.to_json() for e in exc.errors]}))
            else:
                if exc.errors and exc.message:
                    click.echo(f"licreport: {exc.message}", err=True)
                for line in exc.lines():
                    click.echo(line if exc.errors else f"licreport: {line}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:  # a folder that cannot be created, a disk that is full
            if ctx.find_root().params.get("debug"):
                raise
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"licreport: {exc.strerror or exc}{where}; nothing was written", err=True)
            ctx.exit(2)
        except Exception as exc:  # a bug: one line, the traceback only with --debug
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(
                f"licreport: internal error ({type(exc).__name__}: {exc}); nothing was written. "
                "Run again with --debug for the traceback and report it.",
                err=True,
            )
            ctx.exit(3)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="licreport")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def main(debug: bool) -> None:
    """Reconcile licence pools of Panda Security / WatchGuard partners.

    Reads the ledger (an .xlsx workbook or a folder of CSV files), replays and
    checks it, computes proration, renewals and recoveries, and writes the
    updated workbook and an HTML report. The input is never modified.
    """


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--sample", is_flag=True, help="Fill it with a realistic sample ledger.")
@click.option("--force", is_flag=True, help="Overwrite DIR/ledger.xlsx if it exists.")
@handle_errors
def init(directory: Path, sample: bool, force: bool) -> None:
    """Write an empty ledger template (DIRECTORY/ledger.xlsx) with every sheet,
    headers, drop-down lists and a read-me sheet.

    Example: licreport init my-ledger --sample
    """
    path = api.init(directory, sample=sample, force=force)
    click.echo(f"wrote {path}")


@main.command()
@click.argument("ledger", type=LEDGER)
@reading_options
@json_option
@handle_errors
def validate(
    ledger: Path, dayfirst: bool, monthfirst: bool, partner: str | None, as_json: bool
) -> None:
    """Load and replay LEDGER; print every data error as file:sheet:cell: column: message.

    Exit 1 when there is any. Example: licreport validate sample_data/ledger.xlsx
    """
    errors = api.validate(ledger, _options(dayfirst, monthfirst, partner))
    if as_json:
        click.echo(jsonout.dumps({"errors": [e.to_json() for e in errors]}))
    else:
        for e in errors:
            click.echo(str(e))
        if errors:
            click.echo(f"{len(errors)} data error(s) in {ledger.name}", err=True)
        else:
            click.echo(f"{ledger.name}: no data errors")
    if errors:
        sys.exit(1)


@main.command()
@click.option("--product", required=True, help="Product code, e.g. AD360.")
@click.option("--devices", required=True, type=click.IntRange(min=0), help="Devices to cover.")
@click.option(
    "--date", "when", type=click.DateTime(formats=["%Y-%m-%d"]), help="Exchange date (today)."
)
@click.option("--ledger", type=LEDGER, help="Take the price from this ledger's Products.")
@click.option("--points-per-licence", type=click.IntRange(min=1), help="Price in MSSP Points.")
@reading_options
@json_option
@handle_errors
def quote(
    product: str,
    devices: int,
    when: Any,
    ledger: Path | None,
    points_per_licence: int | None,
    dayfirst: bool,
    monthfirst: bool,
    partner: str | None,
    as_json: bool,
) -> None:
    """Prorate one exchange of MSSP Points for monthly licences (R1).

    Example: licreport quote --product AD360 --devices 30 --date 2026-01-23 --points-per-licence 3
    """
    day = when.date() if when else _today()
    q = api.quote(
        product,
        devices,
        day,
        ledger=ledger,
        points_per_licence=points_per_licence,
        options=_options(dayfirst, monthfirst, partner),
    )
    if as_json:
        click.echo(jsonout.dumps(jsonout.quote_json(q)))
        return
    click.echo(
        f"{q.devices} × {q.product} on {q.date}: {q.days} days to the 1st → "
        f"{q.device_days} device-days → ceil({q.device_days}/30) = {q.licences} licences × "
        f"{q.points_per_licence} points = {q.points} points"
    )


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column == "term" and isinstance(value, int):
        return f"{value}-year"
    return str(value)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    """A plain aligned text table."""
    cells = [[str(c) for c in columns]] + [[_cell(c, r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]


def _print_status(doc: dict[str, Any]) -> None:
    click.echo(f"Status as of {doc['as_of']}")
    for p in doc["partners"]:
        name = f" — {p['name']}" if p.get("name") else ""
        click.secho(f"\n{p['partner']}{name} ({p['provider']})", bold=True)
        sections: list[tuple[str, list[dict[str, Any]], list[str]]] = [
            ("My available licences", p["pool"], ["product", "term", "available"]),
            ("Monthly pool (MSSP)", p["monthly_pool"], ["product", "available"]),
            (
                "Expiring in the next 90 days",
                p["expiring"],
                ["client", "product", "term", "licences", "end", "days_left"],
            ),
            ("Recoverable", p["recoverable"], ["client", "product", "term", "recoverable"]),
            (
                "Next month (monthly)",
                p["forecast"],
                ["product", "devices_due", "available", "shortfall", "points_needed"],
            ),
            (
                "Pool spend (R5)",
                p.get("spend", []),
                ["product", "term", "quantity", "list_price", "spend", "average_discount"],
            ),
        ]
        if p["provider"] == "WatchGuard":
            click.echo(f"  MSSP Points balance: {p['points_balance']}")
        trials = [t["product"] for t in p["trials"] if t["available"]]
        click.echo(f"  Trials available: {', '.join(trials) or 'none'}")
        for title, rows, cols in sections:
            if rows:
                click.echo(f"  {title}:")
                for line in _table(rows, cols):
                    click.echo(f"    {line}")


@main.command()
@click.argument("ledger", type=LEDGER)
@as_of_option
@reading_options
@json_option
@handle_errors
def status(
    ledger: Path,
    day: date,
    dayfirst: bool,
    monthfirst: bool,
    partner: str | None,
    as_json: bool,
) -> None:
    """The "My available licenses" view per partner: pools, trials, monthly pool,
    points, expiring contracts, recoverable licences, next month's forecast.

    Example: licreport status sample_data/ledger.xlsx --as-of 2026-12-01
    """
    doc, _ = api.status(ledger, day, _options(dayfirst, monthfirst, partner))
    if as_json:
        click.echo(jsonout.dumps(doc))
    else:
        _print_status(doc)


@main.command()
@click.argument("ledger", type=LEDGER)
@as_of_option
@click.option("--apply", is_flag=True, help="Record the recoveries in the updated workbook.")
@output_options
@reading_options
@json_option
@handle_errors
def recover(
    ledger: Path,
    day: date,
    apply: bool,
    out_dir: Path,
    force: bool,
    dayfirst: bool,
    monthfirst: bool,
    partner: str | None,
    as_json: bool,
) -> None:
    """List licences recoverable from clients that do not use them (R4); --apply
    records them (Pool and Clients rows) in DIR/<ledger>-<month>.xlsx.

    Example: licreport recover sample_data/ledger.xlsx --as-of 2026-12-01 --apply
    """
    doc, written = api.recover(
        ledger,
        day,
        apply=apply,
        outputs=api.Outputs(out_dir, force),
        options=_options(dayfirst, monthfirst, partner),
    )
    if as_json:
        click.echo(jsonout.dumps(doc))
        return
    for p in doc["partners"]:
        click.secho(p["partner"], bold=True)
        cols = ["client", "product", "term", "licences", "devices_used", "days_left",
                "recoverable"]  # fmt: skip
        for line in _table(p["recoverable"], cols):
            click.echo(f"  {line}")
    if not doc["partners"]:
        click.echo(f"nothing to recover on {doc['as_of']}")
    for path in written:
        click.echo(f"wrote {path}")


def run_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--redo", is_flag=True, help="Recompute a month already applied.")(f)
    f = click.option(
        "--exchange", is_flag=True, help="First buy missing monthly licences with MSSP Points."
    )(f)
    f = click.option(
        "--policy",
        type=click.Choice(POLICIES),
        default="priority",
        show_default=True,
        help="Who is renewed when licences are short.",
    )(f)
    f = click.option("--month", required=True, help="Month to run, YYYY-MM.")(f)
    return f


@contextmanager
def _progress(steps: tuple[str, ...], enabled: bool) -> Iterator[Callable[[str], None]]:
    """One progress bar over the run's steps, on a terminal only."""
    if not enabled:
        yield lambda step: None
        return
    with click.progressbar(length=len(steps), label="reconcile", file=sys.stderr) as bar:
        seen: list[str] = []

        def advance(step: str) -> None:
            if step not in seen:
                seen.append(step)
                bar.label = step
                bar.update(1)

        yield advance


def _print_run(result: api.RunResult, as_json: bool) -> None:
    if as_json:
        click.echo(jsonout.dumps(result.document))
        return
    doc = result.document
    for p in doc["partners"]:
        dropped = [ln for ln in p["lines"] if ln["dropped"]]
        click.secho(f"{p['partner']}: {len(p['lines'])} renewal lines", bold=True)
        if dropped:
            cols = ["client", "product", "term", "requested", "renewed", "dropped"]
            for line in _table(dropped, cols):
                click.echo(f"  {line}")
    for line in result.summary:
        click.echo(line)
    for path in result.written:
        click.echo(f"wrote {path}")


@main.command()
@click.argument("ledger", type=LEDGER)
@run_options
@click.option("--dry-run", is_flag=True, help="Compute and print; write nothing.")
@output_options
@reading_options
@json_option
@handle_errors
def renew(
    ledger: Path,
    month: str,
    policy: str,
    exchange: bool,
    redo: bool,
    dry_run: bool,
    out_dir: Path,
    force: bool,
    dayfirst: bool,
    monthfirst: bool,
    partner: str | None,
    as_json: bool,
) -> None:
    """Renew monthly (R2) and annual (R3) contracts for --month, settled on its 1st.

    Example: licreport renew sample_data/ledger.xlsx --month 2026-12 --exchange --dry-run
    """
    run = api.RunOptions(month, policy, exchange, dry_run, redo)
    result = api.renew(
        ledger, run, api.Outputs(out_dir, force), _options(dayfirst, monthfirst, partner)
    )
    _print_run(result, as_json)


@main.command()
@click.argument("ledger", type=LEDGER)
@as_of_option
@click.option(
    "--policy",
    type=click.Choice(POLICIES),
    default="priority",
    show_default=True,
    help="Named in the report's footer.",
)
@output_options
@reading_options
@json_option
@handle_errors
def report(
    ledger: Path,
    day: date,
    policy: str,
    out_dir: Path,
    force: bool,
    dayfirst: bool,
    monthfirst: bool,
    partner: str | None,
    as_json: bool,
) -> None:
    """Write only the HTML status report, DIR/report-<month>.html.

    Example: licreport report sample_data/ledger.xlsx --as-of 2026-12-01
    """
    doc, path = api.report(
        ledger, day, api.Outputs(out_dir, force), _options(dayfirst, monthfirst, partner), policy
    )
    click.echo(jsonout.dumps(doc) if as_json else f"wrote {path}")


@main.command()
@click.argument("ledger", type=LEDGER)
@run_options
@output_options
@reading_options
@json_option
@handle_errors
def reconcile(
    ledger: Path,
    month: str,
    policy: str,
    exchange: bool,
    redo: bool,
    out_dir: Path,
    force: bool,
    dayfirst: bool,
    monthfirst: bool,
    partner: str | None,
    as_json: bool,
) -> None:
    """The monthly run: validate, renew, list recoveries, status; writes
    DIR/<ledger>-<month>.xlsx and DIR/report-<month>.html.

    Example: licreport reconcile sample_data/ledger.xlsx --month 2026-12
    """
    run = api.RunOptions(month, policy, exchange, False, redo)
    interactive = sys.stderr.isatty() and not as_json
    with _progress(api.RECONCILE_STEPS, interactive) as progress:
        result = api.reconcile(
            ledger,
            run,
            api.Outputs(out_dir, force),
            _options(dayfirst, monthfirst, partner),
            progress,
        )
    _print_run(result, as_json)


EXPORT = click.Path(exists=True, dir_okay=False, path_type=Path)
MATCH_LINES = 20  # unmatched rows printed on the terminal


def _print_match(doc: dict[str, Any], written: list[Path]) -> None:
    click.echo(f"Reconciliation for {doc['month']}")
    if doc["summary"]:
        cols = ["partner", "kind", "count", "difference", "monthly_impact"]
        for line in _table(doc["summary"], cols):
            click.echo(f"  {line}")
    else:
        click.echo("  licences, usage and billing agree: no findings")
    if doc["unmatched"]:
        click.echo(f"{len(doc['unmatched'])} unmatched row(s):")
        for u in doc["unmatched"][:MATCH_LINES]:
            hint = f" (did you mean {', '.join(u['suggestions'])}?)" if u["suggestions"] else ""
            click.echo(f"  {u['file']}:{u['row']}: {u['client']} / {u['product']}{hint}")
        if len(doc["unmatched"]) > MATCH_LINES:
            more = len(doc["unmatched"]) - MATCH_LINES
            click.echo(f"  … and {more} more (every one is in the workbook's Unmatched sheet)")
    for path in written:
        click.echo(f"wrote {path}")


@main.command()
@click.argument("ledger", type=LEDGER)
@click.option("--usage", required=True, type=EXPORT, help="Vendor usage export (.csv or .xlsx).")
@click.option("--billing", type=EXPORT, help="Client billing export (.csv or .xlsx).")
@click.option("--month", required=True, help="Month to reconcile, YYYY-MM (licences on its 1st).")
@output_options
@reading_options
@json_option
@handle_errors
def match(
    ledger: Path,
    usage: Path,
    billing: Path | None,
    month: str,
    out_dir: Path,
    force: bool,
    dayfirst: bool,
    monthfirst: bool,
    partner: str | None,
    as_json: bool,
) -> None:
    """Reconcile the ledger against vendor usage and client billing: unlicensed, idle,
    underbilled and overbilled per partner, client and product, with the monthly money
    impact; writes DIR/match-<month>.xlsx and DIR/match-<month>.html. Exit 0 when it ran,
    findings or not.

    Example: licreport match sample_data/ledger.xlsx --usage sample_data/usage-2026-12.csv
    --billing sample_data/billing-2026-12.xlsx --month 2026-12
    """
    doc, written = api.match(
        ledger,
        usage,
        billing,
        month,
        api.Outputs(out_dir, force),
        _options(dayfirst, monthfirst, partner),
    )
    if as_json:
        click.echo(jsonout.dumps(doc))
    else:
        _print_match(doc, written)


if __name__ == "__main__":  # pragma: no cover
    main()
