"""Training checkpoints: a fit stopped after any epoch and started again with the same
checkpoint ends with the weights of an uninterrupted fit, bit for bit."""

import numpy as np
import pytest
import torch

import recommenders.models.base as base
from recommenders.data import make_split, make_synthetic
from recommenders.features import movielens_features, simulate_missing
from recommenders.models import get_model

SETTINGS = {
    # dropout draws from torch's global RNG, the batches from the fit's generator
    "sasrec": dict(epochs=4, hidden=16, inner=32, n_layers=1, max_len=10, batch_size=64,
                   dropout=0.3),
    "bpr": dict(epochs=4, dim=8, batch_size=256),
    # a second optimiser (the discriminators') whose state moves with the run
    "duafmat": dict(epochs=4, hidden=16, inner=32, n_layers=1, max_len=10, batch_size=64),
}  # fmt: skip


@pytest.fixture(scope="module")
def small():
    d = make_synthetic(n_users=60, n_items=80, min_length=5, max_length=20, seed=1)
    text = np.random.default_rng(0).normal(size=(d.n_items, 12)).astype(np.float32)
    features = simulate_missing(movielens_features(d, text=text), 0.3, seed=0)
    return make_split(d.interactions, "leave-one-out"), features


class Killed(Exception):
    pass


def _model(name, features, **extra):
    kwargs = {"features": features} if name == "duafmat" else {}
    return get_model(name, seed=3, device="cpu", **SETTINGS[name], **kwargs, **extra)


def _fit_killed_after(monkeypatch, model, split, path, epochs_done):
    """Fit, raising (as a kill would stop it) right after the checkpoint of epoch
    ``epochs_done`` is on disk."""
    write = base._write_train_state

    def write_then_die(p, state):
        write(p, state)
        if state["epoch"] == epochs_done:
            raise Killed

    with monkeypatch.context() as m:
        m.setattr(base, "_write_train_state", write_then_die)
        with pytest.raises(Killed):
            model.fit(split.train, split.valid, checkpoint=path)


def _same_weights(a, b):
    sa, sb = a.net.state_dict(), b.net.state_dict()
    assert sa.keys() == sb.keys()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("name", ["sasrec", "bpr", "duafmat"])
@pytest.mark.parametrize("epochs_done", [1, 3])
def test_resumed_fit_equals_uninterrupted(small, tmp_path, monkeypatch, name, epochs_done):
    split, features = small
    whole = _model(name, features).fit(split.train, split.valid,
                                       checkpoint=tmp_path / "whole.pt")  # fmt: skip
    path = tmp_path / "state.pt"
    _fit_killed_after(monkeypatch, _model(name, features), split, path, epochs_done)
    assert torch.load(path, weights_only=True)["epoch"] == epochs_done
    resumed = _model(name, features).fit(split.train, split.valid, checkpoint=path)
    assert _same_weights(resumed, whole)
    assert resumed.best_epoch_ == whole.best_epoch_
    drop = ("seconds", "hook_seconds")
    assert ([{k: v for k, v in r.items() if k not in drop} for r in resumed.train_log_]
            == [{k: v for k, v in r.items() if k not in drop} for r in whole.train_log_])
    users = np.arange(split.n_users)
    assert np.array_equal(resumed.full_scores(users), whole.full_scores(users))


def test_checkpoint_of_other_settings_is_ignored(small, tmp_path, monkeypatch):
    split, features = small
    path = tmp_path / "state.pt"
    _fit_killed_after(monkeypatch, _model("sasrec", features), split, path, 2)
    fresh = _model("sasrec", features, lr=2e-3).fit(split.train, split.valid,
                                                    checkpoint=tmp_path / "fresh.pt")
    with pytest.warns(UserWarning, match=r"state.pt holds the training state of another "
                      r"config; training starts from epoch 1 and replaces it"):
        other = _model("sasrec", features, lr=2e-3).fit(split.train, split.valid,
                                                        checkpoint=path)
    assert _same_weights(other, fresh)
    assert len(other.train_log_) == len(fresh.train_log_)


def test_checkpoint_refuses_epoch_hooks(small, tmp_path):
    split, features = small
    model = _model("sasrec", features)
    model.epoch_hooks.append(lambda m, epoch: None)
    with pytest.raises(ValueError, match="epoch hooks"):
        model.fit(split.train, split.valid, checkpoint=tmp_path / "state.pt")
