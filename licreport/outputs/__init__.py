"""Writers: the updated workbook, the HTML report (jinja2 env, filters, SVG charts), JSON."""
