"""The re-ranking comparison on synthetic data: tuned on validation, scored on test."""

import numpy as np
import pandas as pd
import pytest

from moopt.cli import main
from problems.rerank_eval import (
    GREEDY,
    RerankEvalConfig,
    list_metrics,
    protocol_arrays,
    rerank_evaluation,
    transform_scores,
    utility_path,
    validated_choice,
)
from recommenders.data import leave_one_out, make_synthetic
from recommenders.evaluate import candidates, evaluate
from recommenders.models import Pop


@pytest.fixture(scope="module")
def setup():
    data = make_synthetic(n_users=40, n_items=250, seed=0)
    split = leave_one_out(data.interactions)
    model = Pop().fit(split.train, split.valid)
    valid = candidates(model, split, n=60, stage="valid")
    cands = candidates(model, split, n=60)
    metrics = evaluate(model, split, ks=(5, 10), item_genres=data.item_genres)
    pop = split.history("test").item_counts().astype(float)
    return data, cands, valid, metrics, pop


CFG = RerankEvalConfig(pop_size=16, n_gen=4, seeds=(0, 1), grid=(0.3, 0.7),
                       w_grid=(0.0, 1.0, 10.0), score_transform="softmax")  # fmt: skip


@pytest.fixture(scope="module")
def evaluation(setup):
    data, cands, valid, _, pop = setup
    return rerank_evaluation(cands, valid, data.item_genres, pop, CFG)


def test_table_covers_every_method_choice_and_protocol(evaluation):
    table = evaluation.table
    assert set(table["protocol"]) == {"full", "sampled"}
    per_protocol = table.groupby("protocol").size()
    # base 1 + 3 greedy x (paper, F1, F2) + 3 NSGA-II x (utility F1, utility F2, the two
    # utilities restricted to lists dominating the best greedy list, knee) + transfer's
    # angular (all anchors, region F1, region F2) + plain NSGA-II with the transfer run's
    # anchors (angular choice without the transfer's search).
    assert (per_protocol == 1 + 9 + 3 * 5 + 3 + 1).all()
    metric_cols = [c for c in table.columns if "@" in c and not c.endswith("ci")]
    values = table[metric_cols].to_numpy(dtype=float)
    assert np.all(np.isfinite(values)) and values.min() >= 0 and values.max() <= 1
    nsga = table[table.method.str.startswith("NSGA")]
    assert (nsga["n_seeds"] == 2).all()
    assert len(evaluation.runs) == 2 * len(nsga)


def test_chosen_lists_are_valid_and_ordered_by_q(evaluation):
    for d in evaluation.details.values():
        test = d["test"]
        for (method, seed), (res, _) in d["nsga_runs"].items():
            for choice in d["choices"]:
                if choice.method != method:
                    continue
                from problems.rerank_eval import apply_choice

                anchors = d["nsga_runs"]["nsga2_kt", seed][0].anchors
                pos = apply_choice(test, choice, res, anchors)
                assert pos.shape == (40, 10)
                assert all(len(set(row)) == 10 for row in pos.tolist())
                q = np.take_along_axis(test.stage.q, pos, axis=1)
                assert np.all(np.diff(q, axis=1) <= 0), (method, seed, choice.rule)


def test_greedy_parameters_are_the_validation_argmax(evaluation):
    for d in evaluation.details.values():
        for choice in d["choices"]:
            if choice.method in GREEDY and choice.rule.startswith("tuned"):
                beta = choice.rule.split()[1]
                curve = [m[f"{beta}@10"] for m in d["valid_curves"][choice.method]]
                assert choice.valid_f == max(curve)
                assert choice.param == CFG.grid[int(np.argmax(curve))]


def test_utility_weights_are_the_argmax_of_validation_f_averaged_over_seeds(evaluation):
    # Recomputed from scratch: every seed's validation run, its lists at each w, the mean
    # F over seeds; the validated w is the first argmax of that mean, not one seed's.
    for d in evaluation.details.values():
        valid = d["valid"]
        for m in ("nsga2", "nsga2_seeded"):
            results = [valid.nsga(m, s)[0] for s in CFG.seeds]
            for beta in ("F1", "F2"):
                per_seed = np.array([[valid.metrics(pos)[f"{beta}@10"]
                                      for _, pos in utility_path(valid, res)]
                                     for res in results])  # fmt: skip
                mean = per_seed.mean(axis=0)
                choice = next(c for c in d["choices"]
                              if c.method == m and c.rule == f"utility {beta}")  # fmt: skip
                assert choice.param == CFG.w_grid[int(np.argmax(mean))]
                assert choice.valid_f == pytest.approx(mean.max(), abs=1e-12)
                curve = [r[f"{beta}@10"] for _, r in d["valid_curves"][m]]
                np.testing.assert_allclose(curve, mean, atol=1e-12)


