"""The native column chart of a computed sheet: its chart and drawing parts.

The chart sits below its table, in the table's first columns, so a sheet
printed one page wide keeps it whole (never beside a long table, never cut).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from licreport.outputs.xlsx.cells import shown
from licreport.outputs.xlsx.constants import NS_R
from licreport.outputs.xlsx.utility import sheet_ref
from licreport.outputs.xlsx.xmlwriter import xml_attr, xml_text

CHART_COLS, CHART_ROWS = 9, 18  # the chart's size in cells
GAP_ROWS = 2  # blank rows between the table and the chart below it


@dataclass(frozen=True)
class ChartSpec:
    """A native Excel clustered column chart of a computed sheet.

    ``rows``: the chart covers the table's first `rows` rows (None: every row up
    to the last category).  ``labels``: the legend entry of each series (default:
    the column's header).
    """

    title: str
    categories: str  # column of the frame holding the category labels
    values: tuple[str, ...]  # numeric columns, one series each
    rows: int | None = None
    labels: tuple[str, ...] = ()
    source: str | None = None  # the computed sheet whose table it plots (None: its own)


def chart_top(n_rows: int) -> int:
    """The 0-based sheet row where the chart of a table of `n_rows` data rows starts."""
    return n_rows + 1 + GAP_ROWS


def chart_parts(
    sheet: str, frame: pd.DataFrame, spec: ChartSpec, table_rows: int | None = None
) -> tuple[bytes, bytes]:
    """(drawing xml, chart xml) of a clustered column chart of `sheet`'s table `frame`,
    placed below the table of the sheet it sits on (`table_rows` data rows; default:
    it sits on `sheet`)."""
    cols = list(frame.columns)
    missing = [c for c in (spec.categories, *spec.values) if c not in cols]
    if missing:
        raise ValueError(f"chart {spec.title!r}: no column {missing[0]!r} in sheet {sheet!r}")
    # The chart's rows end at the last category (its columns may sit beside a longer table).
    present = np.flatnonzero(frame[spec.categories].notna().to_numpy())
    n = int(present[-1]) + 1 if len(present) else 0
    if spec.rows is not None:
        n = min(n, spec.rows)
    if table_rows is None:
        table_rows = len(frame)
    frame = frame.iloc[:n]
    last = max(n + 1, 2)
    cat_idx = cols.index(spec.categories)
    labels = [shown(v) for v in frame[spec.categories].tolist()]
    cat_cache = "".join(
        f'<c:pt idx="{i}"><c:v>{xml_text(t)}</c:v></c:pt>' for i, t in enumerate(labels)
    )
    cat = (
        f"<c:cat><c:strRef><c:f>{xml_text(sheet_ref(sheet, cat_idx, 2, cat_idx, last))}</c:f>"
        f'<c:strCache><c:ptCount val="{n}"/>{cat_cache}</c:strCache></c:strRef></c:cat>'
    )
    series = []
    for k, name in enumerate(spec.values):
        idx = cols.index(name)
        values = pd.to_numeric(
            frame[name].map(lambda v: float(v) if isinstance(v, Decimal) else v), errors="coerce"
        )
        pts = "".join(
            f'<c:pt idx="{i}"><c:v>{v!r}</c:v></c:pt>'
            for i, v in enumerate(values.astype("float64").tolist())
            if v == v
        )
        if k < len(spec.labels):  # a legend entry of its own
            tx = f"<c:tx><c:v>{xml_text(spec.labels[k])}</c:v></c:tx>"
        else:  # the column's header
            tx = (
                f"<c:tx><c:strRef><c:f>{xml_text(sheet_ref(sheet, idx, 1))}</c:f>"
                f'<c:strCache><c:ptCount val="1"/><c:pt idx="0"><c:v>{xml_text(str(name))}'
                "</c:v></c:pt></c:strCache></c:strRef></c:tx>"
            )
        series.append(
            f'<c:ser><c:idx val="{k}"/><c:order val="{k}"/>{tx}{cat}'
            f"<c:val><c:numRef><c:f>{xml_text(sheet_ref(sheet, idx, 2, idx, last))}</c:f>"
            f'<c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="{n}"/>{pts}'
            "</c:numCache></c:numRef></c:val></c:ser>"
        )
    chart = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{NS_R}"><c:lang val="en-US"/><c:chart>'
        "<c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr/></a:pPr>"
        f'<a:r><a:rPr lang="en-US"/><a:t>{xml_text(spec.title)}</a:t></a:r></a:p></c:rich></c:tx>'
        '<c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/>'
        '<c:plotArea><c:layout/><c:barChart><c:barDir val="col"/><c:grouping val="clustered"/>'
        f'<c:varyColors val="0"/>{"".join(series)}'
        '<c:dLbls><c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/>'
        '<c:showSerName val="0"/><c:showPercent val="0"/><c:showBubbleSize val="0"/></c:dLbls>'
        '<c:gapWidth val="80"/><c:axId val="50010001"/><c:axId val="50010002"/></c:barChart>'
        '<c:catAx><c:axId val="50010001"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="b"/><c:numFmt formatCode="General" sourceLinked="1"/>'
        '<c:tickLblPos val="nextTo"/><c:crossAx val="50010002"/><c:crosses val="autoZero"/>'
        '<c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/></c:catAx>'
        '<c:valAx><c:axId val="50010002"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="l"/><c:majorGridlines/>'
        '<c:numFmt formatCode="General" sourceLinked="1"/><c:tickLblPos val="nextTo"/>'
        '<c:crossAx val="50010001"/><c:crosses val="autoZero"/><c:crossBetween val="between"/>'
        '</c:valAx></c:plotArea><c:legend><c:legendPos val="b"/><c:overlay val="0"/></c:legend>'
        '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>'
    ).encode()
    top = chart_top(table_rows)
    drawing = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:twoCellAnchor>'
        f"<xdr:from><xdr:col>0</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{top}</xdr:row>"
        f"<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>{CHART_COLS}</xdr:col>"
        f"<xdr:colOff>0</xdr:colOff><xdr:row>{top + CHART_ROWS}</xdr:row><xdr:rowOff>0</xdr:rowOff>"
        '</xdr:to><xdr:graphicFrame macro=""><xdr:nvGraphicFramePr>'
        f'<xdr:cNvPr id="2" name="{xml_attr(spec.title or "Chart 1")}"/><xdr:cNvGraphicFramePr/>'
        '</xdr:nvGraphicFramePr><xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        '<c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        f'xmlns:r="{NS_R}" r:id="rId1"/></a:graphicData></a:graphic></xdr:graphicFrame>'
        "<xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>"
    ).encode()
    return drawing, chart
