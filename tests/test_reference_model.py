"""Differential test: a small reference model of the rules against the CLI's JSON.

The model below is written from the rules (docs/rules.md, SPEC §2–§3) with plain
Python dates and integers; it imports nothing from ``licreport.rules``.  Seeded
random CSV ledgers hold what hid defects before: Clients recovery rows (with and
without ``contract_start``), Renewals lines of earlier months (annual and
monthly), and clients holding two contracts of one product and term.  For each,
``status``, ``recover`` and ``renew --dry-run`` (each shortfall policy in turn,
every other seed with ``--exchange``) must agree with the model on every number
they print.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from licreport.cli import main

MONTH = date(2026, 12, 1)  # the month renewed
EARLY = date(2020, 1, 1)  # everything bought up front, so no balance ever goes negative
PRODUCTS = {"EPP": ("EPP", 1), "AD360": ("EDR", 3)}  # product: (family, points per licence)
SEEDS = range(12)
POLICIES = ("priority", "smallest-first", "proportional")


# --- the reference model -------------------------------------------------------------------


def add_years(d: date, years: int) -> date:
    return d.replace(year=d.year + years)  # generated days are ≤ 28: no 29 February


def first_of_next(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def prorated(start: date, devices: int) -> int:
    """R1: licences a monthly assignment consumes on its start."""
    days = 30 if start.day == 1 else min(30, (first_of_next(start) - start).days)
    return math.ceil(devices * days / 30)


@dataclass
class Contract:
    partner: str
    client: str
    product: str
    term: str  # "1", "3" or "monthly"
    licences: int
    start: date
    devices_used: int | None = None
    auto_renew: bool | None = None
    priority: int | None = None
    end: date | None = None  # annual: start + term, moved by renewals, cut by recoveries

    @property
    def annual(self) -> bool:
        return self.term != "monthly"


@dataclass
class Ledger:
    partners: dict[str, str] = field(default_factory=dict)  # partner: provider
    contracts: list[Contract] = field(default_factory=list)
    pool: list[tuple[date, str, str, str, int, str]] = field(default_factory=list)
    # (date, partner, product, term, quantity, type)
    exchanges: list[tuple[date, str, str, str | None, int | None, int | None]] = field(
        default_factory=list
    )  # (date, partner, type, product, points, licences)
    renewals: list[tuple[date, str, str, str, str, int, int]] = field(default_factory=list)
    # (1st of month, partner, client, product, term, requested, renewed)
    recoveries: list[tuple[date, Contract, int, int, bool]] = field(default_factory=list)
    # (date, contract, licences taken off, devices_used, write contract_start)


def contracts_on(ledger: Ledger, when: date) -> list[Contract]:
    """Contracts after the renewal lines and recoveries dated on or before `when`."""
    out = {
        id(c): Contract(**{**c.__dict__, "end": add_years(c.start, int(c.term))})
        if c.annual
        else Contract(**c.__dict__)
        for c in ledger.contracts
    }
    events: list[tuple[date, int, object]] = [
        (first, 0, line) for first, *line in ledger.renewals if line[3] != "monthly"
    ]
    events += [(day, 1, (c, taken)) for day, c, taken, _, _ in ledger.recoveries]
    for day, kind, what in sorted(events, key=lambda e: (e[0], e[1])):
        if day > when:
            continue
        if kind == 1:
            c, taken = what
            mine = out[id(c)]
            mine.licences -= taken
            if mine.licences == 0:
                mine.end = day
            continue
        partner, client, product, term, _requested, renewed = what
        for c in out.values():
            if (c.partner, c.client, c.product, c.term) == (partner, client, product, term):
                assert c.end is not None
                if (c.end.year, c.end.month) == (day.year, day.month) and renewed:
                    c.licences, c.end = renewed, add_years(c.end, int(term))
    return list(out.values())


def balances(ledger: Ledger, when: date) -> tuple[dict, dict, dict]:
    """Annual pools, monthly pools and points of every partner after every movement ≤ when."""
    annual: dict[tuple[str, str, str], int] = defaultdict(int)
    monthly: dict[tuple[str, str], int] = defaultdict(int)
    points: dict[str, int] = defaultdict(int)
    for day, partner, product, term, quantity, _type in ledger.pool:
        if day <= when:
            annual[partner, product, term] += quantity
    for c in ledger.contracts:
        if c.start <= when:
            if c.annual:
                annual[c.partner, c.product, c.term] -= c.licences
            else:
                monthly[c.partner, c.product] -= prorated(c.start, c.licences)
    for first, partner, _client, product, term, _req, renewed in ledger.renewals:
        if first <= when:
            if term == "monthly":
                monthly[partner, product] -= renewed
            else:
                annual[partner, product, term] -= renewed
    for day, partner, kind, product, pts, licences in ledger.exchanges:
        if day <= when:
            if kind == "credit":
                points[partner] += pts or 0
            else:
                assert product is not None and licences is not None
                monthly[partner, product] += licences
                points[partner] -= licences * PRODUCTS[product][1]
    return annual, monthly, points


def recoverable(ledger: Ledger, when: date) -> list[tuple]:
    """R4 for every active annual contract whose devices_used is known."""
    out = []
    for c in contracts_on(ledger, when):
        if not c.annual or c.devices_used is None or not (c.start <= when < c.end):
            continue
        unused = c.licences - c.devices_used
        days_left = (c.end - when).days
        n = min(unused, unused * days_left // (365 * int(c.term)))
        if unused > 0 and n > 0:
            out.append((c.partner, c.client, c.product, int(c.term), c.licences,
                        c.devices_used, days_left, n))  # fmt: skip
    return sorted(out)


def share(asks: list[tuple], pool: int, policy: str) -> dict[tuple, int]:
    """Licences each request gets from a pool (R2's shortfall policies).

    `asks` are (blank priority, priority, earliest start, client, key, requested).
    """
    in_order = sorted(asks)  # priority, then earliest start, then client
    if policy == "smallest-first":
        in_order = sorted(asks, key=lambda a: (a[-1], *a))
    total = sum(a[-1] for a in asks)
    if policy != "proportional" or total <= pool:
        got, left = {}, pool
        for *_, key, req in in_order:
            got[key] = min(req, left)
            left -= got[key]
        return got
    got = {a[-2]: a[-1] * pool // total for a in asks}
    leftover = pool - sum(got.values())
    by_remainder = sorted(in_order, key=lambda a: -(a[-1] * pool % total))  # stable: ties
    for a in by_remainder[:leftover]:
        got[a[-2]] += 1
    return got


def renewal(
    ledger: Ledger, first: date, policy: str, exchange: bool = False
) -> tuple[list[tuple], dict, dict, dict]:
    """R2 + R3 for the month of `first` with a shortfall policy; with `exchange`, the
    missing monthly licences are first bought with the partner's points, products in
    code order, as far as the points go.  Returns the lines, the pools after and the
    points each partner spent."""
    current = contracts_on(ledger, first)
    requests: dict[tuple, list] = {}
    for c in current:
        if c.annual:
            due = bool(c.auto_renew) and c.end is not None and c.licences > 0
            due = due and (c.end.year, c.end.month) == (first.year, first.month)
        else:
            due = c.auto_renew is not False and c.start < first
        if due:
            key = (c.partner, c.client, c.product, c.term)
            r = requests.setdefault(key, [0, None, c.start])
            r[0] += c.licences
            if c.priority is not None:
                r[1] = c.priority if r[1] is None else min(r[1], c.priority)
            r[2] = min(r[2], c.start)
    annual, monthly, points = balances(ledger, first)
    spent: dict[str, int] = defaultdict(int)
    if exchange:
        due: dict[tuple[str, str], int] = defaultdict(int)
        for (partner, _client, product, term), (req, _, _) in requests.items():
            if term == "monthly":
                due[partner, product] += req
        for partner, product in sorted(due):
            missing = max(0, due[partner, product] - max(0, monthly[partner, product]))
            price = PRODUCTS[product][1]
            bought = min(missing, max(0, points[partner] - spent[partner]) // price)
            monthly[partner, product] += bought
            spent[partner] += bought * price
    lines = []
    groups: dict[tuple, list] = defaultdict(list)
    for key, (req, prio, start) in requests.items():
        partner, client, product, term = key
        pool = (partner, product) if term == "monthly" else (partner, product, term)
        groups[pool].append((prio is None, prio or 0, start, client, key, req))
    for pool, asks in groups.items():
        balance = monthly if len(pool) == 2 else annual
        granted = share(asks, max(0, balance.get(pool, 0)), policy)
        for *_, key, req in asks:
            lines.append((*key, req, granted[key], req - granted[key]))
            balance[pool] -= granted[key]
    return sorted(lines), annual, monthly, spent


# --- seeded random ledgers -----------------------------------------------------------------


def day_between(rng: random.Random, lo: date, hi: date) -> date:
    d = lo + timedelta(days=rng.randrange((hi - lo).days + 1))
    return d.replace(day=min(d.day, 28))


def months_between(a: date, b: date) -> list[date]:
    """1sts of the months after `a`'s, up to and including `b`'s month."""
    out, m = [], first_of_next(a)
    while m <= b:
        out.append(m)
        m = first_of_next(m)
    return out


def random_ledger(seed: int) -> Ledger:
    rng = random.Random(seed)
    ledger = Ledger({"W1": "WatchGuard", "P1": "Panda Security"})
    for partner in ledger.partners:
        for n in range(rng.randint(2, 4)):
            client = f"{partner}-C{n}"
            for _ in range(rng.randint(1, 3)):
                product = rng.choice(list(PRODUCTS))
                terms = ["1", "3"] + (["monthly"] * 2 if partner == "W1" else [])
                term = rng.choice(terms)
                c = Contract(
                    partner, client, product, term, rng.randint(1, 30),
                    day_between(rng, date(2023, 12, 15), date(2026, 11, 30)),
                    priority=rng.choice([None, None, 1, 2, 3]),
                )  # fmt: skip
                if c.annual:
                    c.start = day_between(rng, add_years(MONTH, -int(term) - 1), date(2026, 11, 20))
                    if rng.random() < 0.3:  # due in the month renewed
                        c.start = date(MONTH.year - int(term), MONTH.month, rng.randint(1, 28))
                    c.auto_renew = rng.choice([True, True, False, None])
                else:
                    c.auto_renew = rng.choice([None, None, True])
                if rng.random() < 0.35:  # a second contract of the same key, months apart
                    twin = Contract(**c.__dict__)
                    twin.start = day_between(rng, c.start + timedelta(days=35),
                                             c.start + timedelta(days=200))  # fmt: skip
                    twin.licences = rng.randint(1, 30)
                    if twin.start < MONTH and (not c.annual or twin.start < date(2026, 11, 20)):
                        ledger.contracts.append(twin)
                ledger.contracts.append(c)
    for c in ledger.contracts:
        if not c.annual:
            for first in months_between(c.start, MONTH - timedelta(days=1)):
                if rng.random() < 0.5:  # some earlier months were run
                    got = rng.randint(0, c.licences)
                    ledger.renewals.append((first, c.partner, c.client, c.product, c.term,
                                            c.licences, got))  # fmt: skip
            continue
        end = add_years(c.start, int(c.term))
        held = c.licences
        end_month = end.replace(day=1)
        if rng.random() < 0.6 and c.start < min(end_month, MONTH) - timedelta(days=1):
            # a recovery before the contract's end month (U = what is left on it)
            day = day_between(rng, c.start, min(end_month, MONTH) - timedelta(days=1))
            taken = rng.randint(1, held)
            held -= taken
            c.devices_used = held
            ledger.recoveries.append((day, c, taken, held, rng.random() < 0.7))
            ledger.pool.append((day, c.partner, c.product, c.term, rng.randint(1, taken),
                                "recovery"))  # fmt: skip
        elif rng.random() < 0.6:
            c.devices_used = rng.randint(0, c.licences)
        if end_month < MONTH and held and c.auto_renew:
            got = rng.randint(0, held)
            ledger.renewals.append((end_month, c.partner, c.client, c.product, c.term, held,
                                    got))  # fmt: skip
    # every assignment and earlier renewal covered, plus a random (often short) margin
    need: dict[tuple, int] = defaultdict(int)
    for c in ledger.contracts:
        if c.annual:
            need[c.partner, c.product, c.term] += c.licences
        else:
            need[c.partner, c.product, "m"] += prorated(c.start, c.licences)
    for _first, partner, _client, product, term, _req, got in ledger.renewals:
        need[partner, product, "m" if term == "monthly" else term] += got
    points = 0
    for (partner, product, term), n in sorted(need.items()):
        extra = rng.randint(0, 25)
        if term == "m":
            ledger.exchanges.append((EARLY, partner, "exchange", product, None, n + extra))
            points += (n + extra) * PRODUCTS[product][1]
        else:
            ledger.pool.append((EARLY, partner, product, term, n + extra, "purchase"))
    if points:
        ledger.exchanges.insert(0, (EARLY, "W1", "credit", None, points + rng.randint(0, 9), None))
    return ledger


def write_csv(ledger: Ledger, folder: Path) -> Path:
    folder.mkdir()

    def sheet(name: str, header: list[str], rows: list[list[object]]) -> None:
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fp:
            w = csv.writer(fp)
            w.writerow(header)
            w.writerows([["" if v is None else v for v in r] for r in rows])

    sheet("partners", ["partner", "provider"], [[p, v] for p, v in ledger.partners.items()])
    sheet("products", ["product", "family", "points_per_licence"],
          [[p, f, ppl] for p, (f, ppl) in PRODUCTS.items()])  # fmt: skip
    sheet("pool", ["date", "partner", "product", "term", "quantity", "type"],
          [list(r) for r in ledger.pool])  # fmt: skip
    yes = {True: "yes", False: "no", None: None}
    rows = [
        [c.partner, c.client, c.product, c.term, c.licences, c.start, c.devices_used,
         yes[c.auto_renew], c.priority, "assign", None, None]
        for c in ledger.contracts
    ]  # fmt: skip
    rows += [
        [c.partner, c.client, c.product, c.term, taken, day, used, None, None, "recovery",
         add_years(c.start, int(c.term)), c.start if named else None]
        for day, c, taken, used, named in ledger.recoveries
    ]  # fmt: skip
    sheet("clients", ["partner", "client", "product", "term", "licences", "start",
                      "devices_used", "auto_renew", "priority", "type", "end",
                      "contract_start"], rows)  # fmt: skip
    sheet("exchanges", ["date", "partner", "type", "product", "points", "licences"],
          [list(r) for r in ledger.exchanges])  # fmt: skip
    sheet("renewals", ["run", "month", "partner", "client", "product", "term", "requested",
                       "renewed", "dropped", "licences"],
          [["r0", f"{first:%Y-%m}", p, cl, pr, t, req, got, req - got, got]
           for first, p, cl, pr, t, req, got in ledger.renewals])  # fmt: skip
    return folder


# --- the comparison ------------------------------------------------------------------------


def cli(*args: object) -> dict:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def nonzero(rows: list[dict], *keys: str) -> dict:
    return {tuple(r[k] for k in keys): r["available"] for r in rows if r["available"]}


def term_json(term: str) -> int | str:
    return term if term == "monthly" else int(term)


@pytest.mark.parametrize("seed", SEEDS)
def test_cli_agrees_with_the_reference_model(seed: int, tmp_path: Path) -> None:
    ledger = random_ledger(seed)
    folder = write_csv(ledger, tmp_path / "ledger")
    as_of = day_between(random.Random(-seed), date(2026, 1, 1), MONTH)

    status = cli("status", folder, "--as-of", as_of, "--json")
    annual, monthly, points = balances(ledger, as_of)
    for p in status["partners"]:
        partner = p["partner"]
        assert nonzero(p["pool"], "product", "term") == {
            (prod, int(term)): n for (pa, prod, term), n in annual.items() if pa == partner and n
        }
        assert nonzero(p["monthly_pool"], "product") == {
            (prod,): n for (pa, prod), n in monthly.items() if pa == partner and n
        }
        assert p["points_balance"] == points.get(partner, 0)

    recover = cli("recover", folder, "--as-of", as_of, "--json")
    got = sorted(
        (p["partner"], r["client"], r["product"], r["term"], r["licences"], r["devices_used"],
         r["days_left"], r["recoverable"])
        for p in recover["partners"] for r in p["recoverable"]
    )  # fmt: skip
    assert got == recoverable(ledger, as_of)

    policy = POLICIES[seed % len(POLICIES)]
    exchange = seed % 2 == 1
    renew = cli("renew", folder, "--month", f"{MONTH:%Y-%m}", "--policy", policy, "--dry-run",
                "--json", *(["--exchange"] if exchange else []))  # fmt: skip
    lines, pool_after, monthly_after, spent = renewal(ledger, MONTH, policy, exchange)
    assert renew["already_applied"] is False
    got_lines = sorted(
        (p["partner"], ln["client"], ln["product"], str(ln["term"]), ln["requested"],
         ln["renewed"], ln["dropped"])
        for p in renew["partners"] for ln in p["lines"]
    )  # fmt: skip
    assert got_lines == lines
    for p in renew["partners"]:
        partner = p["partner"]
        assert p["exchanged_points"] == spent.get(partner, 0)
        assert nonzero(p["pool_after"], "product", "term") == {
            (prod, int(term)): n for (pa, prod, term), n in pool_after.items()
            if pa == partner and n
        }  # fmt: skip
        assert nonzero(p["monthly_pool_after"], "product") == {
            (prod,): n for (pa, prod), n in monthly_after.items() if pa == partner and n
        }


def test_the_random_ledgers_hold_what_hid_defects() -> None:
    """The seeds cover recovery rows (with and without contract_start), earlier Renewals
    lines of both kinds, and two contracts of one client, product and term."""
    ledgers = [random_ledger(s) for s in SEEDS]
    assert sum(1 for lg in ledgers for r in lg.recoveries if r[4]) >= 20
    assert sum(1 for lg in ledgers for r in lg.recoveries if not r[4]) >= 5
    assert sum(1 for lg in ledgers for r in lg.renewals if r[4] == "monthly") >= 20
    assert sum(1 for lg in ledgers for r in lg.renewals if r[4] != "monthly") >= 10

    def repeated(lg: Ledger) -> int:
        keys = [(c.partner, c.client, c.product, c.term) for c in lg.contracts]
        return len(keys) - len(set(keys))

    assert sum(repeated(lg) for lg in ledgers) >= 10
