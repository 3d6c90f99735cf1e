"""Report languages (SPEC §11): catalogues complete and shipped compiled, the sample's report
in every language with no English label left, locale formats by Babel, `--lang` on the CLI."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from click.testing import CliRunner

from licreport import i18n
from licreport.cli import main
from licreport.outputs.filters import Formats

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
USAGE = ROOT / "sample_data" / "usage-2026-12.csv"
BILLING = ROOT / "sample_data" / "billing-2026-12.xlsx"
TRANSLATED = [lang for lang in i18n.LANGUAGES if lang != "en"]
NBSP = "\xa0"
NNBSP = "\u202f"  # French groups digits with a narrow no-break space

# Words spelt the same in English and in the language (a translation, not a leftover).
SAME_WORD = {
    "es": {"Total", "manual"},
    "de": {"Partner"},
    "fr": {
        "Client",
        "Clients",
        "Licences",
        "Total",
        "Points",
        "Conventions",
        "Sections",
        "Suggestions",
    },
    "it": {"Input", "File"},
    "pt": {"Total", "manual"},
}


def _catalogue(lang: str) -> Catalog:
    with i18n.catalogue_path(lang, ".po").open("rb") as fh:
        return read_po(fh, locale=lang if lang != "pt" else "pt_PT")


def _extracted() -> set[str]:
    """The msgids marked in the code and templates today, extracted as babel.cfg says."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    ids: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


# --------------------------------------------------------------------------- catalogues


def test_catalogues_hold_exactly_the_marked_strings() -> None:
    """A string marked in code or templates but absent from a catalogue (or a stale entry)
    fails here: run the three pybabel commands of licreport/i18n.py."""
    marked = _extracted()
    assert len(marked) > 150
    for lang in TRANSLATED:
        ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in _catalogue(lang) if m.id}
        assert ids == marked, (lang, sorted(marked - ids), sorted(ids - marked))


@pytest.mark.parametrize("lang", TRANSLATED)
def test_po_complete_no_fuzzy_placeholders_kept(lang: str) -> None:
    catalogue = _catalogue(lang)
    assert not catalogue.fuzzy
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"{lang}: untranslated {message.id!r}"
        assert "fuzzy" not in message.flags, f"{lang}: fuzzy {message.id!r}"
        assert not list(message.check(catalogue)), f"{lang}: {message.id!r}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(re.findall(r"%\(\w+\)s", ids[0]))
        for s in strings:
            assert set(re.findall(r"%\(\w+\)s", s)) == wanted, (lang, message.id, s)
            assert s.count("<") == ids[0].count("<"), (lang, message.id, s)  # markup kept


@pytest.mark.parametrize("lang", TRANSLATED)
def test_shipped_mo_matches_po(lang: str) -> None:
    """The compiled catalogue in the package is the .po compiled (pybabel compile)."""
    with i18n.catalogue_path(lang).open("rb") as fh:
        compiled = read_mo(fh)

    def entries(catalogue: Catalog) -> dict[object, object]:
        return {
            tuple(m.id) if isinstance(m.id, list | tuple) else m.id: tuple(m.string)
            if isinstance(m.string, list | tuple)
            else m.string
            for m in catalogue
            if m.id
        }

    shipped, source = entries(compiled), entries(_catalogue(lang))
    assert len(shipped) > 150
    assert shipped == source


