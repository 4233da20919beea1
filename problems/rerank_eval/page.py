"""The page of a ``moopt rerank`` folder (``moopt report``).

Per protocol: the trade-off chart on validation and test, a slider over NSGA-II's
utility weight showing both stages' metrics at that weight, and every user's base list
against a chosen list.

Reads ``rerank_results.csv`` and, where present, ``rerank_curves.csv``,
``rerank_lists.csv``, ``rerank_items.csv`` and ``rerank_headline.csv`` (written by
``problems.rerank_eval.report.rerank_job``); a folder from before those files gets
a note in place of the panels they feed.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd

from moopt.report import figure_div, page, require_plotly, table_html

#: The file that makes a folder a re-ranking run.
REQUIRED = "rerank_results.csv"
COLOURS = {"base": "#222222", "mmr": "#1f77b4", "dpp": "#ff7f0e", "ssd": "#2ca02c",
           "nsga2": "#d62728", "nsga2_seeded": "#9467bd", "nsga2_kt": "#8c564b"}  # fmt: skip
SHOWN = ("HR", "NDCG", "Div", "Nov", "F1", "F2")

SCRIPT = """
const T = DATA.items;
function fmt(v) { return (v === null || v === undefined) ? '-' : v.toFixed(4); }
function esc(s) {
  return String(s).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;',
                                             '"': '&quot;'}[c]));
}
function setWeight(p) {
  const d = DATA.protocols[p];
  const i = parseInt(document.getElementById('slider-' + p).value);
  document.getElementById('w-' + p).textContent = d.w[i];
  const rows = [];
  d.nsga.forEach(m => ['valid', 'test'].forEach(stage => {
    const v = m[stage];
    if (!v) return;
    const cells = DATA.shown.map(x => '<td>' + fmt(v[x][i]) + '</td>').join('');
    rows.push('<tr><td class="text">' + esc(m.label) + '</td><td class="text">' +
              (stage === 'valid' ? 'validation' : 'test') + '</td>' + cells + '<td>' +
              fmt((v.Div[i] + v.Nov[i]) / 2) + '</td></tr>');
  }));
  document.querySelector('#metrics-' + p + ' tbody').innerHTML = rows.join('');
  const xs = [], ys = [], idx = [];
  d.marks.forEach(t => {
    const v = d.nsga[t.nsga][t.stage];
    idx.push(t.index); xs.push([(v.Div[i] + v.Nov[i]) / 2]); ys.push([v.HR[i]]);
  });
  if (idx.length) Plotly.restyle('tradeoff-' + p, {x: xs, y: ys}, idx);
}
function listRows(items, target, other) {
  return items.map((it, r) => {
    const cls = it === target ? 'hit' : (other.includes(it) ? 'shared' : '');
    return '<tr class="' + cls + '"><td>' + (r + 1) + '</td><td class="text">' +
      esc(T.id[it]) + '</td><td class="text">' + esc(T.title[it]) + '</td><td class="text">' +
      esc(T.categories[it]) + '</td><td>' + T.popularity[it] + '</td></tr>';
  }).join('');
}
function summary(items) {
  const cats = new Set();
  items.forEach(it => T.categories[it].split('|').forEach(c => { if (c) cats.add(c); }));
  const pop = items.reduce((a, it) => a + T.popularity[it], 0) / items.length;
  return cats.size + ' categories, mean popularity ' + pop.toFixed(1);
}
function findUser(p) {
  const d = DATA.protocols[p].lists;
  const id = document.getElementById('uid-' + p).value.trim();
  const row = d.users.indexOf(id);
  if (row < 0) {
    document.getElementById('target-' + p).textContent = 'no user with id ' + id + ' here';
    return;
  }
  document.getElementById('user-' + p).value = row;
  showUser(p);
}
function showUser(p) {
  const d = DATA.protocols[p].lists;
  const input = document.getElementById('user-' + p);
  let u = parseInt(input.value);
  if (isNaN(u) || u < 0) u = 0;
  if (u >= d.targets.length) u = d.targets.length - 1;
  const name = document.getElementById('list-' + p).value;
  const base = d.items[d.base][u], chosen = d.items[name][u], target = d.targets[u];
  const head = '<tr><th>rank</th><th class="text">item</th><th class="text">title</th>' +
    '<th class="text">categories</th><th>popularity</th></tr>';
  document.getElementById('base-' + p).innerHTML =
    '<caption>' + esc(d.base) + ': ' + summary(base) + '</caption>' + head +
    listRows(base, target, chosen);
  document.getElementById('chosen-' + p).innerHTML =
    '<caption>' + esc(name) + ': ' + summary(chosen) + '</caption>' + head +
    listRows(chosen, target, base);
  const where = l => {
    const r = l.indexOf(target);
    return r < 0 ? 'not in it' : 'rank ' + (r + 1);
  };
  document.getElementById('uid-' + p).value = d.users[u];
  document.getElementById('target-' + p).textContent = 'user ' + d.users[u] + ' (row ' + u +
    '): held-out item ' + T.id[target] + ', ' + T.title[target] + ' (' +
    T.categories[target] + '); base list: ' + where(base) +
    ', chosen list: ' + where(chosen) + '. Grey rows are in both lists.';
}
Object.keys(DATA.protocols).forEach(p => {
  const d = DATA.protocols[p];
  if (d.w.length) {
    document.getElementById('slider-' + p).addEventListener('input', () => setWeight(p));
    setWeight(p);
  }
  if (d.lists) {
    ['user-', 'list-'].forEach(id => ['input', 'change'].forEach(ev =>
      document.getElementById(id + p).addEventListener(ev, () => showUser(p))));
    document.getElementById('uid-' + p).addEventListener('change', () => findUser(p));
    showUser(p);
  }
});
"""


def is_rerank(folder) -> bool:
    """Whether ``folder`` holds the files of ``moopt rerank``.

    Parameters
    ----------
    folder : str or pathlib.Path
        The folder to check.

    Returns
    -------
    bool
        True when it has ``rerank_results.csv``.
    """
    return (Path(folder) / REQUIRED).is_file()


def _read(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / name
    return pd.read_csv(path) if path.is_file() and path.stat().st_size > 1 else None


def _param(choice: str) -> float | None:
    """The value of the last ``(name=value)`` of a choice label."""
    found = re.findall(r"\((?:\w+)=([-+0-9.eE]+)\)", choice)
    return float(found[-1]) if found else None


def _tradeoff_figure(curves: pd.DataFrame, results: pd.DataFrame, k: int, nsga: list[str]):
    """Validation | test subplots of HR@k against (Div@k + Nov@k) / 2 and the trace
    indices of the markers the slider moves, ``[(index, stage, position in nsga)]``."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("validation", "test"),
                        shared_yaxes=False, horizontal_spacing=0.08)  # fmt: skip
    beyond = f"(Div@{k} + Nov@{k}) / 2"
    keys = list(dict.fromkeys(curves["key"]))
    for key in keys:
        colour = COLOURS.get(key, "#444444")
        nsga_path = key in nsga
        for col, stage in ((1, "valid"), (2, "test")):
            c = curves[(curves.key == key) & (curves.stage == stage)].sort_values("param")
            text = [f"{n}={p:g}" for n, p in zip(c["param_name"], c["param"], strict=True)]
            fig.add_trace(go.Scatter(
                x=(c[f"Div@{k}"] + c[f"Nov@{k}"]) / 2, y=c[f"HR@{k}"], mode="lines+markers",
                name=str(c["method"].iloc[0]) + (" (over w)" if nsga_path else
                                                 f" (over {c['param_name'].iloc[0]})"),
                legendgroup=key, showlegend=col == 1, text=text,
                line={"color": colour, "dash": "dash" if nsga_path else "solid"},
                marker={"size": 5},
                hovertemplate="%{text}<br>HR %{y:.4f}<br>" + beyond + " %{x:.4f}",
            ), row=1, col=col)  # fmt: skip
    # The validated choices: on test every table row picked by validation; on validation
    # the plain rules, whose point lies on the path they were chosen from.
    for key in [*keys, "base"]:
        rows = results[results["key"] == key]
        rows = rows[(rows.rule == "top-K") | rows.rule.str.startswith(("tuned", "utility"))]
        if not len(rows):
            continue
        symbols = ["square" if r == "top-K" else "diamond" if "dominating" in r else "circle"
                   for r in rows.rule]  # fmt: skip
        fig.add_trace(go.Scatter(
            x=(rows[f"Div@{k}"] + rows[f"Nov@{k}"]) / 2, y=rows[f"HR@{k}"], mode="markers",
            name="base ranker" if key == "base" else f"{rows['method'].iloc[0]}: validated",
            legendgroup=key, showlegend=key == "base", text=list(rows["choice"]),
            marker={"symbol": symbols, "size": 11, "color": COLOURS.get(key, "#444444"),
                    "line": {"color": "black", "width": 1}},
            hovertemplate="%{text}<br>HR %{y:.4f}<br>" + beyond + " %{x:.4f}<extra>test</extra>",
        ), row=1, col=2)  # fmt: skip
        plain = rows[rows.rule.isin(["tuned F1", "tuned F2", "utility F1", "utility F2"])]
        c = curves[(curves.key == key) & (curves.stage == "valid")]
        pts = [c[np.isclose(c["param"], _param(ch))] for ch in plain["choice"]]
        pts = [(p.iloc[0], ch) for p, ch in zip(pts, plain["choice"], strict=True) if len(p)]
        if pts:
            fig.add_trace(go.Scatter(
                x=[(p[f"Div@{k}"] + p[f"Nov@{k}"]) / 2 for p, _ in pts],
                y=[p[f"HR@{k}"] for p, _ in pts], mode="markers", legendgroup=key,
                showlegend=False, text=[ch for _, ch in pts],
                marker={"size": 11, "color": COLOURS.get(key, "#444444"),
                        "line": {"color": "black", "width": 1}},
                hovertemplate="%{text}<br>HR %{y:.4f}<br>" + beyond + " %{x:.4f}"
                              "<extra>validation</extra>",
            ), row=1, col=1)  # fmt: skip
    marks = []
    for j, key in enumerate(nsga):
        for col, stage in ((1, "valid"), (2, "test")):
            marks.append({"index": len(fig.data), "stage": stage, "nsga": j})
            fig.add_trace(go.Scatter(
                x=[None], y=[None], mode="markers", legendgroup="slider",
                name="NSGA-II at the slider's w", showlegend=j == 0 and col == 1,
                marker={"symbol": "star", "size": 17, "color": COLOURS.get(key, "#444444"),
                        "line": {"color": "black", "width": 1.5}},
                hovertemplate="slider's w<br>HR %{y:.4f}<br>" + beyond + " %{x:.4f}",
            ), row=1, col=col)  # fmt: skip
    for col in (1, 2):
        fig.update_xaxes(title_text=beyond, row=1, col=col)
        fig.update_yaxes(title_text=f"HR@{k}", row=1, col=col)
    fig.update_layout(margin={"t": 40}, legend={"orientation": "h", "y": -0.2})
    return fig, marks


