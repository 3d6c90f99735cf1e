"""Reading a ledger (xlsx or CSV folder) into typed tables (ledger/load.py and readers)."""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from licreport.errors import SheetError, UnreadableFile
from licreport.ledger.load import load_ledger
from licreport.ledger.schema import SHEETS

NA = pd.NA
D = pd.Timestamp
PARTNERS = [["partner", "name", "provider"], ["P1", "Acme IT", "WatchGuard"]]
TWO_PARTNERS = [*PARTNERS, ["P2", "Beta MSP", "Panda Security"]]
PRODUCTS = [["product", "family", "points_per_licence"], ["AD360", "EDR", 3]]


def test_every_sheet_in_schema_order_with_schema_dtypes(write_xlsx: Callable[..., Path]) -> None:
    path = write_xlsx({"Products": PRODUCTS, "Partners": PARTNERS})
    ledger, errors = load_ledger(path)
    assert errors == []
    assert list(ledger.tables) == [s.name for s in SHEETS]
    for schema in SHEETS:
        frame = ledger[schema.name]
        typed_month = ["_month"] if schema.name == "Renewals" else []  # the month, typed once
        assert list(frame.columns) == [*schema.names, "_row", *typed_month]
        assert [str(t) for t in frame.dtypes] == [
            *[str(pd.Series(dtype=c.dtype).dtype) for c in schema.columns],
            "Int64",
            *(["datetime64[ns]"] if typed_month else []),
        ]
    pool = ledger.table("Pool")
    assert (pool.present, pool.file, pool.sheet, len(pool.frame)) == (
        False,
        "ledger.xlsx",
        "Pool",
        0,
    )
    assert ledger.kind == "xlsx"
    assert ledger.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ledger.warnings == []
    assert ledger["Products"]["points_per_licence"].tolist() == [3]
    assert ledger.partners == ["P1"]


def test_header_matching_title_rows_aliases_and_extras(write_xlsx: Callable[..., Path]) -> None:
    clients: list[list[Any]] = [
        ["Client contracts — Acme IT"],
        [None],
        [
            "Partner ID",
            "CLIENT_ID",
            "Client-Name",
            "  product ",
            "Term",
            "Licenses",
            "Start",
            "Auto Renew",
            "Notes",
        ],
        ["P1", 1001, "Alpha", "AD360", 1, 10, dt.date(2026, 1, 5), "yes", "call back"],
        [None] * 9,
        ["P1", 1002.0, "Beta", "AD360", "Monthly", 3, "2026-02-01", None, 42],
    ]
    path = write_xlsx({"Partners": PARTNERS, "Products": PRODUCTS, "clients ": clients})
    ledger, errors = load_ledger(path)
    assert errors == []
    table = ledger.table("Clients")
    assert (table.file, table.sheet, table.header_row, table.present) == (
        "ledger.xlsx",
        "clients ",
        3,
        True,
    )
    assert table.headers == {
        "partner": "Partner ID",
        "client": "CLIENT_ID",
        "client_name": "Client-Name",
        "product": "product",
        "term": "Term",
        "licences": "Licenses",
        "start": "Start",
        "auto_renew": "Auto Renew",
    }
    assert table.letters == {
        "partner": "A",
        "client": "B",
        "client_name": "C",
        "product": "D",
        "term": "E",
        "licences": "F",
        "start": "G",
        "auto_renew": "H",
    }
    frame = table.frame
    assert frame["_row"].tolist() == [4, 6]
    assert frame["client"].tolist() == ["1001", "1002"]
    assert frame["term"].tolist() == ["1", "monthly"]
    assert frame["start"].tolist() == [D("2026-01-05"), D("2026-02-01")]
    assert frame["auto_renew"].tolist() == [True, NA]  # the rules decide the default
    assert frame["type"].tolist() == ["assign", "assign"]
    assert table.extra is not None
    assert list(table.extra.columns) == ["Notes"]
    assert table.extra["Notes"].tolist() == ["call back", "42"]
    assert table.extra.index.equals(frame.index)


