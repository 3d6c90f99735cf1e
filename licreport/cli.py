"""The command line: parse options, call one `api` function, print, map errors to exit codes.

Exit codes (SPEC §4): 0 done; 1 data errors (nothing written); 2 usage error,
unreadable or unsafe file, a sheet that is not a table, or an output that cannot
be written (nothing written); 3 an internal error (a bug: run with --debug).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn, cast

import click

from licreport import __version__
from licreport.errors import DataError, LicreportError, UsageError
from licreport.i18n import LANGUAGES
from licreport.ledger import ahead
from licreport.rules import DEFAULT_HORIZON, MAX_HORIZON, POLICIES


def _lazy(name: str) -> ModuleType:
    """Module `name`, executed when one of its names is first read (importlib's
    `LazyLoader`): the run's modules (pandas: 0.4 s) load once click has parsed the
    command line and the ledger's read has begun (`ledger.ahead`)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)  # as an import does
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from licreport import api
    from licreport.ledger import parse
    from licreport.outputs import filters, jsonout, terms
else:
    api = _lazy("licreport.api")
    parse = _lazy("licreport.ledger.parse")
    filters = _lazy("licreport.outputs.filters")
    jsonout = _lazy("licreport.outputs.jsonout")
    terms = _lazy("licreport.outputs.terms")


class LedgerPath(click.Path):
    """An existing ledger (file or folder); `.` or `..` as the folder's own path, so its
    name (the outputs' and messages' name) is the folder's."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        path = path.resolve() if isinstance(path, Path) and path.name in ("", "..") else path
        if isinstance(path, Path) and ctx is not None:
            # taken by the loader, dropped if the command stops before; click takes the
            # options before the arguments, so a --decimal-comma is known here
            ahead.begin(path, ctx.meta.get(DECIMAL_KEY))
            ctx.call_on_close(ahead.discard)
        return path


LEDGER = LedgerPath(exists=True, path_type=Path)


def _today() -> date:
    return date.today()


def _month_first(month: str) -> date:
    try:
        return api.check_month(month).date()
    except UsageError as exc:
        why = exc.message.removeprefix("--month: ")
        raise click.BadParameter(why, param_hint="--month") from None


def _day(value: str, hint: str, dayfirst: bool, monthfirst: bool) -> date:
    """A date option: ISO always; D/M/Y or M/D/Y with --dayfirst/--monthfirst (SPEC §11),
    read by the ledger's own date reader so that an option and a cell agree."""
    day = parse.date_reader(parse.DateOptions(dayfirst=dayfirst, monthfirst=monthfirst))(value)
    if isinstance(day, parse.Bad):
        raise click.BadParameter(str(day), param_hint=hint)
    return day


DECIMAL_KEY = "licreport.decimal"


def _remember_decimal(ctx: click.Context, param: click.Parameter, value: bool | None) -> None:
    # Kept in ctx.meta (not a parameter) so the commands' signatures stay as they are:
    # `ledger_options` puts it in `api.Options`.
    ctx.meta[DECIMAL_KEY] = None if value is None else "," if value else "."


