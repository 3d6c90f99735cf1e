"""Reading usage and billing exports (SPEC §10): aliases, formats, and what stops a read."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from licreport.errors import SheetError, UnreadableFile
from licreport.ledger.exports import BILLING_FILE, USAGE_FILE, read_export

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("client", "product", "devices"),
    [
        ("client", "product", "devices"),
        ("Customer", "Product Name", "Protected Devices"),
        ("Account", "License", "Endpoints"),
        ("client_name", "Licence", "devices used"),
        ("Customer Name", "Service", "Quantity"),
        ("COMPANY", "product-id", "Seats"),
        ("Client ID", "Product_Name", "SEATS"),
    ],
)
def test_usage_header_aliases(tmp_path: Path, client: str, product: str, devices: str) -> None:
    path = tmp_path / "usage.csv"
    path.write_text(f"{client},{product},{devices}\nAcme,AD360,7\n", encoding="utf-8")
    export, errors = read_export(path, USAGE_FILE)
    assert errors == []
    row = export.frame.iloc[0]
    assert (row["client"], row["product"], int(row["devices"])) == ("Acme", "AD360", 7)
    assert export.table.headers["devices"] == devices  # errors name the header as written


def test_billing_aliases_semicolon_and_title_rows(tmp_path: Path) -> None:
    path = tmp_path / "psa.csv"
    path.write_text(
        # a ;-delimited file reads a decimal comma (SPEC §11)
        "Invoice lines;;;;\n;;;;\nPartner;Company;Service;Qty;Rate\nIBX;Acme SL;AD360;3;4,20\n",
        encoding="utf-8",
    )
    export, errors = read_export(path, BILLING_FILE)
    assert errors == [] and export.has_price
    row = export.frame.iloc[0]
    assert (row["partner"], row["quantity"], row["unit_price"], row["_row"]) == (
        "IBX", 3, Decimal("4.20"), 4,
    )  # fmt: skip
    _, errors = read_export(path, BILLING_FILE, decimal=".")  # --decimal-point
    assert [(e.cell, e.message) for e in errors] == [
        ("E4", '"4,20" is ambiguous: write the decimal separator as a point (or pass '
         "--decimal-comma)")
    ]  # fmt: skip


def test_billing_without_price_column(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("client,product,units\nAcme,AD360,3\n", encoding="utf-8")
    export, errors = read_export(path, BILLING_FILE)
    assert errors == [] and not export.has_price
    assert export.frame["unit_price"].isna().all()


def test_sample_billing_workbook_first_sheet() -> None:
    export, errors = read_export(ROOT / "sample_data" / "billing-2026-12.xlsx", BILLING_FILE)
    assert errors == []
    assert export.table.sheet == "Invoice lines" and export.table.header_row == 3
    first = export.frame.iloc[0]
    assert (first["client"], first["quantity"], first["unit_price"], first["_row"]) == (
        "Harbour Freight Logistics Ltd", 30, Decimal("4.2"), 4,
    )  # fmt: skip
    hostile = export.frame[export.frame["client"].str.startswith("=")]
    assert hostile["client"].tolist() == ['=HYPERLINK("http://x","y")']  # text, as written


def test_windows_1252_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes("client,product,devices\nTalleres Gómez,AD360,1\n".encode("cp1252"))
    export, errors = read_export(path, USAGE_FILE)
    assert errors == [] and export.frame.at[0, "client"] == "Talleres Gómez"
    assert export.warnings == ("u.csv is not UTF-8; read as Windows-1252",)


def test_two_columns_for_one_field_is_a_duplicate_header(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text("Client,Company,Product,Devices\nA,B,AD360,1\n", encoding="utf-8")
    with pytest.raises(SheetError) as info:
        read_export(path, USAGE_FILE)
    assert 'duplicate header "Company": A1 already holds "Client"' in str(info.value)


def test_missing_column_and_unsupported_file(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text("client,product\nA,AD360\n", encoding="utf-8")
    with pytest.raises(SheetError, match='required column "devices" is missing'):
        read_export(path, USAGE_FILE)
    other = tmp_path / "u.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(UnreadableFile, match=r"is not a \.csv file or an \.xlsx/\.xlsm workbook"):
        read_export(other, USAGE_FILE)
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableFile, match="the file is empty"):
        read_export(empty, USAGE_FILE)
