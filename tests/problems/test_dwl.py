"""The DWL job on the synthetic generator: three variants, two seeds, its files and tests."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from problems.dwl import DWLConfig, dwl_job, train_variant
from recommenders.data import make_split, make_synthetic

CFG = DWLConfig(epochs=3, patience=3, n_negatives=16, sparse=("genre8", "genre1"),
                dense=("genre15", "genre9"), exclude=(), every=1,
                model_settings={"hidden": 16, "inner": 32, "max_len": 20})  # fmt: skip


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    return make_synthetic(n_users=120, n_items=80, min_length=8, max_length=20, seed=0)


@pytest.fixture(scope="module")
def job(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("dwl")
    return out, dwl_job(data, out, seeds=(0, 1), config=CFG, device="cpu")


def test_files_and_tables(job):
    out, (table, sig, written) = job
    names = {p.name for p in written}
    assert names == {"dwl_runs.csv", "dwl_summary.csv", "dwl_table.csv", "dwl_significance.csv",
                     "dwl_significance_users.csv", "dwl_domains.png"}
    runs = pd.read_csv(out / "dwl_runs.csv")
    assert set(runs["variant"]) == {"generic", "fixed", "dynamic"} and set(runs["seed"]) == {0, 1}
    # The table's mean is the mean over seeds of the runs.
    mine = runs[(runs.domain == "[sparse]") & (runs.variant == "dynamic")]["Recall@10"]
    row = table[(table.domain == "[sparse]") & (table.variant == "dynamic")].iloc[0]
    assert row["Recall@10"] == pytest.approx(mine.mean())
    assert set(sig["b"]) == {"generic", "fixed"} and (sig["p_adj"] >= sig["p"] - 1e-12).all()
    summary = pd.read_csv(out / "dwl_summary.csv")
    assert (summary["overhead_%"] >= 0).all() and (summary["weight_seconds"] > 0).all()
    dyn = json.loads(summary[summary.variant == "dynamic"]["domain_weights"].iloc[0])
    assert all(CFG.w_min - 1e-9 <= w <= CFG.w_max + 1e-9 for w in dyn.values())
    fixed = json.loads(summary[summary.variant == "fixed"]["domain_weights"].iloc[0])
    assert fixed["genre8"] == 2.0 and fixed["genre0"] == 1.0


def test_rerun_reuses_finished_runs(job, data):
    out, (table, _, _) = job
    again, _, _ = dwl_job(data, out, seeds=(0, 1), config=CFG, device="cpu")
    pd.testing.assert_frame_equal(again, table)


def test_generic_is_the_unweighted_sampled_loss_and_dynamic_updates(data):
    split = make_split(data.interactions, "leave-one-out")
    model, info = train_variant(data, split, "generic", 0, CFG, "cpu")
    assert np.all(model.item_loss_weights == 1.0)
    model, info = train_variant(data, split, "dynamic", 0, CFG, "cpu")
    assert info["epochs_run"] == 3 and all("hook_seconds" in r for r in model.train_log_)
    assert not np.all(model.item_loss_weights == model.item_loss_weights[0])


def test_bad_settings(data, tmp_path):
    with pytest.raises(ValueError, match="unknown domain"):
        dwl_job(data, tmp_path, config=DWLConfig(sparse=("Film-Noir",), exclude=()))
    with pytest.raises(ValueError, match="variants must be among"):
        dwl_job(data, tmp_path, variants=("adaptive",), config=CFG)
    with pytest.raises(ValueError, match="both sparse and dense"):
        DWLConfig(sparse=("a",), dense=("a",))