def ledger_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--dayfirst / --monthfirst / --decimal-comma / --partner, shared by every command
    that reads a ledger, handed to the command as one `options: api.Options` (in the
    manner of sqlite-utils' `output_options`)."""

    @functools.wraps(f)
    def wrapper(
        *args: Any, dayfirst: bool, monthfirst: bool, partner: str | None = None, **kwargs: Any
    ) -> Any:
        decimal = click.get_current_context().meta.get(DECIMAL_KEY)
        options = api.Options(
            dayfirst=dayfirst, monthfirst=monthfirst, partner=partner, warn=_warn, decimal=decimal
        )
        return f(*args, options=options, **kwargs)

    wrapper = click.option("--partner", help="Restrict to one partner id.")(wrapper)
    return date_options(wrapper)


def date_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--dayfirst / --monthfirst: how text dates are read."""
    f = click.option(
        "--decimal-comma/--decimal-point",
        default=None,
        expose_value=False,
        callback=_remember_decimal,
        help="Read numbers in every CSV file as 1.234,50 / 1,234.50 "
        "(default: a decimal comma in ;-delimited files only).",
    )(f)
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
    def wrapper(*args: Any, as_of: str | None, month: str | None, **kwargs: Any) -> Any:
        if as_of and month:
            raise click.UsageError("give --as-of or --month, not both")
        if as_of:
            first = (kwargs.get("dayfirst", False), kwargs.get("monthfirst", False))
            day = _day(as_of, "--as-of", *first)
        else:
            day = _month_first(month) if month else _today()
        return f(*args, day=day, **kwargs)

    wrapper = click.option("--month", help="Compute as of the 1st of this month, YYYY-MM.")(wrapper)
    return click.option(
        "--as-of",
        metavar="DATE",
        help="The date to compute for, YYYY-MM-DD (or as --dayfirst/--monthfirst say; "
        "default: today).",
    )(wrapper)


def lang_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--lang: the HTML report's language (SPEC §11); an unknown one is a usage error."""
    return click.option(
        "--lang",
        type=click.Choice(LANGUAGES),
        default="en",
        show_default=True,
        help="Language of the HTML report: words, numbers, money and dates.",
    )(f)


def horizon_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--horizon N: the months the outlook covers (SPEC §7)."""
    return click.option(
        "--horizon",
        type=click.IntRange(1, MAX_HORIZON),
        default=DEFAULT_HORIZON,
        show_default=True,
        help="Months the outlook and the buying list cover (1-12).",
    )(f)


def policy_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--policy",
        type=click.Choice(POLICIES),
        default="priority",
        show_default=True,
        help=help_text,
    )


def _warn(message: str) -> None:
    click.echo(f"licreport: warning: {message}", err=True)


def _file_error(exc: LicreportError, ledger: object) -> DataError:
    """A file-level refusal as one error of the JSON document (as a sheet-level one)."""
    name = ledger.name if isinstance(ledger, Path) else ""
    message = exc.message.removeprefix(f"{name}: ") if name else exc.message
    return DataError(name, None, None, None, None, message)


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
            if kwargs.get("as_json"):
                errors = exc.errors or [_file_error(exc, kwargs.get("ledger"))]
                click.echo(jsonout.dumps({"errors": [e.to_json() for e in errors]}))
            else:
                # a summary ("3 data error(s) in …") heads the lines; a message that only
                # repeats the first line (sheet and safety problems) is not printed twice
                if exc.errors and exc.message and not exc.message.startswith(str(exc.errors[0])):
                    click.echo(f"licreport: {exc.message}", err=True)
                for line in exc.lines():
                    click.echo(line if exc.errors else f"licreport: {line}", err=True)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:  # the reader stopped reading (`| head`): not a failure of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error
            ctx.exit(0)
        except OSError as exc:  # a folder that cannot be created, a disk that is full
            if ctx.find_root().params.get("debug"):
                raise
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"licreport: {exc.strerror or exc}{where}; nothing was written", err=True)
            ctx.exit(2)
        except click.ClickException:  # a bad option value found in the command: Click's exit 2
            raise
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
@ledger_options
@json_option
@handle_errors
def validate(ledger: Path, options: api.Options, as_json: bool) -> None:
    """Load and replay LEDGER; print every data error as file:sheet:cell: column: message.

    Exit 1 when there is any. Example: licreport validate sample_data/ledger.xlsx
    """
    errors, warnings = api.check(ledger, options)
    for line in warnings:
        click.echo(line, err=True)
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
    "--date",
    "when",
    metavar="DATE",
    help="Exchange date, YYYY-MM-DD or as --dayfirst/--monthfirst say (today).",
)
@click.option("--ledger", type=LEDGER, help="Take the price from this ledger's Products.")
@click.option("--points-per-licence", type=click.IntRange(min=1), help="Price in MSSP Points.")
@ledger_options
@json_option
@handle_errors
def quote(
    product: str,
    devices: int,
    when: str | None,
    ledger: Path | None,
    points_per_licence: int | None,
    options: api.Options,
    as_json: bool,
) -> None:
    """Prorate one exchange of MSSP Points for monthly licences (rule R1 in docs/rules.md).

    Example: licreport quote --product AD360 --devices 30 --date 2026-01-23 --points-per-licence 3
    """
    day = _day(when, "--date", options.dayfirst, options.monthfirst) if when else _today()
    q = api.quote(
        product,
        devices,
        day,
        ledger=ledger,
        points_per_licence=points_per_licence,
        options=options,
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
    if column == "term":
        return terms.term_label(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"  # 12,500 devices, as the report shows them
    return str(value)


def _column(rows: list[dict[str, Any]], column: str) -> list[str]:
    """`_cell` of one column's values; whole numbers, terms and texts in one comprehension
    each (12,000 partners' dropped renewal lines are half a million cells)."""
    values = [r.get(column) for r in rows]
    kinds = set(map(type, values))
    if column == "term" and kinds <= {str, type(None)}:
        labels = {v: _cell(column, v) for v in set(values)}
        return [labels[v] for v in values]
    if column != "term" and kinds == {int}:
        return [f"{v:,}" for v in values]
    if column != "term" and kinds == {str}:
        return cast(list[str], values)
    return [_cell(column, v) for v in values]


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    """A plain aligned text table."""
    padded = []
    for c in columns:
        cells = [str(c), *_column(rows, c)]
        width = max(map(len, cells))
        padded.append([v.ljust(width) for v in cells])
    return list(map("  ".join, zip(*padded, strict=True)))


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
                "Pool spend (volume discounts: rule R5 in docs/rules.md)",
                p.get("spend", []),
                ["product", "term", "quantity", "list_price", "spend", "average_discount"],
            ),
        ]
        if p["provider"] == "WatchGuard":
            click.echo(f"  MSSP Points balance: {p['points_balance']:,}")
        trials = [t["product"] for t in p["trials"] if t["available"]]
        click.echo(f"  Trials available: {', '.join(trials) or 'none'}")
        sections.append(
            (
                "Over-use (devices above licences)",
                p.get("overuse", []),
                ["client", "product", "term", "licences", "devices_used", "unlicensed"],
            )
        )
        for title, rows, cols in sections:
            if rows:
                click.echo(f"  {title}:")
                for line in _table(rows, cols):
                    click.echo(f"    {line}")
        _print_outlook(p)


