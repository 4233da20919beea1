"""The CUDA path: every torch component trains on a GPU and agrees with the CPU.

Skipped where CUDA is absent (CI has none). On a GPU machine:
``pytest tests/recommenders/test_cuda.py -o addopts= -s`` (``-s`` prints the measured CPU/GPU gaps).
"""

import numpy as np
import pytest
import torch

from moopt import rerank_batch
from moopt.callbacks import KnowledgeTransfer
from moopt.callbacks.pareto_learning import ParetoLearnerConfig, ParetoMLP
from recommenders.data import make_synthetic
from recommenders.models import MODELS, get_model, get_model_class

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

MULTIMODAL = {"duafmat", "unisrec-text", "mm-concat"}
SETTINGS = {
    "bpr": {"epochs": 5, "lr": 5e-3},
    "lightgcn": {"epochs": 5, "lr": 5e-3},
    "gru4rec": {"epochs": 3},
    "sasrec": {"epochs": 3},
    "duafmat": {"epochs": 2, "hidden": 32},
    "unisrec-text": {"epochs": 2, "hidden": 32},
    "mm-concat": {"epochs": 2, "hidden": 32},
}


def _relative_gap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def test_every_trainable_ranker_is_listed():
    assert set(SETTINGS) == set(MODELS) - {"pop"}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_ranker_trains_on_cuda_and_scores_like_the_cpu(split, features, tmp_path, name):
    extra = {"features": features} if name in MULTIMODAL else {}
    kw = SETTINGS[name] | {"patience": SETTINGS[name]["epochs"]}
    model = get_model(name, seed=0, device="cuda", **kw, **extra).fit(split.train, split.valid)
    assert model.device.type == "cuda"
    assert all(p.is_cuda for p in model.net.parameters())
    assert all(np.isfinite(r["loss"]) for r in model.train_log_)
    users = np.arange(40)
    gpu = model.full_scores(users)
    assert gpu.dtype == np.float32 and np.all(np.isfinite(gpu))
    # The same weights on the CPU give the same scores up to float32 rounding.
    path = model.save(tmp_path / f"{name}.pt")
    cpu = get_model_class(name).load(path, device="cpu").full_scores(users)
    gap = _relative_gap(gpu, cpu)
    print(f"{name}: {model.train_log_[-1]['seconds']:.3f} s/epoch, relative score gap {gap:.2e}")
    assert gap < 1e-3
    # topk on the GPU: sorted, unseen, and the scores it reports.
    items, scores = model.topk(users, 10)
    assert np.all(np.diff(scores, axis=1) <= 0)
    np.testing.assert_allclose(np.take_along_axis(gpu, items, 1), scores, rtol=1e-6)
    history = split.history("test")
    for u in users[::5]:
        assert not set(items[u].tolist()) & set(history.user_items(u).tolist())


def test_pareto_network_on_cuda_matches_the_cpu():
    torch.manual_seed(0)
    net = ParetoMLP(7, 4, 5, ParetoLearnerConfig(hidden=8))
    feats = torch.rand(5, 6, 7)
    users = torch.arange(5)[:, None].expand(5, 6)
    with torch.no_grad():
        cpu = net.all_clusters(feats, users)
        gpu = net.to("cuda").all_clusters(feats.cuda(), users.cuda()).cpu()
    np.testing.assert_allclose(gpu.numpy(), cpu.numpy(), rtol=1e-5, atol=1e-6)


def test_knowledge_transfer_on_cuda_gives_valid_lists_and_anchors():
    rng = np.random.default_rng(0)
    n_users, n, n_items = 40, 30, 300
    genres = np.zeros((n_items, 10), dtype=bool)
    genres[np.arange(n_items), rng.integers(0, 10, n_items)] = True
    pop = rng.integers(1, 500, n_items).astype(float)
    cands = np.stack([rng.choice(n_items, n, replace=False) for _ in range(n_users)])
    scores = np.sort(rng.normal(size=(n_users, n)), axis=1)[:, ::-1].copy()
    kt = KnowledgeTransfer(every=2, learner_config=ParetoLearnerConfig(device="cuda"))
    res = rerank_batch(scores, cands, genres, pop, k=5, pop_size=16, n_gen=7, seed=0,
                       callback=kt)  # fmt: skip
    assert kt.learner.device.type == "cuda"
    assert all(p.is_cuda for p in kt.learner.model.parameters())
    assert len(kt.history) == 3 and all(np.isfinite(h["loss"]) for h in kt.history)
    assert np.all(np.isfinite(res.anchors))
    lists = res.chosen_lists("angular")
    assert lists.shape == (n_users, 5)
    assert all(len(set(row)) == 5 and set(row) <= set(c) for row, c in
               zip(lists.tolist(), cands.tolist(), strict=True))  # fmt: skip


def test_pmors_trains_on_cuda_with_bounded_metrics():
    from problems.pareto_stationarity import PMORSConfig, PMORSTask

    data = make_synthetic(n_users=120, n_items=200, seed=1)
    cfg = PMORSConfig(max_impressions=2000, epochs=2, ranker_epochs=3, windows=(3600.0, 86400.0))
    task = PMORSTask(data, cfg, device="cuda")
    table = task.compare(alphas=(0.5,), normalizations=("loss",))
    for col in ("NDCG@10", "Recall@10_1", "NegExposure@10"):
        assert table[col].between(0, 1).all()
    assert 0.0 <= table.loc[0, "alpha (last epoch)"] <= 1.0


def test_loss_weight_problem_evaluates_on_cuda():
    from problems.loss_weight import LossWeightConfig, LossWeightProblem

    data = make_synthetic(n_users=120, n_items=150, seed=0)
    p = LossWeightProblem(data, LossWeightConfig(k=10, dim=16, batch_size=256, warm_start=False),
                          device="cuda")  # fmt: skip
    F = p.evaluate(np.zeros((2, 6)))
    assert F.shape == (2, 3) and np.all(np.isfinite(F))
    assert F[0, 0] < 0 and F[0, 1] < 0 and F[0, 2] > 0
