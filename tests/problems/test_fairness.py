"""Provider exposure over the users' archives: options, the swept front, the price Problem."""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.optimize import minimize

import moopt
from moopt.objectives import item_novelty
from moopt.system import DualConfig, priced_choice
from problems.fairness import (
    ArchiveOptions,
    ExposurePriceProblem,
    PricedListOracle,
    archive_options,
    coupled_front,
    exposure_front,
    exposure_reach,
    gap_coefficients,
)
from recommenders.metrics import group_shares, min_share_ratio, popularity_groups, position_weights

N_ITEMS, N_USERS, N_CAND, K = 60, 40, 12, 4
WEIGHTS = {"expected_hits": 1.0, "diversity": 0.3, "novelty": 0.3}


@pytest.fixture(scope="module")
def run():
    rng = np.random.default_rng(7)
    pop = np.sort(rng.pareto(1.2, N_ITEMS) * 20 + 1)[::-1].copy()  # item 0 most popular
    genres = rng.random((N_ITEMS, 5)) < 0.3
    genres[genres.sum(axis=1) == 0, 0] = True
    # candidates lean popular, as a base ranker's do
    p = pop / pop.sum()
    items = np.stack([rng.choice(N_ITEMS, N_CAND, replace=False, p=p) for _ in range(N_USERS)])
    q = rng.dirichlet(np.ones(N_CAND), N_USERS)
    res = moopt.rerank_batch(q, items, genres, pop, k=K, pop_size=24, n_gen=15, seed=1,
                             objectives=("expected_hits", "diversity", "novelty"))
    return res, q, popularity_groups(pop, 3)


def test_options_hold_each_archived_lists_exposure_in_display_order(run):
    res, q, m = run
    opt = archive_options(res, WEIGHTS, m, q=q)
    w = position_weights(K)
    for u in (0, 5, 17):
        for a in range(int(res.archive_size[u])):
            pos = res.archive_positions[u, a]
            pos = pos[np.argsort(-q[u, pos], kind="stable")]  # shown best score first
            items = res.candidates[u, pos]
            expected = (w[:, None] * m[items]).sum(axis=0)
            np.testing.assert_allclose(opt.exposure[u, a], expected)
            F = res.archive_F[u, a]
            assert opt.utility[u, a] == pytest.approx(F[0] + 0.3 * F[1] + 0.3 * F[2])
            ranks = np.arange(1, K + 1)
            assert opt.ndcg[u, a] == pytest.approx((q[u, pos] / np.log2(ranks + 1)).sum())
            assert opt.accuracy[u, a] == F[0]
    assert not opt.valid[np.arange(N_USERS), np.minimum(res.archive_size, opt.valid.shape[1] - 1)][
        res.archive_size < opt.valid.shape[1]].any()  # fmt: skip


def test_front_meets_each_level_and_level_zero_is_the_unconstrained_choice(run):
    res, q, m = run
    opt = archive_options(res, WEIGHTS, m, q=q)
    free = res.utility_index(WEIGHTS)
    lists = np.take_along_axis(res.candidates, opt.positions[np.arange(N_USERS), free], axis=1)
    start = min_share_ratio(group_shares(lists, m))
    reach = opt.exposure.max(axis=1).sum(axis=0) / (N_USERS * opt.per_list)  # per group
    top = float(np.min(reach / opt.target))
    levels = [0.0, start, (start + min(top, 1.0)) / 2]
    cfg = DualConfig(tol=0.0)
    front, choices = exposure_front(opt, levels, cfg)
    np.testing.assert_array_equal(choices[0], free)  # no constraint binds at level 0
    assert front["feasible"].all()
    assert np.all(front["min_share_ratio"].to_numpy() >= np.array(sorted(levels)) - 1e-9)
    # the chosen lists' shares are what the metric gives for those lists
    last = np.take_along_axis(res.candidates, opt.positions[np.arange(N_USERS), choices[-1]],
                              axis=1)  # fmt: skip
    shares = group_shares(last, m)
    assert front["min_share_ratio"].iloc[-1] == pytest.approx(min_share_ratio(shares))
    # a higher level costs utility (never gains it)
    assert front["utility"].iloc[-1] <= front["utility"].iloc[0] + 1e-12