def test_single_partner_fills_absent_and_blank_partner(write_xlsx: Callable[..., Path]) -> None:
    path = write_xlsx(
        {
            "Partners": PARTNERS,
            "Products": PRODUCTS,
            "Pool": [
                ["date", "partner", "product", "term", "quantity"],
                ["2026-01-02", None, "AD360", 1, 50],
                ["2026-01-03", "P1", "AD360", 1, 20],
            ],
            "Clients": [
                ["client", "product", "term", "licences", "start"],
                ["C1", "AD360", 1, 10, "2026-01-05"],
            ],
        }
    )
    ledger, errors = load_ledger(path)
    assert errors == []
    assert ledger["Pool"]["partner"].tolist() == ["P1", "P1"]
    assert ledger["Clients"]["partner"].tolist() == ["P1"]
    assert str(ledger["Clients"]["partner"].dtype) == "str"


def test_several_partners_blank_partner_is_an_error(write_xlsx: Callable[..., Path]) -> None:
    path = write_xlsx(
        {
            "Partners": TWO_PARTNERS,
            "Products": PRODUCTS,
            "Pool": [
                ["date", "partner", "product", "term", "quantity"],
                ["2026-01-02", None, "AD360", 1, 50],
                ["2026-01-03", "P2", "AD360", 2, 20],
            ],
        }
    )
    ledger, errors = load_ledger(path)
    assert [str(e) for e in errors] == [
        "ledger.xlsx:Pool:B2: partner: required value is blank (the ledger has 2 partners)"
    ]
    assert ledger["Pool"]["partner"].isna().tolist() == [True, False]


def test_several_partners_and_no_partner_column(write_xlsx: Callable[..., Path]) -> None:
    path = write_xlsx(
        {
            "Partners": TWO_PARTNERS,
            "Products": PRODUCTS,
            "Clients": [
                ["client", "product", "term", "licences", "start"],
                ["C1", "AD360", 1, 10, "2026-01-05"],
            ],
            "Renewals": [["run", "month", "client"]],  # no rows: nothing to say
        }
    )
    with pytest.raises(SheetError) as info:
        load_ledger(path)
    assert info.value.message == (
        'ledger.xlsx:Clients: missing column "partner": the ledger has 2 partners, '
        "so every row must name its partner"
    )


def test_empty_optional_sheet_is_an_empty_table(write_xlsx: Callable[..., Path]) -> None:
    path = write_xlsx({"Partners": PARTNERS, "Products": PRODUCTS, "Exchanges": []})
    ledger, errors = load_ledger(path)
    assert errors == []
    table = ledger.table("Exchanges")
    assert (table.present, table.sheet, len(table.frame)) == (True, "Exchanges", 0)


def test_empty_required_sheet(write_xlsx: Callable[..., Path]) -> None:
    path = write_xlsx({"Partners": PARTNERS, "Products": []})
    with pytest.raises(SheetError) as info:
        load_ledger(path)
    assert info.value.message == (
        "ledger.xlsx:Products: the sheet is empty; expected a header row with the columns "
        "product, family"
    )


def test_two_sheets_matching_one_name(write_xlsx: Callable[..., Path]) -> None:
    path = write_xlsx({"Partners": PARTNERS, "Products": PRODUCTS, "products_": PRODUCTS})
    with pytest.raises(SheetError) as info:
        load_ledger(path)
    assert info.value.message == (
        'ledger.xlsx:products_: sheets "Products" and "products_" both match Products; '
        "rename or delete one"
    )


def test_errors_are_sorted_by_sheet_row_column(write_xlsx: Callable[..., Path]) -> None:
    path = write_xlsx(
        {
            "Clients": [
                ["client", "product", "term", "licences", "start"],
                ["C1", "AD360", 9, "x", "bad"],
                ["C2", None, 1, 1, "2026-01-01"],
            ],
            "Partners": [*PARTNERS, ["P2", "B", "nobody"]],
            "Products": PRODUCTS,
        }
    )
    with pytest.raises(SheetError):  # two partners and no partner column in Clients
        load_ledger(path)
    path = write_xlsx(
        {
            "Clients": [
                ["partner", "client", "product", "term", "licences", "start"],
                ["P1", "C1", "AD360", 9, "x", "bad"],
                ["P2", "C2", None, 1, 1, "2026-01-01"],
            ],
            "Partners": [*PARTNERS, ["P2", "B", "nobody"]],
            "Products": PRODUCTS,
        },
        name="second.xlsx",
    )
    _, errors = load_ledger(path)
    assert [(e.sheet, e.cell) for e in errors] == [
        ("Partners", "C3"),
        ("Clients", "D2"),
        ("Clients", "E2"),
        ("Clients", "F2"),
        ("Clients", "C3"),
    ]


