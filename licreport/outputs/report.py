"""The HTML status report (SPEC §5): one self-contained page for sales.

`render_report` turns the `status` / `renew` JSON documents and the 12-month
expiry pipeline into a view of aggregates and top-N lists (so the page stays
small at distributor scale), draws the inline SVG charts, and renders the
logic-free template with autoescape and StrictUndefined.  `write_report`
writes the page atomically.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import heapq
import importlib.resources
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

import jinja2
import jinja2.ext
import jinja2.lexer
import numpy as np
import pandas as pd
from markupsafe import Markup

from licreport import i18n
from licreport.ledger.schema import MONTHLY
from licreport.outputs import filters, svg
from licreport.outputs.filters import Formats, to_decimal
from licreport.rules import status as status_rules
from licreport.rules.keys import sort_key

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"

TOP_ROWS = 25
TOP_PARTNERS = 10
DETAIL_ROWS = 8
CHART_BARS = 15
PIPELINE_MONTHS = 12
MAX_PIPELINE_MONTHS = 24

TERM_ORDER = {"1": 0, "2": 1, "3": 2, "monthly": 3, "trial": 4}
TERM_COLORS = {"1": "#1d4e89", "2": "#5b8fc9", "3": "#a9c8e8"}
OTHER_COLOR = "#8c96a3"
COVERED, SHORTFALL, SPARE = "#2f6f4f", "#c2412d", "#c9d3de"
PIPELINE_COLOR = "#1d4e89"
HALF_WIDTH, FULL_WIDTH = 480, 1080  # chart viewBox widths: next to a table / full width

Row = dict[str, Any]
ZERO = Decimal(0)
UNKNOWN = "Unknown"  # rules.status's provider of a partner without one (translated when shown)


# --------------------------------------------------------------------------- environment


def templates_dir() -> Path:
    """The folder holding report.html.j2: the installed package, else the checkout."""
    try:
        # A namespace package gives a MultiplexedPath: ask it for the file, not for str().
        candidate = importlib.resources.files("licreport.templates").joinpath(TEMPLATE)
        if isinstance(candidate, Path) and candidate.is_file():
            return candidate.parent
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    return Path(__file__).resolve().parents[2] / "templates"


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """jinja2's cache of compiled templates, in its own folder for this user in the temp
    folder (made mode 0700, refused if another user owns it): the report template compiles
    in 0.08 s, a run on the sample takes a second.  A cache that cannot be read or written
    is no cache, never an error; jinja2 recompiles when a template's source changes.

    A template compiles to one language's code (`_StaticMessages`): `variant` (the
    language and its catalogue, `_compiled_variant`) is part of each template's key."""

    def __init__(self, variant: str) -> None:
        super().__init__()
        self.variant = variant

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return f"{super().get_cache_key(name, filename)}-{self.variant}"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # unreadable, or cut short (its pickled checksum then fails)
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache(formats: Formats) -> jinja2.BytecodeCache | None:
    try:
        return _BytecodeCache(_compiled_variant(formats))
    except (OSError, RuntimeError):  # no temp folder of our own: compile every time
        return None


COMPILED = "1"  # what `_StaticMessages` makes of a template: change it when that changes


def _compiled_variant(formats: Formats) -> str:
    """What a compiled template depends on besides its source: `_StaticMessages`, the
    language and the bytes of its catalogue (English has none: the msgids are the text)."""
    if formats.lang == i18n.DEFAULT:
        return f"{COMPILED}-{formats.lang}"
    catalogue = hashlib.sha256(i18n.catalogue_path(formats.lang).read_bytes()).hexdigest()
    return f"{COMPILED}-{formats.lang}-{catalogue[:16]}"


class _StaticMessages(jinja2.ext.Extension):
    """Translates each message of a template that takes no variables when the template
    compiles: ``_("Renewal run")`` and ``pgettext("renewal run", "none")`` become their
    translation as markup (``("Ronda de renovación"|safe)``), which jinja2's optimizer
    folds into the template's text.  What the newstyle gettext callables return for such a
    message at render time (`_gettext_callables`): the translation as Markup, formatted
    with no variables, which leaves a text without "%" as it is.  At render time, these
    calls were 189 of the 300 context calls of each of the 1,000 partner reports of SPEC
    §9, half of their template time.  A message with variables, or a "%" in it or in its
    translation, is left to the callables."""

    ARGUMENTS = MappingProxyType({"_": 1, "gettext": 1, "pgettext": 2})  # name: strings

    def filter_stream(self, stream: jinja2.lexer.TokenStream) -> Iterator[jinja2.lexer.Token]:
        formats = cast("_Environment", self.environment).formats
        tokens = list(stream)
        i = 0
        while i < len(tokens):
            call = self._static_call(tokens, i)
            if call is None:
                yield tokens[i]
                i += 1
                continue
            texts, length = call
            message = formats.gettext(*texts) if len(texts) == 1 else formats.pgettext(*texts)
            if "%" in message or "%" in texts[-1]:
                yield from tokens[i : i + length]
            else:
                line = tokens[i].lineno
                for kind, value in (("lparen", "("), ("string", message), ("pipe", "|"),
                                    ("name", "safe"), ("rparen", ")")):  # fmt: skip
                    yield jinja2.lexer.Token(line, kind, value)
            i += length

    def _static_call(
        self, tokens: Sequence[jinja2.lexer.Token], i: int
    ) -> tuple[tuple[str, ...], int] | None:
        """(its string arguments, tokens taken) when a call of one of ARGUMENTS with
        only string literals starts at `tokens[i]` (not `x._(…)`), else None."""
        head = tokens[i]
        count = self.ARGUMENTS.get(head.value) if head.type == "name" else None
        if count is None or (i and tokens[i - 1].type == "dot"):
            return None
        kinds = ["lparen"] + ["string", "comma"] * count
        kinds[-1] = "rparen"
        window = tokens[i + 1 : i + 1 + len(kinds)]
        if [t.type for t in window] != kinds:
            return None
        return tuple(t.value for t in window[1::2]), 1 + len(kinds)


