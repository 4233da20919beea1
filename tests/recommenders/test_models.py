"""Every ranker's fit, score, topk and save/load on the synthetic generator."""

import numpy as np
import pytest
import torch

from recommenders.evaluate import evaluate
from recommenders.models import MODELS, Pop, SASRec, get_model, get_model_class, resolve_device

FAST = {
    "pop": {},
    "bpr": {"epochs": 100, "patience": 10, "lr": 5e-3, "reg": 1e-2},
    "lightgcn": {"epochs": 100, "patience": 10, "lr": 5e-3, "reg": 1e-2},
    "gru4rec": {"epochs": 12, "patience": 12, "lr": 3e-3},
    "sasrec": {"epochs": 12, "patience": 12, "lr": 3e-3},
    # Multimodal rankers: built-in structural features plus random "text" (30% of items
    # without the structural modality); tests of their parts are in test_duafmat.py.
    "duafmat": {"epochs": 3, "hidden": 32, "lr": 3e-3},
    "unisrec-text": {"epochs": 3, "hidden": 32, "lr": 3e-3},
    "mm-concat": {"epochs": 3, "hidden": 32, "lr": 3e-3},
}
MULTIMODAL = {"duafmat", "unisrec-text", "mm-concat"}


@pytest.fixture(scope="module")
def fitted(split, features):
    torch.set_num_threads(1)
    return {
        name: get_model(name, seed=0, device="cpu", **kw,
                        **({"features": features} if name in MULTIMODAL else {}))
        .fit(split.train, split.valid)
        for name, kw in FAST.items()
    }  # fmt: skip


