"""A realistic sample ledger, designed for the month run ``--month 2026-12``.

Four partners: two Panda Security resellers with annual pools (1, 2 and 3
years) and two WatchGuard MSPs that also exchange MSSP Points for monthly
licences.  The data is valid (every balance stays >= 0, R6 holds) and is built
so the December 2026 run has something to show:

- IBX: the AD360 1-year pool holds 30 licences on 2026-12-01 but two contracts
  ending in December with auto-renew need 50 (shortfall 20).
- ATL: holds the seed exchange (2026-01-23, 30 AD360 devices -> 9 licences,
  27 points); its monthly pool has 40 AD360 / 0 EPP licences for a December
  need of 67 / 20, and a points balance of 59 that covers part of it.
- CBT: a monthly pool that covers its December need exactly (plus 5 AD360).
- Recovery candidates, contracts expiring in 30/60/90 days, trials, a past
  recovery, a cancelled and a non-renewing monthly contract.

Two client names are hostile on purpose (``<script>`` and an ``=HYPERLINK``
formula) so the writers' escaping is exercised.  Rows use the canonical column
names of `licreport.ledger.schema`; dates are `datetime.date`, money `Decimal`,
``auto_renew`` a bool, terms the canonical strings ("1", "monthly", ...).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from licreport.ledger.schema import BY_NAME, SHEETS

Row = dict[str, object]

IBX, NRD, ATL, CBT = "IBX", "NRD", "ATL", "CBT"

PARTNERS = [
    (IBX, "Iberix Seguridad Informática SL", "Panda Security"),
    (NRD, "Nordvakt IT AB", "Panda Security"),
    (ATL, "Atlas Managed Services Ltd", "WatchGuard"),
    (CBT, "Cobalt Systemhaus GmbH", "WatchGuard"),
]

# product, name, family, main_product, points_per_licence, trial_days
PRODUCTS = [
    ("AD360", "Panda Adaptive Defense 360", "Adaptive Defense", None, 3, 30),
    ("AD", "Panda Adaptive Defense", "Adaptive Defense", None, 2, 30),
    ("EPP", "Panda Endpoint Protection Plus", "Endpoint Protection", None, 2, 30),
    ("EP", "Panda Endpoint Protection", "Endpoint Protection", None, 1, None),
    ("FUSION", "Panda Fusion", "Fusion", None, None, None),
    ("PM", "Panda Patch Management", "Patch Management", "AD360", 1, 30),
    ("FE", "Panda Full Encryption", "Full Encryption", "AD360", 1, None),
    ("ART", "Panda Advanced Reporting Tool", "Advanced Reporting", "AD360", None, 30),
    ("DC", "Panda Data Control", "Data Control", "AD360", None, None),
]

DISCOUNTS = [(1, "0"), (25, "5"), (50, "7.5"), (100, "10"), (250, "15"), (500, "20")]

CLIENT_NAMES = {
    # Iberix (Spain)
    "C-IBX-001": "Talleres Gómez SA",
    "C-IBX-002": "Bodegas Almendral SL",
    "C-IBX-003": "Transportes Vega SL",
    "C-IBX-004": "Clínica Dental Sonrisa",
    "C-IBX-005": "Asesoría Lumen",
    "C-IBX-006": "Grupo Hostelero Mar Azul",
    "C-IBX-007": "Colegio Santa Clara",
    "C-IBX-008": "Óptica Miramar",
    "C-IBX-009": "Inmobiliaria Altamira",
    "C-IBX-010": "Ferretería Industrial Norte",
    "C-IBX-011": "Hotel Brisa del Mar",
    "C-IBX-012": "Estudio de Arquitectura Ondarreta",
    "C-IBX-013": "Distribuciones Ebro SA",
    "C-IBX-101": "Panadería Hermanos Ruiz",
    "C-IBX-102": "Gestoría Almansa",
    "C-IBX-103": "Construcciones Pirineo SL",
    "C-IBX-104": "Laboratorio Ortega",
    "C-IBX-105": "Librería El Faro",
    "C-IBX-106": "Autoescuela Rápida",
    "C-IBX-107": "Fisioterapia Bienestar",
    "C-IBX-108": "Muebles Castellanos SL",
    "C-IBX-109": "Academia de Idiomas Babel",
    "C-IBX-110": "Cooperativa Agrícola Los Olivos",
    # Nordvakt (Nordics)
    "C-NRD-001": "Sjöberg Logistik AB",
    "C-NRD-002": "Malmö Tandvård AB",
    "C-NRD-003": "Fjordvik Shipping AS",
    "C-NRD-004": "Uppsala Bokhandel AB",
    "C-NRD-005": "Kiruna Gruvteknik AB",
    "C-NRD-006": "Webbyrån <script>alert(1)</script> AB",
    "C-NRD-007": '=HYPERLINK("http://x","y")',
    "C-NRD-008": "Lund Biotech AB",
    "C-NRD-009": "Västerås Bygg AB",
    "C-NRD-101": "Sundsvall Elektriska AB",
    "C-NRD-102": "Bergen Fiskeeksport AS",
    "C-NRD-103": "Tampere Koneistus Oy",
    "C-NRD-104": "Aarhus Arkitekter ApS",
    "C-NRD-105": "Örebro Redovisning AB",
    "C-NRD-106": "Lillehammer Hytteutleie AS",
    "C-NRD-107": "Visby Turism AB",
    "C-NRD-108": "Odense Cykler ApS",
    # Atlas (UK, WatchGuard)
    "C-ATL-001": "Harbour Freight Logistics Ltd",
    "C-ATL-002": "Kestrel Accountancy LLP",
    "C-ATL-003": "Brightwater Dental Group",
    "C-ATL-004": "Northgate Veterinary Clinic",
    "C-ATL-005": "Oakridge Property Management",
    "C-ATL-006": "Pennine Engineering Ltd",
    "C-ATL-007": "Sable Creative Agency",
    # Cobalt (Germany, WatchGuard)
    "C-CBT-001": "Müller Maschinenbau GmbH",
    "C-CBT-002": "Bäckerei Sonnenschein KG",
    "C-CBT-003": "Praxis Dr. Hoffmann",
    "C-CBT-004": "Stadtwerke Kleinfeld",
    "C-CBT-005": "Weingut Rebenhof",
    "C-CBT-006": "Hansa Spedition GmbH",
    "C-CBT-007": "Kanzlei Weber & Partner",
    "C-CBT-008": "Alpenhotel Seeblick",
}


def _d(text: str) -> date:
    return date.fromisoformat(text)


def _row(sheet: str, **values: object) -> Row:
    """A row with every column of `sheet`, blank (None) where not given."""
    names = BY_NAME[sheet].names
    unknown = set(values) - set(names)
    if unknown:
        raise KeyError(f"{sheet}: unknown column(s) {sorted(unknown)}")
    return {name: values.get(name) for name in names}


def _block(
    when: str,
    partner: str,
    order: str,
    product: str,
    term: int,
    quantity: int,
    price: str | None,
    *,
    kind: str = "purchase",
    note: str | None = None,
) -> Row:
    return _row(
        "Pool",
        date=_d(when),
        partner=partner,
        order=order,
        product=product,
        term=str(term),
        quantity=quantity,
        unit_price=Decimal(price) if price is not None else None,
        type=kind,
        note=note,
    )


def _contract(
    partner: str,
    client: str,
    product: str,
    term: int | str,
    licences: int,
    start: str,
    *,
    end: str | None = None,
    used: int | None = None,
    renew: bool | None = None,
    priority: int | None = None,
    kind: str = "assign",
    ref: str | None = None,
) -> Row:
    return _row(
        "Clients",
        partner=partner,
        client=client,
        client_name=CLIENT_NAMES[client],
        product=product,
        term=str(term),
        licences=licences,
        start=_d(start),
        end=_d(end) if end else None,
        devices_used=used,
        auto_renew=renew,
        priority=priority,
        type=kind,
        ref=ref,
    )


def _credit(when: str, partner: str, points: int) -> Row:
    return _row("Exchanges", date=_d(when), partner=partner, type="credit", points=points)


def _exchange(
    when: str,
    partner: str,
    product: str,
    *,
    devices: int | None = None,
    licences: int | None = None,
    points: int | None = None,
    client: str | None = None,
) -> Row:
    return _row(
        "Exchanges",
        date=_d(when),
        partner=partner,
        type="exchange",
        product=product,
        devices=devices,
        points=points,
        licences=licences,
        client=client,
    )


def _pool_rows() -> list[Row]:
    b = _block
    return [
        # Iberix: AD360 1-year, bought year after year; 30 left for 50 renewals in Dec 2026.
        b("2023-02-06", IBX, "SO-IBX-2301", "AD360", 1, 100, "38.00"),
        b("2023-03-14", IBX, "SO-IBX-2302", "AD360", 3, 70, "95.00"),
        b("2024-01-10", IBX, "SO-IBX-2401", "EPP", 1, 50, "24.00"),
        b("2024-02-12", IBX, "SO-IBX-2402", "AD360", 1, 100, "38.50"),
        b(
            "2024-04-03",
            IBX,
            "REC-IBX-0001",
            "AD360",
            3,
            10,
            None,
            kind="recovery",
            note="Recovered from C-IBX-006: 15 unused, 10 returned",
        ),
        b("2024-06-03", IBX, "SO-IBX-2403", "AD", 2, 30, "55.00"),
        b("2025-02-03", IBX, "SO-IBX-2501", "AD360", 1, 100, "39.50"),
        b("2025-09-01", IBX, "SO-IBX-2502", "PM", 1, 25, "9.00"),
        b("2025-12-01", IBX, "SO-IBX-2503", "FUSION", 1, 25, "18.00"),
        b("2026-01-05", IBX, "SO-IBX-2601", "EP", 1, 150, "16.00", note="Stock for small shops"),
        b("2026-01-12", IBX, "SO-IBX-2602", "EPP", 1, 25, "25.00"),
        b("2026-02-02", IBX, "SO-IBX-2603", "AD360", 1, 50, "40.00"),
        b("2026-04-27", IBX, "SO-IBX-2604", "AD360", 1, 50, "40.00"),
        b("2026-06-01", IBX, "SO-IBX-2605", "AD360", 3, 20, "98.00"),
        # Nordvakt
        b("2023-01-16", NRD, "NV-23-0007", "EP", 3, 100, "30.00"),
        b("2024-01-08", NRD, "NV-24-0002", "AD360", 3, 20, "92.00"),
        b("2024-03-04", NRD, "NV-24-0011", "AD360", 2, 40, "66.00"),
        b("2024-09-02", NRD, "NV-24-0031", "DC", 3, 20, "21.00"),
        b("2025-04-07", NRD, "NV-25-0014", "AD360", 1, 60, "41.00"),
        b("2025-04-07", NRD, "NV-25-0015", "FE", 1, 50, "7.00"),
        b("2026-01-12", NRD, "NV-26-0001", "AD", 1, 120, "29.00"),
        b("2026-04-01", NRD, "NV-26-0009", "AD360", 1, 50, "41.50"),
        b("2026-08-17", NRD, "NV-26-0027", "EP", 3, 25, "31.00"),
        b("2026-11-02", NRD, "NV-26-0035", "AD360", 2, 30, "67.00", note="For December renewals"),
        # Atlas (WatchGuard: 1- and 3-year only)
        b("2025-03-03", ATL, "ATL-PO-1187", "AD360", 3, 30, "96.00"),
        b("2026-02-02", ATL, "ATL-PO-1342", "FE", 1, 10, "7.20"),
        # Cobalt
        b("2024-05-06", CBT, "CB-2024-044", "EPP", 3, 40, "58.00"),
        b("2025-12-01", CBT, "CB-2025-131", "AD360", 1, 40, "40.00"),
    ]


def _client_rows() -> list[Row]:
    c = _contract
    rows = [
        # Iberix: AD360 1-year, a new contract every year for the same clients.
        c(IBX, "C-IBX-001", "AD360", 1, 40, "2023-02-20", used=40),
        c(IBX, "C-IBX-002", "AD360", 1, 35, "2023-05-08", used=35),
        c(IBX, "C-IBX-001", "AD360", 1, 40, "2024-02-20", used=40),
        c(IBX, "C-IBX-002", "AD360", 1, 35, "2024-05-08", used=33),
        c(IBX, "C-IBX-001", "AD360", 1, 45, "2025-02-20", used=45),
        c(IBX, "C-IBX-002", "AD360", 1, 35, "2025-05-08", used=30),
        # ... two end in December 2026 with auto-renew: 50 requested, 30 available.
        c(IBX, "C-IBX-003", "AD360", 1, 30, "2025-12-09", used=30, renew=True),
        c(IBX, "C-IBX-003", "PM", 1, 10, "2025-12-09", used=10, renew=True),
        c(IBX, "C-IBX-004", "AD360", 1, 20, "2025-12-15", used=18, renew=True, priority=1),
        c(IBX, "C-IBX-001", "AD360", 1, 45, "2026-02-20", used=38, renew=True),
        c(IBX, "C-IBX-002", "AD360", 1, 35, "2026-05-08", used=20),
        c(IBX, "C-IBX-005", "ART", "trial", 10, "2026-10-20"),
        c(IBX, "C-IBX-005", "AD360", 1, 10, "2026-10-05", used=10),
        c(IBX, "C-IBX-005", "PM", 1, 5, "2026-10-05", used=5),
        # AD360 3-year, with a recovery applied in 2024.
        c(IBX, "C-IBX-006", "AD360", 3, 40, "2023-04-03", used=25),
        c(IBX, "C-IBX-007", "AD360", 3, 25, "2023-12-11", used=25, renew=True),
        c(
            IBX,
            "C-IBX-006",
            "AD360",
            3,
            15,
            "2024-04-03",
            kind="recovery",
            ref="REC-IBX-0001",
        ),
        # AD 2-year (Panda Security only).
        c(IBX, "C-IBX-008", "AD", 2, 12, "2024-06-17", used=12),
        c(IBX, "C-IBX-009", "AD", 2, 15, "2025-01-13", used=15),
        # EPP 1-year.
        c(IBX, "C-IBX-010", "EPP", 1, 20, "2024-01-22", used=20),
        c(IBX, "C-IBX-010", "EPP", 1, 20, "2025-01-22", used=20),
        c(IBX, "C-IBX-010", "EPP", 1, 22, "2026-01-22", used=22),
        c(IBX, "C-IBX-011", "EPP", 1, 8, "2026-02-09", used=6),
        c(IBX, "C-IBX-012", "AD360", "trial", 15, "2026-11-16"),
        c(IBX, "C-IBX-013", "FUSION", 1, 20, "2025-12-22", used=20, renew=False),
    ]
    # Iberix: small EP shops, one new contract a month (the 2027 renewal pipeline).
    small = [5, 8, 12, 6, 15, 10, 7, 9, 20, 11]
    for i, licences in enumerate(small):
        client = f"C-IBX-{101 + i:03d}"
        start = f"2026-{i + 1:02d}-{12 + i:02d}"
        rows.append(c(IBX, client, "EP", 1, licences, start, renew=i % 3 == 0))
    rows += [
        # Nordvakt
        c(NRD, "C-NRD-001", "EP", 3, 60, "2023-02-01", used=58),
        c(NRD, "C-NRD-002", "EP", 3, 30, "2023-12-04", used=30, renew=True),
        c(NRD, "C-NRD-009", "AD360", 3, 15, "2024-01-18", used=15, renew=True),
        c(NRD, "C-NRD-003", "AD360", 2, 25, "2024-12-02", used=25, renew=True, priority=1),
        c(NRD, "C-NRD-004", "AD360", 2, 10, "2025-03-10", used=4),
        c(NRD, "C-NRD-007", "DC", 3, 12, "2024-09-16", used=12),
        c(NRD, "C-NRD-005", "AD360", 1, 40, "2025-04-14", used=40),
        c(NRD, "C-NRD-005", "AD360", 1, 45, "2026-04-14", used=30, renew=True),
        c(NRD, "C-NRD-005", "FE", 1, 30, "2026-05-04", end="2027-04-14", used=30, renew=True),
        c(NRD, "C-NRD-006", "AD360", 1, 8, "2026-09-14", used=8),
        c(NRD, "C-NRD-008", "AD", "trial", 20, "2026-11-02"),
        c(NRD, "C-NRD-002", "PM", "trial", 30, "2026-11-20"),
    ]
    medium = [10, 14, 6, 25, 9, 12, 18, 7]
    for i, licences in enumerate(medium):
        client = f"C-NRD-{101 + i:03d}"
        start = f"2026-{i + 2:02d}-{3 + 2 * i:02d}"
        used = licences - (i % 4) if i % 2 else None
        rows.append(c(NRD, client, "AD", 1, licences, start, used=used, renew=i % 2 == 0))
    rows += [
        # Atlas (WatchGuard): the seed contract, then monthly and annual clients.
        c(ATL, "C-ATL-001", "AD360", "monthly", 30, "2026-01-23", priority=2),
        c(ATL, "C-ATL-002", "EPP", "monthly", 20, "2026-03-01", priority=1),
        c(ATL, "C-ATL-004", "PM", "monthly", 10, "2026-04-01", end="2026-09-01", priority=3),
        c(ATL, "C-ATL-003", "AD360", "monthly", 12, "2026-06-10"),
        c(ATL, "C-ATL-005", "AD360", "monthly", 25, "2026-09-15", renew=True, priority=1),
        c(ATL, "C-ATL-006", "AD360", 3, 20, "2025-03-17", used=0),
        c(ATL, "C-ATL-006", "FE", 1, 10, "2026-02-16", used=10, renew=True),
        c(ATL, "C-ATL-007", "AD360", "trial", 10, "2026-11-09"),
        # Cobalt
        c(CBT, "C-CBT-001", "AD360", "monthly", 50, "2025-10-01", priority=1),
        c(CBT, "C-CBT-002", "EP", "monthly", 40, "2025-11-17", priority=2),
        c(CBT, "C-CBT-003", "AD", "monthly", 15, "2026-02-02", priority=3),
        c(CBT, "C-CBT-004", "EPP", "monthly", 8, "2026-05-01", end="2026-08-01", priority=4),
        c(CBT, "C-CBT-001", "FE", "monthly", 50, "2026-07-20", priority=1),
        c(CBT, "C-CBT-005", "AD360", "monthly", 5, "2026-11-03", renew=False),
        c(CBT, "C-CBT-006", "EPP", 3, 35, "2024-05-13", used=30),
        c(CBT, "C-CBT-007", "AD360", 1, 18, "2025-12-10", used=18, renew=True),
        c(CBT, "C-CBT-008", "EPP", "trial", 25, "2026-11-12"),
    ]
    return rows


def _exchange_rows() -> list[Row]:
    x = _exchange
    return [
        # Atlas: 325 points credited, 266 spent -> 59 left on 2026-12-01.
        _credit("2026-01-05", ATL, 250),
        # The seed example: 30 devices on 2026-01-23 -> 9 days, 9 licences, 27 points.
        x("2026-01-23", ATL, "AD360", devices=30, licences=9, points=27, client="C-ATL-001"),
        x("2026-03-01", ATL, "EPP", devices=20, client="C-ATL-002"),
        x("2026-04-01", ATL, "PM", devices=10, client="C-ATL-004"),
        _credit("2026-05-04", ATL, 75),
        x("2026-06-10", ATL, "AD360", devices=12, client="C-ATL-003"),
        x("2026-09-15", ATL, "AD360", devices=25, client="C-ATL-005"),
        x("2026-11-24", ATL, "AD360", licences=40),
        # Cobalt: 700 credited, 533 spent -> 167 left; December fully covered.
        _credit("2025-10-01", CBT, 400),
        x("2025-10-01", CBT, "AD360", devices=50, client="C-CBT-001"),
        x("2025-11-17", CBT, "EP", devices=40, client="C-CBT-002"),
        x("2026-02-02", CBT, "AD", devices=15, client="C-CBT-003"),
        x("2026-05-01", CBT, "EPP", devices=8, client="C-CBT-004"),
        _credit("2026-06-01", CBT, 300),
        x("2026-07-20", CBT, "FE", devices=50, client="C-CBT-001"),
        x("2026-11-03", CBT, "AD360", devices=5, client="C-CBT-005"),
        x("2026-11-26", CBT, "AD360", licences=55),
        x("2026-11-26", CBT, "EP", licences=40),
        x("2026-11-26", CBT, "AD", licences=15),
        x("2026-11-26", CBT, "FE", licences=50),
    ]


def sample_tables() -> dict[str, list[Row]]:
    """Sheet name -> rows (canonical column names), for every sheet of the schema."""
    tables: dict[str, list[Row]] = {
        "Partners": [_row("Partners", partner=p, name=n, provider=v) for p, n, v in PARTNERS],
        "Products": [
            _row(
                "Products",
                product=p,
                name=n,
                family=f,
                main_product=m,
                points_per_licence=ppl,
                trial_days=t,
            )
            for p, n, f, m, ppl, t in PRODUCTS
        ],
        "Discounts": [_row("Discounts", min_quantity=q, discount=Decimal(d)) for q, d in DISCOUNTS],
        "Pool": _pool_rows(),
        "Clients": _client_rows(),
        "Exchanges": _exchange_rows(),
        "Renewals": [],
        "Mappings": [],
    }
    return {s.name: tables[s.name] for s in SHEETS}
