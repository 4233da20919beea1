"""Catalogue coverage over the users' lists: the greedy against hand cases and brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import moopt
from problems.coverage import coverage_bound, coverage_front, coverage_lp_bound
from problems.fairness import ArchiveOptions, PricedListOracle, _Context, archive_options
from recommenders.metrics import catalog_coverage, popularity_groups


def _options(lists, utility, n_items: int) -> ArchiveOptions:
    """Hand-made options: every user's candidates are the whole catalogue (position = id)."""
    lists = np.asarray(lists, dtype=np.int64)
    r = np.asarray(utility, dtype=np.float64)
    n_users = lists.shape[0]
    ctx = _Context(candidates=np.tile(np.arange(n_items), (n_users, 1)), q=None,
                   membership=np.ones((n_items, 1)), discount="log", weights=np.ones(1),
                   acc=0)  # fmt: skip
    return ArchiveOptions(utility=r, accuracy=r, ndcg=r, exposure=np.ones(r.shape + (1,)),
                          valid=np.isfinite(r), positions=lists, target=np.ones(1),
                          per_list=1.0, context=ctx)  # fmt: skip


def _brute(lists, utility, n_items: int, level: float):
    """The best total utility over every joint choice with coverage >= level (None: none)."""
    need = math.ceil(level * n_items - 1e-9)
    best = None
    for choice in itertools.product(*(np.flatnonzero(np.isfinite(r)) for r in utility)):
        shown = np.unique([lists[u][a] for u, a in enumerate(choice)])
        total = sum(utility[u][a] for u, a in enumerate(choice))
        if shown.size >= need and (best is None or total > best):
            best = total
    return best


def test_independent_users_each_adding_an_item_is_solved_exactly():
    # four users show {0, 1}; user u can switch to a list with item 2 + u at cost c_u
    # (users 0-2 keep item 0, user 3 keeps item 1, so no switch blocks another): the best
    # way to show j more items is the j cheapest switches, which the greedy takes
    cost = [0.3, 0.1, 0.4, 0.2]
    lists = [[[0, 1], [0, 2 + u]] for u in range(3)] + [[[0, 1], [1, 5]]]
    util = [[1.0, 1.0 - c] for c in cost]
    levels = [3 / 6, 4 / 6, 5 / 6, 1.0]
    front, choices, _ = coverage_front(_options(lists, util, 6), None, levels)
    assert front["feasible"].all()
    np.testing.assert_array_equal(front["items"], [3, 4, 5, 6])
    np.testing.assert_allclose(front["utility"] * 4, [4 - 0.1, 4 - 0.3, 4 - 0.6, 4 - 1.0])
    for level, total in zip(levels, front["utility"] * 4, strict=True):
        assert total == pytest.approx(_brute(lists, util, 6, level))  # exact here
    np.testing.assert_array_equal(choices[0], [0, 1, 0, 0])  # user 1 is cheapest
    assert (front["free_utility"] == 1.0).all()


def test_greedy_by_cost_per_item_can_overshoot_the_optimum():
    # user 0 adds items 2 and 3 for 1.2 (0.6 per item), user 1 adds item 4 for 0.7: one
    # more item costs 0.7 at best, but the greedy takes the better ratio and pays 1.2
    lists = [[[0, 1], [2, 3]], [[0, 1], [0, 4]]]
    util = [[1.0, -0.2], [1.0, 0.3]]
    front, choices, _ = coverage_front(_options(lists, util, 5), None, [3 / 5])
    np.testing.assert_array_equal(choices[0], [1, 0])
    assert front["items"][0] == 4 and front["utility"][0] * 2 == pytest.approx(0.8)
    assert _brute(lists, util, 5, 3 / 5) == pytest.approx(1.3)  # the gap: 0.5


