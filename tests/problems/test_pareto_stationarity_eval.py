"""The PMORS experiment job."""

import json

import pandas as pd

from problems.pareto_stationarity import PMORSConfig
from problems.pareto_stationarity_eval import pmors_job
from recommenders.data import make_synthetic


def test_pmors_job_writes_the_table(tmp_path):
    data = make_synthetic(n_users=100, n_items=200, seed=2)
    cfg = PMORSConfig(max_impressions=2000, epochs=1, ranker_epochs=3)
    table, written = pmors_job(data, tmp_path, cfg, alphas=(0.5, 1.0), normalizations=("l2",))
    assert [w.name for w in written] == ["pmors_table.csv", "pmors.json"]
    assert list(table["weights"]) == ["MGDA (l2)", "alpha=0.5", "alpha=1.0"]
    saved = pd.read_csv(tmp_path / "pmors_table.csv")
    pd.testing.assert_frame_equal(saved, table, check_dtype=False)
    meta = json.loads((tmp_path / "pmors.json").read_text())
    assert meta["n_users"] == 100 and meta["training_impressions"] == 2000
    assert meta["negative_training_interactions"] > 0
    # Fixed alpha reports itself as the weight; MGDA's weight lies in [0, 1].
    assert table.set_index("weights").loc["alpha=0.5", "alpha (last epoch)"] == 0.5
    assert 0 <= table.set_index("weights").loc["MGDA (l2)", "alpha (last epoch)"] <= 1


def test_summary_and_paired_tests_over_seeds_by_hand():
    import numpy as np
    import pytest

    from problems.pareto_stationarity_eval import mgda_vs_fixed, summarise_seeds

    runs = pd.DataFrame({
        "seed": [0, 0, 1, 1, 2, 2],
        "weights": ["MGDA (l2)", "alpha=0.5"] * 3,
        "NDCG@10": [0.30, 0.20, 0.32, 0.21, 0.34, 0.25],
        "Recall@10_1": [0.5] * 6, "NegExposure@10": [0.1] * 6,
        "alpha (last epoch)": [0.4, 0.5] * 3, "seconds": [1.0] * 6,
    })  # fmt: skip
    mean = summarise_seeds(runs).set_index("weights")
    assert mean.loc["MGDA (l2)", "NDCG@10"] == pytest.approx(0.32)
    # sd 0.02, n 3: t_{0.975, 2} = 4.302653 -> half-width 4.302653 * 0.02 / sqrt(3)
    assert mean.loc["MGDA (l2)", "NDCG@10 ci"] == pytest.approx(4.302653 * 0.02 / np.sqrt(3))
    assert mean.loc["alpha=0.5", "n_seeds"] == 3
    sig = mgda_vs_fixed(runs)
    assert len(sig) == 1
    row = sig.iloc[0]
    # differences 0.10, 0.11, 0.09: mean 0.10, sd 0.01 -> t = 0.10 / (0.01 / sqrt(3))
    assert row["diff"] == pytest.approx(0.10)
    assert row["t"] == pytest.approx(0.10 / (0.01 / np.sqrt(3)))
    assert row["p_adj"] == pytest.approx(row["p"])  # one comparison: Holm changes nothing
    with pytest.raises(ValueError, match="at least 2 seeds"):
        mgda_vs_fixed(runs[runs.seed == 0])


def test_pmors_seeds_job_writes_runs_mean_and_significance(tmp_path):
    from problems.pareto_stationarity_eval import pmors_seeds_job

    cfg = PMORSConfig(max_impressions=1000, epochs=1, ranker_epochs=2)
    mean, sig, written = pmors_seeds_job(
        lambda s: make_synthetic(n_users=60, n_items=200, seed=2), tmp_path, (0, 1), cfg,
        alphas=(0.5,), normalizations=("l2",))  # fmt: skip
    assert [w.name for w in written] == ["pmors_runs.csv", "pmors_table.csv",
                                         "pmors_significance.csv"]  # fmt: skip
    runs = pd.read_csv(tmp_path / "pmors_runs.csv")
    assert sorted(runs.seed.unique()) == [0, 1] and len(runs) == 4
    assert list(mean["weights"]) == ["MGDA (l2)", "alpha=0.5"]
    assert len(sig) == 2  # NDCG@10 and NegExposure@10, one comparison each
    # Each seed's own table is kept under seed<k>/.
    assert (tmp_path / "seed1" / "pmors_table.csv").is_file()
