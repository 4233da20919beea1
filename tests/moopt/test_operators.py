"""Properties of the list operators: every child is K distinct valid candidates."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymoo.core.population import Population
from pymoo.core.problem import Problem

from moopt.operators import (
    ListDuplicateElimination,
    ListMutation,
    ListSampling,
    ListSBX,
    OnePointListCrossover,
    ReplaceMutation,
    SwapMutation,
    UniformListCrossover,
)
from moopt.operators import _kernels as K


class _ListProblem(Problem):
    def __init__(self, k, n):
        self.n_candidates = n
        super().__init__(n_var=k, n_obj=1, xl=0, xu=n - 1, vtype=int)


def _valid(X, k, n):
    X = np.asarray(X)
    assert X.shape[-1] == k
    assert X.min() >= 0 and X.max() < n
    rows = X.reshape(-1, k)
    assert all(len(set(r.tolist())) == k for r in rows)


shapes = st.integers(1, 12).flatmap(lambda k: st.tuples(st.just(k), st.integers(k, 40)))
seeds = st.integers(0, 2**63 - 1)


@settings(max_examples=60, deadline=None)
@given(shapes, st.integers(1, 30), seeds)
def test_random_lists_are_valid(shape, rows, seed):
    k, n = shape
    _valid(K.random_lists(rows, k, n, np.uint64(seed)), k, n)


@settings(max_examples=60, deadline=None)
@given(shapes, st.integers(1, 20), seeds, st.sampled_from([K.CX_ONE_POINT, K.CX_UNIFORM, K.CX_SBX]))
def test_crossover_children_are_valid(shape, pairs, seed, kind):
    k, n = shape
    parents = K.random_lists(2 * pairs, k, n, np.uint64(seed))
    kids = K.crossover_batch(kind, parents[:pairs], parents[pairs:], n, np.uint64(seed + 1), 5.0)
    assert kids.shape == (2, pairs, k)
    _valid(kids, k, n)


@settings(max_examples=60, deadline=None)
@given(shapes, st.integers(1, 20), seeds, st.sampled_from([K.MUT_SWAP, K.MUT_REPLACE, K.MUT_MIXED]))
def test_mutation_children_are_valid(shape, rows, seed, kind):
    k, n = shape
    X = K.random_lists(rows, k, n, np.uint64(seed))
    Y = K.mutate_batch(kind, X, n, np.uint64(seed + 7), 0.5)
    _valid(Y, k, n)
    changed = (Y != X).sum(axis=1)
    if kind == K.MUT_SWAP and k >= 2:
        # A swap changes exactly two slots and keeps the set of items.
        assert np.all(changed == 2)
        assert np.array_equal(np.sort(X, 1), np.sort(Y, 1))
    if kind == K.MUT_REPLACE and n > k:
        assert np.all(changed == 1)


@settings(max_examples=40, deadline=None)
@given(shapes, seeds)
def test_repair_keeps_first_occurrences(shape, seed):
    k, n = shape
    rng = np.random.default_rng(seed % 2**32)
    child = rng.integers(0, n, size=k).astype(np.int64)
    original = child.copy()
    state = np.array([seed], dtype=np.uint64)
    used = np.zeros(n, dtype=bool)
    K.repair_row(child, n, state, used)
    assert len(set(child.tolist())) == k and not used.any()
    firsts = [p for p in range(k) if original[p] not in original[:p]]
    assert np.array_equal(child[firsts], original[firsts])


def test_one_point_crossover_hand_case():
    a = np.array([[0, 1, 2, 3]])
    b = np.array([[4, 5, 6, 7]])
    kids = K.crossover_batch(K.CX_ONE_POINT, a, b, 8, np.uint64(3), 15.0)
    # Disjoint parents need no repair: each child is a prefix of one parent and the
    # suffix of the other at the same cut.
    cut = int(np.argmax(kids[0, 0] != a[0]))
    assert 1 <= cut <= 3
    assert np.array_equal(kids[0, 0], np.r_[a[0, :cut], b[0, cut:]])
    assert np.array_equal(kids[1, 0], np.r_[b[0, :cut], a[0, cut:]])


def test_kernels_are_seeded_and_thread_independent():
    import numba

    X1 = K.random_lists(50, 10, 100, np.uint64(11))
    assert np.array_equal(X1, K.random_lists(50, 10, 100, np.uint64(11)))
    assert not np.array_equal(X1, K.random_lists(50, 10, 100, np.uint64(12)))
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        X2 = K.random_lists(50, 10, 100, np.uint64(11))
        M2 = K.mutate_batch(K.MUT_MIXED, X2, 100, np.uint64(5), 0.5)
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(X1, X2)
    assert np.array_equal(M2, K.mutate_batch(K.MUT_MIXED, X1, 100, np.uint64(5), 0.5))


def test_hash_is_order_sensitive():
    h = K.hash_rows(np.array([[1, 2, 3], [3, 2, 1], [1, 2, 3]]))
    assert h[0] == h[2] and h[0] != h[1]


# ------------------------------------------------------------------ the pymoo operators


@pytest.mark.parametrize("seed", range(5))
def test_pymoo_operators_produce_valid_lists(seed):
    k, n = 6, 15
    problem = _ListProblem(k, n)
    rng = np.random.default_rng(seed)
    pop = ListSampling().do(problem, 20, random_state=rng)
    X = pop.get("X")
    _valid(X, k, n)
    assert np.array_equal(X[0], np.arange(k))  # the top-K list comes first
    for cx in (OnePointListCrossover(prob=1.0), UniformListCrossover(prob=1.0), ListSBX(prob=1.0)):
        parents = np.arange(20).reshape(10, 2)
        off = cx.do(problem, pop, parents, random_state=rng)
        assert len(off) == 20
        _valid(off.get("X"), k, n)
    for mut in (SwapMutation(prob=1.0), ReplaceMutation(prob=1.0), ListMutation(prob=1.0)):
        off = mut.do(problem, Population.new("X", X.copy()), random_state=rng)
        _valid(off.get("X"), k, n)
        assert np.any(off.get("X") != X)


def test_mutation_probability_is_per_offspring():
    problem = _ListProblem(5, 50)
    X = ListSampling(include_topk=False).do(problem, 2000, random_state=np.random.default_rng(0))
    X = X.get("X")
    off = ReplaceMutation(prob=0.2).do(
        problem, Population.new("X", X.copy()), random_state=np.random.default_rng(1)
    )
    share = np.mean(np.any(off.get("X") != X, axis=1))
    assert 0.17 < share < 0.23


def test_sampling_injects_lists():
    problem = _ListProblem(3, 10)
    inject = np.array([[9, 8, 7], [5, 6, 4]])
    X = ListSampling(inject=inject).do(problem, 5, random_state=np.random.default_rng(0)).get("X")
    assert np.array_equal(X[1:3], inject)
    with pytest.raises(ValueError, match="repeated"):
        ListSampling(inject=np.array([[1, 1, 2]])).do(problem, 5)


def test_duplicate_elimination_by_row():
    pop = Population.new("X", np.array([[1, 2, 3], [3, 2, 1], [1, 2, 3], [4, 5, 6]]))
    other = Population.new("X", np.array([[4, 5, 6]]))
    kept = ListDuplicateElimination().do(pop, other)
    assert kept.get("X").tolist() == [[1, 2, 3], [3, 2, 1]]


def test_row_kernels_leave_the_shared_scratch_clean():
    # The engine reuses one `used` array for every repair and replacement of a generation;
    # a kernel leaving a mark behind would eventually make rejection sampling loop forever.
    n, k = 9, 3
    used = np.zeros(n, dtype=bool)
    state = np.array([7], dtype=np.uint64)
    x = np.array([0, 1, 2], dtype=np.int64)
    y = np.array([3, 4, 5], dtype=np.int64)
    c1, c2 = np.empty(3, np.int64), np.empty(3, np.int64)
    for _ in range(500):
        K.replace_row(x, n, state, used)
        assert not used.any()
        K.mutate_row(x, n, state, used, 0.5)
        assert not used.any()
        for kind in (K.CX_ONE_POINT, K.CX_UNIFORM, K.CX_SBX):
            K.crossover_row(kind, x, y, c1, c2, n, state, used, 2.0)
            assert not used.any()
        _valid(x, k, n)
