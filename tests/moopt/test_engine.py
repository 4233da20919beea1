"""The batched NSGA-II engine, the list objectives and the final-list selection."""

import itertools

import numba
import numpy as np
import pytest

from moopt import rerank_batch
from moopt.decision import angles, angular_index, knee_index
from moopt.engine import BatchState
from moopt.engine.kernels import crowding_distance, nondominated_rank
from moopt.objectives import (
    ListObjective,
    ObjectiveData,
    get_objective,
    item_novelty,
    make_inputs,
    objective,
    pack_objectives,
    portable_round,
)


def make_case(n_users=6, n=30, n_items=200, n_genres=8, seed=0):
    rng = np.random.default_rng(seed)
    genres = rng.random((n_items, n_genres)) < 0.25
    pop = rng.integers(0, 300, n_items).astype(float)
    cands = np.stack([rng.choice(n_items, n, replace=False) for _ in range(n_users)])
    scores = rng.normal(size=(n_users, n))
    return scores, cands, genres, pop


# ------------------------------------------------------------------ objectives vs numpy


def reference_objectives(scores, cands, genres, pop, lists, k):
    """Straight numpy versions of the three objectives for one user's lists (positions)."""
    s = scores - scores.min()
    disc = 1.0 / np.log2(np.arange(k) + 2)
    ideal = np.sort(s)[::-1][:k] @ disc
    acc = (s[lists] * disc).sum(axis=1) / ideal
    div = genres[cands[lists]].any(axis=1).sum(axis=1) / genres.shape[1]
    nov = item_novelty(pop)[cands[lists]].mean(axis=1)
    return np.stack([acc, div, nov], axis=1)


def test_objective_kernels_match_numpy():
    scores, cands, genres, pop = make_case()
    inputs = make_inputs(scores, cands, genres, pop, k=5)
    packed = pack_objectives(("accuracy", "diversity", "novelty"), inputs)
    rng = np.random.default_rng(1)
    from moopt.engine import evaluate_lists

    lists = np.stack(
        [np.stack([rng.choice(30, 5, replace=False) for _ in range(7)]) for _ in range(6)]
    )
    got = evaluate_lists(lists, packed)
    for u in range(6):
        want = reference_objectives(scores[u], cands[u], genres, pop, lists[u], 5)
        np.testing.assert_allclose(got[u], want, rtol=1e-12)


def test_accuracy_is_one_for_the_topk_and_handles_negative_scores():
    scores = np.array([[-5.0, -1.0, -3.0, -2.0]])
    inputs = make_inputs(scores, np.array([[0, 1, 2, 3]]), np.eye(4, dtype=bool), np.ones(4), 2)
    packed = pack_objectives(("accuracy",), inputs)
    from moopt.engine import evaluate_lists

    # shifted scores: [0, 4, 2, 3]; top-2 by score = positions [1, 3]: 4 + 3/log2(3)
    vals = evaluate_lists(np.array([[[1, 3], [3, 1], [0, 2]]]), packed)[0, :, 0]
    ideal = 4 + 3 / np.log2(3)
    np.testing.assert_allclose(
        vals, [1.0, (3 + 4 / np.log2(3)) / ideal, (0 + 2 / np.log2(3)) / ideal]
    )


def test_expected_hits_counts_every_slot_alike_and_needs_probabilities():
    from moopt.engine import evaluate_lists

    q = np.array([[0.5, 0.2, 0.1, 0.05]])
    inputs = make_inputs(q, np.array([[0, 1, 2, 3]]), np.eye(4, dtype=bool), np.ones(4), 2)
    packed = pack_objectives(("expected_hits",), inputs)
    vals = evaluate_lists(np.array([[[0, 1], [1, 0], [1, 2], [3, 2]]]), packed)[0, :, 0]
    # top-2 mass 0.5 + 0.2 = 0.7; order inside the list does not matter.
    np.testing.assert_allclose(vals, [1.0, 1.0, 0.3 / 0.7, 0.15 / 0.7])
    for bad in ([[-0.1, 0.2, 0.3, 0.4]], [[1.5, 0.2, 0.3, 0.4]]):
        inputs = make_inputs(np.array(bad), np.array([[0, 1, 2, 3]]), None, None, 2)
        with pytest.raises(ValueError, match="hit probabilities"):
            pack_objectives(("expected_hits",), inputs)