class _Template(jinja2.Template):
    """A compiled template whose written-out values are escaped by `filters.html_text`.

    jinja2 escapes every `{{ … }}` it writes with `markupsafe.escape`, which makes a Markup
    object of each: 1.1 million for the 1,000 partner reports of SPEC §9, a third of their
    template time, and then joined into the page as text.  `html_text` gives the same
    text, escaped the same, without the Markup object.  Where jinja2 keeps what a template
    writes (a macro, `{% set %}…{% endset %}`, a filter or call block), it joins the pieces
    and marks the whole as Markup itself."""

    @classmethod
    def from_code(
        cls,
        environment: jinja2.Environment,
        code: Any,
        globals: Any,
        uptodate: Callable[[], bool] | None = None,
    ) -> jinja2.Template:
        template = super().from_code(environment, code, globals, uptodate)
        # the module the template compiled to: `escape` is the name its code calls
        template.root_render_func.__globals__["escape"] = filters.html_text
        return template


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(jinja2.Environment):
    """jinja2's environment, with `row.field` on a plain dict looked up as an item at once.

    jinja2 tries the attribute first and takes the item when that raises AttributeError:
    a raised exception for each of the 900,000 field reads of the 1,000 partner reports
    of SPEC §9 (a fifth of their template time).  A plain dict has no attribute but its
    class's, so the result is the same: the item, unless dict itself has the name."""

    template_class = _Template

    def __init__(self, formats: Formats, **options: Any) -> None:
        self.formats = formats  # the language `_StaticMessages` compiles templates to
        super().__init__(**options)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def make_environment(
    folder: Path | None = None, formats: Formats = filters.ENGLISH
) -> jinja2.Environment:
    """The report's jinja2 environment in one language: autoescape, StrictUndefined, trimmed
    blocks, the language's filters and its gettext catalogue (`{% trans %}`, `_()`)."""
    env = _Environment(
        formats,
        loader=jinja2.FileSystemLoader(str(folder or templates_dir())),
        bytecode_cache=_bytecode_cache(formats),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n", _StaticMessages],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        formats.gettext, formats.ngettext, newstyle=True, pgettext=formats.pgettext
    )
    env.globals.update(_gettext_callables(formats))
    env.globals["lang"] = formats.lang
    filters.register(env, formats)
    return env


def _gettext_callables(formats: Formats) -> dict[str, Callable[..., Markup]]:
    """What jinja2's newstyle gettext callables do with autoescape on (jinja2.ext's
    `_make_new_gettext` and its kin: the message as Markup, always %-formatted with the
    call's variables), without a template-context call for the message and with each
    message translated once: the 1,000 partner reports of SPEC §9 call them 100,000
    times, a tenth of their time.  ``_`` calls `gettext` directly, as jinja2's alias
    does through the context."""
    translated = functools.cache(lambda message: Markup(formats.gettext(message)))
    in_context = functools.cache(lambda ctx, message: Markup(formats.pgettext(ctx, message)))
    # a message without variables or a "%" is its own formatting (most of them)
    plain = functools.cache(lambda message: "%" not in translated(message))

    def gettext(__string: str, **variables: Any) -> Markup:
        if not variables and plain(__string):
            return translated(__string)
        return translated(__string) % variables

    def ngettext(__singular: str, __plural: str, __num: int, **variables: Any) -> Markup:
        variables.setdefault("num", __num)
        return Markup(formats.ngettext(__singular, __plural, __num)) % variables

    def pgettext(__string_ctx: str, __string: str, **variables: Any) -> Markup:
        variables.setdefault("context", __string_ctx)
        return in_context(__string_ctx, __string) % variables

    return {"gettext": gettext, "_": gettext, "ngettext": ngettext, "pgettext": pgettext}


def _stylesheet(env: jinja2.Environment) -> Markup:
    """report.css, inlined as is (our own file; never holds `</style`)."""
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, STYLESHEET)
    if "</" in source:
        raise ValueError(f"{STYLESHEET} must not contain '</'")
    return Markup(source.strip())


def stylesheet(env: jinja2.Environment) -> Markup:
    """The report's stylesheet for other pages of the same look (the match page)."""
    return _stylesheet(env)


# --------------------------------------------------------------------------- helpers


def _decimal(value: object) -> Decimal | None:
    """`to_decimal`, with a fast path for the plain ints the JSON documents hold."""
    if type(value) is int:  # not bool; the ABC checks of to_decimal cost more than this
        return Decimal(value)
    return to_decimal(value)


def _num(value: object) -> Decimal:
    """A count/points value as Decimal (blank or junk -> 0)."""
    d = _decimal(value)
    return ZERO if d is None else d


def _term(value: object) -> str:
    return str(value).strip().lower() if value is not None else ""


def _term_sort(term: str) -> tuple[int, str]:
    return TERM_ORDER.get(term, 9), term


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _month_add(ym: tuple[int, int], k: int) -> str:
    year, month = ym
    index = year * 12 + month - 1 + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _more(total: int, shown: int) -> int:
    return max(0, total - shown)


class ClientNames(Mapping[str, Any]):
    """Client id -> name from the Clients sheet's columns, as ``dict(zip(ids, names))`` has
    it (a later row wins; a blank id or name is no entry), found when a report names a
    client: the ids sorted once (`sort_key`), then a binary search per id.  At SPEC §12
    scale (1.2 million contracts' ids) 0.36 s, where a dict of them took 0.5 s for the
    few hundred clients a report shows."""

    def __init__(self, ids: pd.Series, names: pd.Series) -> None:
        present = (ids.notna() & names.notna()).to_numpy(dtype=bool)
        ids, names = ids[present], names[present]
        order = np.argsort(sort_key(ids), kind="stable")  # an id's rows in row order
        self._ids = ids.to_numpy(dtype=object)[order]
        self._names = names.to_numpy(dtype=object)[order]

    def __getitem__(self, key: str) -> Any:
        # an id's last row; `bisect` on the object array: numpy's searchsorted takes three
        # times as long for one key (the same comparisons of Python strings)
        at = bisect.bisect_right(self._ids, key) - 1
        if at < 0 or self._ids[at] != key:
            raise KeyError(key)
        return self._names[at]

    def __iter__(self) -> Iterator[str]:
        last = np.r_[self._ids[1:] != self._ids[:-1], True] if len(self._ids) else []
        return iter(self._ids[np.asarray(last, dtype=bool)].tolist())

    def __len__(self) -> int:  # every distinct id walked: not for a report's lookups
        return sum(1 for _ in self)


class _Names:
    """Id -> {id, name} cells for clients (names from meta) and partners (from status)."""

    def __init__(self, clients: Mapping[Any, Any] | None, partners: Mapping[str, str]) -> None:
        clients = {} if clients is None else clients  # (no len(): `ClientNames` counts)
        # a client per contract (1.2 million at SPEC §12 scale): ids that are text already
        # are looked up as they are, each name made text when a report shows it
        self.clients: Mapping[str, Any] = (
            clients
            if isinstance(clients, ClientNames) or all(type(k) is str for k in clients)
            else {str(k): v for k, v in clients.items()}
        )
        self.partners = dict(partners)

    @staticmethod
    def _cell(ident: object, names: Mapping[str, str]) -> Row:
        key = _text(ident)
        name = names.get(key, "")
        return {"id": key, "name": name if name and name != key else ""}

    def client(self, client: object) -> Row:
        key = _text(client)
        name = _text(self.clients.get(key, ""))
        return {"id": key, "name": name if name and name != key else ""}

    def partner(self, partner: object) -> Row:
        return self._cell(partner, self.partners)


