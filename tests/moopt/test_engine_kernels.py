"""The engine's allocation-free kernels against straightforward references: sorting,
non-dominated ranking (general and three-objective paths), crowding, survival, the hash
set, the SWAR popcount and the inline evaluation of built-in objectives."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from moopt.engine import kernels as K
from moopt.objectives import category_bits, make_inputs, pack_objectives
from moopt.objectives.registry import OBJ_GENERIC, kernel_list


def brute_rank(F):
    q = len(F)
    rank = -np.ones(q, dtype=np.int64)
    remaining = set(range(q))
    r = 0
    while remaining:
        front = {
            i for i in remaining
            if not any(np.all(F[j] <= F[i]) and np.any(F[j] < F[i]) for j in remaining)
        }  # fmt: skip
        for i in front:
            rank[i] = r
        remaining -= front
        r += 1
    return rank


def reference_crowding(F):
    """The textbook crowding distance with stable argsorts (ties by row)."""
    n, m = F.shape
    cd = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for c in range(m):
        order = np.argsort(F[:, c], kind="stable")
        v = F[order, c]
        span = v[-1] - v[0]
        if span <= 0:
            continue
        cd[order[0]] = cd[order[-1]] = np.inf
        for t in range(1, n - 1):
            cd[order[t]] += (v[t + 1] - v[t - 1]) / span
    return cd / m


matrices = st.integers(1, 40).flatmap(
    lambda q: st.integers(2, 5).flatmap(
        lambda m: st.lists(
            st.lists(st.integers(0, 4), min_size=m, max_size=m), min_size=q, max_size=q
        )
    )
)


@settings(max_examples=200, deadline=None)
@given(values=matrices)
def test_nondominated_rank_equals_brute_force_with_ties(values):
    F = np.array(values, dtype=float)
    np.testing.assert_array_equal(K.nondominated_rank(F), brute_rank(F))


@settings(max_examples=200, deadline=None)
@given(values=matrices, keep=st.integers(1, 40))
def test_ranking_is_exact_for_every_row_that_can_survive(values, keep):
    F = np.array(values, dtype=float)
    q = F.shape[0]
    n_keep = min(keep, q)
    exact = brute_rank(F)
    # The last front survival needs: the first whose cumulative size reaches n_keep.
    last = int(np.searchsorted(np.cumsum(np.bincount(exact)), n_keep))
    rank = np.empty(q, dtype=np.int64)
    s = np.empty((2, q), dtype=np.int64)
    n_fronts = K.rank_into(F, q, rank, s[0], s[1], np.empty(q + 8, dtype=np.int64),
                           np.empty((q, q), dtype=np.int32), np.empty((3, q + 8)),
                           np.empty(q), np.empty(q), n_keep)  # fmt: skip
    near = exact <= last
    np.testing.assert_array_equal(rank[near], exact[near])
    assert np.all(rank[~near] > last) and np.all(rank[~near] <= exact[~near])
    assert n_fronts > last
    if F.shape[1] == 3:  # the three-objective path ranks every row exactly
        np.testing.assert_array_equal(rank, exact)
        # ... with or without room for whole vectors in its scratch.
        narrow = np.empty(q, dtype=np.int64)
        K.rank_into(F, q, narrow, s[0], s[1], np.empty(q, dtype=np.int64),
                    np.empty((q, q), dtype=np.int32), np.empty((3, q)), np.empty(q),
                    np.empty(q), n_keep)  # fmt: skip
        np.testing.assert_array_equal(narrow, exact)


@settings(max_examples=150, deadline=None)
@given(values=matrices)
def test_crowding_from_the_lexicographic_order_equals_the_sorted_one(values):
    F = np.array(values, dtype=float)  # small integers: many ties in every objective
    q = F.shape[0]
    members = np.random.default_rng(q).permutation(q)
    lex = np.lexsort(F[members].T[::-1])  # positions in members, lexicographic
    cd = [np.empty(q), np.empty(q)]
    for out, hint in zip(cd, (None, lex), strict=True):
        K.crowding_into(F, members, q, out, np.empty(q, dtype=np.int64),
                        np.empty(q, dtype=np.int64), np.empty(q), np.empty(q),
                        np.empty((q, 1)), hint)  # fmt: skip
    np.testing.assert_array_equal(cd[1], cd[0])
    np.testing.assert_array_equal(cd[0], reference_crowding(F[members]))


@pytest.mark.parametrize("m", [2, 3, 4])
def test_nondominated_rank_on_continuous_values(m):
    rng = np.random.default_rng(m)
    for _ in range(30):
        F = rng.random((int(rng.integers(1, 80)), m))
        np.testing.assert_array_equal(K.nondominated_rank(F), brute_rank(F))


@settings(max_examples=100, deadline=None)
@given(values=matrices)
def test_lexicographic_order_equals_lexsort(values):
    F = np.array(values, dtype=float)
    expected = np.lexsort(F.T[::-1])  # stable: ties by row
    np.testing.assert_array_equal(K.lexicographic_order(F), expected)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.integers(-3, 3), min_size=1, max_size=300),
       jitter=st.lists(st.integers(0, 2), min_size=300, max_size=300),
       nk=st.sampled_from([1, 2]), shuffle=st.integers(0, 2**32 - 1))  # fmt: skip
def test_sort_pairs_is_a_stable_sort_on_value_then_tie_keys(values, jitter, nk, shuffle):
    # Up to 128 pairs the counting sort runs, beyond it the merge sort.
    n = len(values)
    vals = np.array(values, dtype=float)
    keys = np.zeros((n, 2))
    keys[:, 1] = jitter[:n]
    idx = np.random.default_rng(shuffle).permutation(n)  # rows, in no particular order
    sv, si = vals.copy(), idx.copy()
    K.sort_pairs(sv, si, n, np.empty(n), np.empty(n, np.int64), keys, nk)
    tie = keys[idx, 1] if nk == 2 else np.zeros(n)
    expected = idx[np.lexsort((idx, tie, vals))]
    np.testing.assert_array_equal(si, expected)
    np.testing.assert_array_equal(sv, np.sort(vals))


def test_sort_pairs_returns_a_permutation_even_with_nan():
    # NaN compares false both ways: counted places would collide, so such input takes
    # the merge sort, which permutes whatever the values.
    rng = np.random.default_rng(5)
    for n in (2, 50, 128, 200):
        vals = rng.normal(size=n)
        vals[rng.choice(n, max(1, n // 5), replace=False)] = np.nan
        idx = rng.permutation(n)
        sv, si = vals.copy(), idx.copy()
        K.sort_pairs(sv, si, n, np.empty(n), np.empty(n, np.int64), np.zeros((n, 1)), 1)
        np.testing.assert_array_equal(np.sort(si), np.arange(n))


@settings(max_examples=100, deadline=None)
@given(values=matrices, cut=st.integers(0, 40), shuffle=st.integers(0, 2**32 - 1))
def test_lex_order_with_a_known_head_equals_the_full_sort(values, cut, shuffle):
    F = np.array(values, dtype=float)
    q = F.shape[0]
    n_head = min(cut, q)
    F[:n_head] = F[:n_head][np.random.default_rng(shuffle).permutation(n_head)]
    head = np.lexsort(F[:n_head].T[::-1])  # rows 0..n_head-1 in order, ties by row
    order = np.empty(q, dtype=np.int64)
    K.lex_order_into(F, q, order, np.empty(q, dtype=np.int64), np.empty(q), np.empty(q),
                     head, n_head)  # fmt: skip
    np.testing.assert_array_equal(order, np.lexsort(F.T[::-1]))
    # A head that is not these rows' order (a stale hint) falls back to the full sort.
    if n_head > 1 and not np.array_equal(head, head[::-1]):
        K.lex_order_into(F, q, order, np.empty(q, dtype=np.int64), np.empty(q), np.empty(q),
                         head[::-1].copy(), n_head)  # fmt: skip
        np.testing.assert_array_equal(order, np.lexsort(F.T[::-1]))


def test_survival_records_the_survivors_lexicographic_order():
    rng = np.random.default_rng(1)
    for _ in range(30):
        F = rng.integers(0, 4, size=(40, 3)).astype(float)  # many exact ties
        ws = K.make_workspace(40, 20, 1, 3, 1)
        K.survive_into(F, 40, 20, np.ones(1, dtype=np.uint64), ws)
        keep = ws.survivors.copy()
        assert ws.n_survivor_lex[0] == 20
        np.testing.assert_array_equal(ws.survivor_lex[:20], np.lexsort(F[keep].T[::-1]))
        np.testing.assert_array_equal(ws.survives, np.isin(np.arange(40), keep))


@settings(max_examples=100, deadline=None)
@given(values=matrices)
def test_crowding_distance_equals_the_reference(values):
    F = np.array(values, dtype=float)
    np.testing.assert_array_equal(K.crowding_distance(F), reference_crowding(F))


def test_survive_keeps_whole_fronts_and_the_most_spread_of_the_last():
    rng = np.random.default_rng(0)
    for _ in range(20):
        F = rng.integers(0, 6, size=(60, 3)).astype(float)
        state = np.ones(1, dtype=np.uint64)
        keep, keep_rank, keep_cd, rank = K.survive(F, 25, state)
        exact = brute_rank(F)
        last = keep_rank.max()
        # Exact fronts up to the splitting one; past it, a bound still past it.
        near = exact <= last
        np.testing.assert_array_equal(rank[near], exact[near])
        assert np.all(rank[~near] > last) and np.all(rank[~near] <= exact[~near])
        assert len(set(keep.tolist())) == 25
        np.testing.assert_array_equal(keep_rank, rank[keep])
        assert np.all(rank[np.setdiff1d(np.arange(60), keep)] >= last)
        assert np.all(np.diff(keep_rank) >= 0)
        # Within the splitting front the kept rows have the largest crowding distances.
        members = np.flatnonzero(rank == last)
        cd = reference_crowding(F[members])
        kept = keep_cd[keep_rank == last]
        dropped = np.setdiff1d(members, keep)
        if dropped.size:
            assert kept.min() >= cd[np.isin(members, dropped)].max()


@njit
def _hset_run(hashes, t):
    htab = np.zeros(t, dtype=np.uint64)
    hstamp = np.zeros(t, dtype=np.int64)
    out = np.empty(hashes.shape[0], dtype=np.bool_)
    for i in range(hashes.shape[0]):
        out[i] = K.hset_add(htab, hstamp, 1, hashes[i])
    # A new epoch empties the set.
    again = K.hset_add(htab, hstamp, 2, hashes[0]) if hashes.shape[0] else True
    return out, again


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.integers(0, 40), min_size=0, max_size=60))
def test_hash_set_reports_first_occurrences(values):
    hashes = np.array(values, dtype=np.uint64) * np.uint64(2**40)  # collide in low bits
    added, again = _hset_run(hashes, 256)
    seen = set()
    expected = []
    for v in values:
        expected.append(v not in seen)
        seen.add(v)
    np.testing.assert_array_equal(added, expected)
    assert again


@njit
def _popcounts(x):
    out = np.empty(x.shape[0], dtype=np.int64)
    for i in range(x.shape[0]):
        out[i] = K.popcount64(x[i])
    return out


def test_popcount_matches_python():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2**62, size=500, dtype=np.int64)
    x[:3] = [0, 1, 2**62 - 1]
    np.testing.assert_array_equal(_popcounts(x), [bin(int(v)).count("1") for v in x])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_genres=st.integers(1, 130))
def test_bitmask_diversity_equals_the_boolean_matrix(seed, n_genres):
    rng = np.random.default_rng(seed)
    n_items, n, k = 50, 20, 6
    genres = rng.random((n_items, n_genres)) < 0.2
    cands = np.stack([rng.choice(n_items, n, replace=False) for _ in range(2)])
    bits = category_bits(genres, cands)
    assert bits.shape[2] == -(-n_genres // 62)
    inputs = make_inputs(rng.normal(size=(2, n)), cands, genres, np.ones(n_items), k)
    packed = pack_objectives(("diversity",), inputs)
    lists = np.stack([rng.permutation(n)[:k] for _ in range(8)])
    for u in range(2):
        out = np.empty((8, 1))
        K.evaluate_into(out, packed.kernels, packed.codes, lists, packed.fdata[u],
                        packed.idata[u], packed.consts[u], packed.foff, packed.ioff,
                        packed.coff)  # fmt: skip
        expected = genres[cands[u][lists]].any(axis=1).sum(axis=1) / n_genres
        np.testing.assert_array_equal(-out[:, 0], expected)


@pytest.mark.parametrize(
    "names", [("accuracy", "diversity", "novelty"), ("expected_hits", "ild", "novelty")]
)
def test_inline_builtins_equal_their_kernels(names):
    rng = np.random.default_rng(1)
    n_items, n, k = 80, 25, 7
    genres = rng.random((n_items, 10)) < 0.3
    cands = np.stack([rng.choice(n_items, n, replace=False) for _ in range(3)])
    scores = rng.random((3, n))
    inputs = make_inputs(scores, cands, genres, rng.integers(0, 50, n_items), k)
    packed = pack_objectives(names, inputs)
    assert np.all(packed.codes != OBJ_GENERIC)
    generic = np.full_like(packed.codes, OBJ_GENERIC)
    lists = np.stack([rng.permutation(n)[:k] for _ in range(20)])
    for u in range(3):
        a = np.empty((20, 3))
        b = np.empty((20, 3))
        args = (lists, packed.fdata[u], packed.idata[u], packed.consts[u], packed.foff,
                packed.ioff, packed.coff)  # fmt: skip
        K.evaluate_into(a, packed.kernels, packed.codes, *args)
        K.evaluate_into(b, kernel_list(o.kernel for o in packed.objectives), generic, *args)
        np.testing.assert_array_equal(a, b)  # bit for bit: the same arithmetic


def test_finite_columns_reads_populations_and_the_used_archive_rows_only():
    F = np.zeros((2, 3, 3))
    AF = np.zeros((2, 4, 3))
    AF[0, 3, 0] = np.nan  # past user 0's size (3): not read
    np.testing.assert_array_equal(K.finite_columns(F, AF, np.array([3, 0])), [True] * 3)
    F[1, 2, 1] = np.inf
    AF[1, 0, 2] = np.nan  # user 1's size is 1: read
    np.testing.assert_array_equal(K.finite_columns(F, AF, np.array([3, 1])),
                                  [True, False, False])  # fmt: skip