def _nsga_data(curves: pd.DataFrame, k: int, nsga: list[str]) -> tuple[list, list]:
    """The w grid and, per NSGA-II variant, its metrics at every w on each stage."""
    w: list[float] = []
    out = []
    for key in nsga:
        entry = {"key": key, "label": None}
        for stage in ("valid", "test"):
            c = curves[(curves.key == key) & (curves.stage == stage)].sort_values("param")
            if not len(c):
                entry[stage] = None
                continue
            w = [float(p) for p in c["param"]]
            entry["label"] = str(c["method"].iloc[0])
            entry[stage] = {m: [float(v) for v in c[f"{m}@{k}"]] for m in SHOWN}
        out.append(entry)
    return w, out


def _lists_data(lists: pd.DataFrame, protocol: str) -> dict | None:
    part = lists[lists.protocol == protocol].sort_values("user", kind="stable")
    if not len(part):
        return None
    cols = [c for c in part.columns if c.startswith("item_")]
    names, items = [], {}
    for (method, choice, rule), g in part.groupby(["method", "choice", "rule"], sort=False):
        name = f"{method}, {rule}: {choice}" if rule != choice else f"{method}: {choice}"
        names.append(name)
        items[name] = g[cols].to_numpy(np.int64).tolist()
    base = next((n for n in names if n.startswith("base ranker")), names[0])
    first = part[part.rule == part.rule.iloc[0]]
    first = first[first.method == first.method.iloc[0]]
    # The user's own ids (a folder from before rerank_lists.csv had them: the rows)
    users = first["user_id"] if "user_id" in first.columns else first["user"]
    return {"names": names, "base": base, "items": items,
            "targets": [int(t) for t in first["target"]],
            "users": [str(u) for u in users]}  # fmt: skip