# --------------------------------------------------------------------------- the model's rows


def _rows(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[Row]:
    """A frame's rows as dicts of Python values (blanks as None, Decimals kept): the
    totals of `rules.status` are shown as computed, only formatted by the filters."""
    cols = list(frame.columns if columns is None else columns)
    lists = []
    for c in cols:
        values = frame[c]
        lists.append(values.astype(object).where(values.notna().to_numpy(), None).tolist())
    return [dict(zip(cols, row, strict=True)) for row in zip(*lists, strict=True)]


def _rows_of(frame: pd.DataFrame, partners: AbstractSet[str] | None) -> pd.DataFrame:
    """The rows of `frame` whose partner (as `_bucket` keys it) is one of `partners`
    (None: every row)."""
    if partners is None:
        return frame
    keys = _partner_keys(frame)
    return frame[np.fromiter((k in partners for k in keys), bool, len(keys))]


def _bucket(frame: pd.DataFrame) -> dict[str, list[Row]]:
    """`_rows`, grouped by the frame's partner column once (row order kept)."""
    out: dict[str, list[Row]] = defaultdict(list)
    for row in _rows(frame):
        out[_text(row["partner"])].append(row)
    return out


@dataclass(frozen=True)
class Scope:
    """What one report shows: all partners of the run, or one partner's own share.

    `partners`/`summaries` are the partners in the report (status document entries and
    their summary rows); the other fields are the model's totals for the whole scope.
    """

    partners: list[Mapping[str, Any]]
    summaries: list[Row]
    total: Row  # the summaries added up (KPIs)
    providers: list[tuple[str, int]]
    money: dict[str, list[Row]]  # estimated_total / spend / recoverable_value per currency
    available: list[Row]  # product, term, available (annual and monthly)
    by_product: list[Row]
    by_term: list[Row]
    monthly: list[Row]
    outlook: list[Row]
    at_risk: list[Row]  # every client at risk, or at least the largest that are shown
    pipeline: list[Row]
    expiry: list[Row]
    worklist: list[Row]
    run: Row | None  # the run's totals; None without a run
    run_partners: list[Row]  # per partner
    renewal: Mapping[str, Any] | None  # the renew document (its lines are selected)
    history: list[Row]
    # per partner: its rows of `available`, `by_product`, `by_term`, `monthly` (details)
    own_rows: Mapping[str, Mapping[str, list[Row]]] = field(default_factory=dict)
    at_risk_count: int | None = None  # the clients at risk, when `at_risk` holds fewer

    def own(self, partner: str) -> Mapping[str, list[Row]]:
        return self.own_rows.get(partner, {})


# the parts of each partner's status document (jsonout.STATUS_PARTS) the report reads
REPORT_PARTS = (
    "name", "trials", "expiring", "recoverable", "overuse", "buy", "worklist", "trials_ending",
)  # fmt: skip
MONEY = ("estimated_total", "spend", "recoverable_value")


def _summary_row(row: Row) -> Row:
    """A summary row under the names the template uses (monthly figures only for
    WatchGuard partners)."""
    monthly_ok = row["provider"] != "Panda Security"
    return {
        **row,
        "id": _text(row["partner"]),
        "name": _text(row.get("name")),
        "provider": _text(row["provider"]),
        "currency": _text(row.get("currency")) or "EUR",
        "monthly": row["monthly"] if monthly_ok else None,
        "points": row["points"] if monthly_ok else None,
        "points_needed": row["points_needed"] if monthly_ok else None,
    }


def _run_rows(totals: status_rules.Totals) -> list[Row]:
    return _rows(totals.run) if totals.run is not None else []


def main_scope(
    status_doc: Mapping[str, Any],
    renewal: Mapping[str, Any] | None,
    totals: status_rules.Totals,
    top_n: int = TOP_ROWS,
) -> Scope:
    """Every partner of the documents in one report (of the clients at risk, those that
    can be among the `top_n` shown)."""
    summaries = {_text(r["partner"]): _summary_row(r) for r in _rows(totals.partners)}
    partners = list(status_doc.get("partners") or [])
    every = status_rules.overall(totals)
    run = _rows(every.run)
    total = status_rules.summary_total(totals.partners)
    providers = total.pop("providers")
    assert isinstance(providers, pd.Series)
    return Scope(
        partners=partners,
        summaries=[summaries[_text(p.get("partner"))] for p in partners],
        total=total,
        providers=[(str(k), int(v)) for k, v in providers.items()],
        money={k: _rows(status_rules.money_by_currency(totals.partners, k)) for k in MONEY},
        available=_rows(every.available),
        by_product=_rows(every.by_product),
        by_term=_rows(every.by_term),
        monthly=_rows(every.monthly),
        outlook=_rows(every.outlook),
        at_risk=_rows(_largest_short(totals.at_risk, top_n)),
        at_risk_count=len(totals.at_risk),
        pipeline=_rows(every.pipeline),
        expiry=_rows(every.expiry),
        worklist=_rows(every.worklist),
        run=run[0] if renewal is not None and run else _no_run(renewal),
        run_partners=_run_rows(totals),
        renewal=renewal,
        history=_rows(every.history),
        own_rows=_own_rows(totals),
    )


def _largest_short(at_risk: pd.DataFrame, n: int) -> pd.DataFrame:
    """The clients at risk that can be among the `n` largest (`_at_risk_key`): every one
    short at least as much as the n-th largest shortfall, ties kept (1.3 million rows at
    12 x SPEC §6, of which the report shows 25)."""
    if len(at_risk) <= n:
        return at_risk
    short = at_risk["short"].to_numpy(dtype=np.int64)
    least = np.partition(short, len(short) - n)[len(short) - n]
    return at_risk[short >= least]


DETAIL_FRAMES = ("available", "by_product", "by_term", "monthly")


class _OwnRows(Mapping[str, Mapping[str, list[Row]]]):
    """The per-partner rows a partner section shows, made for the partners asked for only:
    the report shows a few partners' sections (12,000 partners at 12 x SPEC §6)."""

    def __init__(self, totals: status_rules.Totals) -> None:
        self._frames = {name: getattr(totals, name) for name in DETAIL_FRAMES}
        self._keys = {name: _partner_keys(f) for name, f in self._frames.items()}

    def __getitem__(self, partner: str) -> Mapping[str, list[Row]]:
        return {
            name: _rows(frame[self._keys[name] == partner]) for name, frame in self._frames.items()
        }

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(set().union(*(set(k) for k in self._keys.values()))))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _partner_keys(frame: pd.DataFrame) -> np.ndarray:
    """Each row's partner as `_bucket` keys it (a blank as "")."""
    values = frame["partner"]
    listed = values.astype(object).where(values.notna().to_numpy(), None).tolist()
    return np.array([_text(v) for v in listed], dtype=object)


