"""Plots of fronts and comparisons (matplotlib, written atomically as PNG)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path

import numpy as np


def _figure(n_panels: int, size: float = 3.6):
    fig, axes = subplots(1, n_panels, size)
    return fig, axes[0]


def subplots(n_rows: int, n_cols: int, size: float = 3.6):
    """A figure with an (n_rows, n_cols) grid of panels (always 2-D)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(n_rows, n_cols, figsize=(size * n_cols, size * n_rows),
                             squeeze=False)  # fmt: skip
    return fig, axes


def save_figure(fig, path: str | os.PathLike, dpi: int = 130) -> Path:
    """Save a figure as PNG atomically (temp file, then rename) and close it."""
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
    """Pairwise projections of a population's objective values (maximised).

    ``F`` (n, M); ``rank`` highlights the non-dominated points (rank 0); ``marks`` maps a
    label to one objective vector (M,) drawn as a labelled marker (e.g. the base ranker's
    list or the chosen list). Returns the figure.
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
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], xlabel: str, ylabel: str, title=""
):
    """Line plot of several (x, y) curves, e.g. hypervolume against evaluations."""
    fig, axes = _figure(1, size=4.5)
    ax = axes[0]
    for label, (x, y) in curves.items():
        ax.plot(x, y, marker="o", ms=3, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