@pytest.fixture(scope="module")
def results(fitted, split, data):
    return {name: evaluate(m, split, item_genres=data.item_genres) for name, m in fitted.items()}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_score_shapes_and_consistency(fitted, split, name):
    model = fitted[name]
    users = np.array([0, 3, 7])
    full = model.full_scores(users)
    assert full.shape == (3, split.n_items) and full.dtype == np.float32
    assert np.all(np.isfinite(full))
    items = np.array([5, 1, 9])
    np.testing.assert_array_equal(model.score(users, items), full[:, items])
    per_user = np.array([[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(
        model.score(users, per_user), np.take_along_axis(full, per_user, 1)
    )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_topk_is_sorted_unseen_and_matches_scores(fitted, split, name):
    model = fitted[name]
    users = np.arange(split.n_users)
    items, scores = model.topk(users, 20)
    assert items.shape == scores.shape == (split.n_users, 20)
    assert np.all(np.diff(scores, axis=1) <= 0)
    history = split.history("test")  # after fit, the history is train + valid
    for u in range(0, split.n_users, 7):
        assert not set(items[u].tolist()) & set(history.user_items(u).tolist())
        assert len(set(items[u].tolist())) == 20
    full = model.full_scores(users[:5])
    np.testing.assert_allclose(np.take_along_axis(full, items[:5], 1), scores[:5], rtol=1e-6)
    # Without masking, seen items are allowed and the best score is the global row max.
    top1, s1 = model.topk(users[:5], 1, exclude_seen=False)
    np.testing.assert_allclose(s1[:, 0], full.max(axis=1), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_save_load_roundtrip(fitted, tmp_path, name):
    model = fitted[name]
    path = model.save(tmp_path / f"{name}.pt")
    loaded = get_model_class(name).load(path, device="cpu")
    users = np.arange(10)
    np.testing.assert_allclose(loaded.full_scores(users), model.full_scores(users), rtol=1e-6)
    assert loaded.config == model.config
    assert not list(tmp_path.glob("*.tmp"))


def test_saving_twice_gives_the_same_bytes(fitted, tmp_path):
    # The atomic write's temporary name is random; it must not leak into the file.
    model = fitted["bpr"]
    first = model.save(tmp_path / "a" / "model.pt").read_bytes()
    second = model.save(tmp_path / "b" / "model.pt").read_bytes()
    assert first == second


def test_load_checks_the_class(fitted, tmp_path):
    path = fitted["pop"].save(tmp_path / "pop.pt")
    with pytest.raises(TypeError, match="holds a Pop, not a SASRec"):
        SASRec.load(path)


def test_pop_scores_are_training_counts(fitted, split):
    expected = split.train.item_counts().astype(np.float32)
    np.testing.assert_array_equal(fitted["pop"].full_scores(np.array([0]))[0], expected)


@pytest.mark.parametrize("name", ["bpr", "lightgcn", "gru4rec", "sasrec"])
def test_trained_models_beat_pop(results, name):
    # The generator plants taste and sequence structure; every trained model must find
    # more of it than popularity alone (full ranking, NDCG@10 on the test item).
    assert results[name]["full"]["NDCG@10"] > results["pop"]["full"]["NDCG@10"]


@pytest.mark.parametrize("name", ["gru4rec", "sasrec"])
def test_sequential_models_use_the_sequence(results, name):
    # Half of all transitions follow one of 3 fixed successors of the previous item, which
    # only sequential models can see: they should clearly beat the non-sequential ones.
    best_general = max(results[m]["full"]["HR@10"] for m in ("bpr", "lightgcn"))
    assert results[name]["full"]["HR@10"] > best_general + 0.1


def test_training_is_logged_and_early_stopped(fitted):
    model = fitted["sasrec"]
    assert model.train_log_ and all(np.isfinite(r["loss"]) for r in model.train_log_)
    assert model.best_epoch_ == int(np.argmax([r["valid_ndcg@10"] for r in model.train_log_])) + 1
    # The loss falls while training.
    assert model.train_log_[-1]["loss"] < model.train_log_[0]["loss"]


def test_same_seed_same_model(split):
    a = get_model("bpr", seed=3, device="cpu", epochs=3).fit(split.train, split.valid)
    b = get_model("bpr", seed=3, device="cpu", epochs=3).fit(split.train, split.valid)
    c = get_model("bpr", seed=4, device="cpu", epochs=3).fit(split.train, split.valid)
    users = np.arange(5)
    np.testing.assert_array_equal(a.full_scores(users), b.full_scores(users))
    assert not np.allclose(a.full_scores(users), c.full_scores(users))


def test_sampled_and_full_protocols_are_reported(results):
    for res in results.values():
        assert {"HR@10", "NDCG@10", "MRR@10", "Recall@10"} <= set(res["full"])
        assert {"HR@10", "NDCG@10"} <= set(res["sampled"])
        assert all(np.isfinite(v) for part in res.values() for v in part.values())
        # One positive among 100: a sampled HR@10 is never below the full-ranking one.
        assert res["sampled"]["HR@10"] >= res["full"]["HR@10"]


def test_bad_arguments(fitted, split):
    model = fitted["pop"]
    with pytest.raises(ValueError, match="user ids must lie"):
        model.topk(np.array([split.n_users]), 5)
    with pytest.raises(ValueError, match="users is empty"):
        model.topk(np.array([], dtype=int), 5)
    with pytest.raises(ValueError, match="exceeds the catalogue"):
        model.topk(np.array([0]), split.n_items + 1)
    with pytest.raises(ValueError, match="unseen items"):
        model.topk(np.array([0]), split.n_items)
    with pytest.raises(TypeError, match="integer ids"):
        model.score(np.array([0.5]), np.array([1]))
    with pytest.raises(ValueError, match="must be"):
        model.score(np.array([0, 1]), np.array([[1, 2]]))
    with pytest.raises(TypeError, match="no setting"):
        get_model("sasrec", hiden=32)
    with pytest.raises(ValueError, match="divisible"):
        get_model("sasrec", hidden=30, n_heads=4)
    with pytest.raises(ValueError, match="unknown model"):
        get_model("transformer")
    with pytest.raises(RuntimeError, match="not fitted"):
        Pop().topk(np.array([0]), 1)


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu-ish")


def test_topk_is_prefix_consistent_under_ties(fitted, split):
    # Pop ties many items; the top-10 must be the first 10 of the top-60, and ties are
    # ordered by item id.
    model = fitted["pop"]
    users = np.arange(split.n_users)
    top10, s10 = model.topk(users, 10)
    top60, s60 = model.topk(users, 60)
    np.testing.assert_array_equal(top10, top60[:, :10])
    tied = (s60[:, 1:] == s60[:, :-1])
    assert tied.any()
    assert np.all(top60[:, 1:][tied] > top60[:, :-1][tied])
