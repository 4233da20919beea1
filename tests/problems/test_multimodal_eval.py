"""The DuAF-MAT experiment job on a small synthetic dataset."""

import numpy as np
import pandas as pd
import pytest

from problems.multimodal_eval import MultimodalConfig, multimodal_job
from recommenders.data import make_synthetic

CFG = MultimodalConfig(epochs=1, patience=1, hidden=16, max_len=10,
                       settings={"n_layers": 1, "inner": 32})  # fmt: skip


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_users=50, n_items=60, min_length=5, max_length=15, seed=2)


@pytest.fixture(scope="module")
def job(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("mm")
    table, sig, written = multimodal_job(data, out, ["sasrec", "duafmat", "no-matmoe"],
                                         (0.0, 0.3), (0, 1), CFG, device="cpu")  # fmt: skip
    return out, table, sig, written


def test_job_writes_every_file_and_row(job):
    out, table, sig, written = job
    names = {p.name for p in written}
    assert names == {"mm_runs.csv", "mm_table.csv", "mm_significance.csv",
                     "mm_significance_users.csv", "mm_ndcg.png", "mm_summary.md"}  # fmt: skip
    md = (out / "mm_summary.md").read_text().splitlines()
    assert len(md) == 2 + 3 * 2 and "NDCG@10 - SASRec" in md[0]
    assert md[2].count("|") == md[0].count("|")
    runs = pd.read_csv(out / "mm_runs.csv")
    assert len(runs) == 3 * 2 * 2
    for m in ("NDCG@5", "NDCG@10", "MRR@5", "MRR@10"):
        assert runs[m].between(0, 1).all()
    # NDCG and MRR: MRR@k <= NDCG@k with one relevant item; @5 <= @10.
    assert (runs["MRR@10"] <= runs["NDCG@10"] + 1e-12).all()
    assert (runs["NDCG@5"] <= runs["NDCG@10"] + 1e-12).all()
    assert len(table) == 3 * 2 and set(sig["variant"]) == {"duafmat", "no-matmoe"}
    # Every variant against SASRec; the ablation also against the full model.
    vs = sig[sig["metric"] == "NDCG@10"].set_index(["versus", "rate", "variant"])
    assert len(vs) == 2 * 2 + 2
    runs = runs.set_index(["variant", "rate", "seed"])
    for rate in (0.0, 0.3):
        diff = [runs.loc[("no-matmoe", rate, s), "NDCG@10"] - runs.loc[("duafmat", rate, s),
                                                                       "NDCG@10"]
                for s in (0, 1)]  # fmt: skip
        assert vs.loc[("duafmat", rate, "no-matmoe"), "diff"] == pytest.approx(np.mean(diff))
    assert "NDCG@10 - DuAF-MAT [95% CI]" in md[0] and "p (Holm) vs SASRec" in md[0]


def test_sasrec_is_shared_across_rates_and_no_generator_matters_only_with_missing(job):
    out, *_ = job
    runs = pd.read_csv(out / "mm_runs.csv").set_index(["variant", "rate", "seed"])
    for seed in (0, 1):
        assert runs.loc[("sasrec", 0.3, seed), "shared"]
        assert runs.loc[("sasrec", 0.3, seed), "NDCG@10"] == runs.loc[("sasrec", 0.0, seed),
                                                                       "NDCG@10"]  # fmt: skip
        # Nothing missing: the generator is never built, so the two runs are the same.
        assert runs.loc[("no-matmoe", 0.0, seed), "NDCG@10"] == runs.loc[("duafmat", 0.0, seed),
                                                                          "NDCG@10"]  # fmt: skip
    assert not (out / "run-sasrec-0.3-0").exists()


def test_rerun_reuses_finished_runs(job, data):
    out, table, *_ = job
    before = {p: p.stat().st_mtime_ns for p in out.glob("run-*/run.json")}
    again, *_ = multimodal_job(data, out, ["sasrec", "duafmat", "no-matmoe"], (0.0, 0.3), (0, 1),
                               CFG, device="cpu")  # fmt: skip
    assert {p: p.stat().st_mtime_ns for p in out.glob("run-*/run.json")} == before
    pd.testing.assert_frame_equal(again, table)


def test_ablations_at_a_subset_of_rates(job, data):
    out, table, sig, _ = job
    before = {p: p.stat().st_mtime_ns for p in out.glob("run-*/run.json")}
    part, part_sig, _ = multimodal_job(data, out, ["sasrec", "duafmat", "no-matmoe"], (0.0, 0.3),
                                       (0, 1), CFG, device="cpu",
                                       ablation_rates=(0.3,))  # fmt: skip
    assert {p: p.stat().st_mtime_ns for p in out.glob("run-*/run.json")} == before
    # The ablation's row at 0.0 is gone, every other row is the full grid's.
    assert len(part) == len(table) - 1
    assert not ((part["variant"] == "no-matmoe") & (part["rate"] == 0.0)).any()
    full = table.set_index(["rate", "variant"])
    for _, row in part.iterrows():
        assert row["NDCG@10"] == full.loc[(row["rate"], row["variant"]), "NDCG@10"]
    part_sig = part_sig[part_sig["versus"] == "sasrec"]
    at0 = part_sig[part_sig["rate"] == 0.0]
    assert set(at0["variant"]) == {"duafmat"}
    # Holm over one comparison at 0.0 is the raw p; at 0.3 both comparisons remain.
    assert (at0["p_adj"] == at0["p"]).all()
    assert set(part_sig[part_sig["rate"] == 0.3]["variant"]) == {"duafmat", "no-matmoe"}
    users = pd.read_csv(out / "mm_significance_users.csv")
    assert len(users) == 2 * (1 + 2)  # seeds x (one comparison at 0.0, two at 0.3)
    md = (out / "mm_summary.md").read_text().splitlines()
    assert len(md) == 2 + 5
    # Restore the full grid's files for the other tests of this module.
    multimodal_job(data, out, ["sasrec", "duafmat", "no-matmoe"], (0.0, 0.3), (0, 1), CFG,
                   device="cpu")  # fmt: skip


def test_bad_inputs(data, tmp_path):
    with pytest.raises(ValueError, match="ablation_rates"):
        multimodal_job(data, tmp_path, ["sasrec"], rates=(0.0,), ablation_rates=(0.3,),
                       config=CFG)  # fmt: skip
    with pytest.raises(ValueError, match="variants"):
        multimodal_job(data, tmp_path, ["bert4rec"], config=CFG)
    with pytest.raises(ValueError, match="rates"):
        multimodal_job(data, tmp_path, ["sasrec"], rates=(0.3, 0.3), config=CFG)
    with pytest.raises(ValueError, match="rates"):
        multimodal_job(data, tmp_path, ["sasrec"], rates=(1.5,), config=CFG)
    with pytest.raises(ValueError, match="seeds"):
        multimodal_job(data, tmp_path, ["sasrec"], seeds=(), config=CFG)
    with pytest.raises(ValueError, match="epochs"):
        MultimodalConfig(epochs=0)


def test_over_seeds_pairs_runs_by_seed_value():
    from problems.multimodal_eval import _over_seeds

    # SASRec ran seeds 0, 1, 2; DuAF-MAT seeds 1, 2, 3; the ablation seeds 0 and 2 only.
    runs = pd.DataFrame({
        "rate": 0.0,
        "variant": ["sasrec"] * 3 + ["duafmat"] * 3 + ["no-cscl"] * 2,
        "seed": [0, 1, 2, 1, 2, 3, 2, 0],
        "NDCG@10": [0.10, 0.20, 0.40, 0.25, 0.35, 0.90, 0.50, 0.30],
    })  # fmt: skip
    runs["MRR@10"] = runs["NDCG@10"] / 2
    sig = _over_seeds(runs, ["sasrec", "duafmat", "no-cscl"], [0.0])
    ndcg = sig[(sig["metric"] == "NDCG@10") & (sig["versus"] == "sasrec")].set_index("variant")
    # Seed by seed: DuAF-MAT 0.25 - 0.20 and 0.35 - 0.40 (seeds 1 and 2; seeds 0 and 3
    # have no partner), the ablation 0.30 - 0.10 and 0.50 - 0.40 (seeds 0 and 2).
    assert ndcg.loc["duafmat", "diff"] == pytest.approx(0.0, abs=1e-12)
    assert ndcg.loc["no-cscl", "diff"] == pytest.approx(0.15)
    # Against the full model, the ablation shares seed 2 only: no paired test.
    assert not len(sig[sig["versus"] == "duafmat"])
    mrr = sig[(sig["metric"] == "MRR@10") & (sig["versus"] == "sasrec")].set_index("variant")
    assert mrr.loc["no-cscl", "diff"] == pytest.approx(0.075)