def test_unreachable_level_is_refused():
    # two users whose lists never show group 1: any positive level is out of reach
    opt = ArchiveOptions(utility=np.ones((2, 2)), accuracy=np.ones((2, 2)), ndcg=np.ones((2, 2)),
                         exposure=np.tile([[[1.5, 0.0]]], (2, 2, 1)),
                         valid=np.ones((2, 2), dtype=bool), positions=np.zeros((2, 2, 2), int),
                         target=np.array([0.5, 0.5]), per_list=1.5)  # fmt: skip
    front, _ = exposure_front(opt, [0.0])
    assert front["min_share_ratio"].iloc[0] == 0.0
    with pytest.raises(ValueError, match="bound\\[1\\] = 0.15 is unreachable: the most any "
                       "choice gives is 0"):  # fmt: skip
        exposure_front(opt, [0.1])
    with pytest.raises(ValueError, match="level must be"):
        opt.bound(1.5)


def test_price_problem_under_nsga2_spans_the_unconstrained_choice(run):
    res, q, m = run
    opt = archive_options(res, WEIGHTS, m, q=q)
    problem = ExposurePriceProblem(opt)
    out = problem.evaluate(np.zeros((1, 3)))
    free = res.utility_index(WEIGHTS)
    acc = opt.accuracy[np.arange(N_USERS), free].mean()
    assert out[0, 0] == pytest.approx(-acc)
    # the batched evaluation equals priced_choice point by point
    X = np.random.default_rng(0).uniform(0, problem.xu, (6, 3))
    F = problem.evaluate(X)
    u = np.arange(N_USERS)
    for x, f in zip(X, F, strict=True):
        choice = priced_choice(opt.utility, opt.exposure, x, opt.valid)
        assert f[0] == pytest.approx(-opt.accuracy[u, choice].mean())
        assert f[1] == pytest.approx(-min_share_ratio(opt.shares(choice), opt.target))
    r = minimize(problem, NSGA2(pop_size=12), ("n_gen", 5), seed=0)
    assert r.F.shape[1] == 2
    best = np.where(opt.valid, opt.accuracy, -np.inf).max(axis=1).mean()
    assert np.all(-r.F[:, 1] <= 1.0 + 1e-12) and np.all(-r.F[:, 0] <= best + 1e-12)
    # prices move the choice: the front trades accuracy for a higher max-min share
    assert -r.F[:, 1].min() > -out[0, 1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"utility": {"ndcg": 1.0}}, "unknown objectives"),
        ({"membership": np.eye(3)[[0] * 10]}, "a row for every candidate"),
        ({"target": [0.5, 0.5]}, "target must be 3"),
        ({"q": np.ones((2, 2))}, "q must have the candidates' shape"),
    ],
)
def test_bad_input(run, kwargs, match):
    res, q, m = run
    args = {"utility": WEIGHTS, "membership": m, "q": q, **kwargs}
    with pytest.raises(ValueError, match=match):
        archive_options(res, args.pop("utility"), args.pop("membership"), **args)


def _oracle(run, weights=WEIGHTS):
    res, q, m = run
    rng = np.random.default_rng(7)  # the fixture's catalogue, rebuilt
    pop = np.sort(rng.pareto(1.2, N_ITEMS) * 20 + 1)[::-1].copy()
    genres = rng.random((N_ITEMS, 5)) < 0.3
    genres[genres.sum(axis=1) == 0, 0] = True
    return PricedListOracle(q, res.candidates, genres, pop, K, res.objectives, weights, m)


def test_oracle_lists_are_the_top_k_of_the_priced_item_values(run):
    res, q, m = run
    oracle = _oracle(run)
    zero = oracle.lists(np.zeros(3))
    top = -np.sort(-q, axis=1)[:, :K].sum(axis=1, keepdims=True)
    nov = item_novelty(oracle.inputs.item_popularity)[res.candidates]
    value = q / top + 0.3 * nov / K  # expected_hits and novelty enter exactly; diversity not
    np.testing.assert_array_equal(zero, np.argsort(-value, axis=1, kind="stable")[:, :K])
    # a huge price on group 2 fills each list with that group's candidates first
    heavy = oracle.lists(np.array([0.0, 0.0, 1e6]))
    in_group = m[res.candidates][:, :, 2] == 1.0
    for u in range(N_USERS):
        n_g = int(in_group[u].sum())
        assert int(in_group[u, heavy[u]].sum()) == min(n_g, K)