def test_unknown_language_is_a_usage_error() -> None:
    with pytest.raises(i18n.UsageError, match="unknown report language 'xx'"):
        i18n.translations("xx")


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("lang", "money", "number", "date", "month", "percent"),
    [
        ("en", "EUR 1,234.50", "1,234.5", "1 Dec 2026", "December 2026", "86%"),
        ("de", f"1.234,50{NBSP}€", "1.234,5", "01.12.2026", "Dezember 2026", f"86{NBSP}%"),
        ("es", f"1.234,50{NBSP}€", "1.234,5", "1 dic 2026", "diciembre de 2026", f"86{NBSP}%"),
        ("fr", f"1{NNBSP}234,50{NBSP}€", f"1{NNBSP}234,5", "1 déc. 2026", "décembre 2026",
         f"86{NBSP}%"),
        ("it", "1.234,50\xa0€", "1.234,5", "1 dic 2026", "dicembre 2026", "86%"),
        ("pt", f"1{NBSP}234,50{NBSP}€", f"1{NBSP}234,5", "01/12/2026", "dezembro de 2026", "86%"),
    ],
)  # fmt: skip
def test_locale_formats(
    lang: str, money: str, number: str, date: str, month: str, percent: str
) -> None:
    f = Formats(lang)
    assert f.money(Decimal("1234.495"), "EUR") == money  # half-up to cents, then laid out
    assert f.number(Decimal("1234.5")) == number
    assert f.date("2026-12-01") == date
    assert f.month_label("2026-12") == month
    assert f.percent(Decimal("0.855")) == percent


def test_big_money_grouped_in_spanish() -> None:
    assert Formats("es").money("52620.125", "EUR") == f"52.620,13{NBSP}€"
    assert Formats("de").money("52620.125", "GBP") == f"52.620,13{NBSP}£"


@pytest.mark.parametrize(
    ("lang", "one", "many", "today", "term"),
    [
        ("en", "1 licence", "2 licences", "today", "3 years"),
        ("de", "1 Lizenz", "1.000 Lizenzen", "heute", "3 Jahre"),
        ("es", "1 licencia", "1.000 licencias", "hoy", "3 años"),
        ("fr", "1 licence", "1\u202f000 licences", "aujourd'hui", "3 ans"),
        ("it", "1 licenza", "1.000 licenze", "oggi", "3 anni"),
        ("pt", "1 licença", f"1{NBSP}000 licenças", "hoje", "3 anos"),
    ],
)
def test_plural_words(lang: str, one: str, many: str, today: str, term: str) -> None:
    f = Formats(lang)
    assert f.pluralise(1, "licence") == one
    assert f.pluralise(2 if lang == "en" else 1000, "licence") == many
    assert f.days(0) == today
    assert f.term(3) == term
    with pytest.raises(ValueError, match="no catalogue entry"):
        f.pluralise(2, "widget")


@pytest.mark.parametrize(
    ("lang", "file", "run", "suggestions"),
    [
        ("en", "none", "none", "none"),
        ("de", "keine", "keiner", "keine"),  # die Datei, der Lauf, die Vorschläge
        ("es", "ninguno", "ninguna", "ninguna"),  # el archivo, la ejecución, las sugerencias
        ("fr", "aucun", "aucune", "aucune"),  # le fichier, l'exécution, les suggestions
        ("it", "nessuno", "nessuna", "nessuno"),  # il file, l'esecuzione, i suggerimenti
        ("pt", "nenhum", "nenhuma", "nenhuma"),  # o ficheiro, a execução, as sugestões
    ],
)
def test_none_agrees_with_what_is_missing(lang: str, file: str, run: str, suggestions: str) -> None:
    """One English "none", three words where the noun's gender decides (pgettext contexts)."""
    f = Formats(lang)
    assert f.pgettext("file", "none") == file
    assert f.pgettext("renewal run", "none") == run
    assert f.pgettext("suggestions", "none") == suggestions


def test_templates_say_which_none() -> None:
    """Every "none" in the templates carries its context (a bare one would lose gender)."""
    for template in (ROOT / "templates").glob("*.j2"):
        text = template.read_text(encoding="utf-8")
        assert '_("none")' not in text and 'gettext("none")' not in text, template.name


# --------------------------------------------------------------------------- the report


