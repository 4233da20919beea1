"""The BOOML experiment: searches, resume, final models on the test stage."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from problems.loss_weight import LossWeightConfig, LossWeightProblem
from problems.loss_weight_eval import best_x, booml_job
from recommenders.data import make_synthetic


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_users=150, n_items=200, seed=0)


CFG = LossWeightConfig(k=10, dim=16, batch_size=256, epochs=8, meta_epochs=2)


def test_fit_is_deterministic_and_independent_of_searches(data):
    p = LossWeightProblem(data, CFG)
    x = np.array([0, -1, 0.5, 0, 0, -2.0])
    theta_a, rec_a = p.fit(x)
    p.evaluate(np.zeros((2, 6)))  # a search in between moves the problem's generators
    theta_b, rec_b = p.fit(x)
    assert torch.equal(theta_a, theta_b) and rec_a["ResSum"] == rec_b["ResSum"]
    _, rec = p.fit(mgda="l2")
    w = np.asarray(rec["mgda_weights"])
    assert w.shape == (3,) and np.all(w >= 0) and w.sum() == pytest.approx(1.0)


def test_test_metrics_mask_training_and_validation_items(data):
    p = LossWeightProblem(data, CFG)
    theta, _ = p.fit()
    m = p.test_metrics(theta)
    assert 0 <= m["NDCG"] <= 1 and 0 <= m["ILD"] <= 1 and m["ARP"] > 0
    assert m["ResSum"] == pytest.approx(m["NDCG"] + 1 / (1 + np.exp(-m["ILD"]))
                                        + 1 / (1 + np.exp(-1 / m["ARP"])))
    # Brute force: mask every training and validation item of the user, rank, score.
    user_emb, item_emb = p._encode(theta)
    scores = (user_emb @ item_emb.T).numpy()
    seen = p.split.train.concat(p.split.valid)
    scores[seen.users, seen.items] = -np.inf
    test = p.split.test
    pop = np.bincount(p.split.train.items, minlength=data.n_items)
    ndcgs, arps = [], []
    for u in np.unique(test.users):
        rel = set(test.items[test.users == u].tolist())
        top = np.argsort(-scores[u], kind="stable")[:10]
        assert not set(top.tolist()) & set(seen.items[seen.users == u].tolist())
        dcg = sum(1 / np.log2(r + 2) for r, i in enumerate(top) if i in rel)
        ndcgs.append(dcg / sum(1 / np.log2(r + 2) for r in range(min(len(rel), 10))))
        arps.append(pop[top].mean())
    assert m["NDCG"] == pytest.approx(np.mean(ndcgs))
    assert m["ARP"] == pytest.approx(np.mean(arps))


def test_best_x_picks_the_highest_resum():
    h = pd.DataFrame({"lambda_0": [1.0, 10.0], "beta_0": [0.1, 0.01], "ResSum": [1.2, 1.3]})
    np.testing.assert_allclose(best_x(h, 1), [1.0, -2.0])


def test_booml_job_writes_tables_and_resumes_exactly(data, tmp_path):
    table, epochs, written = booml_job(data, tmp_path / "a", budget=4, n_initial=2, config=CFG,
                                       mgda=("l2",))
    assert [w.name for w in written] == ["booml_table.csv", "booml_epochs.csv",
                                         "booml_history.csv", "booml.json"]
    assert list(table["method"]) == ["fixed (lambda = beta = 1)", "BO with warm start",
                                     "BO from scratch", "MGDA (l2)"]
    assert not table.drop(columns="weights").isna().any().any()
    assert list(epochs["search"]) == ["warm", "scratch"]
    assert (epochs["evaluations"] == 4).all()
    # Warm-started evaluations run at most meta_epochs epochs.
    assert epochs.set_index("search").loc["warm", "max epochs"] <= CFG.meta_epochs
    # Stopped after 2 evaluations and resumed to 4: the same evaluations as one run.
    booml_job(data, tmp_path / "b", budget=2, n_initial=2, config=CFG, mgda=())
    booml_job(data, tmp_path / "b", budget=4, n_initial=2, config=CFG, mgda=())
    h_a = pd.read_csv(tmp_path / "a" / "booml_history.csv").drop(columns="seconds")
    h_b = pd.read_csv(tmp_path / "b" / "booml_history.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(h_a, h_b)
    with pytest.raises(ValueError, match="budget"):
        booml_job(data, tmp_path / "c", budget=1, config=CFG)


def test_booml_job_refuses_a_saved_search_on_other_data_or_settings(data, tmp_path):
    # A rerun into the same folder with other data, a changed setting or a state saved
    # before the inputs were recorded stops before evaluating anything, naming what
    # differs and the fix, instead of resuming the other run's search.
    out = tmp_path / "run"
    booml_job(data, out, budget=2, n_initial=2, config=CFG, mgda=())
    other = make_synthetic(n_users=150, n_items=200, seed=1)
    with pytest.raises(ValueError, match=r"problem_warm\.pt was saved for other inputs") as err:
        booml_job(other, out, budget=3, n_initial=2, config=CFG, mgda=())
    message = str(err.value)
    assert "data: saved digest" in message and "(another dataset)" in message
    assert "config." not in message and "another output folder (--out)" in message
    assert "bo_warm.json" in message
    with pytest.raises(ValueError, match=r"config\.epochs: saved 8, this run 9"):
        booml_job(data, out, budget=3, n_initial=2, config=replace(CFG, epochs=9), mgda=())
    # A state written before the inputs were recorded (no data or split digest).
    state = torch.load(out / "problem_warm.pt", weights_only=False)
    torch.save({k: v for k, v in state.items() if k not in ("data", "split")},
               out / "problem_warm.pt")  # fmt: skip
    with pytest.raises(ValueError, match=r"data: saved \(not recorded\)"):
        booml_job(data, out, budget=3, n_initial=2, config=CFG, mgda=())
    # Nothing was evaluated or written by the refused reruns.
    assert len(torch.load(out / "problem_scratch.pt", weights_only=False)["history"]) == 2
