"""The re-ranking comparison on synthetic data: every method, both protocols."""

import numpy as np
import pytest

from moopt.cli import main
from problems.rerank_eval import (
    RerankEvalConfig,
    list_metrics,
    protocol_arrays,
    rerank_evaluation,
    transform_scores,
)
from recommenders.data import leave_one_out, make_synthetic
from recommenders.evaluate import candidates, evaluate
from recommenders.models import Pop


@pytest.fixture(scope="module")
def setup():
    data = make_synthetic(n_users=40, n_items=250, seed=0)
    split = leave_one_out(data.interactions)
    model = Pop().fit(split.train, split.valid)
    cands = candidates(model, split, n=60)
    metrics = evaluate(model, split, ks=(5, 10), item_genres=data.item_genres)
    pop = split.history("test").item_counts().astype(float)
    return data, cands, metrics, pop


CFG = RerankEvalConfig(pop_size=16, n_gen=4)


def test_table_covers_every_method_and_protocol(setup):
    data, cands, metrics, pop = setup
    table, details = rerank_evaluation(cands, data.item_genres, pop, CFG)
    assert len(table) == 12
    assert set(table["protocol"]) == {"full", "sampled"}
    values = table.drop(columns=["protocol", "method", "seconds"]).to_numpy()
    assert np.all(np.isfinite(values)) and values.min() >= 0 and values.max() <= 1
    for proto in ("full", "sampled"):
        for lists in details[proto]["lists"].values():
            assert lists.shape == (40, 10)
            assert all(len(set(row)) == 10 for row in lists.tolist())
            assert all(set(row) <= set(c) for row, c in zip(lists, details[proto]["items"],
                                                           strict=True))


def test_base_ranker_row_reproduces_the_models_own_metrics(setup):
    data, cands, metrics, pop = setup
    table, _ = rerank_evaluation(cands, data.item_genres, pop, CFG)
    base = table[(table.protocol == "full") & (table.method == "base ranker")].iloc[0]
    for key in ("HR@5", "HR@10", "NDCG@10", "Div@10"):
        assert base[key] == pytest.approx(metrics["full"][key])


def test_sampled_protocol_hides_the_positive(setup):
    _, cands, _, _ = setup
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


def test_transform_scores():
    p = transform_scores(np.array([[0.0, np.log(3.0)]]), "softmax")
    np.testing.assert_allclose(p, [[0.25, 0.75]])
    with pytest.raises(ValueError, match="score_transform"):
        RerankEvalConfig(score_transform="rank")


def test_cli_rerank_writes_table_and_plot(tmp_path, capsys):
    run = tmp_path / "pop"
    assert main(["train", "pop", "--data", "synthetic", "--out", str(run), "--quiet",
                 "--n-candidates", "50"]) == 0
    out = tmp_path / "rerank"
    assert main(["rerank", "--candidates", str(run / "candidates.npz"), "--out", str(out),
                 "--pop-size", "12", "--n-gen", "3", "--protocols", "full"]) == 0
    text = capsys.readouterr().out
    assert "NSGA-II + transfer" in text and "F1@10" in text
    assert (out / "rerank_results.csv").read_text().count("\n") == 7
    assert (out / "pareto_front.png").stat().st_size > 10_000