class _Text(HTMLParser):
    """Visible text nodes (and aria-labels) of a page, without its style sheet."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self.lang: str | None = None
        self._style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._style = tag == "style"
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if values.get("aria-label"):
            self.nodes.append(str(values["aria-label"]))

    def handle_endtag(self, tag: str) -> None:
        self._style = False

    def handle_data(self, data: str) -> None:
        if not self._style and data.strip():
            self.nodes.append(" ".join(data.split()))


def _reconcile(tmp_path_factory: pytest.TempPathFactory, lang: str) -> str:
    out = tmp_path_factory.mktemp(f"report-{lang}")
    result = CliRunner().invoke(
        main,
        ["reconcile", str(SAMPLE), "--month", "2026-12", "--lang", lang, "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    return (out / "report-2026-12.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {lang: _reconcile(tmp_path_factory, lang) for lang in i18n.LANGUAGES}


def _english_labels() -> tuple[set[str], list[str]]:
    """The English msgids as whole labels, and the literal runs of the sentences."""
    labels: set[str] = set()
    fragments: list[str] = []
    for msgid in _extracted():
        if "%(" not in msgid and "<" not in msgid:
            labels.add(msgid.replace("&amp;", "&"))
        for run in re.split(r"%\(\w+\)s|<[^>]+>", msgid):
            if len(run.strip()) >= 16:
                fragments.append(run.strip().replace("&amp;", "&"))
    return {x for x in labels if len(x) > 3}, fragments


@pytest.mark.parametrize("lang", TRANSLATED)
def test_no_english_left(reports: dict[str, str], lang: str) -> None:
    page = _Text()
    page.feed(reports[lang])
    labels, fragments = _english_labels()
    left = [n for n in page.nodes if n in labels and n not in SAME_WORD[lang]]
    assert not left, f"{lang}: English labels left: {sorted(set(left))}"
    text = "\n".join(page.nodes)
    assert not [f for f in fragments if f in text], lang
    assert page.lang == lang


def test_english_report_is_english(reports: dict[str, str]) -> None:
    page = _Text()
    page.feed(reports["en"])
    labels, _ = _english_labels()
    assert page.lang == "en"
    assert {"Summary", "What to buy", "Renewal worklist", "Conventions"} <= set(page.nodes)
    assert labels & set(page.nodes)


@pytest.mark.parametrize(
    ("lang", "as_of", "heading", "money"),
    [
        ("en", "1 Dec 2026", "What to buy", "EUR 52,620.13"),
        ("de", "01.12.2026", "Was zu kaufen ist", f"52.620,13{NBSP}€"),
        ("es", "1 dic 2026", "Qué comprar", f"52.620,13{NBSP}€"),
        ("fr", "1 déc. 2026", "Quoi acheter", f"52{NNBSP}620,13{NBSP}€"),
        ("it", "1 dic 2026", "Cosa acquistare", f"52.620,13{NBSP}€"),
        ("pt", "01/12/2026", "O que comprar", f"52{NBSP}620,13{NBSP}€"),
    ],
)
def test_sample_report_in_each_language(
    reports: dict[str, str], lang: str, as_of: str, heading: str, money: str
) -> None:
    """The sample's December run: the as-of date, a heading and the pool spend of every
    partner (EUR 52,620.13 in the English report) in the language's formats."""
    html = reports[lang]
    assert f'<html lang="{lang}">' in html
    assert f"<dd>{as_of} (2026-12-01)</dd>" in html
    assert f"<h2>{heading}</h2>" in html
    assert money in html
    assert '<span class="id">C-ATL-001</span>' in html  # data is never translated


def test_unknown_lang_is_usage_error(tmp_path: Path) -> None:
    for command in (
        ["report", "--as-of", "2026-12-01"],
        ["reconcile", "--month", "2026-12"],
        ["match", "--usage", str(USAGE), "--month", "2026-12"],
    ):
        result = CliRunner().invoke(
            main, [command[0], str(SAMPLE), *command[1:], "--lang", "xx", "--out", str(tmp_path)]
        )
        assert result.exit_code == 2, result.output
        assert "--lang" in result.output
    assert not list(tmp_path.iterdir())  # nothing written