def _catalogue(items: pd.DataFrame | None, lists: pd.DataFrame | None) -> dict:
    if items is not None:
        items = items.sort_values("item")
        ids = items["item_id"] if "item_id" in items.columns else items["item"]
        return {"id": [str(i) for i in ids],
                "title": [str(t) for t in items["title"].fillna("")],
                "categories": [str(c) for c in items["categories"].fillna("")],
                "popularity": [int(p) for p in items["popularity"]]}  # fmt: skip
    cols = [c for c in lists.columns if c.startswith("item_")] if lists is not None else []
    n = int(lists[cols + ["target"]].to_numpy().max()) + 1 if cols else 0
    return {"id": [str(i) for i in range(n)], "title": [f"item {i}" for i in range(n)],
            "categories": [""] * n, "popularity": [0] * n}  # fmt: skip


def rerank_page(folder) -> str:
    """The HTML page of a ``moopt rerank`` folder (see the module docstring).

    Parameters
    ----------
    folder : str or pathlib.Path
        A folder written by ``moopt rerank --out``.

    Returns
    -------
    str
        A self-contained HTML page (needs plotly installed).

    Raises
    ------
    FileNotFoundError
        If the folder has no ``rerank_results.csv``.
    """
    require_plotly()
    from .stages import LABELS, NSGA

    folder = Path(folder)
    if not is_rerank(folder):
        raise FileNotFoundError(f"{folder} has no {REQUIRED}: not a moopt rerank folder")
    results = pd.read_csv(folder / REQUIRED)
    key_of = {label: key for key, label in LABELS.items()}
    results["key"] = results["method"].map(key_of).fillna("")
    results["rule"] = results["rule"].fillna("")
    k = max(int(c.split("@")[1]) for c in results.columns
            if c.startswith("F1@") and not c.endswith("ci"))  # fmt: skip
    curves, lists = _read(folder, "rerank_curves.csv"), _read(folder, "rerank_lists.csv")
    items, headline = _read(folder, "rerank_items.csv"), _read(folder, "rerank_headline.csv")
    body = ["<h1>Re-ranking: choose the trade-off</h1>",
            f'<p class="note">Folder {html.escape(str(folder))}. Accuracy is HR@{k}; '
            f"beyond-accuracy is (Div@{k} + Nov@{k}) / 2 (genre coverage and novelty). Every "
            "knob was tuned on the validation stage; the test stage was scored once with "
            "the validated choices (filled markers).</p>"]  # fmt: skip
    data: dict = {"k": k, "shown": list(SHOWN), "protocols": {},
                  "items": _catalogue(items, lists)}  # fmt: skip
    for protocol in dict.fromkeys(results["protocol"]):
        p = str(protocol)
        body.append(f"<h2>{html.escape(p)} protocol</h2>")
        entry: dict = {"w": [], "nsga": [], "marks": [], "lists": None}
        if curves is None:
            body.append('<p class="missing">This folder has no rerank_curves.csv (written by '
                        "moopt rerank from this version on): no trade-off chart or weight "
                        "slider. Run moopt rerank again to get them.</p>")
        else:
            pc = curves[curves.protocol == protocol]
            nsga = [m for m in NSGA if m in set(pc["key"])]
            fig, marks = _tradeoff_figure(pc, results[results.protocol == protocol], k, nsga)
            body.append(figure_div(fig, f"tradeoff-{p}", 540))
            w, entry["nsga"] = _nsga_data(pc, k, nsga)
            entry["marks"] = marks
            body.append(_slider_html(p, w, results[results.protocol == protocol], nsga, k))
            entry["w"] = w
        if lists is None:
            body.append('<p class="missing">This folder has no rerank_lists.csv: no per-user '
                        "lists to show. Run moopt rerank again to get them.</p>")
        else:
            entry["lists"] = _lists_data(lists, p)
            body.append(_user_html(p, entry["lists"]))
        shown = results[results.protocol == protocol]
        cols = ["method", "choice", *[f"{m}@{k}" for m in SHOWN], "valid F"]
        body += [f"<h3>Every method, test stage ({html.escape(p)})</h3>",
                 table_html(shown[[c for c in cols if c in shown.columns]],
                            table_id=f"results-{p}")]  # fmt: skip
        data["protocols"][p] = entry
    if headline is not None:
        cols = ["protocol", "F-beta", "method", "baseline", "F method", "F baseline", "diff",
                "ci_low", "ci_high", "p bootstrap Holm", "p sign-flip Holm"]
        body += ["<h2>Headline: NSGA-II's validated choice against the best greedy list</h2>",
                 '<p class="note">Test stage, paired over users (rerank_headline.csv has every '
                 "column).</p>",
                 table_html(headline[[c for c in cols if c in headline.columns]],
                            table_id="headline-table")]  # fmt: skip
    return page("moopt rerank report", "\n".join(body), data, SCRIPT)