def test_item_novelty_normalisation():
    # pop_max 8, pop_min (positive) 1: log2(8 / p) / 3; zero popularity counts as 1;
    # 2 / 3 rounded to the nearest float32 (portable across CPUs' log2).
    nov = item_novelty(np.array([8.0, 1.0, 2.0, 0.0]))
    assert nov.tolist() == [0.0, 1.0, float(np.float32(2 / 3)), 1.0]
    assert np.all(item_novelty(np.array([3.0, 3.0])) == 0)


def test_portable_round_is_float32_rounding_kept_in_float64():
    x = np.array([1.0 + 2.0**-52, 1.0 + 2.0**-23, 1.0 + 1.5 * 2.0**-23, 1e-3, -2.5, 0.0])
    out = portable_round(x)
    assert out.dtype == np.float64
    # one ulp above 1 rounds down; a float32 value is kept; halfway rounds to even.
    assert out.tolist() == [1.0, 1.0 + 2.0**-23, 1.0 + 2.0**-22, float(np.float32(1e-3)), -2.5,
                            0.0]  # fmt: skip
    big = np.array([1e300, -1e39, np.inf, np.nan])  # beyond float32: kept as given
    out = portable_round(big)
    assert out[:3].tolist() == [1e300, -1e39, np.inf] and np.isnan(out[3])
    assert portable_round(2.0).shape == ()


def test_probabilities_a_few_ulps_apart_round_to_the_same_values():
    # What portable_round is for: machines whose exp/log differ in the last bits of the
    # calibrated probabilities must hand the search the same inputs. Differences of a few
    # ulps vanish unless a value lies within them of a float32 rounding boundary (about
    # 2^-26 per value per ulp): none of these 30,000 do, at either sign.
    q = np.random.default_rng(5).dirichlet(np.ones(100), size=300) * 0.5
    for ulps in (1, 3, -2):
        other = q * (1 + ulps * 2.0**-52)
        assert (other != q).mean() > 0.5
        np.testing.assert_array_equal(portable_round(other), portable_round(q))


# ------------------------------------------------------------------ sorting kernels


def test_nondominated_rank_against_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(20):
        F = rng.integers(0, 4, size=(25, 3)).astype(float)
        rank = nondominated_rank(F)
        remaining = set(range(25))
        r = 0
        while remaining:
            front = {
                i
                for i in remaining
                if not any(np.all(F[j] <= F[i]) and np.any(F[j] < F[i]) for j in remaining)
            }
            assert {i for i in range(25) if rank[i] == r} == front
            remaining -= front
            r += 1


def test_crowding_distance_hand_case():
    F = np.array([[0.0, 4.0], [1.0, 2.0], [3.0, 1.0], [4.0, 0.0]])
    cd = crowding_distance(F)
    # point 1: (3-0)/4 + (4-1)/4 = 1.5 -> /2 objectives = 0.75
    # point 2: (4-1)/4 + (2-0)/4 = 1.25 -> 0.625
    assert np.isinf(cd[0]) and np.isinf(cd[3])
    np.testing.assert_allclose(cd[1:3], [0.75, 0.625])


# ------------------------------------------------------------------ the engine


def test_results_are_valid_lists():
    scores, cands, genres, pop = make_case()
    res = rerank_batch(scores, cands, genres, pop, k=5, pop_size=20, n_gen=5, seed=0)
    assert res.positions.shape == (6, 20, 5) and res.F.shape == (6, 20, 3)
    for u in range(6):
        for row in res.positions[u]:
            assert len(set(row.tolist())) == 5
        assert len({tuple(r) for r in res.positions[u].tolist()}) == 20  # no duplicate lists
        assert set(res.X[u].ravel()) <= set(cands[u])
    # F is what the objectives say about the final lists.
    want = np.stack(
        [
            reference_objectives(scores[u], cands[u], genres, pop, res.positions[u], 5)
            for u in range(6)
        ]
    )
    np.testing.assert_allclose(res.F, want, rtol=1e-12)
    # rank is the non-dominated rank of the final population.
    for u in range(6):
        np.testing.assert_array_equal(res.rank[u], nondominated_rank(-res.F[u]))
    assert np.all(res.n_evals >= 20) and np.all(res.n_evals <= 20 * 5)


