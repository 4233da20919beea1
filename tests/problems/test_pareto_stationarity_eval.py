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