def _slider_html(p: str, w: list[float], results: pd.DataFrame, nsga: list[str], k: int) -> str:
    if not w:
        return ('<p class="note">No NSGA-II variant in this run: no utility weight to '
                "slide over.</p>")
    chosen = []
    for key in nsga:
        for beta in ("F1", "F2"):
            row = results[(results.key == key) & (results.rule == f"utility {beta}")]
            if len(row):
                w_chosen = _param(row["choice"].iloc[0])
                chosen.append(f"{row['method'].iloc[0]}, utility {beta}: w={w_chosen:g}")
    first = results[(results.key == (nsga[0] if nsga else "")) & (results.rule == "utility F1")]
    start = 0
    if len(first):
        start = int(np.argmin(np.abs(np.asarray(w) - _param(first["choice"].iloc[0]))))
    head = "".join(f"<th>{m}@{k}</th>" for m in SHOWN) + f"<th>(Div+Nov)/2@{k}</th>"
    return (
        f'<div class="controls"><label>utility weight of accuracy, w = <b id="w-{p}"></b>'
        f'<br><input type="range" id="slider-{p}" min="0" max="{len(w) - 1}" step="1" '
        f'value="{start}"></label><span class="note">NSGA-II keeps every user\'s archive; '
        "w picks from it the list maximising w * accuracy + (diversity + novelty) / 2. "
        f"Validated over the whole archive: {html.escape('; '.join(chosen))} (the table's "
        "'dominating' rules pick only among the lists that weakly dominate the best greedy "
        f"list). The grid is {w}.</span></div>"
        f'<table class="tbl" id="metrics-{p}"><thead><tr><th class="text">method</th>'
        '<th class="text">stage</th>'
        f"{head}</tr></thead><tbody></tbody></table>"
        '<p class="note">Validation and test metrics of the lists chosen at w, averaged over '
        "the NSGA-II seeds (rerank_curves.csv).</p>"
    )


