"""Write the sample's usage and billing exports for ``licreport match --month 2026-12``.

- ``usage-2026-12.csv``: a vendor console export (one row per client and product,
  devices protected), with the names as a console writes them: accents dropped,
  "S.L." for "SL", capitals, a product by name, a client by id, a partner by name,
  a typo ("Sonrrisa", which gets a suggestion) and a client the ledger does not know.
- ``billing-2026-12.xlsx``: a PSA billing export (client, service, quantity, unit
  price) with one client billed in two rows at two prices, a discounted price, a
  client not invoiced, a row without a price and an unknown client.

The licences each client holds on 2026-12-01 are the sample ledger's
(`licreport.ledger.sample`); the deviations from them are listed below, and
``tests/test_cli_match.py`` checks the findings they give.  Fixed data, no clock:
running this twice writes the same files.  Usage: python sample_data/make_exports.py
"""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent

# partner (id or name, as the console shows it), client as written, product, devices.
# Where the devices differ from the licences held, the comment says so.
USAGE = [
    ("ATL", "Harbour Freight Logistics LTD.", "AD360", 34),  # holds 30: 4 unlicensed
    ("ATL", "Kestrel Accountancy LLP", "EPP", 20),
    ("ATL", "Brightwater Dental Group", "AD360", 12),
    ("ATL", "Oakridge Property Management", "AD360", 25),
    ("ATL", "Pennine Engineering Ltd", "AD360", 20),
    ("ATL", "Pennine Engineering Ltd", "FE", 10),
    ("ATL", "Sable Creative Agency", "AD360", 10),  # a trial
    ("CBT", "MÜLLER MASCHINENBAU GMBH", "AD360", 50),
    ("CBT", "MÜLLER MASCHINENBAU GMBH", "FE", 50),
    ("CBT", "Bäckerei Sonnenschein KG", "EP", 40),
    ("CBT", "Praxis Dr. Hoffmann", "AD", 15),
    ("CBT", "Hansa Spedition GmbH", "EPP", 20),  # holds 35: 15 idle
    ("CBT", "Kanzlei Weber & Partner", "AD360", 18),
    ("CBT", "Alpenhotel Seeblick", "EPP", 25),  # a trial
    ("IBX", "TALLERES GOMEZ, S.A.", "AD360", 52),  # holds 45: 7 unlicensed
    ("IBX", "Bodegas Almendral, S.L.", "AD360", 35),
    ("IBX", "Transportes Vega", "AD360", 30),
    ("IBX", "Transportes Vega", "Panda Patch Management", 10),
    ("IBX", "Clinica Dental Sonrrisa", "AD360", 20),  # typo: unmatched, suggests C-IBX-004
    ("IBX", "Asesoría Lumen", "AD360", 10),
    ("IBX", "Asesoría Lumen", "PM", 5),
    ("IBX", "Colegio Santa Clara", "AD360", 19),  # holds 25: 6 idle
    ("IBX", "C-IBX-009", "AD", 15),  # by client id
    ("IBX", "Ferretería Industrial Norte", "EPP", 22),
    ("IBX", "Hotel Brisa del Mar", "EPP", 11),  # holds 8: 3 unlicensed
    ("IBX", "Estudio de Arquitectura Ondarreta", "AD360", 12),  # a trial of 15: 3 idle
    ("IBX", "Distribuciones Ebro SA", "FUSION", 20),
    ("IBX", "Panadería Hermanos Ruiz", "EP", 5),
    ("IBX", "Gestoría Almansa", "EP", 8),
    ("IBX", "Construcciones Pirineo SL", "EP", 12),
    ("IBX", "Laboratorio Ortega", "EP", 6),
    ("IBX", "Librería El Faro", "EP", 15),
    ("IBX", "Autoescuela Rápida", "EP", 10),
    ("IBX", "Fisioterapia Bienestar", "EP", 7),
    ("IBX", "Muebles Castellanos SL", "EP", 9),
    ("IBX", "Academia de Idiomas Babel", "Panda Endpoint Protection", 20),
    ("IBX", "Cooperativa Agrícola Los Olivos", "EP", 11),
    ("IBX", "Clínica Veterinaria Los Robles SL", "AD360", 6),  # not in the ledger
    ("Nordvakt IT AB", "Malmo Tandvard AB", "EP", 30),
    ("Nordvakt IT AB", "Malmo Tandvard AB", "PM", 30),  # a trial
    ("Nordvakt IT AB", "Fjordvik Shipping AS", "AD360", 25),
    ("Nordvakt IT AB", "Uppsala Bokhandel AB", "AD360", 10),
    ("Nordvakt IT AB", "Kiruna Gruvteknik AB", "AD360", 40),  # holds 45: 5 idle
    ("Nordvakt IT AB", "Kiruna Gruvteknik AB", "FE", 30),
    ("Nordvakt IT AB", "Webbyrån <script>alert(1)</script> AB", "AD360", 8),
    ("Nordvakt IT AB", '=HYPERLINK("http://x","y")', "DC", 12),
    ("Nordvakt IT AB", "Lund Biotech AB", "AD", 20),  # a trial
    ("Nordvakt IT AB", "Västerås Bygg AB", "AD360", 15),
    ("Nordvakt IT AB", "Sundsvall Elektriska AB", "AD", 10),
    ("Nordvakt IT AB", "Bergen Fiskeeksport AS", "AD", 14),
    ("Nordvakt IT AB", "Tampere Koneistus Oy", "AD", 6),
    ("Nordvakt IT AB", "Aarhus Arkitekter ApS", "AD", 25),
    ("Nordvakt IT AB", "Orebro Redovisning", "AD", 9),
    ("Nordvakt IT AB", "Lillehammer Hytteutleie AS", "AD", 12),
    ("Nordvakt IT AB", "Visby Turism AB", "AD", 18),
    ("Nordvakt IT AB", "Odense Cykler ApS", "AD", 7),
]