def test_same_seed_same_result_any_thread_count():
    scores, cands, genres, pop = make_case(n_users=9)
    a = rerank_batch(scores, cands, genres, pop, k=5, pop_size=16, n_gen=6, seed=4)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        b = rerank_batch(scores, cands, genres, pop, k=5, pop_size=16, n_gen=6, seed=4)
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.F, b.F)
    c = rerank_batch(scores, cands, genres, pop, k=5, pop_size=16, n_gen=6, seed=5)
    assert not np.array_equal(a.positions, c.positions)
    # A user's search does not depend on which other users are in the batch.
    d = rerank_batch(scores[3:], cands[3:], genres, pop, k=5, pop_size=16, n_gen=6, seed=4)
    assert not np.array_equal(a.positions[3:], d.positions)  # stream ids shift with the batch
    one = rerank_batch(scores[:1], cands[:1], genres, pop, k=5, pop_size=16, n_gen=6, seed=4)
    np.testing.assert_array_equal(one.positions[0], a.positions[0])


def test_users_in_one_workspace_block_do_not_leak_into_each_other():
    # Blocks of 32 users share a workspace; each user's result must equal its run alone
    # (same stream id), whatever block and position it had.
    from moopt.engine.rerank import RerankConfig, run_engine
    from moopt.objectives import make_inputs, pack_objectives

    scores, cands, genres, pop = make_case(n_users=70)
    full = rerank_batch(scores, cands, genres, pop, k=5, pop_size=16, n_gen=6, seed=2)
    inputs = make_inputs(scores, cands, genres, pop, 5, None)
    cfg = RerankConfig(k=5, pop_size=16, n_gen=6)
    names = ("accuracy", "diversity", "novelty")
    for users in (np.array([33]), np.array([69, 0, 40]), np.arange(31, 36)):
        sub = inputs.select(users)
        part = run_engine(sub, pack_objectives(names, sub), cfg, 2, users)
        np.testing.assert_array_equal(part.positions, full.positions[users])
        np.testing.assert_array_equal(part.F, full.F[users])
        np.testing.assert_array_equal(part.crowding, full.crowding[users])


def test_engine_finds_the_true_front_of_a_tiny_problem():
    # 7 candidates, K = 2: 42 ordered lists; enumerate them for the exact Pareto front.
    scores, cands, genres, pop = make_case(n_users=3, n=7, n_genres=5, seed=2)
    res = rerank_batch(scores, cands, genres, pop, k=2, pop_size=30, n_gen=40, seed=1)
    lists = np.array(list(itertools.permutations(range(7), 2)))
    for u in range(3):
        F = reference_objectives(scores[u], cands[u], genres, pop, lists, 2)
        true_front = {
            tuple(np.round(f, 12)) for f, r in zip(F, nondominated_rank(-F), strict=True) if r == 0
        }
        found = {tuple(np.round(f, 12)) for f in res.F[u][res.rank[u] == 0]}
        assert found == true_front


def test_topk_list_is_seeded_and_survives():
    scores, cands, genres, pop = make_case()
    res = rerank_batch(scores, cands, genres, pop, k=5, pop_size=20, n_gen=3, seed=0)
    # The top-K list has accuracy 1 (up to summation order), the maximum, so it is never
    # dominated and survives every generation.
    np.testing.assert_allclose(res.F[..., 0].max(axis=1), 1.0, rtol=1e-12)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    for u in range(6):
        assert any(np.array_equal(row, top[u]) for row in res.positions[u])


def test_quality_improves_over_generations():
    scores, cands, genres, pop = make_case(n_users=20, n=60)
    from pymoo.indicators.hv import HV

    hv = HV(ref_point=np.full(3, 1.1))

    def mean_hv(n_gen):
        res = rerank_batch(scores, cands, genres, pop, k=8, pop_size=30, n_gen=n_gen, seed=0)
        return np.mean([hv(-res.F[u][res.rank[u] == 0]) for u in range(20)])

    assert mean_hv(15) > mean_hv(1) + 0.05


def test_crossover_variants_run():
    scores, cands, genres, pop = make_case()
    for cx in ("one_point", "uniform", "sbx"):
        res = rerank_batch(
            scores, cands, genres, pop, k=5, pop_size=12, n_gen=3, seed=0, crossover=cx
        )
        assert res.rank.min() == 0


