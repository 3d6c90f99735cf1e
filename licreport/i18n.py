"""Report languages (SPEC §11): the message catalogues and the locale of each language.

The catalogues are standard gettext files, one per language, shipped inside the
package: ``licreport/locale/<lang>/LC_MESSAGES/messages.po`` (the translators'
source) and the ``messages.mo`` compiled from it.  Strings are marked with
``gettext``/``ngettext`` in Python and ``{% trans %}``/``_()`` in the jinja2
templates, extracted with Babel (``babel.cfg``).  Regenerate after changing a
marked string (a test checks that every shipped ``.mo`` matches its ``.po``)::

    pybabel extract -F babel.cfg -o licreport/locale/messages.pot --no-location \\
        --omit-header --sort-output .
    pybabel update -i licreport/locale/messages.pot -d licreport/locale --no-fuzzy-matching \\
        --width 100
    pybabel compile -d licreport/locale --statistics

English is the source language: its "catalogue" is the msgids themselves, and its
numbers and dates keep the report's established formats (``1,234.50``,
``2 Feb 2026``), so the English report is unchanged.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

from babel import Locale
from babel.support import Translations

from licreport.errors import UsageError

DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT = "en"
LANGUAGES = ("en", "es", "de", "fr", "it", "pt")

# The Babel locale whose conventions format numbers, money and dates.  `pt` is European
# Portuguese (the partners are European; CLDR's bare `pt` is Brazilian): 1234,50 €, 01/02/2026.
_BABEL_LOCALES = {"es": "es_ES", "de": "de_DE", "fr": "fr_FR", "it": "it_IT", "pt": "pt_PT"}


def check_language(lang: str) -> str:
    """`lang` when it is one of LANGUAGES, else a usage error naming the choices."""
    if lang not in LANGUAGES:
        raise UsageError(f"unknown report language {lang!r}: use one of {', '.join(LANGUAGES)}")
    return lang


def catalogue_path(lang: str, suffix: str = ".mo") -> Path:
    """Where the compiled (`.mo`) or source (`.po`) catalogue of `lang` lives."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@cache
def translations(lang: str = DEFAULT) -> gettext.NullTranslations:
    """The gettext catalogue of `lang` (English: the msgids as they are).

    A missing catalogue is an error, not a silent fall-back to English.
    """
    check_language(lang)
    if lang == DEFAULT:
        return gettext.NullTranslations()
    path = catalogue_path(lang)
    if not path.is_file():
        raise UsageError(f"the {lang} message catalogue is missing ({path}): reinstall licreport")
    with path.open("rb") as fh:
        return Translations(fh, domain=DOMAIN)


@cache
def babel_locale(lang: str) -> Locale | None:
    """The Babel locale that formats numbers, money and dates for `lang`; None for English
    (the report's own English formats, see the module docstring)."""
    check_language(lang)
    name = _BABEL_LOCALES.get(lang)
    return Locale.parse(name) if name else None
