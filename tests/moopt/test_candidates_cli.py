"""moopt candidates: another library's model (implicit's ALS on ML-100K) re-ranked and
evaluated by moopt rerank with the protocols of moopt's own rankers."""

import json

import numpy as np
import pandas as pd
import pytest

from moopt.cli import main
from recommenders.data import recbole_ml100k_dir
from recommenders.evaluate import load_candidates
from recommenders.external import IdMap

pytestmark = pytest.mark.skipif(recbole_ml100k_dir() is None, reason="ML-100K not installed")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """ML-100K split to CSV files in its own ids, and ALS scores (8 factors, 3 iterations)."""
    pytest.importorskip("implicit.als")
    from benchmarks.external_als import write_files

    out = tmp_path_factory.mktemp("als")
    write_files(out, factors=8, iterations=3)
    return out


def _candidates_args(files, out, *extra):
    return ["candidates", "--scores", str(files / "scores.npy"),
            "--user-ids", str(files / "users.txt"), "--item-ids", str(files / "items.txt"),
            "--items", str(files / "items.csv"), "--train", str(files / "train.csv"),
            "--valid", str(files / "valid.csv"), "--test", str(files / "test.csv"),
            "--out", str(out), "--n", "50", "--max-users", "40", *extra]  # fmt: skip


@pytest.mark.slow
def test_als_scores_are_reranked_and_evaluated_by_moopt_rerank(files, tmp_path, capsys):
    assert main(_candidates_args(files, tmp_path / "als")) == 0
    cands = load_candidates(tmp_path / "als" / "candidates.npz")
    ids = IdMap.load(tmp_path / "als" / "id_map.json")
    first = pd.read_csv(files / "test.csv")["user"].drop_duplicates().head(40)
    assert sorted(ids.user_ids(cands["users"]).tolist()) == sorted(first.tolist())
    assert cands["items"].shape == (40, 50) and cands["sampled_items"].shape == (40, 100)
    assert str(cands["meta_calibration"]) == "catalogue"
    assert cands["item_genres"].shape == (1682, 19)
    metrics = json.loads((tmp_path / "als" / "metrics.json").read_text())
    assert main(["rerank", "--candidates", str(tmp_path / "als" / "candidates.npz"),
                 "--out", str(tmp_path / "rr"), "--methods", "base", "mmr",
                 "--seeds", "1"]) == 0  # fmt: skip
    table = pd.read_csv(tmp_path / "rr" / "rerank_results.csv")
    base = table[table["method"] == "base ranker"].set_index("protocol")
    # The base ranker's lists are the candidates' first ten: the HR@10 metrics.json gives.
    hand = (cands["items"][:, :10] == cands["target"][:, None]).any(axis=1).mean()
    assert base.loc["full", "HR@10"] == pytest.approx(hand, abs=1e-12)
    assert base.loc["full", "HR@10"] == pytest.approx(metrics["full"]["HR@10"], abs=1e-12)
    assert base.loc["sampled", "HR@10"] == pytest.approx(metrics["sampled"]["HR@10"], abs=1e-12)
    assert (tmp_path / "rr" / "rerank_summary.md").is_file()
    assert "next: moopt rerank" in capsys.readouterr().out


@pytest.mark.slow
def test_a_top_n_table_reranks_under_the_full_protocol_only(files, tmp_path, capsys):
    assert main(_candidates_args(files, tmp_path / "dense")) == 0
    dense = load_candidates(tmp_path / "dense" / "candidates.npz")
    ids = IdMap.load(tmp_path / "dense" / "id_map.json")
    valid = load_candidates(tmp_path / "dense" / "candidates_valid.npz")
    rows = []
    for data in (dense, valid):  # each stage's top 50, in the user's own ids
        for r, u in enumerate(data["users"]):
            rows += [(ids.users[u], ids.items[i], s)
                     for i, s in zip(data["items"][r], data["scores"][r], strict=True)]
    table = pd.DataFrame(rows, columns=["user", "item", "score"]).drop_duplicates(["user", "item"])
    table.to_parquet(tmp_path / "top.parquet", index=False)
    args = _candidates_args(files, tmp_path / "top")
    args[args.index("--scores") + 1] = str(tmp_path / "top.parquet")
    for flag in ("--user-ids", "--item-ids"):
        del args[args.index(flag) : args.index(flag) + 2]
    assert main(args) == 2
    assert "--protocols full" in capsys.readouterr().err
    assert main(args + ["--protocols", "full", "--no-calibration"]) == 0
    top = load_candidates(tmp_path / "top" / "candidates.npz")
    top_ids = IdMap.load(tmp_path / "top" / "id_map.json")

    def lists(data, id_map):  # user -> candidate items, in the user's own ids
        return {id_map.users[u]: id_map.items[row].tolist()
                for u, row in zip(data["users"], data["items"], strict=True)}

    assert lists(top, top_ids) == lists(dense, ids)
    assert "sampled_items" not in top and not (tmp_path / "top" / "metrics.json").exists()
    rerank = ["rerank", "--candidates", str(tmp_path / "top" / "candidates.npz"),
              "--out", str(tmp_path / "rr"), "--methods", "base", "--seeds", "1"]  # fmt: skip
    assert main(rerank) == 2
    assert "--score-transform softmax" in capsys.readouterr().err
    assert main(rerank + ["--protocols", "sampled", "--score-transform", "softmax"]) == 2
    assert "no sampled protocol" in capsys.readouterr().err
    assert main(rerank + ["--protocols", "full", "--score-transform", "softmax"]) == 0


def test_bad_files_are_one_line_errors(files, tmp_path, capsys):
    scores = np.load(files / "scores.npy")
    scores[3, 7] = np.nan
    np.save(tmp_path / "nan.npy", scores)
    args = _candidates_args(files, tmp_path / "out")
    args[args.index("--scores") + 1] = str(tmp_path / "nan.npy")
    assert main(args) == 2
    assert "scores hold 1 NaN or infinite value(s) (first at row 3, column 7)" in (
        capsys.readouterr().err)  # fmt: skip
    args = _candidates_args(files, tmp_path / "out")
    args[args.index("--train") + 1] = str(tmp_path / "missing.csv")
    assert main(args) == 2
    assert "train: no file" in capsys.readouterr().err
    pd.read_csv(files / "test.csv").rename(columns={"item": "movie"}).to_csv(
        tmp_path / "bad.csv", index=False)  # fmt: skip
    args = _candidates_args(files, tmp_path / "out")
    args[args.index("--test") + 1] = str(tmp_path / "bad.csv")
    assert main(args) == 2
    assert "lacks column(s) ['item']" in capsys.readouterr().err
