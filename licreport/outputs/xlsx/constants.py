"""Namespaces, relationship and content types, and the sizes the writer streams by."""

from __future__ import annotations

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_STRICT_MAIN = "{http://purl.oclc.org/ooxml/spreadsheetml/main}"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_DOC = NS_R + "/officeDocument"
REL_WORKSHEET = NS_R + "/worksheet"
REL_STYLES = NS_R + "/styles"
REL_DRAWING = NS_R + "/drawing"
REL_CHART = NS_R + "/chart"
REL_TABLE = NS_R + "/table"
REL_CALCCHAIN = NS_R + "/calcChain"
REL_THEME = NS_R + "/theme"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
CT_THEME = "application/vnd.openxmlformats-officedocument.theme+xml"
CT_RELS = "application/vnd.openxmlformats-package.relationships+xml"
CONTENT_TYPES = "[Content_Types].xml"

COMPRESSLEVEL = 3  # zlib's level where zipfile deflates (a recompressed copy; no isal)
CHUNK = 1 << 20  # bytes read at a time from a streamed sheet part
BATCH = 20_000  # rows rendered at a time