# --- CSV folders -----------------------------------------------------------------------

PARTNERS_CSV = "partner,name,provider\nP1,Acme IT,watchguard\n"
PRODUCTS_CSV = "product,family,points_per_licence\nAD360,EDR,3\n"


def test_csv_folder(write_csvs: Callable[..., Path]) -> None:
    clients = (
        "client,client_name,product,term,licences,start,notes\n"
        'C1,"Alpha, Ltd",AD360,1,"1,234",2026-01-05,x\n'
        "\n"
        'C2,"Two\nlines",AD360,monthly,ten,2026-01-06,y\n'
        "C3,Gamma,AD360,3,5,2026-01-07,z\n"
    )
    folder = write_csvs(
        {
            "Partners.csv": PARTNERS_CSV,
            "products.csv": PRODUCTS_CSV,
            "CLIENTS.csv": clients,
            "readme.txt": "ignored",
        }
    )
    ledger, errors = load_ledger(folder)
    assert ledger.kind == "csv"
    table = ledger.table("Clients")
    assert (table.file, table.sheet, table.header_row) == ("CLIENTS.csv", "CLIENTS", 1)
    frame = table.frame
    assert frame["_row"].tolist() == [2, 4, 6]  # CSV line numbers; C2 spans lines 4-5
    assert frame["client_name"].tolist() == ["Alpha, Ltd", "Two\nlines", "Gamma"]
    assert frame["licences"].tolist() == [1234, NA, 5]
    assert frame["partner"].tolist() == ["P1"] * 3
    assert ledger["Partners"]["provider"].tolist() == ["WatchGuard"]
    assert ledger["Products"]["points_per_licence"].tolist() == [3]
    assert table.extra is not None and table.extra["notes"].tolist() == ["x", "y", "z"]
    assert [str(e) for e in errors] == [
        'CLIENTS.csv:CLIENTS:E4: licences: "ten" is not a whole number'
    ]
    expected = hashlib.sha256()
    for name in ("CLIENTS.csv", "Partners.csv", "products.csv"):  # sorted file names
        expected.update((folder / name).read_bytes())
    assert ledger.sha256 == expected.hexdigest()
    absent = ledger.table("Pool")
    assert (absent.present, absent.file) == (False, "pool.csv")


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_delimiters(write_csvs: Callable[..., Path], delimiter: str) -> None:
    pool = (
        "date;product;term;quantity;unit_price\n"
        "2026-01-02;AD360;1;1,000;12.50\n"
        "2026-01-03;AD360;3;20;\n"
    ).replace(";", delimiter)
    if delimiter == ",":
        pool = pool.replace("1,000", '"1,000"')
    if delimiter == ";":  # a ";" file reads a decimal comma (SPEC §11)
        pool = pool.replace("1,000", "1.000").replace("12.50", "12,50")
    folder = write_csvs(
        {"partners.csv": PARTNERS_CSV, "products.csv": PRODUCTS_CSV, "pool.csv": pool}
    )
    ledger, errors = load_ledger(folder)
    assert errors == []
    frame = ledger["Pool"]
    assert frame["quantity"].tolist() == [1000, 20]
    assert [str(v) if v is not None else None for v in frame["unit_price"]] == ["12.50", None]
    assert frame["date"].tolist() == [D("2026-01-02"), D("2026-01-03")]


def test_csv_encodings(write_csvs: Callable[..., Path]) -> None:
    partners = "partner,name,provider\nP1,Société Générale,WatchGuard\n"
    folder = write_csvs(
        {
            "partners.csv": partners.encode("cp1252"),
            "products.csv": b"\xef\xbb\xbf" + "product,name,family\nAD360,Défense,EDR\n".encode(),
        }
    )
    ledger, errors = load_ledger(folder)
    assert errors == []
    assert ledger["Partners"]["name"].tolist() == ["Société Générale"]
    assert ledger["Products"]["name"].tolist() == ["Défense"]  # BOM not part of "product"
    assert ledger.table("Products").headers["product"] == "product"
    assert ledger.warnings == ["partners.csv is not UTF-8; read as Windows-1252"]


