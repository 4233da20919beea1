"""The page of a ``moopt compare`` folder: hypervolume during the run with its 95% bands,
each seed's final fronts behind a seed selector, the comparison table and the paired
tests.

Reads ``comparison.csv``, ``curves.csv``, ``bands.csv`` and, where present, ``runs.csv``,
``significance.csv``, ``fronts.csv`` (one row per final point: ``solver``, ``seed``,
``point``, ``x0 ..``, ``f0 ..``) and ``comparison.json`` (problem, budget, seeds,
reference point, settings, versions). A folder without ``fronts.csv`` gets a note in
place of the fronts panel.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .html import figure_div, page, require_plotly, table_html

#: Files that make a folder a comparison.
REQUIRED = ("comparison.csv", "curves.csv", "bands.csv")

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")

SCRIPT = """
function frontTraces(seed) {
  const three = DATA.n_obj === 3;
  return DATA.solvers.map((s, i) => {
    const pts = (DATA.fronts[s] || {})[seed] || [];
    const t = {name: s + ' (' + pts.length + ' points)', mode: 'markers',
               marker: {color: DATA.colours[i % DATA.colours.length], size: three ? 3 : 7},
               x: pts.map(p => p[0]), y: pts.map(p => p[1])};
    if (three) { t.type = 'scatter3d'; t.z = pts.map(p => p[2]); } else { t.type = 'scatter'; }
    return t;
  });
}
function frontLayout() {
  const n = DATA.objectives;
  const layout = {height: 520, margin: {t: 40}, legend: {orientation: 'h', y: -0.15},
                  title: {text: 'final non-dominated points, seed ' +
                          document.getElementById('seed-select').value}};
  if (DATA.n_obj === 3) {
    layout.scene = {xaxis: {title: {text: n[0]}}, yaxis: {title: {text: n[1]}},
                    zaxis: {title: {text: n[2]}}};
  } else {
    layout.xaxis = {title: {text: n[0]}}; layout.yaxis = {title: {text: n[1]}};
  }
  return layout;
}
function showSeed() {
  const seed = document.getElementById('seed-select').value;
  Plotly.react('fronts', frontTraces(seed), frontLayout(), {displaylogo: false});
  const info = DATA.solvers.map(s => {
    const r = (DATA.runs[s] || {})[seed];
    return s + ': ' + (r === undefined ? 'no run' : r);
  });
  document.getElementById('seed-info').textContent = info.join(' | ');
}
if (DATA.fronts !== null) {
  document.getElementById('seed-select').addEventListener('change', showSeed);
  showSeed();
}
"""


def is_comparison(folder) -> bool:
    """Tell whether ``folder`` holds the files of ``moopt compare`` (``REQUIRED``).

    Parameters
    ----------
    folder : str or os.PathLike
        The folder.

    Returns
    -------
    bool
        True when every file of ``REQUIRED`` is there.
    """
    return all((Path(folder) / name).is_file() for name in REQUIRED)


def _translucent(colour: str, alpha: float = 0.2) -> str:
    """``#rrggbb`` as ``rgba(r, g, b, alpha)``: a band that lets the other bands show."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _hypervolume_figure(curves: pd.DataFrame, bands: pd.DataFrame, x: str, solvers,
                        title: str):  # fmt: skip
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, s in enumerate(solvers):
        colour = COLOURS[i % len(COLOURS)]
        b = bands[bands.solver == s] if len(bands) else bands
        if len(b):
            fig.add_trace(go.Scatter(x=b["x"], y=b["ci_high"], mode="lines", line_shape="hv",
                                     line={"width": 0}, legendgroup=s, showlegend=False,
                                     hoverinfo="skip"))  # fmt: skip
            fig.add_trace(go.Scatter(x=b["x"], y=b["ci_low"], mode="lines", line_shape="hv",
                                     line={"width": 0}, fill="tonexty",
                                     fillcolor=_translucent(colour), legendgroup=s,
                                     showlegend=False, name=f"{s} 95% CI",
                                     hoverinfo="skip"))  # fmt: skip
            fig.add_trace(go.Scatter(x=b["x"], y=b["mean"], mode="lines", line_shape="hv",
                                     line={"color": colour}, legendgroup=s,
                                     name=f"{s} (mean, 95% CI)"))  # fmt: skip
            continue
        c = curves[curves.solver == s] if len(curves) else curves
        for j, (seed, per_seed) in enumerate(c.groupby("seed") if len(c) else []):
            fig.add_trace(go.Scatter(x=per_seed[x], y=per_seed["hypervolume"], mode="lines",
                                     line={"color": colour}, legendgroup=s,
                                     name=f"{s}" if j == 0 else f"{s} seed {seed}",
                                     showlegend=j == 0))  # fmt: skip
    fig.update_layout(title=title, xaxis_title=x,
                      yaxis_title="hypervolume", margin={"t": 50},
                      legend={"orientation": "h", "y": -0.2})  # fmt: skip
    return fig


def _fronts_data(fronts: pd.DataFrame, n_obj: int) -> dict:
    """``{solver: {seed: [[f0, f1, ...], ...]}}`` of the final fronts."""
    cols = [f"f{j}" for j in range(n_obj)]
    out: dict = {}
    for (solver, seed), g in fronts.sort_values(["solver", "seed", "point"]).groupby(
            ["solver", "seed"], sort=True):  # fmt: skip
        out.setdefault(str(solver), {})[str(int(seed))] = g[cols].to_numpy(float).tolist()
    return out


