"""ListReRankingProblem under pymoo's NSGA2 and DEAP's NSGA-II."""

import random

import numpy as np
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.indicators.hv import HV
from pymoo.optimize import minimize

from moopt import rerank_batch
from moopt.operators import (
    ListDuplicateElimination,
    ListMutation,
    ListSampling,
    ListSBX,
    OnePointListCrossover,
    deap_toolbox,
)
from problems import ListReRankingProblem


@pytest.fixture(scope="module")
def user():
    rng = np.random.default_rng(0)
    genres = rng.random((300, 10)) < 0.2
    pop = rng.integers(0, 200, 300).astype(float)
    cands = rng.choice(300, 40, replace=False)
    scores = rng.normal(size=40)
    return scores, cands, genres, pop


def test_problem_shape_and_evaluation(user):
    scores, cands, genres, pop = user
    problem = ListReRankingProblem(scores, cands, genres, pop, k=6)
    assert (problem.n_var, problem.n_obj, problem.n_candidates) == (6, 3, 40)
    assert problem.objective_names == ("accuracy", "diversity", "novelty")
    top = problem.topk_positions()
    assert np.array_equal(top, np.argsort(-scores, kind="stable")[:6])
    F = problem.evaluate(np.stack([top, top[::-1]]))
    np.testing.assert_allclose(-F[0, 0], 1.0, rtol=1e-12)
    assert -F[1, 0] < 1.0  # the reversed top list is less accurate...
    np.testing.assert_allclose(F[0, 1:], F[1, 1:])  # ...with the same items
    np.testing.assert_array_equal(problem.items(top[None])[0], cands[top])


def test_problem_rejects_bad_lists(user):
    scores, cands, genres, pop = user
    problem = ListReRankingProblem(scores, cands, genres, pop, k=3)
    with pytest.raises(ValueError, match="repeated candidate"):
        problem.evaluate(np.array([[1, 1, 2]]))
    with pytest.raises(ValueError, match="outside"):
        problem.evaluate(np.array([[1, 2, 40]]))
    with pytest.raises(ValueError, match="integer"):
        problem.evaluate(np.array([[1.5, 2, 3]]))
    with pytest.raises(ValueError, match="one user"):
        ListReRankingProblem(scores[None], cands[None], genres, pop)
    with pytest.raises(ValueError, match="larger than the candidate set"):
        ListReRankingProblem(scores, cands, genres, pop, k=41)


def _nsga2(crossover):
    algo = NSGA2(pop_size=30, sampling=ListSampling(), crossover=crossover,
                 mutation=ListMutation(prob=0.2), eliminate_duplicates=ListDuplicateElimination())
    algo.tournament_type = "comp_by_rank_and_crowding"
    return algo


@pytest.mark.parametrize("crossover", [OnePointListCrossover(prob=0.9), ListSBX(prob=0.9)])
def test_pymoo_nsga2_with_our_operators(user, crossover):
    scores, cands, genres, pop = user
    problem = ListReRankingProblem(scores, cands, genres, pop, k=6)
    res = minimize(problem, _nsga2(crossover), ("n_gen", 15), seed=1)
    X = res.pop.get("X").astype(int)
    assert all(len(set(row)) == 6 for row in X)
    assert len({tuple(r) for r in X.tolist()}) == len(X)
    np.testing.assert_allclose(res.pop.get("F"), problem.evaluate(X))
    hv = HV(ref_point=np.full(3, 1.1))
    first = minimize(problem, _nsga2(crossover), ("n_gen", 1), seed=1)
    assert hv(res.F) > hv(first.F)


def test_batch_engine_matches_pymoo_quality(user):
    # Same problem, same budget, 30 independent runs each: the mean hypervolumes agree
    # within 4 standard errors of their difference (a single run's HV varies by ~0.1).
    # The full-size comparison, speed included, is benchmarks/rerank_speed.py.
    scores, cands, genres, pop = user
    problem = ListReRankingProblem(scores, cands, genres, pop, k=6)
    hv = HV(ref_point=np.full(3, 1.1))
    runs = 30
    pymoo_hv = np.array([hv(minimize(problem, _nsga2(OnePointListCrossover(prob=0.9)),
                                     ("n_gen", 10), seed=s).F) for s in range(runs)])
    res = rerank_batch(np.tile(scores, (runs, 1)), np.tile(cands, (runs, 1)), genres, pop,
                       k=6, pop_size=30, n_gen=10, seed=3)
    batch_hv = np.array([hv(-res.F[u][res.rank[u] == 0]) for u in range(runs)])
    se = np.sqrt(pymoo_hv.var(ddof=1) / runs + batch_hv.var(ddof=1) / runs)
    assert abs(batch_hv.mean() - pymoo_hv.mean()) < 4 * se
    assert se < 0.05  # the check has power: a quality gap of 0.2 could not hide


def test_deap_nsga2_on_the_problem(user):
    from deap import tools

    scores, cands, genres, pop = user
    problem = ListReRankingProblem(scores, cands, genres, pop, k=6)
    random.seed(0)
    tb = deap_toolbox(problem)
    population = tb.population(n=24)
    for ind in population:
        ind.fitness.values = tb.evaluate(ind)
    population = tb.select(population, len(population))
    start = np.array([ind.fitness.values for ind in population])
    for _ in range(10):
        offspring = tools.selTournamentDCD(population, len(population))
        offspring = [tb.clone(ind) for ind in offspring]
        for a, b in zip(offspring[::2], offspring[1::2], strict=True):
            if random.random() < 0.9:
                tb.mate(a, b)
            for ind in (a, b):
                if random.random() < 0.2:
                    tb.mutate(ind)
                del ind.fitness.values
        for ind in offspring:
            ind.fitness.values = tb.evaluate(ind)
        population = tb.select(population + offspring, len(population))
    lists = np.array([list(ind) for ind in population])
    assert all(len(set(row)) == 6 and row.max() < 40 for row in lists)
    end = np.array([ind.fitness.values for ind in population])
    np.testing.assert_allclose(end, problem.objective_values(lists))
    hv = HV(ref_point=np.full(3, 1.1))
    assert hv(-end) >= hv(-start)
