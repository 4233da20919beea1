"""The system-level study: the level search, the paired comparison, a small end-to-end run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moopt.cli import main
from moopt.stats import holm
from problems.fairness_eval import (
    BASELINES,
    FairnessEvalConfig,
    FairStage,
    Lists,
    reach_level,
    run_protocol,
)
from problems.fairness_report import compare_matched, plot_fronts, unreached

N_ITEMS, N_USERS, N_CAND, K = 80, 60, 16, 4


def _value(stage, theta, knobs, seed):
    return np.array([[theta]])


def _measure(pos):
    return float(pos[0, 0])


def test_reach_level_finds_the_weakest_strength_by_bisection():
    lists = Lists(_value, None, {}, 0)
    theta, pos = reach_level(lists, [0.0, 1.0, 2.0, 4.0], 1.5, 30, _measure)
    # the interval (1, 2] is bisected geometrically: the result reaches 1.5, barely
    assert 1.5 <= theta < 1.5 + 1e-6
    assert _measure(pos) >= 1.5
    # a level the weakest value meets needs no search
    assert reach_level(lists, [0.0, 1.0], -1.0, 30, _measure)[0] == 0.0
    # a level no grid value reaches
    assert reach_level(lists, [0.0, 1.0, 2.0], 2.5, 30, _measure) is None


def test_reach_level_reaches_the_level_where_the_measure_is_not_monotone():
    peak = Lists(lambda s, t, k, seed: np.array([[-(t - 2.0) ** 2]]), None, {}, 0)
    # rises to 0 at 2, falls after: the first grid value reaching -0.25 is 2
    theta, pos = reach_level(peak, [0.0, 1.0, 2.0, 3.0], -0.25, 40, _measure)
    assert 1.5 <= theta <= 2.0 and _measure(pos) >= -0.25
    assert abs(theta - 1.5) < 1e-6  # the crossing between 1 and 2


def _per_user(method, seed, level, ndcg, goal="exposure", protocol="full"):
    return pd.DataFrame({"protocol": protocol, "method": method, "goal": goal, "seed": seed,
                         "level": level, "user": np.arange(len(ndcg)), "ndcg": ndcg,
                         "hr": (np.asarray(ndcg) > 0).astype(float)})  # fmt: skip


def test_compare_matched_hand_case():
    rng = np.random.default_rng(0)
    base = rng.random(50)
    rows = [_per_user("coupled", s, 0.1, base + 0.1 + 0.01 * s) for s in (0, 1, 2)]
    rows.append(_per_user("cpfair", 0, 0.1, base))  # deterministic: one run for every seed
    rows += [_per_user("pmmf", s, 0.1, base + 0.1 + 0.01 * s) for s in (0, 1, 2)]
    table = compare_matched(pd.concat(rows), (0, 1, 2), n_boot=200)
    table = table.set_index("baseline")
    # coupled's per-user mean over seeds is base + 0.11
    assert table.loc["cpfair", "diff"] == pytest.approx(0.11)
    assert table.loc["cpfair", "users_ci_low"] == pytest.approx(0.11)
    assert table.loc["cpfair", "verdict"] == "coupled better"
    assert table.loc["pmmf", "diff"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc["pmmf", "verdict"] == "no significant difference"
    assert np.allclose(table["users_p_holm"], holm(table["users_p"].to_numpy()))
    # over seeds: coupled's seeds 0.11 +- 0.01 against cpfair's one value repeated
    assert table.loc["cpfair", "seeds_ci_low"] < 0.11 < table.loc["cpfair", "seeds_ci_high"]


def test_unreached_lists_the_missing_levels_per_goal():
    matched = pd.DataFrame({"protocol": "full", "method": ["coupled", "pmmf", "coupled"],
                            "goal": ["exposure", "exposure", "consumer"],
                            "level": [0.1, 0.1, 0.01]})  # fmt: skip
    levels = pd.DataFrame({"protocol": "full", "goal": ["exposure", "exposure", "consumer"],
                           "level": [0.1, 0.2, 0.01]})  # fmt: skip
    miss = unreached(matched, levels)
    at_01 = set(miss[(miss.goal == "exposure") & np.isclose(miss.level, 0.1)].method)
    assert at_01 == set(BASELINES) - {"pmmf"}
    at_02 = set(miss[(miss.goal == "exposure") & np.isclose(miss.level, 0.2)].method)
    assert at_02 == {"coupled", *BASELINES}
    # only the coupled solve and CPFair take the consumer goal
    assert set(miss[miss.goal == "consumer"].method) == {"cpfair"}


@pytest.fixture(scope="module")
def stages():
    rng = np.random.default_rng(3)
    pop = np.sort(rng.pareto(1.1, N_ITEMS) * 30 + 1)[::-1].copy()
    genres = rng.random((N_ITEMS, 6)) < 0.3
    genres[genres.sum(axis=1) == 0, 0] = True
    p = pop / pop.sum()
    counts = rng.integers(5, 200, N_USERS)

    def cands(seed):
        r = np.random.default_rng(seed)
        items = np.stack([r.choice(N_ITEMS, N_CAND, replace=False, p=0.5 * p + 0.5 / N_ITEMS)
                          for _ in range(N_USERS)])  # fmt: skip
        scores = r.normal(size=items.shape) + 0.02 * pop[items]
        target = items[np.arange(N_USERS), r.integers(0, N_CAND, N_USERS)]
        return {"items": items, "scores": scores, "target": target}

    cfg = FairnessEvalConfig(k=K, n_groups=3, levels=(0.3, 0.5), tail_levels=(0.6,),
                             seeds=(0, 1), n_front=5, pop_size=16, n_gen=6, rounds=2,
                             pmmf_eta=(0.01, 0.1), pmmf_alpha=(0.5,), pmmf_window=(0,),
                             pmmf_gamma=("uniform", "interactions"), mmr_grid=(0.7, 1.0),
                             dpp_grid=(0.7,), ssd_grid=(0.0, 0.3), bisect_steps=6,
                             n_boot=200)  # fmt: skip
    valid = FairStage(cands(1), "full", genres, pop, counts, cfg, transform="softmax")
    test_c = cands(2)
    test = FairStage(test_c, "full", genres, pop, counts, cfg, transform="softmax")
    return valid, test, test_c, (genres, pop, counts), cfg


@pytest.fixture(scope="module")
def study(stages):
    valid, test, *_, cfg = stages
    return run_protocol(valid, test, cfg)


def test_every_matched_list_meets_its_level(study, stages):
    test = stages[1]
    m = study["matched"]
    assert len(m) and set(m["goal"]) >= {"exposure", "tail", "coverage"}
    col = {"exposure": "min_share_ratio", "tail": "tail_share_ratio", "coverage": "coverage"}
    for goal, c in col.items():
        g = m[m["goal"] == goal]
        assert (g[c] >= g["level"] - 1e-12).all()
    cons = m[m["goal"] == "consumer"]
    assert (cons["expected_gap"].abs() <= cons["level"] * (1 + 1e-9)).all()
    # the coupled solve meets its levels exactly (tol=0 at the matched levels)
    assert (m[m["method"] == "coupled"]["violation"] == 0).all()
    # one row of per-user values per user and matched list
    assert len(study["per_user"]) == len(m) * test.n_users


def test_the_levels_are_set_without_test_labels(study, stages):
    """Shuffling the test targets changes the scores, never the strengths or lists."""
    valid, _, test_c, (genres, pop, counts), cfg = stages
    shuffled = dict(test_c, target=np.random.default_rng(9).permutation(test_c["target"]))
    other = run_protocol(valid, FairStage(shuffled, "full", genres, pop, counts, cfg,
                                          transform="softmax"), cfg)  # fmt: skip
    keys = ["method", "goal", "seed", "level"]
    a = study["matched"].sort_values(keys, kind="stable").reset_index(drop=True)
    b = other["matched"].sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(a[keys + ["theta", "min_share_ratio", "tail_share_ratio",
                                             "coverage", "expected_gap"]],
                                  b[keys + ["theta", "min_share_ratio", "tail_share_ratio",
                                            "coverage", "expected_gap"]])  # fmt: skip
    assert not np.allclose(a["ndcg"], b["ndcg"])


def test_same_seed_same_study(study, stages):
    valid, test, *_, cfg = stages
    again = run_protocol(valid, test, cfg)
    for key in ("front", "matched", "per_user", "tuned", "tuning"):
        pd.testing.assert_frame_equal(study[key], again[key])


def test_figure_is_written(study, tmp_path):
    path = plot_fronts(study["front"], study["matched"], tmp_path / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_config_refuses_bad_levels():
    with pytest.raises(ValueError, match="levels must be share ratios"):
        FairnessEvalConfig(levels=(0.1, 1.5))
    with pytest.raises(ValueError, match="tail_levels"):
        FairnessEvalConfig(tail_levels=())


def test_cli_errors_name_the_option_and_the_fix(tmp_path, capsys):
    missing = str(tmp_path / "none.npz")
    assert main(["fairness", "--candidates", missing, "--valid-candidates", missing,
                 "--out", str(tmp_path / "o")]) != 0  # fmt: skip
    assert "moopt train" in capsys.readouterr().err
    assert main(["fairness", "--candidates", missing, "--valid-candidates", missing,
                 "--out", str(tmp_path / "o"), "--levels", "0.1,2"]) != 0  # fmt: skip
    assert "--levels must be share ratios" in capsys.readouterr().err


def test_tuning_picks_each_levels_best_validated_setting(stages):
    from problems.fairness_eval import baseline_specs, tune_baseline

    valid, *_, cfg = stages
    spec = baseline_specs(valid, cfg)["mmr_lt"]
    overall, per_level, table = tune_baseline(valid, "mmr_lt", spec, cfg)
    n_levels = len(cfg.levels) + len(cfg.tail_levels) + len(cfg.coverage_gains)
    assert len(table) == len(spec[2]) * n_levels
    reached = table[table["reached"]]
    pairs = zip(reached.goal, reached["index"], strict=True)
    assert set(per_level) == {(g, int(i)) for g, i in pairs}
    for (goal, i), knobs in per_level.items():
        rows = reached[(reached.goal == goal) & (reached["index"] == i)]
        assert knobs["param"] == rows.loc[rows["ndcg"].idxmax(), "param"]
    # the overall setting reaches the most levels
    counts = table.groupby("param")["reached"].sum()
    assert counts[overall["param"]] == counts.max()
