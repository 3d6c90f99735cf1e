"""The computed sheets (Status, Contracts, Forecast, Checks) as frames for the workbook writer."""

from __future__ import annotations

import pandas as pd

from licreport.outputs.workbook import ChartSpec, ComputedSheet
from licreport.rules.status import StatusView

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
    frame.insert(0, "as_of", view.as_of)
    # the chart's source: licences available per product and term, all partners together
    pools = frame[frame["pool"] != "MSSP Points"]
    chart = (
        pools.assign(label=pools["product"] + " " + pools["term"])
        .groupby("label", sort=True)["available"]
        .sum()
    )
    side = pd.DataFrame({CHART_LABEL: chart.index, CHART_VALUE: chart.to_numpy()})
    frame = frame.join(side, how="left")
    return ComputedSheet(
        "Status",
        frame,
        {"as_of": "date", "available": "int", CHART_VALUE: "int"},
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
    """Next month: monthly devices due vs the monthly pool, and annual contracts expiring."""
    month = (view.as_of + pd.offsets.MonthBegin(1)).strftime("%Y-%m")
    monthly = view.forecast.assign(term="monthly", contracts=None).rename(
        columns={"devices_due": "due"}
    )
    annual = view.annual_due.assign(points_needed=None, points_balance_after=None).rename(
        columns={"licences_due": "due"}
    )
    annual["term"] = annual["term"].astype(str) + "-year"
    cols = ["partner", "product", "term", "contracts", "due", "available", "shortfall",
            "points_needed", "points_balance_after"]  # fmt: skip
    frame = pd.concat([monthly[cols], annual[cols]], ignore_index=True)
    frame = frame.sort_values(["partner", "product", "term"], kind="stable").reset_index(drop=True)
    frame.insert(0, "month", month)
    ints = ("contracts", "due", "available", "shortfall", "points_needed", "points_balance_after")
    return ComputedSheet("Forecast", frame, dict.fromkeys(ints, "int"))


def checks_sheet(checks: pd.DataFrame) -> ComputedSheet:
    frame = checks.assign(ok=(checks["difference"] == 0).map({True: "yes", False: "NO"}))
    return ComputedSheet(
        "Checks", frame, dict.fromkeys(("in", "out", "balance", "difference"), "int")
    )


def computed_sheets(view: StatusView, checks: pd.DataFrame) -> list[ComputedSheet]:
    return [status_sheet(view), contracts_sheet(view), forecast_sheet(view), checks_sheet(checks)]