def test_added_lists_are_scored_as_the_archive_scores_them(run):
    res, q, m = run
    opt = archive_options(res, WEIGHTS, m, q=q)
    again = opt.add_lists(res.archive_positions[:, :1, :].astype(np.int64), res.archive_F[:, :1])
    last = again.valid.shape[1] - 1
    np.testing.assert_allclose(again.exposure[:, last], opt.exposure[:, 0])
    np.testing.assert_allclose(again.utility[:, last], opt.utility[:, 0])
    np.testing.assert_array_equal(again.positions[:, last], opt.positions[:, 0])
    # the oracle's exact scores are the engine's
    oracle = _oracle(run)
    pos = oracle.lists(np.zeros(3))[:, None, :]
    F = oracle.evaluate(pos)
    assert F.shape == (N_USERS, 1, 3)
    # expected_hits: the list's q over the top-K's q
    np.testing.assert_allclose(F[:, 0, 0], np.take_along_axis(q, pos[:, 0], axis=1).sum(axis=1)
                               / (-np.sort(-q, axis=1)[:, :K].sum(axis=1)))  # fmt: skip


def test_column_generation_reaches_levels_the_archives_cannot(run):
    # a search on accuracy and diversity only: nothing drove it towards unpopular items
    _, q, m = run
    oracle = _oracle(run, {"expected_hits": 1.0, "diversity": 0.3})
    inp = oracle.inputs
    res = moopt.rerank_batch(q, inp.candidates, inp.item_genres, inp.item_popularity, k=K,
                             objectives=("expected_hits", "diversity"), pop_size=24, n_gen=15,
                             seed=1)  # fmt: skip
    oracle = PricedListOracle(q, inp.candidates, inp.item_genres, inp.item_popularity, K,
                              res.objectives, {"expected_hits": 1.0, "diversity": 0.3}, m)
    opt = archive_options(res, {"expected_hits": 1.0, "diversity": 0.3}, m, q=q)
    def top(o):  # the level at which some group's best reach runs out
        reach = np.where(o.valid[:, :, None], o.exposure, -np.inf).max(axis=1).sum(axis=0)
        return float(np.min(reach / (o.n_users * o.per_list) / o.target))

    widest = oracle.extend(opt, [1e6 * np.eye(3)[g] for g in range(3)])
    assert top(widest) > top(opt) + 0.02
    level = (top(opt) + top(widest)) / 2
    with pytest.raises(ValueError, match="unreachable"):
        coupled_front(opt, None, [level])
    front, choices, grown = coupled_front(opt, oracle, [0.0, level],
                                          DualConfig(tol=0.0))  # fmt: skip
    assert front["feasible"].all()
    assert front["min_share_ratio"].iloc[1] >= level - 1e-9
    assert grown.valid.shape[1] > opt.valid.shape[1]  # lists were added
    u = np.arange(N_USERS)
    lists = np.take_along_axis(res.candidates, grown.positions[u, choices[1]], axis=1)
    shares = group_shares(lists, m)
    assert min_share_ratio(shares) == pytest.approx(front["min_share_ratio"].iloc[1])
    with pytest.raises(ValueError, match="rounds must be"):
        coupled_front(opt, None, [0.0], rounds=0)


def test_consumer_gap_is_bounded_at_each_level(run):
    res, q, m = run
    opt = archive_options(res, WEIGHTS, m, q=q)
    adv = np.zeros(N_USERS, dtype=bool)
    adv[:4] = True
    coef = gap_coefficients(adv)
    free = res.utility_index(WEIGHTS)
    gap0 = float(opt.ndcg[np.arange(N_USERS), free] @ coef)
    levels = [abs(gap0) / 2, abs(gap0) / 4]
    front, choices, grown = coupled_front(opt, _oracle(run), levels, DualConfig(tol=0.0),
                                          goal="consumer", advantaged=adv)  # fmt: skip
    assert list(front["level"]) == sorted(levels, reverse=True)  # loosest first
    assert front["feasible"].all()
    u = np.arange(N_USERS)
    for row, choice in zip(front.itertuples(), choices, strict=True):
        gap = grown.ndcg[u, choice] @ coef
        assert abs(gap) <= row.level + 1e-9
        assert row.gap == pytest.approx(gap)
    with pytest.raises(ValueError, match="needs advantaged"):
        coupled_front(opt, None, [0.1], goal="consumer")
    with pytest.raises(ValueError, match="largest \\\\|gap\\\\| allowed"):
        coupled_front(opt, None, [-0.1], goal="consumer", advantaged=adv)
    with pytest.raises(ValueError, match="goal must be"):
        coupled_front(opt, None, [0.1], goal="coverage")