def test_seeded_archive_weakly_dominates_every_greedy_list(evaluation):
    dom = evaluation.dominance
    seeded = dom[dom["archive of"] == "NSGA-II seeded with greedy lists"]
    assert len(seeded) == 2 * len(GREEDY)
    assert (seeded["share weakly dominated"] == 1.0).all()
    unseeded = dom[dom["archive of"] == "NSGA-II (unseeded)"]
    assert ((unseeded["share weakly dominated"] >= 0) & (unseeded["share weakly dominated"]
                                                          <= 1)).all()  # fmt: skip


def test_significance_rows(evaluation):
    sig = evaluation.significance
    assert len(sig) == 2 * 2 * 3  # protocols x (F1, F2) x (over seeds, HR, Div/Nov)
    assert np.all((sig["p_adj"] >= sig["p"]) & (sig["p_adj"] <= 1))
    assert np.all(sig["ci_low"] <= sig["ci_high"])


def test_base_ranker_row_reproduces_the_models_own_metrics(setup, evaluation):
    _, _, _, metrics, _ = setup
    table = evaluation.table
    base = table[(table.protocol == "full") & (table.method == "base ranker")].iloc[0]
    for key in ("HR@5", "HR@10", "NDCG@10", "Div@10"):
        assert base[key] == pytest.approx(metrics["full"][key])


def test_sampled_protocol_hides_the_positive(setup):
    _, cands, _, _, _ = setup
    _, items, target = protocol_arrays(cands, "sampled", seed=0)
    assert np.array_equal(target, cands["sampled_items"][:, 0])
    # After the shuffle the positive is not always in column 0.
    assert np.mean(items[:, 0] == target) < 0.2
    assert all(t in row for t, row in zip(target, items, strict=True))


def test_list_metrics_hand_case():
    genres = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=bool)
    pop = np.array([4.0, 2.0, 1.0, 1.0])
    lists = np.array([[0, 1], [2, 0]])
    m = list_metrics(lists, np.array([1, 3]), genres, pop, (1, 2))
    assert m["HR@1"] == 0.0 and m["HR@2"] == 0.5
    assert m["NDCG@2"] == pytest.approx((1 / np.log2(3)) / 2)
    assert m["Div@2"] == pytest.approx((1.0 + 0.5) / 2)


def test_transform_scores_and_config_errors():
    p = transform_scores(np.array([[0.0, np.log(3.0)]]), "softmax")
    np.testing.assert_allclose(p, [[0.25, 0.75]])
    with pytest.raises(ValueError, match="score_transform"):
        RerankEvalConfig(score_transform="rank")
    with pytest.raises(ValueError, match="probabilities"):
        RerankEvalConfig(score_transform="none")  # expected_hits needs probabilities
    with pytest.raises(ValueError, match="seeds"):
        RerankEvalConfig(seeds=())


