"""The computed sheets (Status, Contracts, Forecast, Checks) as frames for the workbook writer."""

from __future__ import annotations

import pandas as pd

from licreport.outputs.workbook import ChartSpec, ComputedSheet
from licreport.rules.status import StatusView, available_all_partners

CHART_LABEL, CHART_VALUE = "all partners: product and term", "all partners: available"


def status_sheet(view: StatusView) -> ComputedSheet:
    """Available licences per partner: annual pools by product × term, monthly pool, points."""
    names = view.partners.set_index("partner")
    annual = view.pool.assign(pool="annual", term=view.pool["term"].astype(str) + "-year")
    monthly = view.monthly_pool.assign(pool="monthly (MSSP)", term="monthly")
    points = view.points.assign(pool="MSSP Points", product="", term="")
    frame = pd.concat([annual, monthly, points], ignore_index=True)
    frame = frame.sort_values(["partner", "pool", "product", "term"], kind="stable")
    frame.insert(1, "partner_name", frame["partner"].map(names["name"]))
    frame.insert(2, "provider", frame["partner"].map(names["provider"]))
    frame = frame[["partner", "partner_name", "provider", "pool", "product", "term", "available"]]
    frame = frame.reset_index(drop=True)
    # over-use (SPEC §8): devices running above the licences held, per product and term
    over = view.overuse.assign(term=_term_label(view.overuse["term"]))
    unlicensed = over.groupby(["partner", "product", "term"])["unlicensed"].sum()
    at = pd.MultiIndex.from_frame(frame[["partner", "product", "term"]])
    frame["unlicensed"] = unlicensed.reindex(at).fillna(0).astype("int64").to_numpy()
    frame.insert(0, "as_of", view.as_of)
    # the chart's source: licences available per product and term, all partners together
    # (the status model's sum, `available_by_product_term`; laid out here, not added up)
    pools = available_all_partners(view)
    label = pools["product"] + " " + _term_label(pools["term"])
    side = pd.DataFrame({CHART_LABEL: label, CHART_VALUE: pools["available"].to_numpy()})
    side = side.sort_values(CHART_LABEL, kind="stable").reset_index(drop=True)
    frame = frame.join(side, how="left")
    return ComputedSheet(
        "Status",
        frame,
        {"as_of": "date", "available": "int", "unlicensed": "int", CHART_VALUE: "int"},
        ChartSpec("Available licences by product and term", CHART_LABEL, (CHART_VALUE,)),
    )


def contracts_sheet(view: StatusView) -> ComputedSheet:
    c = view.contracts.sort_values(["partner", "client", "product", "start"], kind="stable")
    cols = [
        "partner", "client", "client_name", "product", "term", "licences", "start", "end",
        "days_left", "active", "auto_renew", "devices_used", "recoverable",
    ]  # fmt: skip
    frame = c[cols].reset_index(drop=True).copy()
    frame["active"] = frame["active"].map({True: "yes", False: "no"})
    frame["auto_renew"] = frame["auto_renew"].map({True: "yes", False: "no"})
    formats = {"start": "date", "end": "date"}
    formats |= {k: "int" for k in ("licences", "days_left", "devices_used", "recoverable")}
    return ComputedSheet("Contracts", frame, formats)


def forecast_sheet(view: StatusView) -> ComputedSheet:
    """The outlook (SPEC §7): per month, partner, kind, product and term, what is due,
    available, served and short, the points needed and the clients left short."""
    o = view.outlook
    risk = o.at_risk.assign(
        text=o.at_risk["client"].astype(str) + " " + o.at_risk["short"].astype(str)
    )
    keys = ["partner", "month", "kind", "product", "term"]
    clients = risk.groupby(keys, sort=False)["text"].agg(", ".join).rename("clients_short")
    rows = o.rows.assign(order=o.rows["kind"].map({"annual": 0, "monthly": 1}))
    rows = rows.sort_values(["month", "partner", "order", "product", "term"], kind="stable")
    frame = rows.join(clients, on=keys).reset_index(drop=True)
    frame["term"] = _term_label(frame["term"])
    frame.insert(
        1, "partner_name", frame["partner"].map(view.partners.set_index("partner")["name"])
    )
    cols = ["month", "partner", "partner_name", "kind", "product", "term", "due", "available",
            "served", "shortfall", "points_needed", "clients_short"]  # fmt: skip
    ints = ("due", "available", "served", "shortfall", "points_needed")
    return ComputedSheet("Forecast", frame[cols], dict.fromkeys(ints, "int"))


def buy_sheet(view: StatusView) -> ComputedSheet:
    """The buying list (SPEC §7 O5/O6): points to buy per partner, then licences to buy per
    product and term after recovering first, priced at the latest block and its tier."""
    o = view.outlook
    info = view.partners.set_index("partner")
    points = o.points[o.points["points_needed"] > 0].assign(
        item="MSSP Points",
        product="",
        term="",
        short=o.points["points_needed"],
        recoverable=None,
        held=o.points["points_balance"],
        to_buy=o.points["points_to_buy"],
        unit_price=None,
        discount=None,
        estimated_cost=None,
    )
    licences = o.buy.assign(item="licences", term=_term_label(o.buy["term"]), held=None)
    cols = ["partner", "item", "product", "term", "short", "held", "recoverable", "to_buy",
            "unit_price", "discount", "estimated_cost"]  # fmt: skip
    frame = pd.concat([points[cols], licences[cols]], ignore_index=True)
    frame = frame.sort_values(["partner", "item", "product", "term"], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.insert(1, "partner_name", frame["partner"].map(info["name"]))
    frame["currency"] = frame["partner"].map(info["currency"])
    formats = dict.fromkeys(("short", "held", "recoverable", "to_buy"), "int")
    formats |= {"unit_price": "money", "estimated_cost": "money", "discount": "percent"}
    return ComputedSheet("Buying list", frame, formats)


def _term_label(term: pd.Series) -> pd.Series:
    """`1` -> `1-year`; `monthly` stays."""
    text = term.astype(str)
    return text.where(~text.str.fullmatch(r"\d+"), text + "-year")


def checks_sheet(checks: pd.DataFrame) -> ComputedSheet:
    frame = checks.assign(ok=(checks["difference"] == 0).map({True: "yes", False: "NO"}))
    return ComputedSheet(
        "Checks", frame, dict.fromkeys(("in", "out", "balance", "difference"), "int")
    )


def computed_sheets(view: StatusView, checks: pd.DataFrame) -> list[ComputedSheet]:
    return [
        status_sheet(view),
        contracts_sheet(view),
        forecast_sheet(view),
        buy_sheet(view),
        checks_sheet(checks),
    ]
