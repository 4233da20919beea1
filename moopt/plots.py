"""Plots of fronts and comparisons (matplotlib, written atomically as PNG).

Figures use constrained layout and titles wrapped to the figure's width, so a figure saved
with a plain ``fig.savefig`` keeps its titles and labels inside the canvas.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path

import numpy as np


def _figure(n_panels: int, size: float = 3.6):
    fig, axes = subplots(1, n_panels, size)
    return fig, axes[0]


def subplots(n_rows: int, n_cols: int, size: float = 3.6):
    """Make a figure with an (n_rows, n_cols) grid of panels (constrained layout).

    Headless (Agg) unless a backend was chosen already, e.g. a notebook's inline one.

    Parameters
    ----------
    n_rows, n_cols : int
        Grid shape.
    size : float, default 3.6
        Width and height of one panel in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    axes : numpy.ndarray of matplotlib.axes.Axes, shape (n_rows, n_cols)
        The panels (always 2-D).
    """
    import sys

    import matplotlib

    # A headless default, unless a backend was chosen already: a notebook's inline
    # backend (ipykernel sets MPLBACKEND) or the one pyplot runs on. Switching would hide
    # every figure a notebook shows after this call.
    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(n_rows, n_cols, figsize=(size * n_cols, size * n_rows),
                             squeeze=False, layout="constrained")  # fmt: skip
    return fig, axes


def fit_title(fig, text: str, fontsize: float = 12.0, share: float = 1.0) -> str:
    """Wrap ``text`` into lines that fit ``share`` of the figure's width at ``fontsize`` points.

    A character is taken as 0.6 of the size. An axes title is centred on its axes, which the
    labels push right, so it gets about 0.75 of the width.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure whose width counts.
    text : str
        The title.
    fontsize : float, default 12.0
        Font size in points.
    share : float, default 1.0
        Share of the figure's width the title may take.

    Returns
    -------
    str
        ``text`` with line breaks (at least 12 characters a line).
    """
    inches = fig.get_figwidth() * share
    chars = max(12, int(inches * 72 / (0.6 * fontsize)))
    return textwrap.fill(text, chars)


def save_figure(fig, path: str | os.PathLike, dpi: int = 130) -> Path:
    """Save a figure as PNG atomically (temp file, then rename) and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; closed afterwards, also on error.
    path : str or os.PathLike
        Destination file; its folder is created if missing.
    dpi : int, default 130
        Resolution.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import matplotlib.pyplot as plt

    from .files import atomic_path

    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)
    return Path(path)


def plot_front(
    F: np.ndarray,
    names: Sequence[str],
    rank: np.ndarray | None = None,
    marks: Mapping[str, np.ndarray] | None = None,
    title: str = "",
):
    """Plot the pairwise projections of a population's objective values (maximised).

    Parameters
    ----------
    F : array_like, shape (n, M)
        Objective values, M >= 2.
    names : sequence of str
        The M objective names (axis labels).
    rank : array_like, shape (n,), optional
        Non-dominated front of every point; rank 0 is highlighted (default: all points).
    marks : Mapping of str to array_like, optional
        Label to one objective vector (M,) drawn as a labelled marker (e.g. the base
        ranker's list or the chosen list).
    title : str, default ""
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (save it with ``save_figure``).

    Raises
    ------
    ValueError
        If ``F`` is not (n, len(names)) with at least 2 objectives.
    """
    F = np.asarray(F, dtype=float)
    if F.ndim != 2 or F.shape[1] != len(names) or F.shape[1] < 2:
        raise ValueError(f"F must be (n, {len(names)}) with at least 2 objectives")
    pairs = list(combinations(range(F.shape[1]), 2))
    fig, axes = _figure(len(pairs))
    front = np.ones(len(F), bool) if rank is None else np.asarray(rank) == 0
    markers = "s^DPvX*"
    for ax, (a, b) in zip(axes, pairs, strict=True):
        ax.scatter(F[~front, a], F[~front, b], s=12, c="0.75", label="dominated")
        ax.scatter(F[front, a], F[front, b], s=18, c="tab:blue", label="non-dominated")
        for (label, vec), m in zip((marks or {}).items(), markers, strict=False):
            vec = np.asarray(vec, dtype=float)
            ax.scatter([vec[a]], [vec[b]], s=70, marker=m, edgecolors="k", label=label)
        ax.set_xlabel(names[a])
        ax.set_ylabel(names[b])
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(fit_title(fig, title))
    return fig