def test_cli_rerank_tunes_on_validation_and_writes_everything(tmp_path, capsys):
    run = tmp_path / "pop"
    assert main(["train", "pop", "--data", "synthetic", "--out", str(run), "--quiet",
                 "--n-candidates", "50"]) == 0
    assert (run / "candidates_valid.npz").is_file()
    out = tmp_path / "rerank"
    out.mkdir()
    stale = [out / ".rerank_results.csv.k1ll3d00.tmp", out / ".tradeoff.png.k1ll3d00.png"]
    for path in stale:  # what a run killed while writing leaves behind
        path.write_text("partial")
    assert main(["rerank", "--candidates", str(run / "candidates.npz"), "--out", str(out),
                 "--pop-size", "12", "--n-gen", "3", "--seeds", "2",
                 "--methods", "base", "mmr", "nsga2_seeded"]) == 0
    text = capsys.readouterr().out
    assert "NSGA-II seeded with greedy lists" in text and "F1@10" in text
    assert "headline over users" in text
    assert not any(path.exists() for path in stale)
    summary = (out / "rerank_summary.md").read_text()
    assert summary.startswith("Headline: NSGA-II seeded") and "| method | choice |" in summary
    for name in ("rerank_results.csv", "rerank_runs.csv", "rerank_significance.csv",
                 "rerank_dominance.csv", "rerank_summary.md", "rerank_headline.csv",
                 "rerank_curves.csv", "rerank_lists.csv", "rerank_items.csv"):
        assert (out / name).stat().st_size > 100, name
    for name in ("tradeoff.png", "calibration.png", "pareto_front.png"):
        assert (out / name).stat().st_size > 10_000, name
    # The folder reads back: every table, bit for bit, and the run's settings.
    from moopt.files import read_csv, versions
    from problems.rerank_eval import load_rerank_run

    loaded = load_rerank_run(out)
    for attr, name in (("table", "rerank_results.csv"), ("runs", "rerank_runs.csv"),
                       ("headline", "rerank_headline.csv")):  # fmt: skip
        expected = read_csv(out / name)
        pd.testing.assert_frame_equal(getattr(loaded, attr), expected, check_exact=True)
    assert loaded.summary == summary and loaded.record["versions"] == versions()
    assert loaded.record["seeds"] == [0, 1] and loaded.record["protocols"] == ["full", "sampled"]
    assert loaded.record["candidates"] == str(run / "candidates.npz")
    assert loaded.record["settings"]["pop_size"] == 12 and "out" not in loaded.record["settings"]
    assert loaded.config == RerankEvalConfig(k=10, pop_size=12, n_gen=3, seeds=(0, 1),
                                             methods=("base", "mmr", "nsga2_seeded"))
    # The training folder's own run.json is never overwritten by a re-ranking.
    train_record = (run / "run.json").read_text()
    assert main(["rerank", "--candidates", str(run / "candidates.npz"), "--out", str(run)]) == 2
    assert "holds another job's run.json" in capsys.readouterr().err
    assert (run / "run.json").read_text() == train_record
    # No validation file: a clear error, not a silent fallback to tuning on test.
    (run / "candidates_valid.npz").unlink()
    assert main(["rerank", "--candidates", str(run / "candidates.npz"), "--out", str(out)]) == 2
    assert "no validation candidates" in capsys.readouterr().err


def test_validated_choice_picks_the_best_validation_f_and_ignores_test():
    from problems.rerank_eval import Choice, validated_choice

    choices = [
        Choice("mmr", "tuned F1", 0.9, 0.30),
        Choice("dpp", "tuned F1", 0.8, 0.32),
        Choice("dpp", "tuned F2", 0.4, 0.50),
        Choice("nsga2_seeded", "utility F1 ", 2.0, 0.33),
        Choice("nsga2_seeded", "utility F1, dominating DPP", 0.0, 0.34, ("dpp", 0.8)),
        Choice("nsga2_seeded", "utility F2", 1.0, 0.45),
        Choice("nsga2_seeded", "knee", None, None),
    ]
    assert validated_choice(choices, GREEDY, "F1").param == 0.8
    assert validated_choice(choices, GREEDY, "F2").method == "dpp"
    assert validated_choice(choices, "nsga2_seeded", "F1").valid_f == 0.34
    assert validated_choice(choices, "nsga2_seeded", "F2").rule == "utility F2"
    with pytest.raises(ValueError, match="no validated F1"):
        validated_choice(choices, "nsga2", "F1")


def test_summary_table_has_the_headline_rows_with_validated_choices(evaluation):
    from problems.rerank_eval import markdown_table, summary_table, validated_choice

    summary = summary_table(evaluation)
    # base + 3 greedy x 3 + 3 NSGA-II x (validated F1, F2, knee) + 2 angular + 1 anchors-only
    assert len(summary) == 1 + 9 + 9 + 2 + 1
    choices = evaluation.details["full"]["choices"]
    seeded = summary[(summary.method == "NSGA-II seeded with greedy lists")
                     & (summary.choice == "validated F1")].iloc[0]  # fmt: skip
    head = validated_choice(choices, "nsga2_seeded", "F1")
    table = evaluation.table
    row = table[(table.protocol == "full") & (table.rule == head.rule)
                & (table.method == "NSGA-II seeded with greedy lists")].iloc[0]  # fmt: skip
    assert seeded["full F1@10"].startswith(f"{row['F1@10']:.4f} +- ")
    text = markdown_table(summary)
    assert text.count("\n") == len(summary) + 2 and text.startswith("| method | choice |")