def _own_rows(totals: status_rules.Totals) -> Mapping[str, Mapping[str, list[Row]]]:
    return _OwnRows(totals)


def _no_run(renewal: Mapping[str, Any] | None) -> Row | None:
    """A run without lines (e.g. a month already applied to every partner) adds up to 0."""
    if renewal is None:
        return None
    return {c: 0 for c in status_rules.RUN_COLUMNS if c != "partner"} | {"points": None}


def report_partners(status_doc: Mapping[str, Any], totals: status_rules.Totals) -> list[str]:
    """The partners `partner_scopes` gives a report, in its order: those of the status
    document, in the order of the model's partner rows."""
    docs = {_text(p.get("partner")) for p in status_doc.get("partners") or []}
    return [pid for pid in _partner_keys(totals.partners).tolist() if pid in docs]


def partner_scopes(
    status_doc: Mapping[str, Any],
    renewal: Mapping[str, Any] | None,
    totals: status_rules.Totals,
    share: tuple[int, int] = (0, 1),
) -> Iterator[tuple[str, Scope]]:
    """One scope per partner, selected from the model: every frame is grouped by partner
    once, then each partner's report takes its own rows (nothing is filtered per partner
    over the whole frame, nothing is recomputed).  ``share=(k, n)``: only the k-th of
    every n partners of `report_partners`, and only their rows are made into dicts (each
    of two processes makes half the rows, not all of them)."""
    mine = set(report_partners(status_doc, totals)[share[0] :: share[1]])
    only = mine if share[1] > 1 else None  # one share: every row is its own
    frames = {
        name: _bucket(_rows_of(getattr(totals, name), only))
        for name in ("available", "by_product", "by_term", "monthly", "outlook", "at_risk",
                     "pipeline", "expiry", "worklist", "history")
    }  # fmt: skip
    runs = {_text(r["partner"]): r for r in _run_rows(totals)}
    lines = {_text(p.get("partner")): p for p in ((renewal or {}).get("partners") or [])}
    docs = {_text(p.get("partner")): p for p in status_doc.get("partners") or []}
    for raw in _rows(totals.partners):
        pid = _text(raw["partner"])
        doc = docs.get(pid)
        if doc is None or pid not in mine:
            continue
        summary = _summary_row(raw)
        run = runs.get(pid) if renewal is not None else None
        own: dict[str, Any] = {name: rows.get(pid, []) for name, rows in frames.items()}
        own_renewal = (
            {**renewal, "partners": [lines[pid]] if pid in lines else []}
            if renewal is not None
            else None
        )
        yield (
            pid,
            Scope(
                partners=[doc],
                summaries=[summary],
                total={**raw, "partners": 1},
                providers=[(summary["provider"] or UNKNOWN, 1)],
                money={
                    k: [{"currency": summary["currency"], "amount": raw[k]}]
                    if raw[k] is not None
                    else []
                    for k in MONEY
                },
                **own,
                run=run if run is not None else _no_run(renewal),
                run_partners=[run] if run is not None else [],
                renewal=own_renewal,
                own_rows={pid: {name: frames[name].get(pid, []) for name in DETAIL_FRAMES}},
            ),
        )


# --------------------------------------------------------------------------- view model


def _rank_key(row: Row) -> tuple[Decimal, Decimal, Decimal, str]:
    """Partners needing attention first (SPEC §7): licences and devices at risk over the
    horizon (annual and monthly alike), dropped devices of the run, then activity."""
    activity = (
        row["available"]
        + (row["monthly"] or ZERO)
        + row["expiring_licences"]
        + row["recoverable"]
        + row["pipeline"]
    )
    return -row["at_risk"], -(row["dropped"] or ZERO), -activity, row["id"]


def _pool_view(scope: Scope, top_n: int, formats: Formats) -> Row:
    """Available annual licences by product x term (the model's cells and margins)."""
    _ = formats.gettext
    cells = {(_text(r["product"]), _term(r["term"])): r["available"] for r in scope.available}
    cells = {k: v for k, v in cells.items() if k[1] != MONTHLY}
    terms = sorted({_term(r["term"]) for r in scope.by_term}, key=_term_sort)
    by_term = {_term(r["term"]): r["available"] for r in scope.by_term}
    totals = {_text(r["product"]): r["available"] for r in scope.by_product}
    order = sorted(totals, key=lambda prod: (-totals[prod], prod))
    rows = [
        {"product": prod, "cells": [cells.get((prod, t)) for t in terms], "total": totals[prod]}
        for prod in order[:top_n]
    ]
    charted = order[:CHART_BARS]
    chart = svg.stacked_bars(
        charted,
        [
            svg.Series(
                formats.term(t),
                [float(cells.get((prod, t), ZERO)) for prod in charted],
                TERM_COLORS.get(t, OTHER_COLOR),
            )
            for t in terms
        ],
        title=_("Available annual licences by product and term"),
        empty=_("No licences in the pools"),
        fmt=formats.number,
        width=HALF_WIDTH,
    )
    return {
        "terms": terms,
        "rows": rows,
        "by_term": [by_term[t] for t in terms],
        "total": scope.total["available"],
        "more": _more(len(order), len(rows)),
        "chart": chart,
        "chart_more": _more(len(order), len(charted)),
    }