def test_a_switch_never_uncovers_an_item():
    # user 0's cheap switch would show item 2 but hide item 1, which only it shows; user
    # 1's dearer switch hides item 0, which user 0 still shows: the greedy takes that one
    lists = [[[0, 1], [0, 2]], [[0, 3], [3, 2]]]
    util = [[1.0, 0.9], [1.0, 0.5]]
    front, choices, _ = coverage_front(_options(lists, util, 5), None, [4 / 5])
    np.testing.assert_array_equal(choices[0], [0, 1])
    assert front["items"][0] == 4 and front["utility"][0] * 2 == pytest.approx(1.5)
    assert _brute(lists, util, 5, 4 / 5) == pytest.approx(1.5)
    # both users show {0, 1}: user 0 may swap both for {2, 3}, user 1 still shows them
    lists = [[[0, 1], [2, 3]], [[0, 1], [0, 2]]]
    front, choices, _ = coverage_front(_options(lists, util, 4), None, [3 / 4])
    np.testing.assert_array_equal(choices[0], [1, 0])
    assert front["items"][0] == 4


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_greedy_against_brute_force_on_four_users(seed):
    rng = np.random.default_rng(seed)
    n_items, n_users, n_opt, k = 7, 4, 3, 2
    lists = np.stack([np.stack([rng.choice(n_items, k, replace=False) for _ in range(n_opt)])
                      for _ in range(n_users)])  # fmt: skip
    util = rng.random((n_users, n_opt)).round(2)
    opt = _options(lists, util, n_items)
    union = coverage_bound(opt)
    assert union == np.unique(lists).size
    levels = np.arange(1, union + 1) / n_items
    front, choices, _ = coverage_front(opt, None, levels)
    u = np.arange(n_users)
    free = util.max(axis=1).sum()
    for row, choice, level in zip(front.itertuples(), choices, levels, strict=True):
        shown = catalog_coverage(lists[u, choice], n_items)
        assert row.coverage == pytest.approx(shown)
        assert row.utility * n_users == pytest.approx(util[u, choice].sum())
        best = _brute(lists, util, n_items, level)
        if row.feasible:
            assert shown >= level - 1e-12
            assert row.utility * n_users <= best + 1e-9 <= free + 1e-9
        if best is None:  # no choice reaches the level: neither does the greedy
            assert not row.feasible
    # coverage never falls and utility never rises along the front
    assert np.all(np.diff(front["items"]) >= 0)
    assert np.all(np.diff(front["utility"]) <= 1e-12)


def test_unreachable_level_names_the_most_reachable():
    lists = [[[0, 1], [0, 2]], [[0, 1], [1, 2]]]
    opt = _options(lists, [[1.0, 0.5], [1.0, 0.5]], 4)
    with pytest.raises(ValueError, match=r"coverage level 1 is out of reach: the archived lists "
                       r"show at most 3 of 4 items \(0.7500\)"):  # fmt: skip
        coverage_front(opt, None, [0.5, 1.0])


@pytest.mark.parametrize("kwargs, match", [
    ({"levels": []}, "levels must be shares"),
    ({"levels": [0.0]}, "levels must be shares"),
    ({"levels": [1.2]}, "levels must be shares"),
    ({"levels": [np.nan]}, "levels must be shares"),
    ({"levels": [0.5], "n_items": 2}, "n_items must be an int above"),
    ({"levels": [0.5], "n_items": 4.0}, "n_items must be an int above"),
])  # fmt: skip
def test_bad_input(kwargs, match):
    opt = _options([[[0, 1], [0, 2]], [[0, 1], [1, 2]]], [[1.0, 0.5], [1.0, 0.5]], 4)
    with pytest.raises(ValueError, match=match):
        coverage_front(opt, None, **kwargs)


def test_bad_options():
    opt = _options([[[0, 1], [0, 2]], [[0, 1], [1, 2]]], [[1.0, 0.5], [-np.inf, -np.inf]], 4)
    with pytest.raises(ValueError, match="options are empty"):
        coverage_front(opt, None, [0.5])
    opt = _options([[[0, 1], [0, 2]], [[0, 1], [1, 2]]], [[1.0, 0.5], [1.0, 0.5]], 4)
    opt.context = None
    with pytest.raises(ValueError, match="build them with problems.fairness.archive_options"):
        coverage_front(opt, None, [0.5])
    with pytest.raises(TypeError, match="options must be ArchiveOptions"):
        coverage_front({"utility": 1}, None, [0.5])