def test_headline_over_users_recomputes_the_aggregate_f(evaluation):
    # The headline's F values are the aggregate F of per-user (hit, Div, Nov): for the
    # greedy baseline exactly the table's F; for NSGA-II the F of the users' values
    # averaged over the seeds, recomputed here from every seed's chosen lists.
    from problems.rerank_eval import apply_choice, per_user_measures
    from recommenders.metrics import f_beta

    head = evaluation.headline
    assert list(head["protocol"]) == ["full", "full", "sampled", "sampled"]
    assert list(head["F-beta"]) == ["F1@10", "F2@10"] * 2
    table = evaluation.table
    for r in head.to_dict("records"):
        d = evaluation.details[r["protocol"]]
        test, beta = d["test"], r["F-beta"][:2]
        best = validated_choice(d["choices"], GREEDY, beta)
        row = table[(table.protocol == r["protocol"]) & (table.rule == best.rule)
                    & (table.choice.str.contains(f"={best.param:g}"))
                    & (table.method == r["baseline"].split(" (")[0])].iloc[0]  # fmt: skip
        assert r["F baseline"] == pytest.approx(row[r["F-beta"]], abs=1e-12)
        choice = validated_choice(d["choices"], "nsga2_seeded", beta)
        per_seed = [per_user_measures(test.items_of(apply_choice(
            test, choice, d["nsga_runs"]["nsga2_seeded", s][0])), test.stage.target,
            test.genres, test.pop, 10) for s in CFG.seeds]  # fmt: skip
        means = np.mean(per_seed, axis=0).mean(axis=0)
        expected = f_beta(means[0], means[1], means[2], float(beta[1:]))
        assert r["F method"] == pytest.approx(expected, abs=1e-12)
        assert r["diff"] == pytest.approx(r["F method"] - r["F baseline"], abs=1e-15)
        assert r["validation margin"] == pytest.approx(choice.valid_f - best.valid_f,
                                                       abs=1e-15)  # fmt: skip
        strict = r["strict choice"] == "NSGA-II"
        assert strict == (choice.valid_f > best.valid_f)
        assert r["strict diff"] == (r["diff"] if strict else 0.0)
        assert r["strict p bootstrap"] == (r["p bootstrap"] if strict else 1.0)
        assert r["ci_low"] <= r["ci_high"] and r["n_resamples"] == CFG.n_resamples
        assert r["n_users"] == 40 and r["n_seeds"] == 2
    for test in ("bootstrap", "sign-flip"):
        p, adj = head[f"p {test}"].to_numpy(), head[f"p {test} Holm"].to_numpy()
        assert np.all((p > 0) & (p <= adj) & (adj <= 1))
    # The secondary column is the over-seeds row of the significance table.
    sig = evaluation.significance.set_index("comparison")
    r = head.iloc[0]
    key = f"full, F1@10 over seeds: {r['comparison']}"
    assert r["over seeds diff"] == sig.loc[key, "diff"]
    assert r["over seeds Holm p"] == sig.loc[key, "p_adj"]


def test_strict_rule_ties_where_the_validation_margin_is_not_positive():
    # Four hand-built cells: the strict rule keeps the validated row where NSGA-II won on
    # validation (margin > 0) and ties (difference 0, CI [0, 0], p 1) where it did not
    # (margin < 0, and margin exactly 0), with a Holm family of its own.
    from problems.rerank_eval import headline_table

    rows = []
    for i, (margin, diff, p) in enumerate([(0.01, 0.02, 0.01), (-0.001, -0.005, 0.002),
                                           (0.0, 0.004, 0.5), (0.02, 0.03, 0.04)]):
        rows.append({"protocol": "full", "F-beta": f"F{i}@10", "comparison": f"c{i}",
                     "diff": diff, "ci_low": diff - 0.01, "ci_high": diff + 0.01,
                     "p bootstrap": p, "p sign-flip": p, "validation margin": margin,
                     "strict choice": "NSGA-II" if margin > 0 else "baseline"})
    table = headline_table(rows, pd.DataFrame())
    assert list(table["strict diff"]) == [0.02, 0.0, 0.0, 0.03]
    assert table["strict ci_low"].tolist() == pytest.approx([0.01, 0.0, 0.0, 0.02])
    assert list(table["strict p bootstrap"]) == [0.01, 1.0, 1.0, 0.04]
    # Holm over 4: sorted 0.01, 0.04, 1, 1 -> 0.04, 0.12, 1, 1
    assert table["strict p bootstrap Holm"].tolist() == pytest.approx([0.04, 1.0, 1.0, 0.12])
    # the validated family is unchanged: 0.002, 0.01, 0.04, 0.5 -> 0.008, 0.03, 0.08, 0.5
    assert table["p bootstrap Holm"].tolist() == pytest.approx([0.03, 0.008, 0.5, 0.08])


