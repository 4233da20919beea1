"""benchmarks.fairness_speed at a tiny size: the round part's result file against the
dual recomputed on the same synthetic archives; a missing candidates file names the
command that writes it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.fairness_speed import main, round_prices, synthetic
from moopt.system import DualConfig, dual_choice, priced_choice
from recommenders.metrics import position_weights


def test_round_part_writes_the_round_and_the_solve(tmp_path):
    args = ["--part", "round", "--users", "300", "--options", "6", "--groups", "3", "--block",
            "64", "--check-users", "200", "--level", "0.5", "--out", str(tmp_path)]  # fmt: skip
    main(args)
    res = json.loads((tmp_path / "fairness_round.json").read_text())
    assert "One dual round over 300 synthetic users" in (tmp_path / "fairness_round.md").read_text()
    r, c, valid = synthetic(300, 6, 3, seed=0)
    assert r.dtype == c.dtype == np.float32 and valid[:, 0].all() and not valid.all()
    # every list hands out the same exposure, the top list has utility 1
    np.testing.assert_allclose(c.sum(axis=2), position_weights(10, "log").sum(), rtol=1e-6)
    assert np.all(r[:, 0] == 1.0) and np.all(r <= 1.0)

    lam = np.array(res["round_prices"])
    assert lam[0] == 0.0 and np.all(np.diff(lam) > 0)
    # the round: the dense priced choice on the float64 arrays, its totals, the step
    choice = priced_choice(r.astype(np.float64), c.astype(np.float64), lam, valid)
    rows = np.arange(300)
    tot = c[rows, choice].astype(np.float64).sum(axis=0)
    np.testing.assert_allclose(res["round_totals"], tot, rtol=1e-12)
    assert res["round_utility"] == pytest.approx(float(r[rows, choice].astype(np.float64).sum()))
    total = 300 * position_weights(10, "log").sum()
    bound = np.full(3, 0.5 * total / 3)
    # the projected subgradient step at DualConfig(step=1)'s eta_0
    same_lam, eta0 = round_prices(r, c, valid, 3)
    np.testing.assert_array_equal(same_lam, lam)
    step = np.maximum(0.0, lam - eta0 * (tot - bound) / 300)
    np.testing.assert_allclose(res["round_new_prices"], step, rtol=1e-12)

    dense = dual_choice(r.astype(np.float64), c.astype(np.float64), bound, valid,
                        DualConfig(rounds=20, step=4.0))  # fmt: skip
    assert res["solve_utility"] == dense.utility and res["solve_rounds"] == dense.rounds
    assert res["solve_feasible"] == dense.feasible and res["solve_violation"] == dense.violation
    assert res["check_identical"] is True and res["check_users"] == 200
    assert res["arrays_gb"] == pytest.approx((r.nbytes + c.nbytes + valid.nbytes) / 1e9)


def test_same_seed_same_archives():
    a = synthetic(70_000, 3, 2, seed=5)
    b = synthetic(70_000, 3, 2, seed=5)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], synthetic(70_000, 3, 2, seed=6)[0])


def test_missing_candidates_name_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="moopt train sasrec"):
        main(["--part", "sweep", "--candidates", str(tmp_path / "none.npz"),
              "--out", str(tmp_path)])  # fmt: skip


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(ValueError, match="--level"):
        main(["--part", "round", "--level", "1.5", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="--block"):
        main(["--part", "round", "--block", "0", "--out", str(tmp_path)])