def _forecast_view(scope: Scope, top_n: int, formats: Formats) -> Row:
    """Monthly pool now and next month's renewal need, per product (the model's rows)."""
    _ = formats.gettext
    agg = {_text(r["product"]): r for r in scope.monthly}
    keys = ("pool", "devices_due", "available", "shortfall", "points_needed")
    order = sorted(agg, key=lambda prod: (-agg[prod]["shortfall"], -agg[prod]["devices_due"], prod))
    rows = [{"product": prod, **{k: agg[prod][k] for k in keys}} for prod in order[:top_n]]
    t = scope.total
    totals = {
        "pool": t["monthly"],
        "devices_due": t["devices_due"],
        "available": t["monthly_available"],
        "shortfall": t["shortfall"],
        "points_needed": t["points_needed"],
    }
    charted = [prod for prod in order if agg[prod]["devices_due"] or agg[prod]["available"]]
    charted = charted[:CHART_BARS]
    covered = [max(0, agg[x]["devices_due"] - agg[x]["shortfall"]) for x in charted]
    chart = svg.stacked_bars(
        charted,
        [
            svg.Series(_("Covered"), [float(c) for c in covered], COVERED),
            svg.Series(_("Shortfall"), [float(agg[x]["shortfall"]) for x in charted], SHORTFALL),
            svg.Series(
                _("Spare"),
                [
                    float(max(0, agg[x]["available"] - c))
                    for x, c in zip(charted, covered, strict=True)
                ],
                SPARE,
            ),
        ],
        title=_("Next month: devices due against monthly licences available"),
        empty=_("No monthly contracts due next month"),
        fmt=formats.number,
        width=HALF_WIDTH,
    )
    due = totals["devices_due"]
    coverage = Decimal(due - totals["shortfall"]) / Decimal(due) if due else None
    return {
        "rows": rows,
        "totals": totals,
        "coverage": coverage,
        "more": _more(len(order), len(rows)),
        "chart": chart,
    }


def _tagged(
    partners: Sequence[Mapping[str, Any]], key: str
) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for p in partners:
        pid = _text(p.get("partner"))
        for x in p.get(key) or []:
            yield pid, x


def _expiring_row(pid: str, x: Mapping[str, Any], names: _Names) -> Row:
    return {
        "partner": names.partner(pid),
        "client": names.client(x.get("client")),
        "product": _text(x.get("product")),
        "term": x.get("term"),
        "licences": _num(x.get("licences")),
        "end": _text(x.get("end")),
        "days_left": _num(x.get("days_left")),
    }


def _expiring_key(item: tuple[str, Mapping[str, Any]]) -> tuple[Decimal, str, str, str, str]:
    pid, x = item
    return (
        _num(x.get("days_left")),
        _text(x.get("end")),
        pid,
        _text(x.get("client")),
        _text(x.get("product")),
    )


def _largest_first(field: str) -> Callable[[tuple[str, Mapping[str, Any]]], tuple[Any, ...]]:
    """A sort key for (partner, row) pairs: `field` largest first, then partner, client and
    product (the order of every "largest" list of the report)."""

    def key(item: tuple[str, Mapping[str, Any]]) -> tuple[Any, ...]:
        pid, x = item
        return -_num(x.get(field)), pid, _text(x.get("client")), _text(x.get("product"))

    return key


_recoverable_key = _largest_first("recoverable")
_dropped_key = _largest_first("dropped")


def _recoverable_row(pid: str, x: Mapping[str, Any], names: _Names) -> Row:
    return {
        "partner": names.partner(pid),
        "client": names.client(x.get("client")),
        "product": _text(x.get("product")),
        "term": x.get("term"),
        "recoverable": _num(x.get("recoverable")),
    }


def _line_row(pid: str, x: Mapping[str, Any], names: _Names) -> Row:
    return {
        "partner": names.partner(pid),
        "client": names.client(x.get("client")),
        "product": _text(x.get("product")),
        "term": x.get("term"),
        "requested": _num(x.get("requested")),
        "renewed": _num(x.get("renewed")),
        "dropped": _num(x.get("dropped")),
        "points": _decimal(x.get("points")),
    }


def _expiring_view(scope: Scope, top_n: int, names: _Names, formats: Formats) -> Row:
    """Contracts and trials ending within 90 days: the model's buckets and the nearest top-N."""
    _ = formats.gettext
    labels = (_("Ending in 0–30 days"), _("Ending in 31–60 days"), _("Ending in 61–90 days"))
    found = {int(r["bucket"]): r for r in scope.expiry}
    buckets: list[Row] = [
        {
            "label": label,
            "contracts": (found.get(i) or {}).get("contracts", 0),
            "licences": (found.get(i) or {}).get("licences", 0),
        }
        for i, label in enumerate(labels)
    ]
    count = scope.total["expiring_contracts"]
    nearest = heapq.nsmallest(top_n, _tagged(scope.partners, "expiring"), key=_expiring_key)
    return {
        "buckets": buckets,
        "rows": [_expiring_row(pid, x, names) for pid, x in nearest],
        "count": count,
        "licences": scope.total["expiring_licences"],
        "more": _more(count, len(nearest)),
    }


def _recoverable_view(scope: Scope, top_n: int, names: _Names) -> Row:
    """Licences that can be recovered today: the model's total and the largest top-N."""
    count = scope.total["recoverable_contracts"]
    largest = heapq.nsmallest(top_n, _tagged(scope.partners, "recoverable"), key=_recoverable_key)
    return {
        "rows": [_recoverable_row(pid, x, names) for pid, x in largest],
        "count": count,
        "total": scope.total["recoverable"],
        "more": _more(count, len(largest)),
    }


def _pipeline_view(scope: Scope, month: str, formats: Formats) -> Row:
    """Contracts and licences expiring per month (the model's months), 12 months from `month`."""
    _ = formats.gettext
    by_month: dict[str, Row] = {}
    for item in scope.pipeline:
        ym = filters.parse_month(item.get("month"))
        if ym is not None:
            by_month[f"{ym[0]:04d}-{ym[1]:02d}"] = item
    start = filters.parse_month(month)
    window = [_month_add(start, k) for k in range(PIPELINE_MONTHS)] if start else []
    months = sorted(set(window) | set(by_month))[:MAX_PIPELINE_MONTHS]
    rows = [
        {
            "month": m,
            "contracts": (by_month.get(m) or {}).get("contracts", 0),
            "licences": (by_month.get(m) or {}).get("licences", 0),
        }
        for m in months
    ]
    labels = [formats.month_label(m, "abbr") for m in months]
    years = [m[:4] if i == 0 or m.endswith("-01") else "" for i, m in enumerate(months)]
    tips = [
        _("%(month)s: %(licences)s in %(contracts)s")
        % {
            "month": formats.month_label(r["month"]),
            "licences": formats.pluralise(r["licences"], "licence"),
            "contracts": formats.pluralise(r["contracts"], "contract"),
        }
        for r in rows
    ]
    chart = svg.column_chart(
        labels,
        [float(r["licences"]) for r in rows],
        title=_("Licences expiring per month over the next 12 months"),
        sublabels=years,
        tooltips=tips,
        color=PIPELINE_COLOR,
        empty=_("No expiries in the next 12 months"),
        fmt=formats.number,
        short=formats.compact,
        width=FULL_WIDTH,
    )
    peak = max(rows, key=lambda r: (r["licences"], r["contracts"]), default=None)
    return {
        "rows": rows,
        "contracts": scope.total["pipeline_contracts"],
        "licences": scope.total["pipeline"],
        "peak": peak if peak and peak["licences"] else None,
        "chart": chart,
    }