def _print_outlook(p: dict[str, Any]) -> None:
    """The outlook rows with the clients at risk, then the buying list (SPEC §7)."""
    rows = [
        {
            **r,
            "at_risk": ", ".join(f"{x['client']} {x['short']}" for x in r["at_risk"]),
        }
        for r in p.get("outlook", [])
    ]
    if rows:
        click.echo("  Outlook (due, served and short per month):")
        cols = ["month", "kind", "product", "term", "due", "available", "served", "shortfall",
                "points_needed", "at_risk"]  # fmt: skip
        for line in _table(rows, cols):
            click.echo(f"    {line.rstrip()}")
    buy = p.get("buy")
    if not buy:
        return
    currency = p.get("currency") or ""
    if buy["points_to_buy"] or buy["points_needed"]:
        click.echo(
            f"  Points: {buy['points_needed']} needed over the outlook, "
            f"{buy['points_balance']} held → buy {buy['points_to_buy']}"
        )
    if buy["licences"]:
        click.echo(f"  To buy (recover first; prices in {currency}):")
        cols = ["product", "term", "short", "recoverable", "to_buy", "unit_price",
                "estimated_cost"]  # fmt: skip
        for line in _table(buy["licences"], cols):
            click.echo(f"    {line}")
        total = buy["estimated_total"]
        click.echo(f"    estimated total: {currency} {total if total is not None else 'unknown'}")


@main.command()
@click.argument("ledger", type=LEDGER)
@as_of_option
@horizon_option
@policy_option("Who the outlook serves first when licences are short.")
@ledger_options
@json_option
@handle_errors
def status(
    ledger: Path,
    day: date,
    horizon: int,
    policy: str,
    options: api.Options,
    as_json: bool,
) -> None:
    """The "My available licenses" view per partner: pools, trials, monthly pool,
    points, expiring contracts, recoverable licences, over-use, the outlook over
    --horizon months (who would lose protection) and the buying list.

    Example: licreport status sample_data/ledger.xlsx --as-of 2026-12-01
    """
    doc, _ = api.status(ledger, day, options, horizon=horizon, policy=policy)
    if as_json:
        click.echo(jsonout.dumps(doc))
    else:
        _print_status(doc)