def plot_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], xlabel: str, ylabel: str, title=""
):
    """Draw several (x, y) curves as lines, e.g. hypervolume against evaluations.

    Parameters
    ----------
    curves : Mapping of str to tuple of numpy.ndarray
        Label to ``(x, y)``.
    xlabel, ylabel : str
        Axis labels.
    title : str, default ""
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (save it with ``save_figure``).
    """
    fig, axes = _figure(1, size=4.5)
    ax = axes[0]
    for label, (x, y) in curves.items():
        ax.plot(x, y, marker="o", ms=3, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(fit_title(fig, title, share=0.75))
    return fig


LINESTYLES = ("-", "--", "-.", ":")
SEED_MARKERS = "o^sDvP*Xh<>"
LOG_RATIO = 10.0
"""Seconds views use a log axis when the longest run took this many times the shortest."""


def plot_hypervolume(cmp, x: str | None = None, band: bool = True):
    """Plot the hypervolume of a ``Comparison`` during the runs.

    Against the budget's unit: each solver's mean over seeds as a step line (its own
    colour and line style) with the 95% CI as a light band edged by thin lines, so four
    overlapping bands stay readable. Hypervolume is non-negative, so a t interval
    reaching below 0 is drawn clipped at 0 and the legend says so. Against the other
    unit (``x="seconds"`` under an evaluation budget): one line per seed, no band
    (seeds take different times), said in the title, on a log axis when the longest run
    took ``LOG_RATIO`` times the shortest or more.

    Parameters
    ----------
    cmp : moopt.compare.Comparison
        The comparison.
    x : {"evaluations", "seconds"}, optional
        The x axis (default: the budget's unit).
    band : bool, default True
        Draw the 95% CI bands (several seeds only).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (save it with ``save_figure``).
    """
    x = x or cmp.budget_type
    if x not in ("evaluations", "seconds"):
        raise ValueError(f"x must be 'evaluations' or 'seconds', got {x!r}")
    fig, axes = _figure(1, size=4.5)
    ax = axes[0]
    n_seeds = int(cmp.runs["seed"].nunique()) if len(cmp.runs) else 1
    per_seed = x != cmp.budget_type
    clipped, durations = False, []
    for i, (name, b) in enumerate(cmp.bands.items()):
        colour, style = f"C{i}", LINESTYLES[i % len(LINESTYLES)]
        if not per_seed:
            if not len(b):
                continue
            ax.step(b["x"], b["mean"], where="post", color=colour, linestyle=style, lw=1.6,
                    label=name)  # fmt: skip
            if band and n_seeds > 1:
                low = np.asarray(b["ci_low"], dtype=float)
                clipped |= bool(np.any(low < 0))
                low = np.maximum(low, 0.0)
                ax.fill_between(b["x"], low, b["ci_high"], step="post", color=colour,
                                alpha=0.12, linewidth=0)  # fmt: skip
                for edge in (low, b["ci_high"]):
                    ax.step(b["x"], edge, where="post", color=colour, linestyle=style,
                            lw=0.6, alpha=0.8)  # fmt: skip
            continue
        c = cmp.curves.get(name)
        for j, (_, run) in enumerate(c.groupby("seed") if c is not None and len(c) else []):
            ax.plot(run[x], run["hypervolume"], color=colour, linestyle=style, alpha=0.8,
                    label=name if j == 0 else None)  # fmt: skip
            durations.append(float(run[x].max()))
    if clipped:
        ax.plot([], [], " ", label="95% CI clipped at 0\n(hypervolume is never negative)")
    log = per_seed and len(durations) > 1 and min(durations) > 0 and (
        max(durations) / min(durations) >= LOG_RATIO)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(x + (" (log scale: runs differ by orders of magnitude)" if log else ""))
    ax.set_ylabel("hypervolume")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if per_seed:
        title = f"hypervolume, one line per seed (no band: seeds take different {x})"
    else:
        title = "hypervolume during the run" + (
            f" (mean, 95% CI over {n_seeds} seeds)" if n_seeds > 1 else "")
    ax.set_title(fit_title(fig, title, 10.0, share=0.75), fontsize=10)
    return fig


def plot_comparison_fronts(cmp, names=None, marks=None, seeds: str = "all"):
    """Plot the final non-dominated points of a ``Comparison``'s solvers, objectives pairwise.

    The known Pareto front is drawn where there is one.

    Parameters
    ----------
    cmp : moopt.compare.Comparison
        The comparison.
    names : sequence of str, optional
        Objective names (default ``f1``, ``f2``, ...).
    marks : Mapping of str to array_like, optional
        Label to one objective vector drawn as a labelled star (e.g. a published
        configuration).
    seeds : {"all", "first"}, default "all"
        ``"all"``: every seed's front, the solver by colour and the seed by marker, both in
        the legend; ``"first"``: the first seed's only, labelled with it.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (save it with ``save_figure``).
    """
    from matplotlib.lines import Line2D

    if seeds not in ("all", "first"):
        raise ValueError(f"seeds must be 'all' or 'first', got {seeds!r}")
    m = len(cmp.ref_point)
    pairs = list(combinations(range(m), 2)) or [(0, 0)]
    fig, axes = _figure(len(pairs))
    handles, seed_values = [], {}
    for i, (name, fronts) in enumerate(cmp.fronts_by_seed.items()):
        runs = cmp.runs[cmp.runs["solver"] == name] if len(cmp.runs) else cmp.runs
        values = list(runs["seed"]) if len(runs) == len(fronts) else list(range(len(fronts)))
        shown = list(zip(values, fronts, strict=True))[: 1 if seeds == "first" else None]
        for seed, F in shown:
            seed_values.setdefault(seed, SEED_MARKERS[len(seed_values) % len(SEED_MARKERS)])
            for ax, (a, b) in zip(axes, pairs, strict=True):
                if len(F):
                    ax.scatter(F[:, a], F[:, b], s=16, color=f"C{i}", marker=seed_values[seed],
                               alpha=0.8)  # fmt: skip
        label = name if seeds == "all" else f"{name} (seed {shown[0][0]})" if shown else name
        handles.append(Line2D([], [], color=f"C{i}", marker="o", ls="", label=label))
    if seeds == "all":
        handles += [Line2D([], [], color="0.35", marker=mk, ls="", label=f"seed {s}")
                    for s, mk in seed_values.items()]  # fmt: skip
    for ax, (a, b) in zip(axes, pairs, strict=True):
        if cmp.pareto_front is not None:
            ax.scatter(cmp.pareto_front[:, a], cmp.pareto_front[:, b], s=3, c="0.7")
        for label, vec in (marks or {}).items():
            vec = np.asarray(vec, dtype=float)
            ax.scatter([vec[a]], [vec[b]], s=120, marker="*", edgecolors="k", label=label)
        ax.set_xlabel(names[a] if names else f"f{a + 1}")
        ax.set_ylabel(names[b] if names else f"f{b + 1}")
        ax.grid(alpha=0.3)
    if cmp.pareto_front is not None:
        handles.insert(0, Line2D([], [], color="0.7", marker="o", ls="", ms=3,
                                 label="Pareto front"))  # fmt: skip
    marked, labels = axes[0].get_legend_handles_labels()
    axes[0].legend(handles=handles + marked, fontsize=7)
    return fig