def _history_view(scope: Scope, formats: Formats) -> Row:
    """The last 12 recorded months (SPEC §9): renewed and dropped per month, the model's
    sums of the Renewals lines (all partners, or the partner's own)."""
    rows = sorted(scope.history, key=lambda r: _text(r["month"]))[-status_rules.HISTORY_MONTHS :]
    _ = formats.gettext
    labels = [formats.month_label(r["month"], "short") for r in rows]
    chart = svg.stacked_bars(
        labels,
        [
            svg.Series(_("Renewed"), [float(r["renewed"]) for r in rows], COVERED),
            svg.Series(_("Dropped"), [float(r["dropped"]) for r in rows], SHORTFALL),
        ],
        title=_("Renewed and dropped per recorded month"),
        empty=_("No recorded runs yet"),
        fmt=formats.number,
        width=HALF_WIDTH,
    )
    return {"rows": rows, "chart": chart}


def _run_view(scope: Scope, policy: str, top_n: int, names: _Names) -> Row | None:
    """The renewal run: the model's totals, dropped devices per partner and the largest
    dropped lines."""
    renewal, totals = scope.renewal, scope.run
    if renewal is None or totals is None:
        return None
    lines_dropped = [
        (pid, x)
        for pid, x in _tagged(renewal.get("partners") or [], "lines")
        if _num(x.get("dropped")) > 0
    ]
    per_partner = [
        {
            "partner": names.partner(r["partner"]),
            "clients": r["dropped_clients"],
            "dropped": r["dropped"],
        }
        for r in scope.run_partners
        if r["dropped"] > 0
    ]
    per_partner.sort(key=lambda r: (-r["dropped"], r["partner"]["id"]))
    largest = heapq.nsmallest(top_n, lines_dropped, key=_dropped_key)
    requested = totals["requested"]
    return {
        "month": _text(renewal.get("month")),
        "run": _text(renewal.get("run")),
        "already_applied": bool(renewal.get("already_applied")),
        "policy": policy,
        "lines": totals["lines"],
        "requested": requested,
        "renewed": totals["renewed"],
        "dropped": totals["dropped"],
        "points": totals["points"],
        "exchanged": totals["exchanged"],
        "coverage": Decimal(totals["renewed"]) / Decimal(requested) if requested else None,
        "partners": per_partner[:top_n],
        "partners_more": _more(len(per_partner), top_n),
        "dropped_rows": [_line_row(pid, x, names) for pid, x in largest],
        "dropped_more": _more(totals["dropped_lines"], len(largest)),
        "dropped_lines": totals["dropped_lines"],
    }


def _partner_detail(
    p: Mapping[str, Any],
    summary: Row,
    renewal: Mapping[str, Any] | None,
    names: _Names,
    own: Mapping[str, list[Row]],
) -> Row:
    """One partner's section: its KPIs and short lists (DETAIL_ROWS rows each); `own` holds
    the partner's rows of the model (available, by_product, by_term, monthly)."""
    pid = summary["id"]
    cells = {
        (_text(r["product"]), _term(r["term"])): r["available"]
        for r in own.get("available", [])
        if _term(r["term"]) != MONTHLY
    }
    terms = sorted({_term(r["term"]) for r in own.get("by_term", [])}, key=_term_sort)
    totals = {_text(r["product"]): r["available"] for r in own.get("by_product", [])}
    products = sorted(totals, key=lambda prod: (-totals[prod], prod))
    pool_rows = [
        {"product": prod, "cells": [cells.get((prod, t)) for t in terms]}
        for prod in products[:DETAIL_ROWS]
    ]
    monthly = own.get("monthly", [])
    forecast_rows = [
        {
            "product": _text(r["product"]),
            "pool": r["pool"],
            "devices_due": r["devices_due"],
            "shortfall": r["shortfall"],
            "points_needed": r["points_needed"],
        }
        for r in sorted(monthly, key=lambda r: _text(r["product"]))[:DETAIL_ROWS]
    ]
    trials = [
        {
            "product": _text(x.get("product")),
            "available": bool(x.get("available")),
            "days": x.get("days"),
        }
        for x in (p.get("trials") or [])[:DETAIL_ROWS]
    ]
    expiring = heapq.nsmallest(
        DETAIL_ROWS, ((pid, x) for x in p.get("expiring") or []), key=_expiring_key
    )
    recoverable = heapq.nsmallest(
        DETAIL_ROWS, ((pid, x) for x in p.get("recoverable") or []), key=_recoverable_key
    )
    dropped_lines: list[tuple[str, Mapping[str, Any]]] = []
    for rp in (renewal or {}).get("partners") or []:
        if _text(rp.get("partner")) == pid:
            dropped_lines += [(pid, x) for x in rp.get("lines") or [] if _num(x.get("dropped"))]
    dropped = heapq.nsmallest(DETAIL_ROWS, dropped_lines, key=_dropped_key)
    return {
        **summary,
        "terms": terms,
        "pool_rows": pool_rows,
        "pool_more": _more(len(products), len(pool_rows)),
        "forecast_rows": forecast_rows,
        "forecast_more": _more(len(monthly), len(forecast_rows)),
        "trials": trials,
        "trials_more": _more(len(p.get("trials") or []), len(trials)),
        "expiring_rows": [_expiring_row(pid, x, names) for pid, x in expiring],
        "expiring_more": _more(summary["expiring_contracts"], len(expiring)),
        "recoverable_rows": [_recoverable_row(pid, x, names) for pid, x in recoverable],
        "recoverable_more": _more(summary["recoverable_contracts"], len(recoverable)),
        "dropped_rows": [_line_row(pid, x, names) for pid, x in dropped],
        "dropped_more": _more(len(dropped_lines), len(dropped)),
    }


def _at_risk_key(r: Row) -> tuple[Any, ...]:
    return -r["short"], _text(r["month"]), _text(r["partner"]), _text(r["client"])