@main.command()
@click.argument("ledger", type=LEDGER)
@as_of_option
@click.option("--apply", is_flag=True, help="Record the recoveries in the updated workbook.")
@output_options
@ledger_options
@json_option
@handle_errors
def recover(
    ledger: Path,
    day: date,
    apply: bool,
    out_dir: Path,
    force: bool,
    options: api.Options,
    as_json: bool,
) -> None:
    """List licences recoverable from clients that do not use them (rule R4 in
    docs/rules.md); --apply records them (Pool and Clients rows) in
    DIR/<ledger>-<month>.xlsx.

    Example: licreport recover sample_data/ledger.xlsx --as-of 2026-12-01 --apply
    """
    doc, written = api.recover(
        ledger,
        day,
        apply=apply,
        outputs=api.Outputs(out_dir, force),
        options=options,
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
    f = click.option(
        "--catch-up",
        is_flag=True,
        help="First run every month after the last one recorded in Renewals and before --month.",
    )(f)
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
    text = result.prepared if result.prepared is not None else _run_text(result.document, as_json)
    if as_json:  # stdout holds the document alone; the hint (SPEC §8) goes to stderr
        click.echo(text)
        for line in result.summary:
            if line.startswith("hint:"):
                click.echo(line, err=True)
        return
    out = [text] if text else []  # one echo: 12,000 partners' lines are 100,000 echo calls
    out += result.summary
    out += [f"wrote {path}" for path in result.written]
    if out:
        click.echo("\n".join(out))


def _run_text(doc: dict[str, Any], as_json: bool) -> str:
    """What a run prints of its document: the JSON, or each partner's renewal lines with
    dropped devices as a table.  `reconcile` has it made while the ledger is written
    (`api.Outputs.prepare`): 12,000 partners' tables are 0.3 s, a --json document more."""
    if as_json:
        return jsonout.dumps(doc)
    out: list[str] = []
    cols = ["client", "product", "term", "requested", "renewed", "dropped"]
    counted = functools.cache(lambda count: filters.pluralise(count, "renewal line"))
    for p in doc["partners"]:
        dropped = [ln for ln in p["lines"] if ln["dropped"]]
        count = p.get("line_count", len(p["lines"]))  # `every_line` False: dropped lines only
        head = f"{p['partner']}: {counted(count)}"
        out.append(click.style(head, bold=True))
        out += [f"  {line}" for line in (_table(dropped, cols) if dropped else [])]
    return "\n".join(out)


@main.command()
@click.argument("ledger", type=LEDGER)
@run_options
@click.option("--dry-run", is_flag=True, help="Compute and print; write nothing.")
@output_options
@ledger_options
@json_option
@handle_errors
def renew(
    ledger: Path,
    month: str,
    policy: str,
    exchange: bool,
    redo: bool,
    catch_up: bool,
    dry_run: bool,
    out_dir: Path,
    force: bool,
    options: api.Options,
    as_json: bool,
) -> None:
    """Renew monthly and annual contracts for --month, settled on its 1st (rules R2 and R3
    in docs/rules.md).

    Example: licreport renew sample_data/ledger.xlsx --month 2026-12 --exchange --dry-run
    """
    run = api.RunOptions(month, policy, exchange, dry_run, redo, catch_up=catch_up)
    result = api.renew(ledger, run, api.Outputs(out_dir, force), options)
    _print_run(result, as_json)


@main.command()
@click.argument("ledger", type=LEDGER)
@as_of_option
@horizon_option
@policy_option("Who the outlook serves first when licences are short.")
@click.option(
    "--split",
    is_flag=True,
    help="Also write one report per partner, DIR/partners/<partner>/report-<month>.html, "
    "each holding that partner's data only.",
)
@output_options
@lang_option
@ledger_options
@json_option
@handle_errors
def report(
    ledger: Path,
    day: date,
    horizon: int,
    policy: str,
    split: bool,
    out_dir: Path,
    force: bool,
    lang: str,
    options: api.Options,
    as_json: bool,
) -> None:
    """Write only the HTML status report, DIR/report-<month>.html.

    Example: licreport report sample_data/ledger.xlsx --as-of 2026-12-01
    """
    doc, path = api.report(
        ledger,
        day,
        api.Outputs(out_dir, force, lang, document=as_json),
        options,
        policy,
        horizon,
        split=split,
    )
    if as_json:
        click.echo(jsonout.dumps(doc))
        return
    click.echo(f"wrote {path}")
    if split:
        click.echo(f"wrote {len(doc['reports'])} partner reports in {out_dir / 'partners'}")


@main.command()
@click.argument("ledger", type=LEDGER)
@run_options
@horizon_option
@click.option(
    "--split",
    is_flag=True,
    help="Also write one report per partner, DIR/partners/<partner>/report-<month>.html, "
    "each holding that partner's data only.",
)
@output_options
@lang_option
@ledger_options
@json_option
@handle_errors
def reconcile(
    ledger: Path,
    month: str,
    policy: str,
    exchange: bool,
    redo: bool,
    catch_up: bool,
    horizon: int,
    split: bool,
    out_dir: Path,
    force: bool,
    lang: str,
    options: api.Options,
    as_json: bool,
) -> None:
    """The monthly run: validate, renew, list recoveries, status; writes
    DIR/<ledger>-<month>.xlsx and DIR/report-<month>.html.

    Example: licreport reconcile sample_data/ledger.xlsx --month 2026-12
    """
    run = api.RunOptions(
        month, policy, exchange, False, redo, horizon, split=split, catch_up=catch_up
    )
    interactive = sys.stderr.isatty() and not as_json
    with _progress(api.RECONCILE_STEPS, interactive) as progress:
        result = api.reconcile(
            ledger,
            run,
            api.Outputs(
                out_dir,
                force,
                lang,
                document=as_json,
                prepare=functools.partial(_run_text, as_json=as_json),
            ),
            options,
            progress,
        )
    _print_run(result, as_json)


@main.command()
@click.argument("ledger", type=LEDGER)
@ledger_options
@json_option
@handle_errors
def history(ledger: Path, options: api.Options, as_json: bool) -> None:
    """Per partner, the months a recorded run renewed: licences requested, renewed and
    dropped, points renewed, bought by runs and credited.

    Example: licreport history licreport-out/ledger-2027-01.xlsx
    """
    doc = api.history(ledger, options)
    if as_json:
        click.echo(jsonout.dumps(doc))
        return
    if not doc["partners"]:
        click.echo(f"{ledger.name}: no recorded runs (Renewals is empty)")
    cols = ["month", "requested", "renewed", "dropped", "points_renewed", "points_bought",
            "points_credited"]  # fmt: skip
    for p in doc["partners"]:
        click.secho(p["partner"], bold=True)
        for line in _table(p["months"], cols):
            click.echo(f"  {line}")


def _shown(value: Any) -> str:
    return "(blank)" if value is None else str(jsonout.cell_value("", value))


def _row_text(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} {_shown(v)}" for k, v in values.items())


@main.command()
@click.argument("old", type=LEDGER)
@click.argument("new", type=LEDGER)
@ledger_options
@json_option
@handle_errors
def diff(old: Path, new: Path, options: api.Options, as_json: bool) -> None:
    """Rows added, removed and changed in each ledger sheet between OLD and NEW, rows
    matched by their key and values compared as typed (a date equals the same date as text).
    --partner P compares that partner's rows (Products and Discounts whole).

    Example: licreport diff licreport-out/ledger-2026-12.xlsx ledger-edited.xlsx
    """
    doc, sheets = api.diff(old, new, options)
    if as_json:
        click.echo(jsonout.dumps(doc))
        return
    if not sheets:
        click.echo(f"{old.name} and {new.name}: no differences in the ledger sheets")
    for d in sheets:
        counts = f"{len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed"
        click.secho(f"{d.sheet}: {counts}", bold=True)
        for row, values in d.removed:
            click.echo(f"  - row {row}: {_row_text(values)}")
        for row, values in d.added:
            click.echo(f"  + row {row}: {_row_text(values)}")
        for c in d.changed:
            where = (
                f"row {c.row_old}" if c.row_old == c.row_new else f"row {c.row_old} → {c.row_new}"
            )
            click.echo(f"  ~ {where} ({_row_text(c.key)}):")
            for column, a, b in c.cells:
                click.echo(f"      {column}: {_shown(a)} → {_shown(b)}")


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
@lang_option
@ledger_options
@json_option
@handle_errors
def match(
    ledger: Path,
    usage: Path,
    billing: Path | None,
    month: str,
    out_dir: Path,
    force: bool,
    lang: str,
    options: api.Options,
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
        api.Outputs(out_dir, force, lang),
        options,
    )
    if as_json:
        click.echo(jsonout.dumps(doc))
    else:
        _print_match(doc, written)


def run() -> None:
    """The ``licreport`` command (and ``python -m licreport``): `main`, then `end`."""
    try:
        main()  # Click's standalone mode always ends in SystemExit
        status: object = 0
    except SystemExit as exc:
        status = exc.code
    end(status)


def end(status: object) -> NoReturn:
    """End the process at once with exit `status` (as ``sys.exit`` takes it), as
    `os._exit` ends it.

    Everything a command writes is written, closed and renamed into place by then, and
    its children waited for; what the interpreter would still do is free every object
    of the run one by one (SPEC §6's workbook: 0.13 s of a 5 s run; 0.15 s at 12 x).
    The standard streams are flushed first.  While another thread still runs, or when
    a stream cannot be flushed (a reader that went away), the interpreter ends the
    process as usual.
    """
    if status is not None and not isinstance(status, int):
        print(status, file=sys.stderr)  # as the interpreter prints a non-integer status
        status = 1
    code = status or 0
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    if threading.active_count() > 1:
        raise SystemExit(code)
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