def _runs_data(runs: pd.DataFrame) -> dict:
    """``{solver: {seed: "hypervolume 0.61, 40 evaluations"}}`` from runs.csv."""
    out: dict = {}
    for r in runs.to_dict("records"):
        parts = [f"{key} {r[key]:.4g}" for key in ("hypervolume", "igd")
                 if key in r and isinstance(r[key], float) and np.isfinite(r[key])]  # fmt: skip
        if r.get("status", "ok") != "ok":
            parts = [f"failed: {r['status']}"]
        out.setdefault(str(r["solver"]), {})[str(int(r["seed"]))] = ", ".join(parts)
    return out


def comparison_page(folder) -> str:
    """Build the HTML page of a ``moopt compare`` folder (see the module docstring).

    Parameters
    ----------
    folder : str or os.PathLike
        A folder written by ``moopt compare --out`` or ``Comparison.save``.

    Returns
    -------
    str
        The self-contained page.

    Raises
    ------
    FileNotFoundError
        If a file of ``REQUIRED`` is missing.
    PlotlyMissing
        If plotly is not installed.
    """
    require_plotly()
    folder = Path(folder)
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} has no {', '.join(missing)}: not a moopt compare "
                                "folder")  # fmt: skip
    table = pd.read_csv(folder / "comparison.csv")
    curves = pd.read_csv(folder / "curves.csv")
    bands = pd.read_csv(folder / "bands.csv") if (folder / "bands.csv").stat().st_size > 1 \
        else pd.DataFrame()
    runs = pd.read_csv(folder / "runs.csv") if (folder / "runs.csv").is_file() else None
    meta = (json.loads((folder / "comparison.json").read_text())
            if (folder / "comparison.json").is_file() else {})  # fmt: skip
    solvers = [str(s) for s in table["solver"]]
    budget_type = meta.get("budget_type", "evaluations")

    body = [f"<h1>Comparison: {html.escape(str(meta.get('problem', folder.name)))}</h1>"]
    facts = []
    if meta:
        facts.append(f"budget {meta.get('budget')} {budget_type} per solver and seed")
        facts.append(f"seeds {meta.get('seeds')}")
        if meta.get("reference_point") is not None:
            ref = np.round(np.asarray(meta["reference_point"], dtype=float), 4).tolist()
            facts.append(f"hypervolume reference point {ref}")
    else:
        facts.append("comparison.json is absent: problem, budget and reference point unknown")
    body.append(f'<p class="note">{html.escape("; ".join(facts))}. Folder: '
                f"{html.escape(str(folder))}</p>")  # fmt: skip
    body.append("<h2>Hypervolume during the run</h2>")
    n_seeds = int(curves["seed"].nunique()) if len(curves) else 0
    title = (f"mean over {n_seeds} seeds with its 95% CI" if len(bands) and n_seeds > 1
             else "each seed's run")  # fmt: skip
    figure = _hypervolume_figure(curves, bands, budget_type, solvers, title)
    body.append(figure_div(figure, "hypervolume", 460))
    body.append("<h2>Final fronts, per seed</h2>")
    data: dict = {"solvers": solvers, "colours": list(COLOURS), "fronts": None, "runs": {}}
    fronts_path = folder / "fronts.csv"
    if fronts_path.is_file():
        fronts = pd.read_csv(fronts_path)
        n_obj = int(meta.get("n_obj") or sum(c.startswith("f") and c[1:].isdigit()
                                             for c in fronts.columns))  # fmt: skip
        seeds = sorted({int(s) for s in fronts["seed"]})
        data.update(fronts=_fronts_data(fronts, n_obj), n_obj=n_obj,
                    objectives=[f"f{j}" for j in range(n_obj)],
                    runs=_runs_data(runs) if runs is not None else {})  # fmt: skip
        options = "".join(f'<option value="{s}">seed {s}</option>' for s in seeds)
        note = ("" if n_obj <= 3 else f" The problem has {n_obj} objectives; the panel "
                "shows the first two.")  # fmt: skip
        body.append(f'<div class="controls"><label>seed <select id="seed-select">{options}'
                    f'</select></label><span id="seed-info"></span></div>'
                    f'<div id="fronts"></div><p class="note">Each solver\'s final '
                    f"non-dominated points of the chosen seed (fronts.csv).{note}</p>")
    else:
        body.append('<p class="missing" id="fronts-missing">This folder has no fronts.csv, so '
                    "there are no fronts to show: it was written by a moopt compare that "
                    "did not save the final fronts. Run moopt compare again to get them.</p>")
    body.append("<h2>Table</h2>")
    body.append('<p class="note">One row per solver: means over seeds with 95% CIs '
                "(comparison.csv).</p>")
    body.append(table_html(table, table_id="comparison-table"))
    body.append("<h2>Paired tests</h2>")
    sig_path = folder / "significance.csv"
    if sig_path.is_file() and sig_path.stat().st_size > 1:
        body.append('<p class="note">The two best solvers, paired over seeds '
                    "(significance.csv).</p>")
        body.append(table_html(pd.read_csv(sig_path), table_id="significance-table"))
    else:
        body.append('<p class="note">No paired tests: they need two solvers and several '
                    "seeds.</p>")
    if meta.get("settings"):
        body.append("<h2>Settings</h2><pre>"
                    + html.escape(json.dumps(meta["settings"], indent=1)) + "</pre>")
    if meta.get("versions"):
        body.append('<p class="note">versions: ' + html.escape(
            ", ".join(f"{k} {v}" for k, v in meta["versions"].items())) + "</p>")
    return page(f"moopt compare: {meta.get('problem', folder.name)}", "\n".join(body), data,
                SCRIPT)