def _user_html(p: str, lists: dict | None) -> str:
    if lists is None:
        return '<p class="note">No lists for this protocol in rerank_lists.csv.</p>'
    others = [n for n in lists["names"] if n != lists["base"]] or [lists["base"]]
    default = next((n for n in others if "seeded" in n and "validated F1" in n), others[0])
    options = "".join(f'<option value="{html.escape(n)}"'
                      f'{" selected" if n == default else ""}>{html.escape(n)}</option>'
                      for n in others)  # fmt: skip
    n_users = len(lists["targets"])
    return (
        f"<h3>One user's lists ({html.escape(p)}, test stage)</h3>"
        f'<div class="controls"><label>user row (0 .. {n_users - 1}) <input type="number" '
        f'id="user-{p}" min="0" max="{n_users - 1}" value="0"></label><label>or user id '
        f'<input type="text" id="uid-{p}" size="12"></label><label>chosen list '
        f'<select id="list-{p}">{options}</select></label></div>'
        '<p class="note">Lists from rerank_lists.csv (user and item ids are your own where '
        "the candidates came from moopt candidates): the base ranker, each greedy "
        "baseline tuned for F1 and F2, and each NSGA-II variant's validated F1 and F2 "
        "choice on its first seed; the held-out item is green.</p>"
        f'<p class="note" id="target-{p}"></p><div class="side">'
        f'<table class="tbl" id="base-{p}"></table><table class="tbl" id="chosen-{p}"></table>'
        "</div>"
    )
