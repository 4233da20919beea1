"""top_n against a full stable sort, and the seen entries against a dense mask."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders.data.interactions import Interactions
from recommenders.topn import seen_entries, top_n


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 12), st.integers(0, 2**31 - 1), st.integers(1, 5),
       st.booleans())
def test_top_n_equals_a_stable_sort(rows, m, seed, levels, with_inf):
    # Few distinct values, so most rows have ties at the cut; -inf entries as masked items.
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, levels, size=(rows, m)).astype(np.float32)
    if with_inf:
        scores[rng.random((rows, m)) < 0.3] = -np.inf
    for n in range(1, m + 1):
        ref = np.argsort(-scores, axis=1, kind="stable")[:, :n]
        cols, vals = top_n(scores, n)
        np.testing.assert_array_equal(cols, ref)
        np.testing.assert_array_equal(vals, np.take_along_axis(scores, ref, axis=1))
        assert cols.dtype == np.int64 and vals.dtype == np.float32


def test_top_n_hand_case_and_errors():
    cols, vals = top_n(np.array([[0.5, 2.0, 2.0, 2.0, 1.0]]), 2)
    assert cols.tolist() == [[1, 2]] and vals.tolist() == [[2.0, 2.0]]
    for bad in (0, 6, 2.0, True):
        try:
            top_n(np.zeros((1, 5)), bad)
        except ValueError as err:
            assert "n must be an integer in [1, 5]" in str(err)
        else:
            raise AssertionError(f"n={bad!r} was accepted")


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_seen_entries_mark_the_dense_history(seed):
    rng = np.random.default_rng(seed)
    n_users, n_items = 5, 7
    size = int(rng.integers(0, 20))
    log = Interactions(rng.integers(0, n_users, size), rng.integers(0, n_items, size),
                       rng.integers(0, 9, size), np.ones(size), n_users, n_items)
    users = rng.integers(0, n_users, 4)
    mask = np.zeros((users.size, n_items), dtype=bool)
    mask[seen_entries(log.indptr, log.items, users)] = True
    np.testing.assert_array_equal(mask, log.to_dense(bool)[users])
