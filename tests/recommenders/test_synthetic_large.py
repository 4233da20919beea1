"""The vectorised large synthetic generator: planted signals, seeding, validity."""

import numpy as np
import pytest

from recommenders.data import make_synthetic_large
from recommenders.data.synthetic_large import _catalogue

SMALL = dict(n_users=2_000, n_items=1_000, n_genres=12, min_length=10, mean_length=30,
             max_length=200)  # fmt: skip


def _planted(seed, n_items, n_genres, zipf=0.9, k=3):
    return _catalogue(np.random.default_rng(seed), n_items, n_genres, zipf, k)


def _ranks(x):
    r = np.empty(len(x))
    r[np.argsort(x, kind="stable")] = np.arange(len(x))
    return r


def _spearman(a, b):
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def _top_genre_share(users, items, primary, n_users, n_genres):
    counts = np.zeros((n_users, n_genres))
    np.add.at(counts, (users, primary[items]), 1)
    return float(np.mean(counts.max(axis=1) / counts.sum(axis=1)))


def _successor_rate(ds, successors):
    log = ds.interactions
    same_user = log.users[1:] == log.users[:-1]
    prev, nxt = log.items[:-1][same_user], log.items[1:][same_user]
    return float(np.mean((successors[prev] == nxt[:, None]).any(axis=1)))


@pytest.fixture(scope="module")
def small():
    return make_synthetic_large(**SMALL, seed=3)


def test_valid_log(small):
    log = small.interactions
    counts = log.user_counts()
    assert small.n_users == 2_000 and small.n_items == 1_000
    assert counts.min() >= 10 and counts.max() <= 200
    assert 25 < counts.mean() < 35  # min_length plus a geometric excess of mean 20
    assert len(np.unique(log.keys())) == len(log)  # no item twice per user
    assert set(np.unique(log.ratings)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    same_user = log.users[1:] == log.users[:-1]
    assert np.all(np.diff(log.timestamps)[same_user] > 0)
    assert small.item_genres.sum(axis=1).min() >= 1


def test_same_seed_same_data(small):
    again = make_synthetic_large(**SMALL, seed=3)
    for field in ("users", "items", "timestamps", "ratings"):
        assert np.array_equal(
            getattr(small.interactions, field), getattr(again.interactions, field)
        )
    assert np.array_equal(small.item_genres, again.item_genres)
    other = make_synthetic_large(**SMALL, seed=4)
    assert not np.array_equal(small.interactions.items[:500], other.interactions.items[:500])


@pytest.fixture(scope="module")
def no_sequence():
    return make_synthetic_large(**SMALL, p_sequential=0.0, seed=3)


def test_popularity_signal(small, no_sequence):
    popularity = _planted(3, 1_000, 12)[3]
    # Successors are drawn without regard to popularity, so they dilute the Zipf signal.
    assert _spearman(popularity, small.interactions.item_counts()) > 0.3
    assert _spearman(popularity, no_sequence.interactions.item_counts()) > 0.6
    flat = make_synthetic_large(**SMALL, zipf=0.0, seed=3)
    assert abs(_spearman(popularity, flat.interactions.item_counts())) < 0.15


@pytest.mark.parametrize(("fixture", "margin"), [("small", 0.08), ("no_sequence", 0.25)])
def test_taste_signal_above_shuffled_baseline(fixture, margin, request):
    data = request.getfixturevalue(fixture)
    primary = _planted(3, 1_000, 12)[0]
    log = data.interactions
    real = _top_genre_share(log.users, log.items, primary, data.n_users, 12)
    shuffled = np.random.default_rng(0).permutation(log.items)
    baseline = _top_genre_share(log.users, shuffled, primary, data.n_users, 12)
    assert real > baseline + margin
    # Ratings rise with the user's taste for the item's primary genre.
    top = np.zeros((data.n_users, 12))
    np.add.at(top, (log.users, primary[log.items]), 1)
    favourite = top.argmax(axis=1)[log.users] == primary[log.items]
    assert log.ratings[favourite].mean() > log.ratings[~favourite].mean() + 0.5


def test_sequence_signal_above_chance(small, no_sequence):
    successors = _planted(3, 1_000, 12)[4]
    chance = 3 / 1_000  # a random next item is one of 3 successors out of 1,000 items
    assert _successor_rate(small, successors) > 0.4
    assert _successor_rate(no_sequence, successors) < 3 * chance


def test_twenty_thousand_users_fast():
    ds = make_synthetic_large(n_users=20_000, n_items=3_000, min_length=5, mean_length=20,
                              max_length=300, seed=0)  # fmt: skip
    assert ds.n_users == 20_000
    assert 350_000 < ds.n_interactions < 450_000
    assert ds.interactions.user_counts().min() >= 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n_items=1), "n_items >= 2"),
        (dict(n_items=50, min_length=10, max_length=60), "max_length < n_items"),
        (dict(min_length=30, mean_length=20, max_length=40), "mean_length must be >= min_length"),
        (dict(taste_strength=-1), "taste_strength"),
        (dict(p_sequential=1.5), "p_sequential"),
        (dict(n_items=50, n_successors=0), "n_successors"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = dict(n_users=10, n_items=100, min_length=5, mean_length=10, max_length=20) | kwargs
    with pytest.raises(ValueError, match=match):
        make_synthetic_large(**args)
