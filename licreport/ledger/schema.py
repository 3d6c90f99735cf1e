"""Every sheet and column of the ledger, with its type (SPEC §3).

Readers produce exactly these columns, in this order, with these dtypes, so
rules never guess.  Column kinds and the pandas dtype they become:

- ``text``    -> ``str`` (stripped; blank -> NaN: comparisons with a blank are False)
- ``choice``  -> ``str`` holding the canonical spelling from ``choices``
- ``int``     -> ``Int64``  (whole numbers only)
- ``decimal`` -> ``object`` holding ``decimal.Decimal`` or ``None`` (money, percent)
- ``date``    -> ``datetime64[ns]`` at midnight (blank -> NaT)
- ``bool``    -> ``boolean`` (yes/no/true/false/1/0/y/n; blank -> <NA>)

Each typed frame also has ``_row``: the row number the spreadsheet shows (or the
CSV line number), used for error messages and the replay's tie-break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TEXT, CHOICE, INT, DECIMAL, DATE, BOOL = "text", "choice", "int", "decimal", "date", "bool"

DTYPES = {
    TEXT: "str",
    CHOICE: "str",
    INT: "Int64",
    DECIMAL: "object",
    DATE: "datetime64[ns]",
    BOOL: "boolean",
}

ROW = "_row"
# Renewals.month typed once by the loader: the 1st of the month (datetime64[ns]; NaT when
# blank or not a month).  Every rule reads this column, never the text.
MONTH_FIRST = "_month"

PANDA, WATCHGUARD = "Panda Security", "WatchGuard"
PROVIDERS = (PANDA, WATCHGUARD)
TERMS = ("1", "2", "3")
CLIENT_TERMS = ("1", "2", "3", "monthly", "trial")
MONTHLY, TRIAL = "monthly", "trial"
MAX_TRIAL_DAYS = 365  # Products.trial_days: a longer trial is a typing error
PURCHASE, RECOVERY, ASSIGN = "purchase", "recovery", "assign"
CREDIT, EXCHANGE = "credit", "exchange"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    help: str = ""

    @property
    def dtype(self) -> str:
        return DTYPES[self.kind]


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: tuple[Column, ...]
    required: bool = False
    help: str = ""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _partner(required: bool = False) -> Column:
    return Column(
        "partner",
        TEXT,
        required,
        aliases=("partner_id",),
        help="Partner id; may be left out when Partners has exactly one row.",
    )


PARTNERS = Sheet(
    "Partners",
    (
        _partner(required=True),
        Column("name", TEXT, help="Partner's name."),
        Column("provider", CHOICE, True, PROVIDERS, help="Panda Security or WatchGuard."),
        Column("currency", TEXT, help="ISO 4217 code of the partner's prices; blank = EUR."),
    ),
    required=True,
    help="One row per partner (reseller / MSP).",
)

PRODUCTS = Sheet(
    "Products",
    (
        Column("product", TEXT, True, aliases=("product_id",), help="Product code, e.g. AD360."),
        Column("name", TEXT, help="Product name."),
        Column("family", TEXT, True, help="Product family; a client holds one product per family."),
        Column("main_product", TEXT, help="For a module: the product it extends."),
        Column(
            "points_per_licence",
            INT,
            help="MSSP Points per monthly licence; blank = not offered monthly.",
        ),
        Column("trial_days", INT, help="Length of a trial; blank = no trial."),
    ),
    required=True,
    help="The catalogue.",
)

DISCOUNTS = Sheet(
    "Discounts",
    (
        Column("min_quantity", INT, True, help="Smallest block size for this tier."),
        Column("discount", DECIMAL, True, help="Discount in percent, e.g. 7.5."),
    ),
    help="Progressive volume discount tiers (optional).",
)

POOL = Sheet(
    "Pool",
    (
        Column("date", DATE, True, help="Date the block was bought or licences recovered."),
        _partner(),
        Column("order", TEXT, help="Order number (recovery id for recoveries)."),
        Column("product", TEXT, True, aliases=("product_id",), help="Product code."),
        Column("term", CHOICE, True, TERMS, help="Term in years: 1, 2 or 3."),
        Column("quantity", INT, True, help="Licences bought (or returned by a recovery)."),
        Column("unit_price", DECIMAL, help="Price per licence before discount."),
        Column("type", CHOICE, False, (PURCHASE, RECOVERY), help="purchase (default) or recovery."),
        Column("note", TEXT, help="Free text."),
    ),
    help="Virtual licences bought in blocks, or recovered from clients.",
)

CLIENTS = Sheet(
    "Clients",
    (
        _partner(),
        Column("client", TEXT, True, aliases=("client_id",), help="Client id."),
        Column("client_name", TEXT, help="Client's name."),
        Column("product", TEXT, True, aliases=("product_id",), help="Product code."),
        Column("term", CHOICE, True, CLIENT_TERMS, help="1, 2, 3, monthly or trial."),
        Column("licences", INT, True, help="Licences (devices) assigned."),
        Column("start", DATE, True, help="Start of the contract."),
        Column("end", DATE, help="End (exclusive); blank = start + term."),
        Column("devices_used", INT, help="Devices actually using the product; blank = unknown."),
        Column("auto_renew", BOOL, help="yes/no; default yes for monthly, no for annual."),
        Column("priority", INT, help="Renewal priority when licences are short (1 first)."),
        Column("type", CHOICE, False, (ASSIGN, RECOVERY), help="assign (default) or recovery."),
        Column("ref", TEXT, help="Recovery id written by licreport (matches Pool.order)."),
        Column(
            "contract_start",
            DATE,
            help="Recovery rows: the start of the contract the recovery reduces.",
        ),
    ),
    help="Contracts: licences of one product and term assigned to one client.",
)

EXCHANGES = Sheet(
    "Exchanges",
    (
        Column("date", DATE, True, help="Date of the credit or exchange."),
        _partner(),
        Column("type", CHOICE, True, (CREDIT, EXCHANGE), help="credit or exchange."),
        Column("product", TEXT, aliases=("product_id",), help="Product (exchanges)."),
        Column("devices", INT, help="Devices to cover (prorated by rule R1 in docs/rules.md)."),
        Column("points", INT, help="Points credited or spent; blank = computed."),
        Column("licences", INT, help="Monthly licences obtained; blank = computed."),
        Column("client", TEXT, aliases=("client_id",), help="Client the exchange was for."),
        Column("run", TEXT, help="Run id when licreport bought it."),
    ),
    help="MSSP Points bought (credit) or exchanged for monthly licences.",
)

RENEWALS = Sheet(
    "Renewals",
    (
        Column("run", TEXT, help="Run id."),
        Column("month", TEXT, help="Month renewed, YYYY-MM."),
        _partner(),
        Column("client", TEXT, aliases=("client_id",)),
        Column("product", TEXT, aliases=("product_id",)),
        Column("term", CHOICE, False, CLIENT_TERMS),
        Column("requested", INT),
        Column("renewed", INT),
        Column("dropped", INT),
        Column("licences", INT, help="Licences consumed (= renewed)."),
        Column("points", INT, help="Their value in points (monthly)."),
    ),
    help="Written by licreport: one line per renewal of each run.",
)

MAPPINGS = Sheet(
    "Mappings",
    (
        Column("kind", CHOICE, True, ("client", "product"), help="client or product."),
        Column("source", TEXT, True, help="The name as a usage or billing export writes it."),
        Column("target", TEXT, True, help="The ledger's client or product id it stands for."),
    ),
    help="Names in vendor usage / billing exports -> ledger ids, for `match` (optional).",
)

SHEETS: tuple[Sheet, ...] = (
    PARTNERS, PRODUCTS, DISCOUNTS, POOL, CLIENTS, EXCHANGES, RENEWALS, MAPPINGS,
)  # fmt: skip
BY_NAME = {s.name: s for s in SHEETS}


def schema_sheet(name: str) -> str | None:
    """The schema sheet a sheet or CSV file name stands for (``clients`` -> "Clients")."""
    return _SHEET_KEYS.get(normalise(name))


def normalise(header: object) -> str:
    """Header / sheet-name key: case-folded, spaces, ``_`` and ``-`` alike, US spelling."""
    text = re.sub(r"[\s_\-]+", "_", str(header).strip().casefold()).strip("_")
    return re.sub(
        r"licenses?", lambda m: "licence" + ("s" if m.group().endswith("s") else ""), text
    )


_SHEET_KEYS = {normalise(s.name): s.name for s in SHEETS}