def _outlook_view(scope: Scope, top_n: int, names: _Names) -> Row:
    """The next months: due, served and short per month and kind, and the clients at risk
    (largest first), as the model added them up."""
    rows = [
        {
            "month": _text(r["month"]),
            "kind": _text(r["kind"]),
            **{k: r[k] for k in ("due", "served", "shortfall", "points_needed")},
        }
        for r in scope.outlook
    ]
    # the largest first; only the rows shown are made (1.3 million at 12 x SPEC §6)
    largest = heapq.nsmallest(top_n, scope.at_risk, key=_at_risk_key)
    risks = [
        {
            "partner": names.partner(r["partner"]),
            "month": _text(r["month"]),
            "months": r["months"],
            "kind": _text(r["kind"]),
            "client": {"id": _text(r["client"]), "name": _text(r["client_name"])},
            "product": _text(r["product"]),
            "term": r["term"],
            "short": r["short"],
        }
        for r in largest
    ]
    return {
        "rows": rows,
        "at_risk": risks,
        "at_risk_more": _more(
            len(scope.at_risk) if scope.at_risk_count is None else scope.at_risk_count, top_n
        ),
        "annual": scope.total["annual_at_risk"],
        "monthly": scope.total["monthly_at_risk"],
    }


def _buy_view(scope: Scope, top_n: int, names: _Names) -> Row:
    """What to buy: points net of the balance, licences after recovering first, with cost."""
    currency = {s["id"]: s["currency"] for s in scope.summaries}
    points: list[Row] = []
    licences: list[Row] = []
    for p in scope.partners:
        pid = _text(p.get("partner"))
        buy = p.get("buy") or {}
        if _num(buy.get("points_needed")):
            points.append(
                {
                    "partner": names.partner(pid),
                    "needed": _num(buy.get("points_needed")),
                    "balance": _num(buy.get("points_balance")),
                    "to_buy": _num(buy.get("points_to_buy")),
                }
            )
        for x in buy.get("licences") or []:
            licences.append(
                {
                    "partner": names.partner(pid),
                    "product": _text(x.get("product")),
                    "term": x.get("term"),
                    "short": _num(x.get("short")),
                    "recoverable": _num(x.get("recoverable")),
                    "to_buy": _num(x.get("to_buy")),
                    "unit_price": _decimal(x.get("unit_price")),
                    "estimated_cost": _decimal(x.get("estimated_cost")),
                    "currency": currency.get(pid, "EUR"),
                }
            )
    points.sort(key=lambda r: (-r["to_buy"], r["partner"]["id"]))
    licences.sort(key=lambda r: (-r["to_buy"], r["partner"]["id"], r["product"]))
    return {
        "points": points[:top_n],
        "points_more": _more(len(points), top_n),
        "points_to_buy": scope.total["points_to_buy"],
        "licences": licences[:top_n],
        "licences_more": _more(len(licences), top_n),
        "licences_to_buy": scope.total["licences_to_buy"],
        "costs": scope.money["estimated_total"],
        "unknown_prices": scope.total["unknown_prices"],
        "recoverable_value": scope.money["recoverable_value"],
        "spend": scope.money["spend"],
    }


def _worklist_view(scope: Scope, top_n: int, names: _Names) -> Row:
    """Annual contracts ending over the horizon, soonest first, and what the pool covers."""
    counts = {_text(r["cover"]): r["count"] for r in scope.worklist}
    rows: list[Row] = []
    for pid, x in _tagged(scope.partners, "worklist"):
        rows.append(
            {
                "partner": names.partner(pid),
                "client": {"id": _text(x.get("client")), "name": _text(x.get("client_name"))},
                "product": _text(x.get("product")),
                "term": x.get("term"),
                "licences": _num(x.get("licences")),
                "end": _text(x.get("end")),
                "auto_renew": bool(x.get("auto_renew")),
                "cover": _text(x.get("cover")),
            }
        )
    rows.sort(key=lambda r: (r["end"], r["partner"]["id"], r["client"]["id"], r["product"]))
    trials: list[Row] = []
    for pid, x in _tagged(scope.partners, "trials_ending"):
        trials.append(
            {
                "partner": names.partner(pid),
                "client": {"id": _text(x.get("client")), "name": _text(x.get("client_name"))},
                "product": _text(x.get("product")),
                "licences": _num(x.get("licences")),
                "end": _text(x.get("end")),
            }
        )
    trials.sort(key=lambda r: (r["end"], r["partner"]["id"], r["client"]["id"]))
    return {
        "rows": rows[:top_n],
        "more": _more(len(rows), top_n),
        "count": sum(counts.values()),
        "counts": [{"cover": c, "count": counts.get(c, 0)} for c in status_rules.COVERS],
        "trials": trials[:top_n],
        "trials_more": _more(len(trials), top_n),
    }


def _overuse_view(scope: Scope, top_n: int, names: _Names) -> Row:
    """Contracts using more devices than they hold licences for (SPEC §8)."""
    rows: list[Row] = [
        {
            "partner": names.partner(pid),
            "client": names.client(x.get("client")),
            "product": _text(x.get("product")),
            "term": x.get("term"),
            "licences": _num(x.get("licences")),
            "devices_used": _num(x.get("devices_used")),
            "unlicensed": _num(x.get("unlicensed")),
        }
        for pid, x in _tagged(scope.partners, "overuse")
    ]
    rows.sort(key=lambda r: (-r["unlicensed"], r["partner"]["id"], r["client"]["id"]))
    return {
        "rows": rows[:top_n],
        "more": _more(len(rows), top_n),
        "unlicensed": scope.total["unlicensed"],
    }


