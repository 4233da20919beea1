"""One self-contained HTML page: plotly's JavaScript inlined, figures as divs, tables, and
the data the page's own script reads embedded as JSON. Nothing is fetched when it opens."""

from __future__ import annotations

import html
import json
import math
from typing import Any

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto;
       max-width: 1250px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.6em;
  border-bottom: 1px solid #ccc; padding-bottom: 0.2em; } h3 { font-size: 1.05em; }
.note { color: #555; font-size: 0.9em; max-width: 60em; }
table.tbl { border-collapse: collapse; font-size: 0.82em; margin: 0.5em 0; }
table.tbl th, table.tbl td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: right; }
table.tbl th { background: #f3f3f3; } table.tbl td:first-child, table.tbl th:first-child,
table.tbl td.text, table.tbl th.text { text-align: left; }
.controls { display: flex; gap: 1.5em; align-items: center; flex-wrap: wrap; margin: 0.6em 0; }
.controls label { font-size: 0.9em; } input[type=range] { width: 26em; }
.side { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
tr.hit td { background: #d8f5d0; font-weight: 600; } tr.shared td { color: #777; }
.missing { background: #fff4e0; border: 1px solid #f0c070; padding: 0.6em 0.9em; }
"""


class PlotlyMissing(ImportError):
    """plotly, which draws the pages, is not installed."""


def require_plotly():
    """Import plotly, or say how to install it.

    Returns
    -------
    module
        The ``plotly`` module.

    Raises
    ------
    PlotlyMissing
        If plotly is not installed (``pip install 'moopt[report]'``).
    """
    try:
        import plotly
    except ImportError as exc:
        raise PlotlyMissing(
            "moopt report draws with plotly, which is not installed: pip install "
            "'moopt[report]' (or pip install plotly)"
        ) from exc
    return plotly


def plotly_js() -> str:
    """Return plotly.js, minified, as the installed plotly ships it (about 4.6 MB).

    Returns
    -------
    str
        The JavaScript source.
    """
    require_plotly()
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def figure_div(fig, div_id: str, height: int | None = None) -> str:
    """Render a plotly figure as a ``<div>`` without plotly.js (``page`` inlines it once).

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        The figure (its height is set when ``height`` is given).
    div_id : str
        Fixed id of the div, so pages are reproducible and scripts can find it.
    height : int, optional
        Height in pixels.

    Returns
    -------
    str
        The HTML fragment.
    """
    if height is not None:
        fig.update_layout(height=height)
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})  # fmt: skip


def table_html(frame, digits: int = 4, table_id: str | None = None) -> str:
    """Render a DataFrame as an HTML table.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (its index is left out).
    digits : int, default 4
        Significant digits of floats; NaN shows as "-".
    table_id : str, optional
        ``id`` attribute of the table.

    Returns
    -------
    str
        ``<table class="tbl">...</table>``, text escaped.

    Examples
    --------
    >>> import pandas as pd
    >>> from moopt.report.html import table_html
    >>> text = table_html(pd.DataFrame({"solver": ["a<b"], "hv": [2 / 3]}), digits=3)
    >>> for part in text.split("<tbody>"):
    ...     print(part)
    <table class="tbl"><thead><tr><th class="text">solver</th><th>hv</th></tr></thead>
    <tr><td class="text">a&lt;b</td><td>0.667</td></tr></tbody></table>
    """

    def cell(value) -> str:
        if isinstance(value, float):
            return "-" if math.isnan(value) else f"{value:.{digits}g}"
        return html.escape(str(value))

    first = frame.iloc[0] if len(frame) else {}
    head = "".join(
        f'<th class="text">{html.escape(str(c))}</th>' if isinstance(first.get(c), str)
        else f"<th>{html.escape(str(c))}</th>"
        for c in frame.columns
    )  # fmt: skip
    rows = []
    for values in frame.itertuples(index=False):
        cells = "".join(
            f'<td class="text">{cell(v)}</td>' if isinstance(v, str) else f"<td>{cell(v)}</td>"
            for v in values
        )
        rows.append(f"<tr>{cells}</tr>")
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    return (f'<table class="tbl"{ident}><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')  # fmt: skip


def _json_for_script(data: Any) -> str:
    # Inside <script>, "</" would end the element and "<!--" open a comment; the escape
    # \u003c is the same "<" to JSON and to JavaScript.
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c")


def page(title: str, body: str, data: Any = None, script: str = "") -> str:
    """Assemble the whole page: ``body`` (HTML), then ``const DATA = data;`` and ``script``.

    Parameters
    ----------
    title : str
        The page title (escaped).
    body : str
        HTML of the body.
    data : Any, optional
        JSON data the script reads as ``DATA``; it must hold no NaN (use None), which would
        make the page's script fail to parse.
    script : str, default ""
        JavaScript run after ``DATA`` is defined (only when ``data`` is given).

    Returns
    -------
    str
        The complete HTML document, plotly.js inlined.
    """
    embedded = ""
    if data is not None:
        embedded = f"<script>const DATA = {_json_for_script(data)};\n{script}</script>"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f"<script>{plotly_js()}</script></head><body>\n{body}\n{embedded}\n</body></html>\n"
    )