def _oracle_options(cand, q, lists):
    """An oracle scoring expected_hits, and options: user u's lists ``lists[u]`` (positions)."""
    cand, q = np.asarray(cand), np.asarray(q, dtype=np.float64)
    n_items, k = int(cand.max()) + 1, len(lists[0][0])
    member = np.ones((n_items, 1))
    oracle = PricedListOracle(q, cand, np.ones((n_items, 1), dtype=bool), np.ones(n_items), k,
                              ("expected_hits",), {"expected_hits": 1.0}, member)  # fmt: skip
    n_opt = max(len(x) for x in lists)
    valid = np.array([[a < len(x) for a in range(n_opt)] for x in lists])
    pos = np.array([[x[min(a, len(x) - 1)] for a in range(n_opt)] for x in lists])
    r = np.where(valid, oracle.evaluate(pos)[:, :, 0], -np.inf)
    ctx = _Context(candidates=cand, q=None, membership=member, discount="log",
                   weights=np.ones(1), acc=0)  # fmt: skip
    opt = ArchiveOptions(utility=r, accuracy=r, ndcg=r, exposure=np.ones(r.shape + (1,)),
                         valid=valid, positions=pos, target=np.ones(1), per_list=1.0,
                         context=ctx)  # fmt: skip
    return opt, oracle


def _oracle_case():
    # two users, candidates {0, 1, 2} and {0, 1, 3}, both free lists {0, 1}
    q = np.array([[0.5, 0.3, 0.2], [0.6, 0.3, 0.1]])
    opt, oracle = _oracle_options([[0, 1, 2], [0, 1, 3]], q, [[[0, 1]], [[0, 1]]])
    return opt, oracle, q


def test_oracle_swaps_the_least_valuable_shared_item_for_an_uncovered_one():
    opt, oracle, q = _oracle_case()
    assert coverage_bound(opt, oracle) == 4
    front, choices, out = coverage_front(opt, oracle, [0.75, 1.0])
    # expected_hits of a list = its q over its top-2's q. Level 3/4: user 0 swaps its
    # least valuable item, 1, for 2 (cost 0.1/0.8 = 0.125), cheaper than user 1's swap of
    # item 1 for 3 (0.2/0.9): user 0 goes. Level 1: item 1 is now user 1's alone, so it
    # swaps item 0 (still shown by user 0) for 3: {1, 3}, cost 0.5/0.9.
    assert front["feasible"].all()
    np.testing.assert_array_equal(front["items"], [3, 4])
    cand = np.array([[0, 1, 2], [0, 1, 3]])
    lists0 = np.take_along_axis(cand, out.positions[[0, 1], choices[0]], axis=1)
    assert [set(x) for x in lists0] == [{0, 2}, {0, 1}]
    lists1 = np.take_along_axis(cand, out.positions[[0, 1], choices[1]], axis=1)
    assert [set(x) for x in lists1] == [{0, 2}, {1, 3}]
    np.testing.assert_allclose(front["utility"] * 2, [2 - 0.1 / 0.8, 2 - 0.1 / 0.8 - 0.5 / 0.9])
    # the best pair showing all four items is {1, 2} and {0, 3}: 0.625 + 0.7/0.9; the
    # greedy, having swapped user 0 first, is 0.0833 short of it
    assert _brute_oracle([[0, 1, 2], [0, 1, 3]], q, 2, 4) == pytest.approx(0.625 + 0.7 / 0.9)


def _brute_oracle(cand, q, k: int, need: int) -> float:
    """Best total expected_hits over every joint choice of K-lists showing ``need`` items."""
    cand, q = np.asarray(cand), np.asarray(q, dtype=np.float64)
    top = -np.sort(-q, axis=1)[:, :k].sum(axis=1)
    per_user = [[(set(cand[u, list(c)]), q[u, list(c)].sum() / top[u])
                 for c in itertools.combinations(range(cand.shape[1]), k)]
                for u in range(cand.shape[0])]  # fmt: skip
    best = -np.inf
    for pick in itertools.product(*per_user):
        if len(set().union(*(p[0] for p in pick))) >= need:
            best = max(best, sum(p[1] for p in pick))
    return best


