"""Figures a user saves and reads: titles inside the canvas, the per-seed seconds view,
fronts per seed, four solvers' bands and hypervolume bands never below 0 unannounced."""

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from moopt.compare import Comparison  # noqa: E402
from moopt.plots import plot_curves, plot_front  # noqa: E402

SOLVERS = ("nsga2", "mgda", "bo", "mobo")
SEEDS = (3, 4, 5, 6, 7)


def make_comparison(seconds_scale=(1.0, 1.0, 1.0, 1.0), negative_low: bool = True) -> Comparison:
    """Four solvers over five seeds: hypervolume curves, bands (the first solver's lower CI
    bound below 0 at the start when ``negative_low``) and two-objective fronts."""
    rng = np.random.default_rng(0)
    grid = np.arange(10.0, 110.0, 10.0)
    curves, bands, fronts, runs = {}, {}, {}, []
    for i, name in enumerate(SOLVERS):
        rows = []
        for s in SEEDS:
            hv = np.sort(rng.uniform(0.0, 0.5 + 0.1 * i, grid.size))
            seconds = np.linspace(0.01, 1.0, grid.size) * seconds_scale[i] * (1 + 0.1 * s)
            rows += [{"seed": s, "evaluations": e, "seconds": t, "hypervolume": h}
                     for e, t, h in zip(grid, seconds, hv, strict=True)]  # fmt: skip
            runs.append({"solver": name, "seed": s, "status": "ok"})
        curves[name] = pd.DataFrame(rows)
        mean = curves[name].groupby("evaluations")["hypervolume"].mean().to_numpy()
        low = mean - 0.2
        if not negative_low:
            low = np.maximum(low, 0.01)
        bands[name] = pd.DataFrame({"x": grid, "mean": mean, "ci_low": low, "ci_high": mean + 0.2})
        x = np.sort(rng.random((len(SEEDS), 6)), axis=1)
        fronts[name] = [np.column_stack([x[j], 1 - np.sqrt(x[j])]) for j in range(len(SEEDS))]
    return Comparison(
        table=pd.DataFrame({"solver": SOLVERS}), curves=curves,
        fronts={n: f[0] for n, f in fronts.items()}, ref_point=np.array([1.1, 1.1]),
        runs=pd.DataFrame(runs), bands=bands, fronts_by_seed=fronts,
    )  # fmt: skip


def _texts_inside_the_canvas(fig) -> None:
    """Save as a user would (no bbox_inches) and check every title lies in the canvas."""
    fig.savefig(io.BytesIO(), format="png", dpi=100)
    renderer = fig.canvas.get_renderer()
    titles = [ax.title for ax in fig.axes] + [t for t in (fig._suptitle,) if t is not None]
    shown = [t for t in titles if t.get_text()]
    assert shown
    width, height = fig.bbox.width, fig.bbox.height
    for t in shown:
        box = t.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= width and box.y1 <= height, (t.get_text(), box, width)


@pytest.mark.parametrize("which", ["hypervolume", "seconds", "front", "curves"])
def test_titles_fit_inside_a_plainly_saved_figure(which):
    cmp = make_comparison()
    long = "a title as long as a user writes one, naming the problem, the budget and the seeds"
    if which == "hypervolume":
        fig = cmp.plot_hypervolume()
    elif which == "seconds":
        fig = cmp.plot_hypervolume(x="seconds")
    elif which == "front":
        F = np.random.default_rng(0).random((20, 3))
        fig = plot_front(F, ["accuracy", "diversity", "novelty"], title=long)
    else:
        fig = plot_curves({"a": (np.arange(3), np.arange(3))}, "x", "y", title=long)
    _texts_inside_the_canvas(fig)


def test_the_seconds_view_says_it_is_per_seed_and_goes_log_when_runs_differ_by_orders():
    cmp = make_comparison(seconds_scale=(0.05, 1.0, 20.0, 200.0))
    ax = cmp.plot_hypervolume(x="seconds").axes[0]
    title = " ".join(ax.get_title().split())
    assert "one line per seed" in title and "no band" in title
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "seconds (log scale: runs differ by orders of magnitude)"
    assert len(ax.get_lines()) == len(SOLVERS) * len(SEEDS)
    even = make_comparison().plot_hypervolume(x="seconds").axes[0]
    assert even.get_xscale() == "linear" and "one line per seed" in " ".join(
        even.get_title().split())  # fmt: skip


def test_fronts_are_drawn_for_every_seed_and_labelled():
    cmp = make_comparison()
    ax = cmp.plot_fronts().axes[0]
    assert len(ax.collections) == len(SOLVERS) * len(SEEDS)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [*SOLVERS, *(f"seed {s}" for s in SEEDS)]
    markers = {tuple(np.round(c.get_paths()[0].vertices, 3).ravel()) for c in ax.collections}
    assert len(markers) == len(SEEDS)  # one marker per seed
    first = cmp.plot_fronts(seeds="first").axes[0]
    assert len(first.collections) == len(SOLVERS)
    assert [t.get_text() for t in first.get_legend().get_texts()] == [
        f"{n} (seed 3)" for n in SOLVERS]  # fmt: skip


def test_four_bands_stay_readable():
    ax = make_comparison(negative_low=False).plot_hypervolume().axes[0]
    means = [line for line in ax.get_lines() if line.get_label() in SOLVERS]
    assert [m.get_label() for m in means] == list(SOLVERS)
    assert len({m.get_linestyle() for m in means}) == len(SOLVERS)  # told apart without colour
    for i, name in enumerate(SOLVERS):
        colour = matplotlib.colors.to_rgba(f"C{i}")
        edges = [line for line in ax.get_lines() if line.get_label().startswith("_")
                 and matplotlib.colors.to_rgba(line.get_color()) == colour]  # fmt: skip
        assert len(edges) == 2, name  # each band edged by its own thin lines
    assert all(c.get_alpha() <= 0.15 for c in ax.collections)
    assert not any("clipped" in t.get_text() for t in ax.get_legend().get_texts())


def test_a_hypervolume_band_is_clipped_at_zero_and_the_legend_says_so():
    ax = make_comparison().plot_hypervolume().axes[0]
    lowest = min(c.get_paths()[0].vertices[:, 1].min() for c in ax.collections)
    assert lowest == 0.0
    assert min(line.get_ydata().min() for line in ax.get_lines() if len(line.get_ydata())) >= 0
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "95% CI clipped at 0" in legend and "hypervolume is never negative" in legend


def test_a_backend_already_chosen_is_kept(monkeypatch):
    """A notebook runs pyplot on its inline backend; moopt's figures must not switch it to
    Agg, or no figure after the first moopt plot is shown (notebooks 01 and 02 showed none).
    The svg backend stands in for the inline one here (both are headless)."""
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    plt.switch_backend("svg")
    try:
        fig = plot_front(np.array([[0.1, 0.9], [0.5, 0.5]]), ["f1", "f2"])
        assert matplotlib.get_backend() == "svg"
        plt.close(fig)
    finally:
        plt.switch_backend(before)
