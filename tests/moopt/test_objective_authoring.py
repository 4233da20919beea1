"""Writing one's own objective: the mistakes a new author makes get errors that name the
objective, and checked runs catch a kernel that reads past its data."""

import numpy as np
import pytest

from moopt import rerank_batch
from moopt.engine import rerank as engine_rerank
from moopt.objectives import (
    ListObjective,
    ObjectiveData,
    get_objective,
    make_inputs,
    register_objective,
)
from moopt.objectives.registry import _read_check


def make_case(n_users=6, n=30, n_items=200, seed=0):
    rng = np.random.default_rng(seed)
    genres = rng.random((n_items, 8)) < 0.25
    pop = rng.integers(0, 300, n_items).astype(float)
    cands = np.stack([rng.choice(n_items, n, replace=False) for _ in range(n_users)])
    scores = rng.normal(size=(n_users, n))
    exposure = rng.integers(1, 100, n_items).astype(float)
    return scores, cands, genres, pop, exposure


def prepare_share(inputs):
    # The items' unexposed share, from an extra array: one column of fdata.
    exposure = inputs.extras["exposure"]
    share = (1.0 - exposure / exposure.max())[inputs.candidates]
    u, n = share.shape
    return ObjectiveData(share[..., None], np.zeros((u, n, 0), np.int64), np.zeros((u, 0)))


def mean_share(positions, fdata, idata, consts):
    total = 0.0
    for p in range(positions.shape[0]):
        total += fdata[positions[p], 0]
    return total / positions.shape[0]


def mean_of_a_column_prepare_did_not_build(positions, fdata, idata, consts):
    total = 0.0
    for p in range(positions.shape[0]):
        total += fdata[positions[p], 1]  # prepare_share builds column 0 only
    return total / positions.shape[0]


def test_a_kernel_with_the_wrong_number_of_arguments_names_the_objective_and_the_form():
    def three(positions, fdata, consts):
        return 0.0

    with pytest.raises(TypeError) as err:
        register_objective("authoring_three", three, prepare_share)
    message = str(err.value)
    assert "'authoring_three'" in message and "(positions, fdata, consts)" in message
    assert "kernel(positions, fdata, idata, consts) -> float" in message
    with pytest.raises(ValueError, match="unknown objective 'authoring_three'"):
        get_objective("authoring_three")


def test_a_kernel_that_does_not_compile_names_the_objective():
    def typo(positions, fdata, idata, consts):
        return fdata.no_such_attribute

    with pytest.raises(TypeError, match="kernel of objective 'authoring_typo' does not compile"):
        ListObjective("authoring_typo", typo, prepare_share)


def test_a_prepare_that_fails_on_the_example_leaves_nothing_registered():
    scores, cands, genres, pop, exposure = make_case()
    example = make_inputs(scores, cands, genres, pop, k=5, extras={"exposure": exposure})

    def broken(inputs):
        raise RuntimeError("a bug in prepare")

    with pytest.raises(RuntimeError, match="a bug in prepare"):
        register_objective("authoring_broken", mean_share, broken, example=example)
    with pytest.raises(ValueError, match="unknown objective"):
        get_objective("authoring_broken")
    # A failed replacement keeps the objective registered before it.
    good = register_objective("authoring_kept", mean_share, prepare_share, example=example,
                              bounds=(0.0, 1.0), overwrite=True)  # fmt: skip
    with pytest.raises(RuntimeError):
        register_objective("authoring_kept", mean_share, broken, example=example,
                           overwrite=True)  # fmt: skip
    assert get_objective("authoring_kept") is good
    # The example is also scored: a kernel reading past its data is refused.
    with pytest.raises(ValueError, match="reads outside its data"):
        register_objective("authoring_oob", mean_of_a_column_prepare_did_not_build,
                           prepare_share, example=example)  # fmt: skip
    with pytest.raises(ValueError, match="unknown objective"):
        get_objective("authoring_oob")


def test_a_missing_extras_key_is_named():
    scores, cands, genres, pop, exposure = make_case()
    fair = ListObjective("fairness", mean_share, prepare_share)
    with pytest.raises(ValueError) as err:
        rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=2,
                     objectives=("accuracy", fair), extras={"exposur": exposure})  # fmt: skip
    message = str(err.value)
    assert "objective 'fairness' reads inputs.extras['exposure']" in message
    assert "extras given: 'exposur'" in message and "extras={'exposure': array}" in message