def test_a_chain_of_two_swaps_covers_what_no_single_move_can():
    # user 0 shows {0, 1}, both its alone, and alone has item 2; users 1 and 2 show
    # {3, 4} and have item 0 or 1 among their candidates. No single move shows item 2;
    # the chain "user 0 swaps 1 for 2 (0.1/0.8), user 2 swaps 4 for 1 (0.2/0.9)" does,
    # cheaper than "user 0 swaps 0 for 2 (0.3/0.8), user 1 swaps 4 for 0 (0.1/0.8)"
    cand = [[0, 1, 2], [3, 4, 0], [3, 4, 1]]
    q = [[0.5, 0.3, 0.2], [0.5, 0.3, 0.2], [0.6, 0.3, 0.1]]
    opt, oracle = _oracle_options(cand, q, [[[0, 1]]] * 3)
    front, choices, out = coverage_front(opt, oracle, [1.0])
    assert front["feasible"].all() and front["moves"][0] == 2
    shown = np.take_along_axis(np.array(cand), out.positions[np.arange(3), choices[0]], axis=1)
    assert [set(x) for x in shown] == [{0, 2}, {3, 4}, {3, 1}]
    total = 3 - 0.1 / 0.8 - 0.2 / 0.9
    assert front["utility"][0] * 3 == pytest.approx(total)
    assert _brute_oracle(cand, q, 2, 5) == pytest.approx(total)  # the best there is


def test_an_archived_switch_showing_an_item_twice_frees_it_for_a_swap():
    # user 0 shows {0, 3}, both its alone, so it cannot swap; users 1 and 2 both show
    # {4, 5}. User 1's archived {0, 1} (cost 0.18/0.7) beats its swap of 5 for 1
    # (0.28/0.7) and shows item 0 twice: user 0 may then swap 0 for 2, the last item
    cand = [[0, 3, 2, 5], [4, 5, 0, 1], [5, 4, 3, 0]]
    q = [[0.5, 0.3, 0.19, 0.01], [0.3, 0.29, 0.4, 0.01], [0.5, 0.4, 0.05, 0.05]]
    opt, oracle = _oracle_options(cand, q, [[[0, 1]], [[0, 1], [2, 3]], [[0, 1]]])
    assert coverage_bound(opt, oracle) == 6
    front, choices, out = coverage_front(opt, oracle, [5 / 6, 1.0])
    assert front["feasible"].all()
    shown = np.take_along_axis(np.array(cand), out.positions[np.arange(3), choices[-1]], axis=1)
    assert [set(x) for x in shown] == [{2, 3}, {0, 1}, {4, 5}]
    np.testing.assert_allclose(front["utility"] * 3, [
        1.0 + 0.41 / 0.7 + 1.0, (0.3 + 0.19) / 0.8 + 0.41 / 0.7 + 1.0])  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_lp_bound_is_the_optimum_over_all_lists_and_bounds_the_greedy(seed):
    # the LP over lists of any K candidates is a flow problem: its value is attained,
    # so it equals brute force over every joint choice of K-subsets
    rng = np.random.default_rng(seed)
    n_users, n_cand, k = 3, 4, 2
    cand = np.stack([rng.choice(7, n_cand, replace=False) for _ in range(n_users)])
    q = rng.uniform(0.01, 0.99, (n_users, n_cand)).round(2)
    top = np.argsort(-q, axis=1, kind="stable")[:, :k]
    opt, oracle = _oracle_options(cand, q, [[list(t)] for t in top])
    n_items = int(cand.max()) + 1
    most = coverage_bound(opt, oracle)
    levels = np.arange(1, most + 1) / n_items
    bound = coverage_lp_bound(opt, oracle, levels)
    for need, b in zip(range(1, most + 1), bound, strict=True):
        assert b * n_users == pytest.approx(_brute_oracle(cand, q, k, need), abs=1e-9)
    front, choices, out = coverage_front(opt, oracle, levels)
    assert np.all(front["utility"] <= bound + 1e-9)
    for row, choice in zip(front.itertuples(), choices, strict=True):
        lists = np.take_along_axis(cand, out.positions[np.arange(n_users), choice], axis=1)
        assert row.items == np.unique(lists).size  # what the chosen lists show
        assert row.utility == pytest.approx(float(out.utility[np.arange(n_users), choice].mean()))