def test_csv_utf16_from_excel_unicode_text(write_csvs: Callable[..., Path]) -> None:
    partners = "partner\tprovider\r\nP1\tPanda Security\r\n".encode("utf-16")
    folder = write_csvs({"partners.csv": partners, "products.csv": PRODUCTS_CSV})
    ledger, errors = load_ledger(folder)
    assert errors == []
    assert ledger["Partners"]["provider"].tolist() == ["Panda Security"]


def test_csv_missing_required_file(write_csvs: Callable[..., Path]) -> None:
    folder = write_csvs({"partners.csv": PARTNERS_CSV, "notes.csv": "a\n"})
    with pytest.raises(SheetError) as info:
        load_ledger(folder)
    assert info.value.exit_code == 2
    assert info.value.message == (
        "ledger/: required file products.csv is missing (CSV files present: notes.csv, "
        "partners.csv)"
    )


def test_csv_empty_file(write_csvs: Callable[..., Path]) -> None:
    folder = write_csvs({"partners.csv": "", "products.csv": PRODUCTS_CSV, "pool.csv": ""})
    with pytest.raises(SheetError) as info:
        load_ledger(folder)
    assert info.value.message == (
        "partners.csv:partners: the sheet is empty; expected a header row with the columns "
        "partner, provider"
    )


def test_csv_with_nul_bytes(write_csvs: Callable[..., Path]) -> None:
    folder = write_csvs({"partners.csv": b"partner\x00", "products.csv": PRODUCTS_CSV})
    with pytest.raises(UnreadableFile) as info:
        load_ledger(folder)
    assert info.value.message == "partners.csv: holds NUL bytes; it is not a text (CSV) file"


def test_csv_two_files_for_one_sheet(write_csvs: Callable[..., Path]) -> None:
    folder = write_csvs(
        {"partners.csv": PARTNERS_CSV, "Partners_.csv": PARTNERS_CSV, "products.csv": ""}
    )
    with pytest.raises(SheetError) as info:
        load_ledger(folder)
    assert info.value.message == (
        "ledger/: Partners_.csv and partners.csv both hold Partners; keep one of them"
    )


def test_xlsm_and_1904_date_system(tmp_path: Path, broken: ModuleType) -> None:
    pool = [
        ["date", "product", "term", "quantity"],
        [44583, "AD360", 1, 10],  # a bare serial number: 2026-01-23 counted from 1904
    ]
    sheets = {"Partners": PARTNERS, "Products": PRODUCTS, "Pool": pool}
    path = broken.write_workbook(tmp_path / "ledger.xlsm", sheets, date1904=True)
    ledger, errors = load_ledger(path)
    assert errors == []
    assert ledger.table("Pool").file == "ledger.xlsm"
    assert ledger["Pool"]["date"].tolist() == [D("2026-01-23")]


def test_csv_title_lines_above_the_header(write_csvs: Callable[..., Path]) -> None:
    partners = "Partners of Acme Distribution;;\n;;\npartner;name;provider\nP1;Acme;WatchGuard\n"
    folder = write_csvs({"partners.csv": partners, "products.csv": PRODUCTS_CSV})
    ledger, errors = load_ledger(folder)
    assert errors == []
    table = ledger.table("Partners")
    assert table.header_row == 3
    assert table.frame["_row"].tolist() == [4]


def test_an_impossible_month_in_renewals_names_its_cell(write_xlsx: Callable[..., Path]) -> None:
    # issue 10, defect 4: "2026-13" showed as a false R8 failure on the Checks sheet
    from licreport import api

    renewals = [
        ["run", "month", "client", "product", "term", "requested", "renewed", "dropped"],
        ["r1", "2026-13", "C1", "AD360", "1", 5, 5, 0],
        ["r1", "2026-12", "C1", "AD360", "1", 5, 5, 0],
    ]
    clients = [
        ["client", "product", "term", "licences", "start", "auto_renew"],
        ["C1", "AD360", "1", 5, dt.date(2025, 12, 1), "yes"],
    ]
    pool = [["date", "product", "term", "quantity"], [dt.date(2025, 11, 1), "AD360", "1", 20]]
    path = write_xlsx(
        {"Partners": PARTNERS, "Products": PRODUCTS, "Pool": pool, "Clients": clients,
         "Renewals": renewals}
    )  # fmt: skip
    ledger, errors = load_ledger(path)
    assert [str(e) for e in errors] == [
        'ledger.xlsx:Renewals:B2: month: "2026-13" is not a possible month '
        "(the month number must be 01 to 12)"
    ]
    months = ledger["Renewals"][["month", "_month"]]
    assert months["month"].isna().tolist() == [True, False]
    assert months["_month"].tolist()[1] == D("2026-12-01") and months["_month"].isna().iloc[0]
    # validate shows that error alone: no R8 (Checks) failure built on the unreadable month
    assert [e.cell for e in api.validate(path)] == ["B2"]


