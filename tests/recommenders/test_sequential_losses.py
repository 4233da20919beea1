"""Next-item models trained with the sampled-softmax losses and per-item loss weights."""

import numpy as np
import pytest
import torch

from recommenders import domains as D
from recommenders.data import leave_one_out, make_synthetic
from recommenders.evaluate import evaluate
from recommenders.models import GRU4Rec, SASRec


@pytest.fixture(scope="module")
def split():
    data = make_synthetic(n_users=200, n_items=150, min_length=15, max_length=30, seed=0)
    return leave_one_out(data.interactions)


def _fit(cls, split, **kw):
    torch.set_num_threads(1)
    settings = {"epochs": 8, "patience": 8, "lr": 5e-3, "n_negatives": 32}
    return cls(seed=0, device="cpu", **(settings | kw))


@pytest.mark.parametrize("cls", [SASRec, GRU4Rec])
def test_sampled_softmax_trains_a_ranker_that_beats_chance(split, cls):
    model = _fit(cls, split, loss="sampled").fit(split.train, split.valid)
    hr = evaluate(model, split)["full"]["HR@10"]
    assert hr > 2.5 * 10 / 150  # well above a random list's 0.067
    assert np.all(np.isfinite([r["loss"] for r in model.train_log_]))


def test_weighted_loss_needs_weights_and_uses_them(split):
    with pytest.raises(ValueError, match="set_item_loss_weights"):
        _fit(SASRec, split, loss="sampled_weighted", epochs=1).fit(split.train)
    # All weights 1 is the unweighted sampled loss, to the last bit.
    ones = _fit(SASRec, split, loss="sampled_weighted", epochs=2)
    ones.n_items = split.n_items
    ones.set_item_loss_weights(np.ones(split.n_items)).fit(split.train)
    plain = _fit(SASRec, split, loss="sampled", epochs=2).fit(split.train)
    assert [r["loss"] for r in ones.train_log_] == [r["loss"] for r in plain.train_log_]
    # All weights 2 doubles the first epoch's loss (same batches, same negatives).
    twos = _fit(SASRec, split, loss="sampled_weighted", epochs=1)
    twos.set_item_loss_weights(np.full(split.n_items, 2.0)).fit(split.train)
    assert twos.train_log_[0]["loss"] == pytest.approx(2 * plain.train_log_[0]["loss"], rel=1e-5)


def test_epoch_hooks_run_between_epochs_and_are_timed(split):
    seen = []
    model = _fit(SASRec, split, loss="sampled", epochs=3)
    model.epoch_hooks.append(lambda m, epoch: seen.append(epoch))
    model.fit(split.train)
    assert seen == [1, 2, 3]
    assert all(r["hook_seconds"] >= 0 for r in model.train_log_)


def test_bad_loss_settings():
    with pytest.raises(ValueError, match="loss must be one of"):
        SASRec(loss="bpr")
    with pytest.raises(ValueError, match="negatives must be"):
        SASRec(negatives="zipf")
    with pytest.raises(ValueError, match="needs negatives"):
        SASRec(loss="sampled", n_negatives=0, in_batch=False)
    m = SASRec()
    with pytest.raises(ValueError, match="finite and non-negative"):
        m.set_item_loss_weights([1.0, np.nan])
    with pytest.raises(ValueError, match="1-D"):
        m.set_item_loss_weights(np.ones((2, 2)))


def test_dynamic_hook_reuses_validation_lists_and_matches_ranking_itself(split):
    """The dynamic-weight hook reads this epoch's validation top-10 instead of ranking the
    same users again; the weights (and so the whole training run) are the same as when it
    ranks every user itself."""
    genres = np.zeros((split.n_items, 3), dtype=bool)
    genres[np.arange(split.n_items), np.arange(split.n_items) % 3] = True
    genres[::7, 1] = True
    users = np.flatnonzero(split.train.user_counts() > 0)

    def run(reuse: bool):
        dw = D.DynamicWeights(D.domain_stats(split.train, genres, ["a", "b", "c"]), genres,
                              every=1, mu=0.5)  # fmt: skip
        model = _fit(SASRec, split, loss="sampled_weighted", epochs=3, patience=3)
        model.set_item_loss_weights(D.item_weights(dw.weights, genres))
        hook = dw.hook(users)

        def without_cache(m, epoch):
            m.valid_topk_ = None
            hook(m, epoch)

        model.epoch_hooks.append(hook if reuse else without_cache)
        model.fit(split.train, split.valid)
        return dw, model

    reused, m1 = run(True)
    ranked, m2 = run(False)
    assert reused.rankings_ == 0 and ranked.rankings_ == 3 * len(users)
    assert len(reused.history) == 4
    for (e1, w1), (e2, w2) in zip(reused.history, ranked.history, strict=True):
        assert e1 == e2 and np.array_equal(w1, w2)
    assert [r["loss"] for r in m1.train_log_] == [r["loss"] for r in m2.train_log_]
    # Users outside the validation lists are ranked by the hook: here a third of them.
    dw = D.DynamicWeights(D.domain_stats(split.train, genres, ["a", "b", "c"]), genres, every=1)
    hook = dw.hook(users)
    vu, vl = m1.valid_topk_
    keep = 2 * len(vu) // 3
    m1.valid_topk_ = (vu[:keep], vl[:keep])
    hook(m1, 5)
    assert dw.rankings_ == len(np.setdiff1d(users, vu[:keep])) > 0


def test_log_q_uses_the_target_distribution(monkeypatch):
    # Four two-item sequences: 0 -> 1, 0 -> 2, 3 -> 1, 0 -> 1. Targets are 1, 2, 1, 1, so
    # in-batch negatives come from (0, 3/4, 1/4, 0); the training counts' popularity,
    # (3/8, 3/8, 1/8, 1/8), counts the sequences' first items, which are never targets.
    from recommenders import sampled_softmax
    from recommenders.data.interactions import Interactions

    train = Interactions(users=[0, 0, 1, 1, 2, 2, 3, 3], items=[0, 1, 0, 2, 3, 1, 0, 1],
                         timestamps=[1, 2] * 4, ratings=np.ones(8),
                         n_users=4, n_items=4)  # fmt: skip
    seen = []
    real = sampled_softmax.sampled_softmax_loss

    def spy(*args, **kwargs):
        seen.append(kwargs["batch_probs"].cpu().numpy())
        return real(*args, **kwargs)

    monkeypatch.setattr(sampled_softmax, "sampled_softmax_loss", spy)
    SASRec(seed=0, device="cpu", epochs=1, loss="sampled", n_negatives=2, max_len=5).fit(train)
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], [0.0, 0.75, 0.25, 0.0])