def test_lp_bound_refuses_a_utility_it_cannot_bound(run):
    opt, oracle, _ = run  # its utility weighs diversity, not a sum over items
    with pytest.raises(ValueError, match=r"also weighs \['diversity'\]"):
        coverage_lp_bound(opt, oracle, [0.5])
    opt, oracle, _ = _oracle_case()
    opt.utility = opt.utility * 2
    with pytest.raises(ValueError, match="item values do not sum to the options' utilities"):
        coverage_lp_bound(opt, oracle, [0.75])
    with pytest.raises(ValueError, match="needs the oracle"):
        coverage_lp_bound(opt, None, [0.75])


def test_bad_oracle():
    opt, oracle, _ = _oracle_case()
    with pytest.raises(TypeError, match="oracle must be a PricedListOracle"):
        coverage_front(opt, "greedy", [0.5])
    other = PricedListOracle(np.array([[0.5, 0.3, 0.2], [0.6, 0.3, 0.1]]),
                             np.array([[0, 1, 2], [0, 1, 2]]), np.ones((4, 1), dtype=bool),
                             np.ones(4), 2, ("expected_hits",), {"expected_hits": 1.0},
                             np.ones((4, 1)))  # fmt: skip
    with pytest.raises(ValueError, match="oracle was built on other candidates"):
        coverage_front(opt, other, [0.5])


@pytest.fixture(scope="module")
def run():
    rng = np.random.default_rng(3)
    n_items, n_users, n_cand, k = 80, 30, 12, 4
    pop = np.sort(rng.pareto(1.2, n_items) * 20 + 1)[::-1].copy()
    genres = rng.random((n_items, 5)) < 0.3
    p = pop / pop.sum()
    items = np.stack([rng.choice(n_items, n_cand, replace=False, p=p) for _ in range(n_users)])
    q = rng.dirichlet(np.ones(n_cand), n_users)
    objectives = ("expected_hits", "diversity", "novelty")
    res = moopt.rerank_batch(q, items, genres, pop, k=k, pop_size=16, n_gen=8, seed=2,
                             objectives=objectives)  # fmt: skip
    w = {"expected_hits": 1.0, "diversity": 0.2}
    m = popularity_groups(pop, 3)
    oracle = PricedListOracle(q, items, genres, pop, k, objectives, w, m)
    return archive_options(res, w, m, q=q), oracle, items


def test_front_on_an_archive_with_the_oracle_shows_what_it_reports(run):
    opt, oracle, items = run
    bound = coverage_bound(opt, oracle)
    levels = np.linspace(0.3, bound / 80, 5)
    front, choices, out = coverage_front(opt, oracle, levels)
    u = np.arange(opt.n_users)
    for row, choice in zip(front.itertuples(), choices, strict=True):
        lists = np.take_along_axis(items, out.positions[u, choice], axis=1)
        assert row.coverage == pytest.approx(catalog_coverage(lists, 80))
        # every swapped list is scored as the oracle scores it
        F = oracle.evaluate(out.positions[u, choice][:, None])[:, 0]
        assert row.utility == pytest.approx(float((F @ out.context.weights).mean()))
    assert front["feasible"].iloc[:-1].all()
    assert np.all(front["utility"] <= front["free_utility"] + 1e-12)
    again = coverage_front(opt, oracle, levels)
    np.testing.assert_array_equal(again[1], choices)  # same input, same lists
    np.testing.assert_array_equal(again[2].positions, out.positions)