def read_by_each_csv_reader(data: bytes) -> list[Any]:
    """`parse_csv` of `data` as it reads it, then with pyarrow standing aside, then with
    pandas' C reader too (the `csv` module alone)."""
    from licreport.ledger import csvdir

    reads = [csvdir.parse_csv(data, "x.csv", "x", [])]
    originals = csvdir._arrow_columns, csvdir._fast_grid
    try:
        csvdir._arrow_columns = lambda text, delimiter, utf8=None: None  # type: ignore[assignment]
        reads.append(csvdir.parse_csv(data, "x.csv", "x", []))
        csvdir._fast_grid = lambda text, delimiter, utf8=None: None  # type: ignore[assignment]
        reads.append(csvdir.parse_csv(data, "x.csv", "x", []))
    finally:
        csvdir._arrow_columns, csvdir._fast_grid = originals  # type: ignore[assignment]
    return reads


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("a,b,c\n1,2\n\n x ,y,z\r\n3,4,5", "pandas"),  # short and blank lines, spaces kept
        ("a;b\r1;2\r", "arrow"),  # old Mac line ends
        ("a,b\r\n1, 2 \r\n", "arrow"),  # CRLF, spaces kept
        ("a\tb\n#1\t2\n \n", "pandas"),  # no comment character; a line of one space
        ("a,b\n1,\n,\n", "arrow"),
        ("a,b\nNA,null\nTRUE,1\n", "arrow"),  # no value is missing, boolean or a number
        ("a\n1\n\n2", "arrow"),  # one column: a blank line is a blank cell; no last newline
        ('a,b\n"1,5",2\n', "csv"),  # quoted: the csv module reads it
        ("a,b\n1,2,3\n", "csv"),  # a line wider than the first: the csv module reads it
        ("client;café\nÉlan SA;10\n", "arrow"),  # not ASCII
        ("\ufeffa,b\n1,2\n", "arrow"),  # saved with a BOM: a second one stays in the cell
    ],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_fast_paths_read_the_grid_the_csv_module_reads(
    text: str, path: str, encoding: str
) -> None:
    """pyarrow (`Columns`) and pandas' C reader, the fast paths of `parse_csv` (given the
    bytes of a UTF-8 file, or the text of others), give the very grid and line numbers of
    the `csv` module, or stand aside for the next."""
    from licreport.ledger.headers import Columns

    if "\ufeff" in text and encoding == "cp1252":
        pytest.skip("Windows-1252 has no byte-order mark")
    data = text.encode(encoding)
    reads = read_by_each_csv_reader(data)
    if text.startswith("\ufeff") and encoding == "utf-8-sig":
        path = "csv"  # pyarrow and pandas would drop the second byte-order mark too
    taken = {Columns: "arrow", list: "csv"}.get(type(reads[0].rows), "pandas")
    assert taken == path
    grids = [list(r.rows) if isinstance(r.rows, Columns) else r.rows for r in reads]
    grids = [g.tolist() if not isinstance(g, list) else g for g in grids]
    assert grids[0] == grids[2] and grids[1] == grids[2]
    assert all(type(v) is str for row in grids[0] for v in row)
    for r in reads[:2]:
        assert r.row_numbers is not None and reads[2].row_numbers is not None
        assert list(r.row_numbers) == list(reads[2].row_numbers)
        assert r.csv == reads[2].csv


