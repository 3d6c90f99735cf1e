"""Zip-level writing of an .xlsx package: copy what a run does not change, stream the rest.

openpyxl needs ~30 s to load and save a 100,000-row ledger, so the updated
workbook is built from the input's zip: unchanged parts are copied compressed
bytes and all (`zipcopy`, no inflate/deflate), a ledger sheet with new rows is
streamed in chunks with the rows spliced in before ``</sheetData>``
(`appender`), and the small parts we touch (workbook, rels, content types,
styles, tables) get textual edits at places found with a safe parse
(defusedxml), so the user's namespace prefixes, ``mc:Ignorable`` lists and
extensions survive untouched (`parts`, `styles`, `packager`).

One job per module, in the manner of XlsxWriter: `xmlwriter` (escaping, XML
helpers), `utility` (cell references), `cells` (cell rendering), `styles`,
`zipcopy`, `parts`, `packager`, `appender`, `chart`, `worksheet`.
"""

from __future__ import annotations

from licreport.errors import LicreportError


class PatchError(LicreportError):
    """The input package has a shape this writer does not understand."""