# ------------------------------------------------------------------ custom objectives


def prepare_exposure(inputs):
    # Exposure fairness: reward items whose exposure so far (an extra array) is low.
    exposure = np.asarray(inputs.extras["exposure"], dtype=float)
    share = 1.0 - exposure / exposure.max()
    u, n = inputs.candidates.shape
    return ObjectiveData(
        share[inputs.candidates][..., None], np.zeros((u, n, 0), np.int64), np.zeros((u, 0))
    )


def test_a_user_defined_objective_runs_in_the_engine():
    scores, cands, genres, pop = make_case()
    exposure = np.random.default_rng(0).integers(1, 100, 200).astype(float)

    def fairness(positions, fdata, idata, consts):
        total = 0.0
        for p in range(positions.shape[0]):
            total += fdata[positions[p], 0]
        return total / positions.shape[0]

    fair = ListObjective("fairness", fairness, prepare_exposure)
    res = rerank_batch(
        scores,
        cands,
        genres,
        pop,
        k=5,
        pop_size=12,
        n_gen=3,
        seed=0,
        objectives=("accuracy", fair),
        extras={"exposure": exposure},
    )
    share = 1.0 - exposure / exposure.max()
    np.testing.assert_allclose(res.F[..., 1], share[res.X].mean(axis=2))
    assert res.objectives == ("accuracy", "fairness")


def test_an_objective_returning_nan_is_named_not_passed_on():
    scores, cands, genres, pop = make_case()

    def broken(positions, fdata, idata, consts):
        return np.nan if positions[0] % 2 == 0 else 0.5  # NaN for about half the lists

    bad = ListObjective("broken", broken, prepare_exposure)
    for archive_size in (0, 64):
        with pytest.raises(ValueError, match="objective 'broken' returned NaN"):
            rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=4, seed=0,
                         objectives=("accuracy", bad), archive_size=archive_size,
                         extras={"exposure": np.ones(200)})  # fmt: skip


def test_registering_by_name_with_the_decorator():
    @objective(
        "test_mean_score",
        prepare=lambda inp: ObjectiveData(
            inp.scores[..., None],
            np.zeros((*inp.scores.shape, 0), np.int64),
            np.zeros((inp.n_users, 0)),
        ),
        overwrite=True,
    )
    def mean_score(positions, fdata, idata, consts):
        return fdata[positions, 0].mean()

    assert get_objective("test_mean_score") is mean_score
    scores, cands, genres, pop = make_case()
    res = rerank_batch(
        scores,
        cands,
        genres,
        pop,
        k=4,
        pop_size=10,
        n_gen=2,
        objectives=("test_mean_score", "novelty"),
    )
    np.testing.assert_allclose(
        res.F[..., 0], np.take_along_axis(scores[:, None, :], res.positions, 2).mean(2)
    )
    with pytest.raises(ValueError, match="exists"):
        objective("test_mean_score", prepare=prepare_exposure)(lambda *a: 0.0)
    with pytest.raises(ValueError, match="unknown objective"):
        get_objective("nope")


# ------------------------------------------------------------------ callbacks


class InjectTopByNovelty:
    """Injects each user's K most novel candidates once, after generation 2."""

    def __init__(self):
        self.calls = []

    def __call__(self, state: BatchState):
        self.calls.append(state.gen)
        if state.gen != 2:
            return None
        nov = state.packed.fdata[:, :, -1]  # novelty is the last objective's only column
        self.injected = np.argsort(-nov, axis=1)[:, : state.inputs.k][:, None, :]
        return self.injected


def test_callback_sees_every_generation_and_can_inject():
    scores, cands, genres, pop = make_case()
    cb = InjectTopByNovelty()
    res = rerank_batch(scores, cands, genres, pop, k=5, pop_size=16, n_gen=4, seed=0, callback=cb)
    assert cb.calls == [1, 2, 3, 4]
    # The injected list reaches the highest novelty any list can have; only a list with the
    # same novelty (a reordering of it) can dominate it, so that maximum survives.
    best_possible = np.sort(item_novelty(pop)[cands], axis=1)[:, ::-1][:, :5].mean(axis=1)
    np.testing.assert_allclose(res.F[..., 2].max(axis=1), best_possible, rtol=1e-12)
    assert np.all(res.n_evals >= 16 + 1)