@given(
    text=st.text(alphabet="ab;\r\n\x0b\u2028", max_size=40),
    k=st.integers(0, 6),
    n=st.integers(1, 8),
)
def test_first_lines_are_the_first_of_splitlines(text: str, k: int, n: int) -> None:
    """The delimiter sniffer's head of a file is ``splitlines()[:k]`` whatever prefix it
    starts from, CRLF cut in two at the prefix's end included."""
    from licreport.ledger.csvdir import _first_lines

    assert _first_lines(text, k, n) == text.splitlines()[:k]


@given(
    lines=st.lists(
        st.text(alphabet=st.sampled_from("ab;,\t \u00e9\u2028\r"), max_size=8),
        min_size=1,
        max_size=8,
    ),
    end=st.sampled_from(["\n", "\r\n", "\r", ""]),
)
def test_the_csv_readers_agree_on_any_text(lines: list[str], end: str) -> None:
    """Whatever the lines (short, wide, blank, spaces, CR inside), each reader that takes
    a file gives the grid and line numbers the `csv` module gives."""
    from licreport.ledger.headers import Columns

    data = ("\n".join(lines) + end).encode("utf-8")
    if not data.strip(b"\r\n"):
        return  # an empty file: no reader is asked
    reads = read_by_each_csv_reader(data)
    grids = [list(r.rows) if isinstance(r.rows, Columns) else r.rows for r in reads]
    grids = [g.tolist() if not isinstance(g, list) else g for g in grids]
    assert grids[0] == grids[2] and grids[1] == grids[2]
    numbers = [list(r.row_numbers) for r in reads if r.row_numbers is not None]
    assert numbers[0] == numbers[2] and numbers[1] == numbers[2]


def test_columns_give_rows_slices_and_distinct_values() -> None:
    """`Columns`, the coded grid of a CSV file read by pyarrow: rows made on demand, a
    slice of rows sharing the distinct values, the distinct values of a column in it."""
    import numpy as np

    from licreport.ledger.headers import Columns

    grid = Columns(
        (np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2])),
        (np.array(["h", "x", "y"], dtype=object), np.array(["k", "1", "2"], dtype=object)),
    )
    assert (len(grid), grid.width) == (4, 2)
    assert grid[0] == ["h", "k"] and grid[3] == ["y", "2"]
    assert list(grid[1:]) == [["x", "1"], ["x", "2"], ["y", "2"]]
    assert grid[2:].distinct(0) == {"x", "y"} and grid[2:].distinct(1) == {"2"}
    assert grid.distinct(5) == set()


def test_sheets_read_ahead_wait_for_their_sheet_and_raise_the_reader_s_error() -> None:
    """`SheetsAhead`: the names are known at once; a sheet waits until the reader thread
    has read it; the reader's error is raised where a sheet it did not read is asked
    for, and by `close`, which leaves no thread behind (a run forks after the load)."""
    import threading

    from licreport.ledger.headers import RawSheet, SheetsAhead

    gate = threading.Event()

    def read():  # type: ignore[no-untyped-def]
        yield "Partners", RawSheet("f", "Partners", [["partner"], ["ATL"]])
        gate.wait(5)
        yield "Products", RawSheet("f", "Products", [["product"]])
        raise UnreadableFile("f: damaged at Pool")

    sheets = SheetsAhead(["Partners", "Products", "Pool"], read)
    assert list(sheets) == ["Partners", "Products", "Pool"] and len(sheets) == 3
    assert "Pool" in sheets and "Clients" not in sheets and sheets.get("Clients") is None
    assert sheets["Partners"].rows == [["partner"], ["ATL"]]
    gate.set()
    assert sheets["Products"].name == "Products"
    with pytest.raises(UnreadableFile, match="damaged at Pool"):
        sheets["Pool"]
    with pytest.raises(UnreadableFile, match="damaged at Pool"):
        sheets.close()
    assert threading.active_count() == 1


def test_a_sheet_the_reader_cannot_read_wins_over_a_header_problem(tmp_path: Path) -> None:
    """As when every sheet was read before any was matched: a CSV file that cannot be
    read stops the load even when an earlier file's headers are wrong."""
    import shutil

    folder = tmp_path / "ledger"
    shutil.copytree(Path(__file__).resolve().parent.parent / "sample_data" / "ledger", folder)
    (folder / "partners.csv").write_text("who,what\nA,B\n", encoding="utf-8")  # no partner
    (folder / "renewals.csv").write_bytes(b"\xff\xfe" + b"\x00\xd8" * 3)  # bad UTF-16
    with pytest.raises(UnreadableFile, match=r"renewals\.csv"):
        load_ledger(folder)
    (folder / "renewals.csv").unlink()
    with pytest.raises(SheetError, match="partner"):
        load_ledger(folder)