def test_report_command_takes_lang(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["report", str(SAMPLE), "--as-of", "2026-12-01", "--lang", "de", "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "report-2026-12.html").read_text(encoding="utf-8")
    assert '<html lang="de">' in html
    assert "<h2>Übersicht</h2>" in html


def test_split_reports_in_the_language(tmp_path: Path) -> None:
    """--split with --lang: every partner's own report is in the language too, with the
    one-partner wording translated."""
    result = CliRunner().invoke(
        main,
        ["reconcile", str(SAMPLE), "--month", "2026-12", "--split", "--lang", "de",
         "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "partners").glob("*/report-2026-12.html"))
    assert len(files) >= 2
    labels, fragments = _english_labels()
    for path in files:
        html = path.read_text(encoding="utf-8")
        page = _Text()
        page.feed(html)
        assert page.lang == "de", path
        assert "Die eigenen Zahlen dieses Partners." in page.nodes, path
        assert "<h2>Verlauf</h2>" in html, path  # the History section
        left = [n for n in page.nodes if n in labels and n not in SAME_WORD["de"]]
        assert not left, (path, sorted(set(left)))
        text = "\n".join(page.nodes)
        assert not [f for f in fragments if f in text], path


# --------------------------------------------------------------------------- the match page


def _match(tmp_path_factory: pytest.TempPathFactory, lang: str) -> str:
    out = tmp_path_factory.mktemp(f"match-{lang}")
    result = CliRunner().invoke(
        main,
        ["match", str(SAMPLE), "--usage", str(USAGE), "--billing", str(BILLING),
         "--month", "2026-12", "--lang", lang, "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return (out / "match-2026-12.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def match_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {lang: _match(tmp_path_factory, lang) for lang in i18n.LANGUAGES}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_match_page_no_english_left(match_pages: dict[str, str], lang: str) -> None:
    page = _Text()
    page.feed(match_pages[lang])
    labels, fragments = _english_labels()
    left = [n for n in page.nodes if n in labels and n not in SAME_WORD[lang]]
    assert not left, f"{lang}: English labels left: {sorted(set(left))}"
    text = "\n".join(page.nodes)
    assert not [f for f in fragments if f in text], lang
    assert page.lang == lang


@pytest.mark.parametrize(
    ("lang", "heading", "impact", "month"),
    [
        ("en", "Reconciliation", "EUR 105.00", "December 2026"),
        ("de", "Abgleich", f"105,00{NBSP}€", "Dezember 2026"),
        ("es", "Conciliación", f"105,00{NBSP}€", "diciembre de 2026"),
        ("fr", "Rapprochement", f"105,00{NBSP}€", "décembre 2026"),
        ("it", "Riconciliazione", f"105,00{NBSP}€", "dicembre 2026"),
        ("pt", "Reconciliação", f"105,00{NBSP}€", "dezembro de 2026"),
    ],
)
def test_match_page_in_each_language(
    match_pages: dict[str, str], lang: str, heading: str, impact: str, month: str
) -> None:
    """The sample's December match: the largest finding is NRD's C-NRD-003 AD360,
    underbilled by 25 seats at 4.20 = 105.00 a month, in the partner's currency (EUR)."""
    html = match_pages[lang]
    assert f'<html lang="{lang}">' in html
    assert f"<h1>{heading}</h1>" in html
    assert f"<dd>{month}</dd>" in html
    row = html[html.index('<span class="id">C-NRD-003</span>') :]
    row = row[: row.index("</tr>")]
    assert impact in row
    assert '<span class="id">C-NRD-003</span>' in html  # data is never translated


def test_match_totals_de(match_pages: dict[str, str]) -> None:
    """The KPI totals, by hand from the sample's summary (tests/test_cli_match.py):
    underbilled 16.80 + 37.20 + 105.00 = 159.00 and overbilled -21.00 - 6.00 = -27.00 a
    month, in German formats; no English-formatted amount left."""
    html = match_pages["de"]
    assert f"5 Zeilen · 159,00{NBSP}€ pro Monat" in html
    assert f"2 Zeilen · -27,00{NBSP}€ pro Monat" in html
    assert not re.search(r"EUR -?[\d,]*\.\d\d", html)