def build_view(
    scope: Scope,
    meta: Mapping[str, Any],
    names: _Names,
    *,
    top_n: int = TOP_ROWS,
    top_partners: int = TOP_PARTNERS,
    formats: Formats = filters.ENGLISH,
) -> Row:
    """Everything the template shows: the model's totals for the scope, top-N lists, its
    words and numbers in the language of `formats`."""
    _ = formats.gettext
    partners = scope.partners
    summaries = scope.summaries
    total = scope.total
    as_of = _text(meta.get("as_of"))
    renewal = scope.renewal
    month = _text(meta.get("month") or (renewal or {}).get("month") or as_of[:7])
    policy = _text(meta.get("policy")) or "priority"
    ranked = sorted(range(len(partners)), key=lambda i: _rank_key(summaries[i]))

    pool = _pool_view(scope, top_n, formats)
    forecast = _forecast_view(scope, top_n, formats)
    expiring = _expiring_view(scope, top_n, names, formats)
    recoverable = _recoverable_view(scope, top_n, names)
    pipe = _pipeline_view(scope, month, formats)
    run = _run_view(scope, policy, top_n, names)
    outlook = _outlook_view(scope, top_n, names)
    buy = _buy_view(scope, top_n, names)
    worklist = _worklist_view(scope, top_n, names)
    overuse = _overuse_view(scope, top_n, names)
    history = _history_view(scope, formats)
    watchguard = any(s["monthly"] is not None for s in summaries)
    points_balance = total["points"]  # Panda Security partners hold no points (R6)

    unknown = _("Unknown")
    kpis = [
        {
            "key": "partners",
            "label": _("Partners"),
            "value": total["partners"],
            "hint": " · ".join(
                f"{formats.number(n)} {unknown if name == UNKNOWN else name}"
                for name, n in scope.providers
            ),
            "alert": False,
        },
        {
            "key": "available",
            "label": _("Available annual licences"),
            "value": pool["total"],
            "hint": _("virtual licences in the pools"),
            "alert": False,
        },
        {
            "key": "monthly",
            "label": _("Monthly pool"),
            "value": forecast["totals"]["pool"] if watchguard else None,
            "hint": _("monthly licences (WatchGuard)"),
            "alert": False,
        },
        {
            "key": "points",
            "label": _("Points balance"),
            "value": points_balance if watchguard else None,
            "hint": _("MSSP Points (WatchGuard)"),
            "alert": False,
        },
        {
            "key": "points_needed",
            "label": _("Points needed next month"),
            "value": forecast["totals"]["points_needed"] if watchguard else None,
            "hint": _("shortfall %(devices)s")
            % {"devices": formats.pluralise(forecast["totals"]["shortfall"], "device")},
            "alert": forecast["totals"]["shortfall"] > 0,
        },
        {
            "key": "at_risk",
            "label": _("At risk in the outlook"),
            "value": total["at_risk"],
            "hint": "",
            "alert": total["at_risk"] > 0,
        },
        {
            "key": "points_to_buy",
            "label": _("Points to buy"),
            "value": buy["points_to_buy"] if watchguard else None,
            "hint": "",
            "alert": buy["points_to_buy"] > 0,
        },
        {
            "key": "dropped",
            "label": _("Dropped devices"),
            "value": run["dropped"] if run else None,
            "hint": _("renewal run %(month)s") % {"month": formats.month_label(run["month"])}
            if run
            else _("no renewal run"),
            "alert": bool(run and run["dropped"] > 0),
        },
        {
            "key": "expiring",
            "label": _("Expiring in 90 days"),
            "value": expiring["licences"],
            "hint": formats.pluralise(expiring["count"], "contract"),
            "alert": False,
        },
        {
            "key": "recoverable",
            "label": _("Recoverable licences"),
            "value": recoverable["total"],
            "hint": formats.pluralise(recoverable["count"], "contract"),
            "alert": False,
        },
    ]
    table = [summaries[i] for i in ranked[:top_n]]
    details = [
        _partner_detail(partners[i], summaries[i], renewal, names, scope.own(summaries[i]["id"]))
        for i in ranked[:top_partners]
    ]
    if len(partners) == 1:
        s = summaries[0]
        scope_label = f"{s['id']} — {s['name']}" if s["name"] else s["id"]
    else:
        scope_label = formats.pluralise(len(partners), "partner")
    return {
        "title": _("Licence status report"),
        "as_of": as_of,
        "month": month,
        "scope": scope_label,
        "kpis": kpis,
        "pool": pool,
        "forecast": forecast,
        "forecast_date": _month_add(filters.parse_month(as_of) or (2000, 1), 1) + "-01",
        "expiring": expiring,
        "recoverable": recoverable,
        "pipeline": pipe,
        "run": run,
        "outlook": outlook,
        "horizon": _text(meta.get("horizon")),
        "outlook_months": list(meta.get("outlook_months") or []),
        "buy": buy,
        "worklist": worklist,
        "overuse": overuse,
        "history": history,
        "partners": table,
        "partners_total": len(partners),
        "partners_more": _more(len(partners), len(table)),
        "details": details,
        "details_more": _more(len(partners), len(details)),
        "top_n": top_n,
        "detail_rows": DETAIL_ROWS,
        "policy": policy,
        "input_name": _text(meta.get("input_name")),
        "sha256": _text(meta.get("sha256")),
        "version": _text(meta.get("version")),
    }


# --------------------------------------------------------------------------- public API


class Renderer:
    """The compiled template and the names, shared by every report of one run."""

    def __init__(
        self, meta: Mapping[str, Any], status_doc: Mapping[str, Any], lang: str = i18n.DEFAULT
    ) -> None:
        self.formats = Formats(lang)
        self.env = make_environment(formats=self.formats)
        self.template = self.env.get_template(TEMPLATE)
        self.css = _stylesheet(self.env)
        self.meta = dict(meta)
        self.meta.setdefault("as_of", status_doc.get("as_of"))
        self.names = _Names(
            meta.get("client_names"),
            {
                _text(p.get("partner")): _text(p.get("name"))
                for p in status_doc.get("partners") or []
            },
        )

    def render(
        self, scope: Scope, *, top_n: int = TOP_ROWS, top_partners: int = TOP_PARTNERS
    ) -> str:
        view = build_view(
            scope,
            self.meta,
            self.names,
            top_n=top_n,
            top_partners=top_partners,
            formats=self.formats,
        )
        return self.template.render(css=self.css, **view)


def render_report(
    *,
    status: dict[str, Any],
    renewal: dict[str, Any] | None,
    totals: status_rules.Totals,
    meta: dict[str, Any],
    top_n: int = TOP_ROWS,
    top_partners: int = TOP_PARTNERS,
    lang: str = i18n.DEFAULT,
) -> str:
    """The report of every partner as one self-contained HTML string (inline CSS and SVG,
    no script), in the language `lang` (SPEC §11)."""
    renderer = Renderer(meta, status, lang)
    return renderer.render(
        main_scope(status, renewal, totals, top_n), top_n=top_n, top_partners=top_partners
    )


def render_partner_reports(
    *,
    status: dict[str, Any],
    renewal: dict[str, Any] | None,
    totals: status_rules.Totals,
    meta: dict[str, Any],
    lang: str = i18n.DEFAULT,
    share: tuple[int, int] = (0, 1),
) -> Iterator[tuple[str, str]]:
    """(partner, HTML) for each partner: its own report, holding its data only (SPEC §9),
    in the language `lang`; one compiled template, each partner's rows selected from the
    model.  ``share=(k, n)``: only the k-th of every n partners (for rendering in n
    processes)."""
    renderer = Renderer(meta, status, lang)
    for partner, scope in partner_scopes(status, renewal, totals, share):
        yield partner, renderer.render(scope)


def write_report(path: Path, html: str) -> None:
    """Write `html` to `path` atomically: a temp file in the same folder, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(html)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