def test_an_unchecked_kernel_reading_past_its_data_is_refused_by_a_checked_run():
    # fdata[., 1] of a one-column objective reads the next objective's column (the
    # accuracy's shifted scores): unchecked, the engine returns "fairness" values far
    # outside [0, 1] (2.2 to 3.8 on this case) without a word.
    scores, cands, genres, pop, exposure = make_case()
    fair = ListObjective("fairness", mean_of_a_column_prepare_did_not_build, prepare_share,
                         bounds=(0.0, 1.0))  # fmt: skip
    with pytest.raises(ValueError) as err:
        rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=3, seed=0,
                     objectives=(fair, "accuracy"), extras={"exposure": exposure},
                     check=True)  # fmt: skip
    message = str(err.value)
    assert "objective 'fairness' reads outside its data for user row 0" in message
    assert "(index is out of bounds)" in message and "fdata (N=30, D=1)" in message


def test_a_value_outside_the_declared_bounds_is_refused():
    scores, cands, genres, pop, exposure = make_case()

    def doubled(positions, fdata, idata, consts):
        total = 0.0
        for p in range(positions.shape[0]):
            total += fdata[positions[p], 0]
        return 2.0 * total / positions.shape[0]

    fair = ListObjective("doubled", doubled, prepare_share, bounds=(0.0, 1.0))
    with pytest.raises(ValueError, match=r"objective 'doubled' returned 1\.\d+ for user row \d+"
                       r"'s list of positions \[.*\], outside its declared bounds \[0, 1\]"):
        rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=2, seed=0,
                     objectives=(fair,), extras={"exposure": exposure}, check=True)  # fmt: skip


def test_the_engine_values_outside_the_bounds_are_refused_after_the_run():
    # In bounds on every user's top-K list (checked before the run), outside them for a
    # list the search finds: the check after the run sees the engine's values.
    scores, cands, genres, pop, exposure = make_case()
    top = np.argsort(-scores, axis=1, kind="stable")[:, 0]

    def prepare(inputs):
        d = prepare_share(inputs)
        u, n = inputs.candidates.shape
        first = np.zeros((u, n), np.int64)
        first[np.arange(u), top] = 1
        return ObjectiveData(d.fdata, first[..., None], d.consts)

    def over_one_without_the_best(positions, fdata, idata, consts):
        seen = 0
        for p in range(positions.shape[0]):
            seen += idata[positions[p], 0]
        return 0.5 if seen else 1.5

    odd = ListObjective("odd", over_one_without_the_best, prepare, bounds=(0.0, 1.0))
    with pytest.raises(ValueError, match="objective 'odd' returned 1.5 for user row"):
        rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=2, seed=0,
                     objectives=("accuracy", odd), extras={"exposure": exposure},
                     check=True)  # fmt: skip


def test_a_checked_run_of_sound_objectives_returns_the_unchecked_result():
    scores, cands, genres, pop, exposure = make_case()
    fair = ListObjective("fairness", mean_share, prepare_share, bounds=(0.0, 1.0))
    runs = [rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=4, seed=0,
                         objectives=("accuracy", "diversity", fair),
                         extras={"exposure": exposure}, check=check)
            for check in (False, True)]  # fmt: skip
    assert np.array_equal(runs[0].F, runs[1].F) and np.array_equal(runs[0].X, runs[1].X)
    assert runs[1].F.min() >= 0.0 and runs[1].F.max() <= 1.0 + 1e-12  # DCG ratio rounding


def test_moopt_check_in_the_environment_turns_checking_on(monkeypatch):
    assert [_read_check(v) for v in (None, "", "0", "off", "1", "yes")] == [
        False, False, False, False, True, True]  # fmt: skip
    with pytest.raises(ValueError, match="MOOPT_CHECK must be 0 or 1"):
        _read_check("maybe")
    scores, cands, genres, pop, exposure = make_case()
    fair = ListObjective("fairness", mean_of_a_column_prepare_did_not_build, prepare_share)
    monkeypatch.setattr(engine_rerank, "CHECK", True)
    with pytest.raises(ValueError, match="reads outside its data"):
        rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=2,
                     objectives=(fair, "accuracy"), extras={"exposure": exposure})  # fmt: skip


def test_bounds_must_be_ordered():
    with pytest.raises(ValueError, match="bounds of objective 'b' must be"):
        ListObjective("b", mean_share, prepare_share, bounds=(1.0, 0.0))