def test_lists_are_the_chosen_options_items_in_display_order(run):
    res, q, m = run
    opt = archive_options(res, WEIGHTS, m, q=q)
    choice = np.minimum(np.arange(N_USERS) % 3, res.archive_size - 1)
    lists = opt.lists(choice)
    assert lists.shape == (N_USERS, K) and lists.dtype == np.int64
    for u in range(N_USERS):  # the archived list, its items sorted by descending q
        pos = res.archive_positions[u, choice[u]]
        pos = pos[np.argsort(-q[u, pos], kind="stable")]
        np.testing.assert_array_equal(lists[u], res.candidates[u, pos])
    # the lists carry the exposure the options count
    np.testing.assert_allclose(group_shares(lists, m), opt.shares(choice))
    short = int(np.argmin(res.archive_size))
    assert res.archive_size[short] < opt.valid.shape[1]  # some user has padding rows
    padding = choice.copy()
    padding[short] = opt.valid.shape[1] - 1
    for bad, match in [(choice[:-1], "choice must be"), (choice.astype(float), "choice must be"),
                       (-choice - 1, "options a user does not have"),
                       (padding, "options a user does not have")]:  # fmt: skip
        with pytest.raises(ValueError, match=match):
            opt.lists(bad)
    bare = ArchiveOptions(utility=opt.utility, accuracy=opt.accuracy, ndcg=opt.ndcg,
                          exposure=opt.exposure, valid=opt.valid, positions=opt.positions,
                          target=opt.target, per_list=opt.per_list)  # fmt: skip
    with pytest.raises(ValueError, match="no context"):
        bare.lists(choice)


def test_exposure_reach_is_the_level_the_dual_starts_refusing():
    exposure = np.array([[[1.5, 0.0], [0.5, 1.0]], [[1.5, 0.0], [1.0, 0.5]]])
    opt = ArchiveOptions(utility=np.ones((2, 2)), accuracy=np.ones((2, 2)), ndcg=np.ones((2, 2)),
                         exposure=exposure, valid=np.ones((2, 2), dtype=bool),
                         positions=np.zeros((2, 2, 2), int), target=np.array([0.5, 0.5]),
                         per_list=1.5)  # fmt: skip
    # most: group 0 1.5 + 1.5 = 3.0 -> 3.0 / 1.5 = 2 (capped at 1); group 1 1.0 + 0.5 = 1.5
    # -> 1.5 / (0.5 * 2 * 1.5) = 1.0
    assert exposure_reach(opt) == pytest.approx(1.0)
    opt.exposure[1, 1, 1] = 0.2  # group 1's most: 1.2 -> 0.8
    level = exposure_reach(opt)
    assert level == pytest.approx(0.8, abs=1e-15)
    exposure_front(opt, [level])  # at the reach: tried, whatever the bound's rounding
    with pytest.raises(ValueError, match="unreachable"):
        exposure_front(opt, [level * (1 + 1e-9)])


def test_exposure_reach_with_the_oracle_counts_its_lists(run):
    res, q, m = run
    oracle = _oracle(run, WEIGHTS)
    opt = archive_options(res, WEIGHTS, m, q=q)
    assert exposure_reach(opt, oracle) >= exposure_reach(opt) - 1e-12
    level = exposure_reach(opt, oracle)
    front, _, _ = coupled_front(opt, oracle, [level], rounds=1)  # not refused at the reach
    assert len(front) == 1


def test_compare_runs_nsga2_and_bayesopt_on_the_price_problem(run):
    from moopt.algorithms import BayesOpt
    from moopt.compare import compare

    res, q, m = run
    problem = ExposurePriceProblem(archive_options(res, WEIGHTS, m, q=q))
    r = compare(problem, {"nsga2": NSGA2(pop_size=8), "bo": BayesOpt(n_initial=6)},
                budget=24, seeds=2)  # fmt: skip
    t = r.table.set_index("solver")
    assert (t["status"] == "ok").all()
    assert t.loc["bo", "evaluations"] == 24 and 24 <= t.loc["nsga2", "evaluations"] < 32
    for name in ("nsga2", "bo"):
        out = problem.evaluate(r.results[name].X, return_as_dictionary=True)
        np.testing.assert_allclose(out["F"], r.results[name].F)  # the front is what the
        # prices choose: -accuracy in [-1, 0], -share in [-1, 0]
        assert np.all((r.results[name].F >= -1.0) & (r.results[name].F <= 0.0))
