"""European CSV ledgers (SPEC §11 points 1-3): decimal comma, day-first dates in
options, and rows appended in each file's own style.

The European ledger is the sample CSV folder (`sample_data/ledger/`) as Excel
saves it in Spain or Germany: ``;`` delimited, decimal comma, ``dd/mm/yyyy``,
Windows-1252, CRLF.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from licreport.cli import main
from licreport.errors import LicreportError
from licreport.ledger.load import load_ledger
from licreport.ledger.model import CsvFormat
from licreport.ledger.parse import Bad, read_decimal, read_int
from licreport.ledger.schema import BY_NAME, DATE, DECIMAL, INT, normalise
from licreport.outputs.csvout import field, write_csv_folder

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "ledger"
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def european_copy(dst: Path, *, date_sep: str = "/", src: Path = SAMPLE) -> Path:
    """`src` rewritten as a Spanish/German Excel saves it: ``;``, ``1.234,50``,
    ``dd/mm/yyyy`` (``date_sep`` between the parts), Windows-1252, CRLF."""
    dst.mkdir()
    for f in sorted(src.glob("*.csv")):
        schema = BY_NAME[next(n for n in BY_NAME if normalise(n) == normalise(f.stem))]
        rows = list(csv.reader(io.StringIO(f.read_text("utf-8"), newline="")))
        kinds = []
        for header in rows[0]:
            column = next((c for c in schema.columns if c.name == normalise(header)), None)
            kinds.append(column.kind if column else None)
        out = [rows[0]]
        for row in rows[1:]:
            out.append([_european(v, k, date_sep) for v, k in zip(row, kinds, strict=True)])
        buf = io.StringIO()
        csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(out)
        (dst / f.name).write_bytes(buf.getvalue().encode("cp1252"))
    return dst


def _european(value: str, kind: str | None, sep: str) -> str:
    if not value:
        return value
    if kind == DATE:
        y, m, d = ISO_DATE.fullmatch(value).groups()  # type: ignore[union-attr]
        return f"{d}{sep}{m}{sep}{y}"
    if kind == DECIMAL:
        return value.replace(".", ",")
    if kind == INT and int(value) >= 1000:
        return f"{int(value):,}".replace(",", ".")
    return value


def tables(folder: Path, **options: bool) -> dict[str, pd.DataFrame]:
    ledger, errors = load_ledger(folder, **options)  # type: ignore[arg-type]
    assert errors == []
    return {n: t.frame.reset_index(drop=True) for n, t in ledger.tables.items()}


def cli(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


# ------------------------------------------------------------------ 1. decimal comma


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,50", Decimal("1234.50")),
        ("38,00", Decimal("38.00")),
        ("7,5", Decimal("7.5")),
        ("-3,25", Decimal("-3.25")),
        (",5", Decimal("0.5")),
        ("1.234", Decimal("1234")),  # "." groups thousands
        ("1 234,50", Decimal("1234.50")),
        ("1\u00a0234,50", Decimal("1234.50")),  # French Excel groups with a no-break space
        ("38,00 €", Decimal("38.00")),
        ("12", Decimal("12")),
    ],
)
def test_decimal_comma_reads(text: str, expected: Decimal) -> None:
    assert read_decimal(text, ",") == expected


@pytest.mark.parametrize(
    ("text", "decimal", "message"),
    [
        (
            "38.00",
            ",",
            '"38.00" is ambiguous: this file is read with a decimal comma; '
            "write it with a comma or pass --decimal-point",
        ),
        ("1,2,3", ",", '"1,2,3" is not a number'),
        (
            "38,00",
            ".",
            '"38,00" is ambiguous: write the decimal separator as a point '
            "(or pass --decimal-comma)",
        ),
        ("38,00", None, '"38,00" is ambiguous: write the decimal separator as a point'),
    ],
)
def test_decimal_refusals(text: str, decimal: str | None, message: str) -> None:
    result = read_decimal(text, decimal)
    assert isinstance(result, Bad) and str(result) == message


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("1.000", ",", 1000),
        ("12.345.678", ",", 12345678),
        ("5,0", ",", 5),
        ("1,000", ".", 1000),
        ("1,5", ",", Bad),
        ("1.5", ",", Bad),
        ("1.00", ",", Bad),  # not a thousands group
    ],
)
def test_whole_numbers_by_decimal_separator(text: str, decimal: str, expected: object) -> None:
    result = read_int(text, decimal)
    if expected is Bad:
        assert isinstance(result, Bad) and "is not a whole number" in result
    else:
        assert result == expected


def test_european_ledger_reads_exactly_like_the_sample(tmp_path: Path) -> None:
    euro = european_copy(tmp_path / "euro")
    assert b"38,00" in (euro / "pool.csv").read_bytes()
    assert "Gómez".encode("cp1252") in (euro / "clients.csv").read_bytes()
    expected = tables(SAMPLE)
    got = tables(euro, dayfirst=True)
    for name in expected:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)
    assert got["Pool"]["unit_price"].iloc[0] == Decimal("38.00")


def test_european_ledger_without_dayfirst_names_the_dates_only(tmp_path: Path) -> None:
    euro = european_copy(tmp_path / "euro")
    _, errors = load_ledger(euro)
    assert errors
    assert {e.column for e in errors} <= {"date", "start", "end"}
    assert str(errors[0]) == (
        'pool.csv:pool:A2: date: "06/02/2023" is not an ISO date (YYYY-MM-DD); '
        "pass --dayfirst or --monthfirst"
    )


POOL_TSV = "date\tproduct\tterm\tquantity\tunit_price\n2026-01-02\tAD360\t1\t1.000\t38,00\n"
PARTNERS = "partner,name,provider\nP1,Uno,Panda Security\n"
PRODUCTS = "product,name,family\nAD360,Adaptive Defense 360,EDR\n"


def folder_with_pool(tmp_path: Path, pool: str) -> Path:
    folder = tmp_path / "ledger"
    folder.mkdir()
    (folder / "partners.csv").write_text(PARTNERS)
    (folder / "products.csv").write_text(PRODUCTS)
    (folder / "pool.csv").write_text(pool)
    return folder


def test_tab_file_keeps_the_point_reading_unless_decimal_comma(tmp_path: Path) -> None:
    folder = folder_with_pool(tmp_path, POOL_TSV)
    ledger, errors = load_ledger(folder)
    assert [str(e) for e in errors] == [
        'pool.csv:pool:E2: unit_price: "38,00" is ambiguous: write the decimal separator '
        "as a point (or pass --decimal-comma)",
    ]
    assert ledger["Pool"]["quantity"].tolist() == [1]  # "1.000" with a decimal point is 1
    ledger, errors = load_ledger(folder, decimal=",")
    assert errors == []
    assert ledger["Pool"]["quantity"].tolist() == [1000]
    assert ledger["Pool"]["unit_price"].tolist() == [Decimal("38.00")]
    assert ledger.csv_formats["pool.csv"].decimal == ","
    assert ledger.csv_formats["partners.csv"].decimal == ","  # forced for every CSV file


def test_comma_file_with_a_quoted_decimal_comma(tmp_path: Path) -> None:
    folder = folder_with_pool(
        tmp_path, 'date,product,term,quantity,unit_price\n2026-01-02,AD360,1,5,"38,00"\n'
    )
    _, errors = load_ledger(folder)
    assert [e.message for e in errors] == [
        '"38,00" is ambiguous: write the decimal separator as a point (or pass --decimal-comma)'
    ]
    ledger, errors = load_ledger(folder, decimal=",")
    assert errors == [] and ledger["Pool"]["unit_price"].tolist() == [Decimal("38.00")]


def test_semicolon_file_with_decimal_point_forced(tmp_path: Path) -> None:
    folder = folder_with_pool(
        tmp_path, "date;product;term;quantity;unit_price\n2026-01-02;AD360;1;1,000;38.50\n"
    )
    ledger, errors = load_ledger(folder)
    assert [e.message for e in errors] == [
        '"38.50" is ambiguous: this file is read with a decimal comma; '
        "write it with a comma or pass --decimal-point",
    ]
    assert ledger["Pool"]["quantity"].tolist() == [1]  # "1,000" with a decimal comma is 1
    ledger, errors = load_ledger(folder, decimal=".")
    assert errors == []
    assert ledger["Pool"]["quantity"].tolist() == [1000]
    assert ledger["Pool"]["unit_price"].tolist() == [Decimal("38.50")]


def test_xlsx_numbers_are_never_reinterpreted(write_xlsx) -> None:  # type: ignore[no-untyped-def]
    path = write_xlsx(
        {
            "Partners": [["partner", "provider"], ["P1", "Panda Security"]],
            "Products": [["product", "family"], ["AD360", "EDR"]],
            "Pool": [
                ["date", "product", "term", "quantity", "unit_price"],
                ["2026-01-02", "AD360", 1, 1000, 38.5],
                ["2026-01-03", "AD360", 1, 5, 1.234],
            ],
        }
    )
    ledger, errors = load_ledger(path, decimal=",")
    assert errors == []
    assert ledger["Pool"]["quantity"].tolist() == [1000, 5]
    assert ledger["Pool"]["unit_price"].tolist() == [Decimal("38.5"), Decimal("1.234")]
    assert ledger.csv_formats == {}


def test_validate_takes_decimal_comma(tmp_path: Path) -> None:
    folder = folder_with_pool(tmp_path, POOL_TSV)
    code, stdout, _ = cli("validate", folder)
    assert code == 1 and '"38,00" is ambiguous' in stdout
    code, stdout, _ = cli("validate", folder, "--decimal-comma")
    assert code == 0, stdout
    code, stdout, _ = cli("validate", folder, "--decimal-comma", "--decimal-point")
    assert code == 1  # the last one given wins, as for any Click flag pair


# ------------------------------------------------------------------ what the reader saw


def test_reader_records_each_files_format(tmp_path: Path) -> None:
    euro = european_copy(tmp_path / "euro")
    ledger, _ = load_ledger(euro, dayfirst=True)
    assert ledger.csv_formats["clients.csv"] == CsvFormat(";", ",", "cp1252", b"", "dmy", "/")
    # products.csv is plain ASCII: recorded as Windows-1252, like the files Excel saved with it.
    assert (euro / "products.csv").read_bytes().isascii()
    assert ledger.csv_formats["products.csv"] == CsvFormat(";", ",", "cp1252", b"", "iso", "/")
    ledger, _ = load_ledger(SAMPLE, dayfirst=True)  # ISO dates read with --dayfirst stay ISO
    assert ledger.csv_formats["clients.csv"] == CsvFormat(",", ".", "utf-8", b"", "iso", "/")


def test_reader_records_month_first_and_dotted_dates(tmp_path: Path) -> None:
    folder = folder_with_pool(
        tmp_path, "\ufeffdate;product;term;quantity\n01.23.2026;AD360;1;5\n2026-02-01;AD360;1;5\n"
    )
    ledger, errors = load_ledger(folder, monthfirst=True)
    assert errors == []
    assert ledger.csv_formats["pool.csv"] == CsvFormat(
        ";", ",", "utf-8", codecs.BOM_UTF8, "mdy", "."
    )


# ------------------------------------------------------------------ 2. dates in options


def test_status_as_of_day_first(tmp_path: Path) -> None:
    code, iso, _ = cli("status", SAMPLE, "--as-of", "2026-12-01", "--json")
    assert code == 0
    code, dmy, _ = cli("status", SAMPLE, "--as-of", "01/12/2026", "--dayfirst", "--json")
    assert code == 0 and json.loads(dmy)["as_of"] == "2026-12-01"
    assert dmy == iso
    code, mdy, _ = cli("status", SAMPLE, "--as-of", "12/01/2026", "--monthfirst", "--json")
    assert code == 0 and mdy == iso
    code, dayfirst_iso, _ = cli("status", SAMPLE, "--as-of", "2026-12-01", "--dayfirst", "--json")
    assert code == 0 and dayfirst_iso == iso  # ISO is always accepted


def test_as_of_day_first_needs_the_flag() -> None:
    code, _, stderr = cli("status", SAMPLE, "--as-of", "01/12/2026")
    assert code == 2
    assert '"01/12/2026" is not an ISO date (YYYY-MM-DD); pass --dayfirst or --monthfirst' in stderr
    code, _, stderr = cli("status", SAMPLE, "--as-of", "31/12/2026", "--monthfirst")
    assert code == 2 and '"31/12/2026" is not a valid date' in stderr


def test_quote_date_day_first() -> None:
    # SPEC R1 seed: AD360 at 3 points, 30 devices on 2026-01-23 -> 9 days, 9 licences, 27 points.
    args = ["quote", "--product", "AD360", "--devices", "30", "--json"]
    code, stdout, _ = cli(*args, "--date", "23/01/2026", "--dayfirst", "--points-per-licence", "3")
    assert code == 0
    doc = json.loads(stdout)
    assert (doc["date"], doc["days"], doc["licences"], doc["points"]) == ("2026-01-23", 9, 9, 27)
    code, stdout, _ = cli(*args, "--date", "01/23/2026", "--monthfirst", "--ledger", SAMPLE)
    assert code == 0 and json.loads(stdout)["points"] == 27
    code, _, stderr = cli(*args, "--date", "23/01/2026", "--points-per-licence", "3")
    assert code == 2 and "pass --dayfirst or --monthfirst" in stderr


def test_report_and_recover_take_day_first_as_of(tmp_path: Path) -> None:
    code, stdout, _ = cli("recover", SAMPLE, "--as-of", "01/12/2026", "--dayfirst", "--json")
    assert code == 0 and json.loads(stdout)["as_of"] == "2026-12-01"
    out = tmp_path / "out"
    code, _, _ = cli("report", SAMPLE, "--as-of", "01/12/2026", "--dayfirst", "--out", out)
    assert code == 0 and (out / "report-2026-12.html").is_file()


# ------------------------------------------------------------------ 3. writing back


def appended(before: Path, after: Path) -> bytes:
    """The bytes `after` adds to `before` (which must be left as it was, byte for byte)."""
    old, new = before.read_bytes(), after.read_bytes()
    assert new.startswith(old), f"{after.name}: the original bytes changed"
    return new[len(old) :]


def run_chain(ledger: Path, out: Path, *flags: str) -> Path:
    """reconcile --month 2026-12 --exchange, then 2027-01 on the output CSV folder."""
    code, stdout, stderr = cli(
        "reconcile", ledger, "--month", "2026-12", "--exchange", "--out", out / "dec", *flags
    )
    assert code == 0, stdout + stderr
    december = out / "dec" / f"{ledger.name}-2026-12"
    code, stdout, stderr = cli(
        "reconcile", december, "--month", "2027-01", "--exchange", "--out", out / "jan", *flags
    )
    assert code == 0, stdout + stderr
    return december


def test_two_monthly_runs_on_a_european_ledger(tmp_path: Path) -> None:
    euro = european_copy(tmp_path / "euro")
    december = run_chain(euro, tmp_path / "euro-out", "--dayfirst")
    january = tmp_path / "euro-out" / "jan" / "euro-2027-01"

    # December's exchanges: the input's bytes, then rows in the file's own style.
    added = appended(euro / "exchanges.csv", december / "exchanges.csv").decode("cp1252")
    lines = added.split("\r\n")
    assert lines[-1] == "" and len(lines) > 1
    for line in lines[:-1]:
        assert line.startswith("01/12/2026;") and line.count(";") == 8, line
    assert "2026-12-01" not in added
    # January's, appended to December's output the same way.
    added = appended(december / "exchanges.csv", january / "exchanges.csv").decode("cp1252")
    assert all(line.startswith("01/01/2027;") for line in added.split("\r\n")[:-1])
    assert added.endswith("\r\n") and "2027-01-01" not in added
    # Renewals is a new file: UTF-8 (with a BOM, the folder being Windows-1252), ";".
    renewals = (december / "renewals.csv").read_bytes()
    assert renewals.startswith(codecs.BOM_UTF8 + b"run;month;partner;")
    added = appended(december / "renewals.csv", january / "renewals.csv").decode("utf-8")
    assert ";2027-01;" in added and "," not in added

    # The same chain on the ISO sample: every table reads back with the same values.
    iso = tmp_path / "iso"
    shutil.copytree(SAMPLE, iso)
    run_chain(iso, tmp_path / "iso-out")
    expected = tables(tmp_path / "iso-out" / "jan" / "iso-2027-01")
    got = tables(january, dayfirst=True)
    for name in expected:
        # Run ids hash the input file, which differs: compare everything else.
        drop = [c for c in ("run",) if c in expected[name]]
        pd.testing.assert_frame_equal(
            got[name].drop(columns=drop), expected[name].drop(columns=drop), obj=name
        )
    assert len(got["Exchanges"]) > len(tables(euro, dayfirst=True)["Exchanges"])


def test_recovery_rows_follow_the_european_files(tmp_path: Path) -> None:
    euro = european_copy(tmp_path / "euro", date_sep=".")
    out = tmp_path / "out"
    code, stdout, stderr = cli(
        "recover", euro, "--as-of", "01.12.2026", "--dayfirst", "--apply", "--out", out
    )
    assert code == 0, stdout + stderr
    written = out / "euro-2026-12"
    clients = appended(euro / "clients.csv", written / "clients.csv").decode("cp1252")
    # C-IBX-001 (Talleres Gómez SA) held 45 licences and used 38: 7 taken off (R4).
    assert "IBX;C-IBX-001;Talleres Gómez SA;AD360;1;7;01.12.2026;" in clients
    assert "2026-12-01" not in clients and "," not in clients
    pool = appended(euro / "pool.csv", written / "pool.csv").decode("cp1252")
    assert pool.startswith("01.12.2026;")
    got = tables(written, dayfirst=True)
    rec = got["Clients"][got["Clients"]["ref"].str.startswith("REC-20261201").fillna(False)]
    assert "Talleres Gómez SA" in rec["client_name"].tolist()
    assert set(rec["start"]) == {pd.Timestamp("2026-12-01")}


def test_month_first_file_gets_month_first_rows(tmp_path: Path) -> None:
    folder = folder_with_pool(
        tmp_path, "date,product,term,quantity,unit_price\r\n01/23/2026,AD360,1,5,12.50\r\n"
    )
    ledger, errors = load_ledger(folder, monthfirst=True)
    assert errors == []
    new = pd.DataFrame(
        {
            "date": [pd.Timestamp("2026-12-01")],
            "product": ["AD360"],
            "term": ["1"],
            "quantity": [3],
            "unit_price": [Decimal("1234.5")],
        }
    )
    write_csv_folder(ledger, tmp_path / "out", appended={"Pool": new})
    assert appended(folder / "pool.csv", tmp_path / "out" / "pool.csv") == (
        b"12/01/2026,AD360,1,3,1234.5\r\n"
    )


def test_decimal_comma_file_gets_decimal_comma_rows(tmp_path: Path) -> None:
    folder = folder_with_pool(
        tmp_path, "date;product;term;quantity;unit_price\n2026-01-02;AD360;1;5;12,50\n"
    )
    ledger, errors = load_ledger(folder)
    assert errors == []
    new = pd.DataFrame(
        {"date": [pd.Timestamp("2026-12-01")], "product": ["AD360"], "term": ["1"],
         "quantity": [1000], "unit_price": [Decimal("1234.50")], "note": ["Café"]}
    )  # fmt: skip
    warned: list[str] = []
    write_csv_folder(ledger, tmp_path / "out", appended={"Pool": new}, warn=warned.append)
    # The header lacks "note": it stays as it is (SPEC §11) and the note is left out, said.
    text = (tmp_path / "out" / "pool.csv").read_text("utf-8")
    assert text == (
        "date;product;term;quantity;unit_price\n"
        "2026-01-02;AD360;1;5;12,50\n"
        "2026-12-01;AD360;1;1000;1234,50\n"
    )
    assert len(warned) == 1 and warned[0].startswith("pool.csv has no note column")
    again, errors = load_ledger(tmp_path / "out")
    assert errors == []
    assert again["Pool"]["unit_price"].tolist() == [Decimal("12.50"), Decimal("1234.50")]


def test_field_styles() -> None:
    euro = CsvFormat(";", ",", "cp1252", b"", "dmy", "/")
    assert field(Decimal("-1234.5"), euro) == "-1234,5"
    assert field(2.25, euro) == "2,25"
    assert field(1000, euro) == "1000"
    assert field(pd.Timestamp("2027-01-09"), euro) == "09/01/2027"
    assert field(pd.Timestamp("2027-01-09")) == "2027-01-09"
    assert field(Decimal("2.5")) == "2.5"


def test_a_character_the_files_encoding_cannot_hold_stops_the_write(tmp_path: Path) -> None:
    euro = european_copy(tmp_path / "euro")
    ledger, _ = load_ledger(euro, dayfirst=True)
    new = pd.DataFrame(
        {"date": [pd.Timestamp("2026-12-01")], "partner": ["IBX"], "product": ["AD360"],
         "term": ["1"], "quantity": [1], "note": ["Łódź"]}
    )  # fmt: skip
    before = (euro / "pool.csv").read_bytes()
    with pytest.raises(LicreportError, match=r"pool.csv: is cp1252 text, which cannot hold 'Ł'"):
        write_csv_folder(ledger, tmp_path / "out", appended={"Pool": new})
    assert (euro / "pool.csv").read_bytes() == before


@pytest.mark.parametrize(
    "command", ["validate", "quote", "status", "recover", "renew", "report", "reconcile"]
)
def test_every_ledger_command_takes_the_european_options(command: str) -> None:
    code, stdout, _ = cli(command, "--help")
    assert code == 0
    for option in ("--decimal-comma / --decimal-point", "--dayfirst", "--monthfirst"):
        assert option in stdout