def test_tradeoff_curves_hold_the_validation_paths_and_the_tables_test_rows(evaluation):
    from problems.rerank_eval import LABELS, NSGA, tradeoff_curves
    from problems.rerank_eval.tuning import _label

    curves = tradeoff_curves(evaluation)
    per = len(GREEDY) * len(CFG.grid) + len(NSGA) * len(CFG.w_grid)
    assert len(curves) == 2 * 2 * per  # stages x protocols
    t = evaluation.table
    for protocol, d in evaluation.details.items():
        c = curves[curves.protocol == protocol]
        for m in (*GREEDY, *NSGA):
            valid = c[(c.stage == "valid") & (c.key == m)]
            expected = (d["valid_curves"][m] if m in GREEDY
                        else [metrics for _, metrics in d["valid_curves"][m]])  # fmt: skip
            np.testing.assert_array_equal(valid["F1@10"], [e["F1@10"] for e in expected])
            assert list(valid["param"]) == list(CFG.grid if m in GREEDY else CFG.w_grid)
        # Each validated choice on a path lies on its test curve: greedy lists are
        # deterministic and NSGA-II's points are averaged over the seeds, as the table is.
        plain = [x for x in d["choices"]
                 if x.rule in ("tuned F1", "tuned F2", "utility F1", "utility F2")]
        assert len(plain) == 2 * (len(GREEDY) + len(NSGA))
        for choice in plain:
            row = t[(t.protocol == protocol) & (t.method == LABELS[choice.method])
                    & (t.choice == _label(choice))]  # fmt: skip
            point = c[(c.stage == "test") & (c.key == choice.method)
                      & np.isclose(c.param, choice.param)]  # fmt: skip
            assert len(row) == 1 and len(point) == 1
            for key in ("HR@10", "Div@10", "Nov@10", "F1@10", "F2@10", "NDCG@5"):
                assert point[key].iloc[0] == pytest.approx(row[key].iloc[0], abs=1e-12), key


def test_chosen_lists_are_the_lists_the_table_scored(setup, evaluation):
    from problems.rerank_eval import LABELS, chosen_lists, item_table
    from problems.rerank_eval.tuning import _label

    data, _, _, _, pop = setup
    lists = chosen_lists(evaluation)
    t, runs = evaluation.table, evaluation.runs
    key_of = {label: key for key, label in LABELS.items()}
    for protocol, d in evaluation.details.items():
        part = lists[lists.protocol == protocol]
        # base, 3 greedy x (tuned F1, tuned F2), 3 NSGA-II x (validated F1, validated F2)
        assert part.groupby(["method", "rule"]).ngroups == 1 + 6 + 6
        test = d["test"]
        for (method, choice, rule), g in part.groupby(["method", "choice", "rule"]):
            assert list(g["user"]) == list(range(40))
            np.testing.assert_array_equal(g["target"], test.stage.target)
            items = g[[f"item_{r}" for r in range(1, 11)]].to_numpy()
            got = list_metrics(items, test.stage.target, data.item_genres, pop, (5, 10))
            if rule.startswith("validated"):  # NSGA-II: its first seed's lists
                picked = validated_choice(d["choices"], key_of[method], rule.split()[1])
                assert choice == _label(picked)
                row = runs[(runs.protocol == protocol) & (runs.method == method)
                           & (runs.choice == choice) & (runs.seed == CFG.seeds[0])]
            else:
                row = t[(t.protocol == protocol) & (t.method == method) & (t.choice == choice)]
            assert len(row) == 1
            for key, value in got.items():
                assert value == pytest.approx(row[key].iloc[0], abs=1e-12), (method, key)
        base = part[part.method == "base ranker"][[f"item_{r}" for r in range(1, 11)]]
        np.testing.assert_array_equal(base.to_numpy(), test.items_of(test.base()))
    items = item_table(data.item_genres, pop, data.genre_names, data.item_titles)
    assert list(items["item"]) == list(range(data.n_items))
    genres = data.item_genres[7].nonzero()[0]
    assert items["categories"][7] == "|".join(data.genre_names[g] for g in genres)
    assert items["popularity"][7] == pop[7] and items["title"][7] == data.item_titles[7]
    unnamed = item_table(data.item_genres[:3], pop[:3])
    assert list(unnamed["title"]) == ["item 0", "item 1", "item 2"]
    first = data.item_genres[0].nonzero()[0]
    assert unnamed["categories"][0] == "|".join(f"category {g}" for g in first)
