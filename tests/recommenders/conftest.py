"""Synthetic data shared by the rankers' tests (each module gets its own copy)."""

import numpy as np
import pytest

from recommenders.data import leave_one_out, make_synthetic


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_users=300, n_items=250, min_length=20, max_length=50, seed=0)


@pytest.fixture(scope="module")
def split(data):
    return leave_one_out(data.interactions)


@pytest.fixture(scope="module")
def features(data):
    """Built-in structural features plus random "text", 30% of items without the
    structural modality."""
    from recommenders.features import movielens_features, simulate_missing

    text = np.random.default_rng(0).normal(size=(data.n_items, 16))
    return simulate_missing(movielens_features(data, text=text), 0.3, seed=0)
