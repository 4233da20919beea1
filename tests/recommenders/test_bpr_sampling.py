"""BPR's uniform negative sampling: never a seen item, exactly."""

import numpy as np
import pytest

from recommenders.data import Interactions
from recommenders.models.bpr import sample_negatives_uniform


def _log(pairs, n_users, n_items):
    users, items = np.array(pairs).T
    return Interactions(users, items, np.arange(len(pairs)), np.ones(len(pairs)), n_users,
                        n_items)  # fmt: skip


def test_nearly_saturated_user_gets_the_one_unseen_item():
    # User 0 has seen every item but 517 of 1000; user 1 only item 0. Rejection rounds alone
    # almost never find item 517 (chance per draw 1/1000).
    n_items = 1000
    pairs = [(0, i) for i in range(n_items) if i != 517] + [(1, 0)]
    train = _log(pairs, 2, n_items)
    users = np.array([0] * 30 + [1] * 30)
    neg = sample_negatives_uniform(train, users, np.random.default_rng(0))
    np.testing.assert_array_equal(neg[:30], 517)
    assert np.all(neg[30:] != 0) and np.all((neg >= 0) & (neg < n_items))
    # Same seed, same draw.
    again = sample_negatives_uniform(train, users, np.random.default_rng(0))
    np.testing.assert_array_equal(neg, again)


def test_user_who_has_seen_everything_is_an_error():
    train = _log([(0, 0), (0, 1), (0, 2), (1, 0)], 2, 3)
    with pytest.raises(ValueError, match="user 0"):
        sample_negatives_uniform(train, np.array([1, 0]), np.random.default_rng(0))