def test_callback_lists_are_validated():
    scores, cands, genres, pop = make_case()
    with pytest.raises(ValueError, match="repeated position"):
        rerank_batch(
            scores,
            cands,
            genres,
            pop,
            k=3,
            pop_size=8,
            n_gen=2,
            callback=lambda s: np.zeros((6, 1, 3), dtype=int),
        )


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda a: a.update(scores=np.where(np.eye(6, 30, dtype=bool), np.nan, a["scores"])),
            "NaN or infinite",
        ),
        (lambda a: a.update(k=31), "larger than the candidate set"),
        (lambda a: a["candidates"].__setitem__((2, 1), a["candidates"][2, 0]), "repeats item"),
        (lambda a: a.update(item_popularity=np.ones(150)), "cover the same catalogue"),
        (lambda a: a.update(item_popularity=-np.ones(200)), "non-negative"),
        (lambda a: a.update(item_genres=np.ones((100, 8), bool), item_popularity=None), "outside"),
        (lambda a: a.update(scores=np.zeros((0, 30)), candidates=np.zeros((0, 30), int)), "empty"),
        (lambda a: a.update(candidates=a["candidates"][:, :20]), "must match"),
        (lambda a: a.update(pop_size=1), "pop_size"),
        (lambda a: a.update(p_mut=1.5), "p_mut"),
        (lambda a: a.update(objectives=("accuracy", "accuracy")), "distinct"),
        (lambda a: a.update(candidates=a["candidates"].astype(float)), "integer item ids"),
    ],
)
def test_bad_input_is_rejected_before_any_kernel(change, message):
    scores, cands, genres, pop = make_case()
    args = dict(
        scores=scores,
        candidates=cands.copy(),
        item_genres=genres,
        item_popularity=pop,
        k=5,
        pop_size=10,
        n_gen=2,
    )
    change(args)
    with pytest.raises((ValueError, TypeError), match=message):
        rerank_batch(**args)


def test_pop_size_larger_than_the_number_of_lists():
    scores, cands, genres, pop = make_case(n=3)
    with pytest.raises(ValueError, match="distinct lists"):
        rerank_batch(scores, cands, genres, pop, k=2, pop_size=7, n_gen=2)


# ------------------------------------------------------------------ decision making


def test_knee_and_angular_selection():
    # A convex front with an obvious knee at (0.9, 0.9).
    F = np.array([[1.0, 0.0], [0.9, 0.9], [0.0, 1.0], [0.5, 0.6]])
    assert knee_index(F) == 1
    anchors = np.array([[1.0, 0.1]])
    # Angles to (1, .1): arccos(1/sqrt(1.01)) = 0.0996687;
    # arccos(0.99/(sqrt(1.62) sqrt(1.01))) = 0.6857295; arccos(0.1/sqrt(1.01)) = 1.4711277;
    # arccos(0.56/(sqrt(0.61) sqrt(1.01))) = 0.7763894.
    np.testing.assert_allclose(
        angles(F, anchors)[:, 0], [0.0996687, 0.6857295, 1.4711277, 0.7763894], atol=1e-6
    )
    assert angular_index(F, anchors) == 0


def test_result_selection_and_frame():
    scores, cands, genres, pop = make_case()
    res = rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=3, seed=0)
    # select indexes the archive by default, the population with source="population".
    idx = res.select("knee", source="population")
    assert np.all(res.rank[np.arange(6), idx] == 0)
    best = res.select("accuracy", source="population")
    np.testing.assert_allclose(res.F[np.arange(6), best, 0], 1.0, rtol=1e-12)
    best = res.select("accuracy")
    assert np.all(best < res.archive_size)
    np.testing.assert_allclose(res.archive_F[np.arange(6), best, 0], 1.0, rtol=1e-12)
    lists = res.chosen_lists("novelty")
    assert lists.shape == (6, 5)
    frame = res.to_frame()
    assert len(frame) == 6 * 12
    assert list(frame.columns) == [
        "user",
        "solution",
        "rank",
        "crowding",
        "accuracy",
        "diversity",
        "novelty",
        "items",
    ]
    with pytest.raises(ValueError, match="anchors"):
        res.select("angular")