PRICE = {
    "AD360": Decimal("4.20"),
    "AD": Decimal("3.10"),
    "EPP": Decimal("2.60"),
    "EP": Decimal("1.90"),
    "FE": Decimal("1.20"),
    "PM": Decimal("0.90"),
    "DC": Decimal("0.80"),
}

# client as written, service, quantity, unit price (None: the cell is blank).
# Trials are not invoiced; where the quantity differs from max(used, licensed) the
# comment says so.
BILLING = [
    ("Harbour Freight Logistics Ltd", "AD360", 30, PRICE["AD360"]),  # uses 34: 4 underbilled
    ("Kestrel Accountancy LLP", "EPP", 20, PRICE["EPP"]),
    ("Brightwater Dental Group", "AD360", 12, PRICE["AD360"]),
    ("Oakridge Property Management", "AD360", 30, PRICE["AD360"]),  # billable 25: 5 overbilled
    ("Pennine Engineering Ltd", "AD360", 20, PRICE["AD360"]),
    ("Pennine Engineering Ltd", "FE", 10, PRICE["FE"]),
    ("Müller Maschinenbau GmbH", "AD360", 50, PRICE["AD360"]),
    ("Müller Maschinenbau GmbH", "FE", 50, PRICE["FE"]),
    ("Bäckerei Sonnenschein KG", "EP", 40, PRICE["EP"]),
    ("Praxis Dr. Hoffmann", "AD", 15, PRICE["AD"]),
    ("Hansa Spedition GmbH", "EPP", 35, PRICE["EPP"]),
    ("Kanzlei Weber & Partner", "AD360", 18, PRICE["AD360"]),
    ("Talleres Gómez SA", "AD360", 45, PRICE["AD360"]),  # uses 52: 7 underbilled
    ("Bodegas Almendral SL", "AD360", 35, PRICE["AD360"]),
    ("Transportes Vega SL", "AD360", 20, PRICE["AD360"]),  # two rows, two prices
    ("Transportes Vega SL", "AD360", 10, Decimal("4.00")),
    ("Transportes Vega SL", "PM", 10, PRICE["PM"]),
    ("Clínica Dental Sonrisa", "AD360", 20, PRICE["AD360"]),
    ("Asesoría Lumen", "AD360", 10, PRICE["AD360"]),
    ("Asesoría Lumen", "PM", 5, PRICE["PM"]),
    ("Colegio Santa Clara", "AD360", 25, Decimal("3.90")),  # a discounted price
    ("Inmobiliaria Altamira", "AD", 15, PRICE["AD"]),
    ("Ferretería Industrial Norte", "EPP", 22, PRICE["EPP"]),
    ("Hotel Brisa del Mar", "EPP", 8, PRICE["EPP"]),  # uses 11: 3 underbilled
    ("Distribuciones Ebro SA", "FUSION", 18, None),  # holds 20: 2 underbilled, no price
    ("Panadería Hermanos Ruiz", "EP", 5, PRICE["EP"]),
    ("Gestoría Almansa", "EP", 8, PRICE["EP"]),
    ("Construcciones Pirineo SL", "EP", 12, PRICE["EP"]),
    ("Laboratorio Ortega", "EP", 6, PRICE["EP"]),
    ("Librería El Faro", "EP", 15, PRICE["EP"]),
    ("Autoescuela Rápida", "EP", 10, PRICE["EP"]),
    ("Fisioterapia Bienestar", "EP", 7, PRICE["EP"]),
    ("Muebles Castellanos SL", "EP", 9, PRICE["EP"]),
    ("Academia de Idiomas Babel", "EP", 20, PRICE["EP"]),
    ("Cooperativa Agrícola Los Olivos", "EP", 11, PRICE["EP"]),
    ("Gimnasio Fuerza Total SL", "AD360", 10, PRICE["AD360"]),  # not in the ledger
    ("Malmö Tandvård AB", "EP", 30, PRICE["EP"]),
    # Fjordvik Shipping AS (AD360, 25) is not invoiced: 25 underbilled at the median price
    ("Uppsala Bokhandel AB", "AD360", 10, PRICE["AD360"]),
    ("Kiruna Gruvteknik AB", "AD360", 45, PRICE["AD360"]),
    ("Kiruna Gruvteknik AB", "FE", 35, PRICE["FE"]),  # billable 30: 5 overbilled
    ("Webbyrån <script>alert(1)</script> AB", "AD360", 8, PRICE["AD360"]),
    ('=HYPERLINK("http://x","y")', "DC", 12, PRICE["DC"]),
    ("Västerås Bygg AB", "AD360", 15, PRICE["AD360"]),
    ("Sundsvall Elektriska AB", "AD", 10, PRICE["AD"]),
    ("Bergen Fiskeeksport AS", "AD", 14, PRICE["AD"]),
    ("Tampere Koneistus Oy", "AD", 6, PRICE["AD"]),
    ("Aarhus Arkitekter ApS", "AD", 25, PRICE["AD"]),
    ("Örebro Redovisning AB", "AD", 9, PRICE["AD"]),
    ("Lillehammer Hytteutleie AS", "AD", 12, PRICE["AD"]),
    ("Visby Turism AB", "AD", 18, PRICE["AD"]),
    ("Odense Cykler ApS", "AD", 7, PRICE["AD"]),
]


def write_usage(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["Partner", "Customer Name", "Product", "Protected Devices"])
        out.writerows(USAGE)
    return path


def write_billing(path: Path) -> Path:
    """A PSA export: a title row above the header, as such exports often have."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"creator": "licreport sample", "created": datetime(2026, 12, 1)})
    ws = wb.add_worksheet("Invoice lines")
    ws.write_string(0, 0, "Invoice lines December 2026")
    for j, header in enumerate(["Company", "Service", "Qty", "Unit Price"]):
        ws.write_string(2, j, header)
    for i, (client, product, qty, price) in enumerate(BILLING, start=3):
        ws.write_string(i, 0, client)
        ws.write_string(i, 1, product)
        ws.write_number(i, 2, qty)
        if price is not None:
            ws.write_number(i, 3, float(price))
    wb.close()
    return path


def main() -> None:
    usage = write_usage(HERE / "usage-2026-12.csv")
    billing = write_billing(HERE / "billing-2026-12.xlsx")
    print(f"wrote {usage.name} and {billing.name} in {HERE.name}/")


if __name__ == "__main__":
    main()
