"""Self-contained HTML reports of result folders (``moopt report``).

``.html`` assembles a page (plotly's JavaScript inlined, so it opens offline) from
figures, tables and the data its scripts read; ``.compare`` builds the page of a
``moopt compare`` folder. The re-ranking page lives with the re-ranking study
(``problems.rerank_eval.page``), which knows its files; the engine knows nothing of
recommendation data.
"""

from .html import PlotlyMissing, figure_div, page, plotly_js, require_plotly, table_html

__all__ = [
    "PlotlyMissing", "figure_div", "page", "plotly_js", "require_plotly", "table_html",
]
