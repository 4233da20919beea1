"""The engine's archive of non-dominated lists, seeding, and choosing one list per user."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moopt import rerank_batch
from moopt.engine import evaluate_lists
from moopt.engine.archive import archive_add
from moopt.objectives import make_inputs, pack_objectives


def _nondominated_unique(F):
    """Brute force: the distinct rows of F (minimised) that no other row dominates."""
    rows = np.unique(F, axis=0)
    keep = []
    for i, f in enumerate(rows):
        dominated = any(
            np.all(g <= f) and np.any(g < f) for j, g in enumerate(rows) if j != i
        )
        if not dominated:
            keep.append(f)
    return np.array(keep).reshape(-1, F.shape[1])


def _empty_archive(cap, k, m):
    return (np.empty((cap, k), np.int64), np.empty((cap, m)), np.empty(cap, np.uint64),
            np.empty(cap, np.uint8), np.zeros(2, np.int64))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)),
        min_size=1, max_size=40,
    ),  # fmt: skip
)
def test_archive_is_exactly_the_nondominated_set_without_overflow(values):
    F = np.array(values, dtype=float)
    arc = _empty_archive(len(F), 2, 3)
    for i, f in enumerate(F):
        archive_add(*arc, np.array([i, i + 1]), f, np.uint64(i), False)
    size, overflow = arc[4]
    assert overflow == 0
    got = np.unique(arc[1][:size], axis=0)
    np.testing.assert_array_equal(got, _nondominated_unique(F))


def test_full_archive_prunes_the_most_crowded_unprotected_entry():
    cap = 3
    arc = _empty_archive(cap, 1, 2)
    # A front on the line f1 + f2 = 4; the first entry is a protected seed.
    front = [(2.0, 2.0), (0.0, 4.0), (4.0, 0.0), (1.0, 3.0), (3.0, 1.0)]
    for i, f in enumerate(front):
        archive_add(*arc, np.array([i]), np.array(f), np.uint64(i), i == 0)
    size, overflow = arc[4]
    assert size == cap and overflow == 2
    kept = {tuple(f) for f in arc[1][:size]}
    assert (2.0, 2.0) in kept  # the seed, although the most crowded point
    assert {(0.0, 4.0), (4.0, 0.0)} <= kept  # extremes have infinite crowding


def _instance(seed, u=3, n=12, items=40, g=5):
    rng = np.random.default_rng(seed)
    scores = rng.random((u, n))
    cands = np.stack([rng.choice(items, n, replace=False) for _ in range(u)])
    genres = rng.random((items, g)) < 0.3
    pop = rng.integers(1, 100, items).astype(float)
    return scores, cands, genres, pop


class _Recorder:
    """Records every population the engine shows a callback."""

    def __init__(self):
        self.seen = []

    def __call__(self, state):
        self.seen.append((state.positions.copy(), state.F.copy()))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 4), n_seeds=st.integers(0, 6))
def test_archive_never_loses_a_nondominated_list_and_seeds_survive(seed, k, n_seeds):
    scores, cands, genres, pop = _instance(seed)
    rng = np.random.default_rng(seed + 1)
    u, n = scores.shape
    seeds = np.array([[rng.choice(n, k, replace=False) for _ in range(n_seeds)]
                      for _ in range(u)], dtype=np.int64).reshape(u, n_seeds, k)  # fmt: skip
    rec = _Recorder()
    res = rerank_batch(scores, cands, genres, pop, k=k, pop_size=8, n_gen=6, seed=seed,
                       callback=rec, initial=seeds, p_mut=0.5)  # fmt: skip
    inputs = make_inputs(scores, cands, genres, pop, k)
    packed = pack_objectives(res.objectives, inputs)
    topk = np.argsort(-scores, axis=1, kind="stable")[:, None, :k]
    offered = evaluate_lists(np.concatenate([topk, seeds], axis=1), packed)
    for users in range(u):
        size = res.archive_size[users]
        A = res.archive_F[users, :size]
        assert size >= 1 and res.archive_overflow[users] == 0
        # Entries are what the objectives say about their lists, and mutually
        # non-dominated.
        np.testing.assert_allclose(
            evaluate_lists(res.archive_positions[users : users + 1, :size],
                           packed.select(np.array([users])))[0],
            A,
        )
        for i in range(size):
            others = np.delete(A, i, axis=0)
            assert not np.any(np.all(others >= A[i], axis=1) & np.any(others > A[i], axis=1))
        # Every list the search held at any generation, and every seed, is weakly
        # dominated by (or equal to) an archive entry.
        held = [F[users] for _, F in rec.seen] + [res.F[users], offered[users]]
        for f in np.concatenate(held):
            assert np.any(np.all(A >= f - 1e-12, axis=1)), f


class _Silent:
    """A callback that changes nothing; with it the engine runs one generation per call."""

    def __call__(self, state):
        return None


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), archive=st.sampled_from([0, 4, 6, 256]),
       n_seeds=st.integers(0, 3), users=st.integers(1, 70),
       objectives=st.sampled_from([("accuracy", "diversity", "novelty"),
                                   ("accuracy", "novelty"),
                                   ("accuracy", "diversity", "novelty", "ild")]))  # fmt: skip
def test_a_run_in_one_call_equals_the_run_generation_by_generation(seed, archive, n_seeds,
                                                                    users, objectives):  # fmt: skip
    # Without a callback a whole run is one Numba call with the archives in the blocks'
    # workspaces; with one, the engine returns after every generation and the archives
    # live in per-user arrays. Small archives overflow (pop_size 8), and more than 32
    # users span several blocks; two and four objectives take the general ranking and
    # archive code.
    scores, cands, genres, pop = _instance(seed, u=users)
    rng = np.random.default_rng(seed + 1)
    n = scores.shape[1]
    seeds = np.array([[rng.choice(n, 3, replace=False) for _ in range(n_seeds)]
                      for _ in range(users)], dtype=np.int64)  # fmt: skip
    seeds = seeds.reshape(users, n_seeds, 3)
    kw = dict(k=3, pop_size=8, n_gen=5, seed=seed, initial=seeds, p_mut=0.5,
              archive_size=archive, objectives=objectives)  # fmt: skip
    one = rerank_batch(scores, cands, genres, pop, **kw)
    each = rerank_batch(scores, cands, genres, pop, callback=_Silent(), **kw)
    for name in ("positions", "F", "rank", "crowding", "n_evals", "archive_positions",
                 "archive_F", "archive_size", "archive_overflow", "archive_seed"):  # fmt: skip
        a, b = getattr(one, name), getattr(each, name)
        assert a.shape == b.shape and a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_a_seed_on_the_front_stays_in_the_archive_though_the_population_drops_it():
    scores, cands, genres, pop = _instance(3, u=4, n=30)
    # pop_size 4 truncates hard; the top-K (accuracy 1, the maximum) is a seed.
    res = rerank_batch(scores, cands, genres, pop, k=5, pop_size=4, n_gen=15, seed=0)
    topk = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    for u in range(4):
        rows = res.archive_positions[u, : res.archive_size[u]]
        assert any(np.array_equal(r, topk[u]) for r in rows)
        assert res.archive_seed[u, : res.archive_size[u]].any()


def test_archive_size_smaller_than_the_seeds_is_an_error_and_zero_turns_it_off():
    scores, cands, genres, pop = _instance(0)
    seeds = np.tile(np.arange(3), (3, 4, 1)) + np.arange(4)[None, :, None]
    with pytest.raises(ValueError, match="archive_size"):
        rerank_batch(scores, cands, genres, pop, k=3, pop_size=6, n_gen=2, initial=seeds,
                     archive_size=2)  # fmt: skip
    res = rerank_batch(scores, cands, genres, pop, k=3, pop_size=6, n_gen=2, archive_size=0)
    assert not res.has_archive
    assert res.choose("knee").shape == (3, 3)  # falls back to the population's front
    with pytest.raises(ValueError, match="archive_size"):
        rerank_batch(scores, cands, genres, pop, k=3, archive_size=-1)


@settings(max_examples=40, deadline=None)
@given(w=st.lists(st.floats(-5, 5, allow_nan=False), min_size=3, max_size=3))
def test_choose_returns_a_valid_best_archive_list_for_any_weights(w):
    scores, cands, genres, pop = _SHARED
    res = _SHARED_RES
    weights = dict(zip(res.objectives, w, strict=True))
    lists = res.choose(weights)
    pos = res.choose(weights, positions=True)
    assert lists.shape == (scores.shape[0], 4)
    for u in range(scores.shape[0]):
        assert len(set(lists[u])) == 4 and set(lists[u]) <= set(cands[u])
        np.testing.assert_array_equal(cands[u][pos[u]], lists[u])
        size = res.archive_size[u]
        values = res.archive_F[u, :size] @ np.array(w)
        j = [i for i in range(size)
             if np.array_equal(res.archive_positions[u, i], pos[u])][0]  # fmt: skip
        assert values[j] == values.max()


_SHARED = _instance(11, u=5, n=20)
_SHARED_RES = rerank_batch(*_SHARED, k=4, pop_size=10, n_gen=5, seed=1)


def test_choose_with_a_callable_and_bad_utilities():
    res = _SHARED_RES
    # The callable sees (U, A, M); maximising novelty equals the named rule.
    by_fn = res.choose(lambda F: F[..., 2])
    np.testing.assert_array_equal(by_fn, res.choose("novelty"))
    with pytest.raises(ValueError, match="unknown objectives"):
        res.choose({"fairness": 1.0})
    with pytest.raises(ValueError, match="shape"):
        res.choose(lambda F: F[..., 0].ravel())
    with pytest.raises(TypeError, match="mapping"):
        res.choose(3.0)
    with pytest.raises(ValueError, match="source"):
        res.choose("knee", source="elsewhere")


def test_angular_region_uses_one_anchor():
    res = _SHARED_RES
    anchors = np.zeros((res.n_users, 2, 3))
    anchors[:, 0, 0] = 1.0  # pure accuracy direction
    anchors[:, 1, 2] = 1.0  # pure novelty direction
    acc = res.choose("angular", anchors=anchors, region=0, positions=True)
    nov = res.choose("angular", anchors=anchors, region=1, positions=True)
    u = np.arange(res.n_users)
    F = res.archive_F
    ia = [np.flatnonzero((res.archive_positions[i] == acc[i]).all(1))[0] for i in u]
    io = [np.flatnonzero((res.archive_positions[i] == nov[i]).all(1))[0] for i in u]
    # The accuracy-region choice has higher accuracy share than the novelty-region one.
    def share(idx):
        f = F[u, idx]
        return f[:, 0] / np.linalg.norm(f, axis=1).clip(1e-12)

    assert np.all(share(ia) >= share(io))
    # Rows past a user's archive are marked, not garbage; the arrays are as wide as the
    # largest archive reached, not the capacity.
    width = F.shape[1]
    assert width == res.archive_size.max() <= 256
    short = res.archive_size < width
    assert short.any() and np.isnan(F[u[short], res.archive_size[short]]).all()
    assert (res.archive_positions[u[short], res.archive_size[short]] == -1).all()
    with pytest.raises(ValueError, match="region"):
        res.choose("angular", anchors=anchors, region=2)


def test_choose_dominating_a_reference_is_never_worse_on_any_objective():
    scores, cands, genres, pop = _SHARED
    res = _SHARED_RES
    inputs = make_inputs(scores, cands, genres, pop, 4)
    packed = pack_objectives(res.objectives, inputs)
    # References: each user's top-4 (a seed, so the archive holds it or a dominator) and
    # a list made of the last candidates.
    for ref_pos in (np.argsort(-scores, axis=1, kind="stable")[:, :4],
                    np.tile(np.arange(16, 20), (5, 1))):  # fmt: skip
        ref = evaluate_lists(np.ascontiguousarray(ref_pos[:, None, :]), packed)[:, 0]
        for w in (0.0, 1.0, 100.0):
            pos = res.choose({"accuracy": w, "diversity": 0.5, "novelty": 0.5},
                             dominating=ref, positions=True)  # fmt: skip
            got = evaluate_lists(np.ascontiguousarray(pos[:, None, :]), packed)[:, 0]
            matched = np.all(got >= ref - 1e-12, axis=1)
            assert matched.sum() == res.n_users - res.n_unmatched_
    top = evaluate_lists(np.argsort(-scores, axis=1, kind="stable")[:, None, :4].copy(),
                         packed)[:, 0]  # fmt: skip
    res.choose({"accuracy": 0.0, "novelty": 1.0}, dominating=top)
    assert res.n_unmatched_ == 0  # the top-K is seeded
    with pytest.raises(ValueError, match="dominating"):
        res.choose({"accuracy": 1.0}, dominating=top[:, :2])
    with pytest.raises(ValueError, match="named rules"):
        res.choose("knee", dominating=top)