def test_the_largest_sheet_read_by_a_thread_of_its_own_loads_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`xlsx._cells` reads the largest sheet (Clients in the sample) with a second
    workbook in a thread of its own: the same tables and errors, sheets in the same
    order, and no thread left."""
    import threading

    from licreport.ledger import xlsx

    sample = Path(__file__).resolve().parent.parent / "sample_data" / "ledger.xlsx"
    seen: list[tuple[str, str]] = []
    read = xlsx._read_sheets

    def recording(*args: Any) -> Any:
        for item in read(*args):
            seen.append((item[0], threading.current_thread().name))
            yield item

    monkeypatch.setattr(xlsx, "_read_sheets", recording)
    one, one_errors = load_ledger(sample)
    first, seen[:] = list(seen), []
    monkeypatch.setattr(xlsx, "APART_CELLS", 0)
    two, two_errors = load_ledger(sample)
    assert {t for _, t in first} == {"ledger-read"}
    assert dict(seen)["Clients"] == "ledger-read-apart"
    assert {t for s, t in seen if s != "Clients"} == {"ledger-read"}
    assert sorted(s for s, _ in seen) == sorted(s for s, _ in first)
    assert two_errors == one_errors and list(two.tables) == list(one.tables)
    for name, table in one.tables.items():
        pd.testing.assert_frame_equal(two.tables[name].frame, table.frame)
    assert threading.active_count() == 1


def test_the_largest_sheet_is_read_while_the_others_are_scanned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The parts calamine opens are scanned first, then the largest sheet, whose read then
    begins while the others are scanned: the same ledger, no thread left."""
    import threading

    from licreport.ledger import safety, xlsx

    sample = Path(__file__).resolve().parent.parent / "sample_data" / "ledger.xlsx"
    one, one_errors = load_ledger(sample)
    events: list[tuple[str, str]] = []
    scan_worksheet, scan_plain, reader = (
        safety.scan_worksheet,
        safety.scan_plain_part,
        xlsx.SheetsAhead,
    )

    def scanned(streamer: Any, info: Any, sheet: str) -> Any:
        events.append(("scan", sheet))
        return scan_worksheet(streamer, info, sheet)

    def plain(streamer: Any, info: Any) -> None:
        events.append(("plain", info.filename))
        scan_plain(streamer, info)

    class Recorded(reader):  # type: ignore[misc, valid-type]
        def __init__(self, names: Any, read: Any, thread: str = "ledger-read") -> None:
            events.append(("read", f"{thread} {list(names)}"))
            super().__init__(names, read, thread)

    monkeypatch.setattr(safety, "scan_worksheet", scanned)
    monkeypatch.setattr(safety, "scan_plain_part", plain)
    monkeypatch.setattr(xlsx, "SheetsAhead", Recorded)
    monkeypatch.setattr(xlsx, "APART_CELLS", 0)
    two, two_errors = load_ledger(sample)
    kinds = [k for k, _ in events]
    assert kinds.index("scan") > max(i for i, k in enumerate(kinds) if k == "plain")
    with zipfile.ZipFile(sample) as z:
        sizes = {i.filename: i.file_size for i in z.infolist()}
    largest = max((n for n in sizes if n.startswith("xl/worksheets/")), key=sizes.__getitem__)
    assert largest == "xl/worksheets/sheet6.xml"  # Clients
    first = kinds.index("scan")
    assert events[first : first + 2] == [
        ("scan", "Clients"),
        ("read", "ledger-read-apart ['Clients']"),
    ]
    assert kinds[first + 2 :].count("scan") == 7  # the other ledger sheets, then their read
    assert (
        events[-1][1].startswith("ledger-read [")
        and kinds.index("read", first + 2) == len(kinds) - 1
    )
    assert two_errors == one_errors
    for name, table in one.tables.items():
        pd.testing.assert_frame_equal(two.tables[name].frame, table.frame)
    assert threading.active_count() == 1