@pytest.mark.parametrize("make", ["sparse_zeros", "populated_zeros"])
def test_mapped_arrays_are_writable_zero_arrays_of_the_shape_asked(make):
    from moopt import _memory

    for shape, dtype in (((3, 4, 5), np.int64), ((2, 7), np.uint8), ((0, 4), np.float64),
                         ((5, 0, 2), np.uint64), ((600, 1000), np.float64)):  # fmt: skip
        x = getattr(_memory, make)(shape, dtype)
        assert x.shape == shape and x.dtype == np.dtype(dtype) and x.flags.c_contiguous
        assert x.flags.writeable and not x.any()
        if x.size:
            x.reshape(-1)[-1] = 7
            assert x.reshape(-1)[-1] == 7 and x.sum() == 7


def test_borrowed_views_read_and_write_the_owners_data():
    from numba.core.errors import TypingError

    from moopt._memory import borrowed, keep_alive

    @numba.njit
    def scale_rows(a, pair):
        owned = np.arange(6.0).reshape(2, 3).T  # F-ordered, owned by this function
        ba, (bb, n, w), bo = borrowed((a, pair, owned))
        total = 0.0
        for i in range(ba.shape[0]):
            row = ba[i]  # a view of a borrowed array: borrowed too
            for j in range(row.shape[0]):
                row[j] *= w
        for j in range(bb.shape[0]):
            bb[j] += n
        for i in range(bo.shape[0]):
            for j in range(bo.shape[1]):
                total += bo[i, j] * (10 * i + j)
        keep_alive(owned)
        return total, bo.strides[0], bo.strides[1]

    a = np.arange(12.0).reshape(3, 4)
    b = np.zeros(5, dtype=np.int64)
    total, s0, s1 = scale_rows(a, (b, 3, 0.5))
    np.testing.assert_array_equal(a, np.arange(12.0).reshape(3, 4) * 0.5)
    np.testing.assert_array_equal(b, np.full(5, 3))
    ref = np.arange(6.0).reshape(2, 3).T
    assert total == sum(ref[i, j] * (10 * i + j) for i in range(3) for j in range(2))
    assert (s0, s1) == ref.strides  # the layout is kept (8, 24)

    @numba.njit
    def borrow_a_list(x):
        return borrowed(x)

    with pytest.raises(TypingError, match="borrowed"):
        borrow_a_list(numba.typed.List([1.0]))


def test_borrowed_arrays_emit_no_reference_counting_and_convert_to_arrays():
    import re

    from moopt._memory import BORROWED, borrowed

    if not BORROWED:
        pytest.skip("MOOPT_BORROWED=0: borrowed() returns ordinary arrays")

    @numba.njit("float64(float64[::1])")
    def plain_sum(row):  # compiled for ordinary arrays only
        return row.sum()

    @numba.njit(inline="always")
    def bump(x, state):
        state[0] += 1
        if state[0] % 2:
            x[0] += 1.0
        return x[0]

    def body(a, state):
        total = 0.0
        for i in range(a.shape[0]):
            row = a[i]
            if row[0] > 1.0:
                total += bump(row, state)
            total += plain_sum(row)
        return total

    owned = numba.njit(body)
    body_b = numba.njit(body)

    @numba.njit
    def lent(a, state):
        return body_b(*borrowed((a, state)))

    a = np.arange(12.0).reshape(4, 3)
    state = np.zeros(1, dtype=np.int64)
    a2, state2 = a.copy(), state.copy()
    assert lent(a, state) == owned(a2, state2)  # the same arithmetic, the same writes
    np.testing.assert_array_equal(a, a2)
    assert state[0] == state2[0] == 3
    assert all("borrowed array" in str(sig[0]) for sig in body_b.signatures)

    def increfs(dispatcher):
        ir = "".join(dispatcher.inspect_llvm().values())
        own = [f for f in re.split(r"\ndefine ", ir)[1:]
               if "body" in re.search(r"@\"?([^\"(\s]+)", f).group(1)]  # fmt: skip
        return sum(f.count("call void @NRT_incref") for f in own)

    # The row views and the helper inlined in the loop count references on ordinary
    # arrays; on borrowed ones nothing is emitted.
    assert increfs(owned) > 0
    assert increfs(body_b) == 0
