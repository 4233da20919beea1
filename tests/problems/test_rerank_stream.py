"""The streamed re-ranking equals the in-memory one, resumes, refuses what cannot fit, and
runs on a Dask LocalCluster with the same lists."""

import json

import numpy as np
import pandas as pd
import pytest

from moopt import rerank_batch
from moopt.engine import RerankMemoryError
from problems.rerank_eval.stages import DEFAULT_W, Context, RerankEvalConfig, Stage, list_metrics
from problems.rerank_stream import (
    StreamConfig,
    candidate_probabilities,
    open_candidates,
    rerank_stream,
    save_candidates_dir,
)
from recommenders.evaluate import log_partition

U, N, I, G, K = 45, 24, 150, 8, 5
CFG = dict(k=K, pop_size=10, n_gen=3, seed=7)


def make_dir(path, seed=0, n_users=U, calibrated=True):
    rng = np.random.default_rng(seed)
    items = np.argsort(rng.random((n_users, I)), axis=1)[:, :N]
    scores = rng.normal(size=(n_users, N))
    arrays = dict(users=np.arange(n_users) + 500, items=items, scores=scores,
                  item_genres=rng.random((I, G)) < 0.3,
                  item_popularity=rng.integers(1, 60, I).astype(float),
                  target=items[np.arange(n_users), rng.integers(0, 6, n_users)])
    meta = {"calibration": "none"}
    if calibrated:  # the catalogue's normaliser: at least the candidates' own
        arrays["log_norm_full"] = log_partition(scores, 0.8) + rng.random(n_users)
        meta = {"calibration": "catalogue", "temperature_full": 0.8}
    save_candidates_dir(path, arrays, **meta)
    return arrays


def in_memory(arrays, weights, calibrated=True, **cfg):
    """One rerank_batch over all users, seeded as nsga2_seeded, the utility's lists."""
    meta = {"meta_calibration": "catalogue" if calibrated else "none",
            "meta_temperature_full": 0.8}
    q = candidate_probabilities({**arrays, **meta})
    items, genres, pop = arrays["items"], arrays["item_genres"], arrays["item_popularity"]
    stage = Stage("test", "full", q, items, arrays["target"])
    seeds = Context(stage, genres, pop, RerankEvalConfig(k=cfg["k"], ks=(cfg["k"],))).greedy_seeds()
    res = rerank_batch(q, items, genres, pop, objectives=("expected_hits", "diversity", "novelty"),
                       initial=seeds, **cfg)
    p = res.choose(weights, positions=True)
    p = np.take_along_axis(p, np.argsort(-np.take_along_axis(q, p, 1), 1, kind="stable"), 1)
    return np.take_along_axis(items, p, axis=1)


def read_lists(out):
    parts = sorted((out / "lists").glob("*.parquet"))
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def test_streamed_lists_equal_the_in_memory_run_whatever_the_block_size(tmp_path):
    arrays = make_dir(tmp_path / "c")
    expected = in_memory(arrays, StreamConfig().utility(), **CFG)
    for block in (16, 45):  # 16 does not divide 45 users
        out = tmp_path / f"o{block}"
        s = rerank_stream(tmp_path / "c", out, cfg=StreamConfig(block_users=block, **CFG),
                          progress=False)
        frame = read_lists(out)
        np.testing.assert_array_equal(frame["item"].to_numpy().reshape(U, K), expected)
        np.testing.assert_array_equal(frame["user"].to_numpy()[::K], arrays["users"])
        assert s["totals"]["blocks"] == -(-U // block)
        means = frame.groupby("user")["diversity"].first().mean()
        assert s["totals"]["objective_means"]["diversity"] == pytest.approx(means)


def test_resume_skips_the_written_blocks_and_gives_the_same_files(tmp_path):
    make_dir(tmp_path / "c", calibrated=False)
    cfg = StreamConfig(block_users=20, seeds="topk", **CFG)
    rerank_stream(tmp_path / "c", tmp_path / "o", cfg=cfg, progress=False)
    parts = sorted((tmp_path / "o" / "lists").glob("*.parquet"))
    assert [p.name for p in parts] == ["part-0000000000-0000000019.parquet",
                                       "part-0000000020-0000000039.parquet",
                                       "part-0000000040-0000000044.parquet"]
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in parts}
    parts[1].unlink()
    killed = parts[1].parent / f".{parts[1].name}.abcd1234.parquet"  # a killed block's write
    killed.write_bytes(b"half")
    s = rerank_stream(tmp_path / "c", tmp_path / "o", cfg=cfg, progress=False)
    assert s["totals"]["blocks_run"] == 1 and s["totals"]["blocks"] == 3
    for p in parts:
        assert p.read_bytes() == before[p.name][0]
    assert parts[0].stat().st_mtime_ns == before[parts[0].name][1]  # not rewritten
    assert not killed.exists()
    assert rerank_stream(tmp_path / "c", tmp_path / "o", cfg=cfg,
                         progress=False)["totals"]["blocks_run"] == 0
    with pytest.raises(ValueError, match="out: .* other settings"):
        rerank_stream(tmp_path / "c", tmp_path / "o", cfg=StreamConfig(block_users=20, **CFG),
                      progress=False)


def test_the_weight_is_tuned_on_validation_as_in_memory(tmp_path):
    arrays = make_dir(tmp_path / "v", seed=1)
    make_dir(tmp_path / "c", seed=2)
    cfg = StreamConfig(block_users=16, valid_users=U, **CFG)
    s = rerank_stream(tmp_path / "c", tmp_path / "o", valid=tmp_path / "v", cfg=cfg,
                      progress=False)
    f1 = []
    for w in DEFAULT_W:
        lists = in_memory(arrays, {**cfg.utility(), "expected_hits": w}, **CFG)
        f1.append(list_metrics(lists, arrays["target"], arrays["item_genres"],
                               arrays["item_popularity"], (K,))[f"F1@{K}"])
    assert s["tuned"][f"grid_valid_F1@{K}"] == pytest.approx(f1, abs=1e-12)
    assert s["tuned"]["expected_hits_weight"] == DEFAULT_W[int(np.argmax(f1))]
    small = StreamConfig(block_users=16, valid_users=10, seeds="topk", **CFG)
    s = rerank_stream(tmp_path / "c", tmp_path / "o2", valid=tmp_path / "v", cfg=small,
                      progress=False)
    assert s["tuned"]["users"] == 10
    assert json.loads((tmp_path / "o2" / "summary.json").read_text())["tuned"] == s["tuned"]


def test_a_block_that_cannot_fit_is_refused_before_reading(tmp_path):
    make_dir(tmp_path / "c")
    with pytest.raises(RerankMemoryError, match="one block of the streamed re-ranking .*"
                       "block_users"):
        rerank_stream(tmp_path / "c", tmp_path / "o", cfg=StreamConfig(**CFG),
                      memory_limit=1e5, progress=False)
    assert not (tmp_path / "o").exists()


def test_rerank_batch_over_the_limit_names_the_streamed_job():
    rng = np.random.default_rng(0)
    with pytest.raises(RerankMemoryError, match="moopt stream --candidates"):
        rerank_batch(rng.random((64, 20)), np.tile(np.arange(20), (64, 1)), k=4,
                     pop_size=6, n_gen=2, objectives=("accuracy",), memory_limit=1e4)


def test_bad_candidates_directories_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="candidates: no candidates directory"):
        open_candidates(tmp_path / "missing")
    arrays = make_dir(tmp_path / "c")
    (tmp_path / "c" / "scores.npy").unlink()
    with pytest.raises(ValueError, match=r"candidates: .* lacks \['scores'\]"):
        open_candidates(tmp_path / "c")
    save_candidates_dir(tmp_path / "d", {**arrays, "scores": arrays["scores"][:-1]},
                        calibration="none")
    with pytest.raises(ValueError, match="candidates: the arrays' shapes disagree"):
        rerank_stream(tmp_path / "d", tmp_path / "o", progress=False)
    save_candidates_dir(tmp_path / "e", {**arrays, "item_popularity": np.ones(I + 1)},
                        calibration="none")
    with pytest.raises(ValueError, match="candidates: the arrays' shapes disagree"):
        open_candidates(tmp_path / "e")
    make_dir(tmp_path / "g")
    make_dir(tmp_path / "v")
    (tmp_path / "v" / "target.npy").unlink()
    with pytest.raises(ValueError, match=r"valid: .* lacks \['target'\]"):
        rerank_stream(tmp_path / "g", tmp_path / "o", valid=tmp_path / "v", progress=False)
    with pytest.raises(ValueError, match="block_users must be a positive integer"):
        StreamConfig(block_users=0)


def test_moopt_stream_command_writes_the_api_run(tmp_path):
    from moopt.cli import main

    make_dir(tmp_path / "c", calibrated=False)
    argv = ["stream", "--candidates", str(tmp_path / "c"), "--out", str(tmp_path / "o"),
            "--k", str(K), "--pop-size", "10", "--n-gen", "3", "--seed", "7", "--seeds", "topk",
            "--block-users", "30", "--no-progress"]
    assert main(argv) == 0
    rerank_stream(tmp_path / "c", tmp_path / "api", progress=False,
                  cfg=StreamConfig(block_users=30, seeds="topk", **CFG))
    pd.testing.assert_frame_equal(read_lists(tmp_path / "o"), read_lists(tmp_path / "api"))
    assert main([*argv[:-3], "--block-users", "0"]) == 2


def test_dask_run_equals_the_local_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    make_dir(tmp_path / "c")
    make_dir(tmp_path / "v", seed=3)
    cfg = StreamConfig(block_users=23, valid_users=30, **CFG)  # two blocks of each
    local = rerank_stream(tmp_path / "c", tmp_path / "local", tmp_path / "v", cfg, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:  # fmt: skip
        remote = rerank_stream(tmp_path / "c", tmp_path / "dask", tmp_path / "v", cfg,
                               client=client, progress=False)
        assert len(client.scheduler_info()["workers"]) == 2
    for tuned in (remote["tuned"], local["tuned"]):
        assert tuned.pop("seconds") > 0
    assert remote["tuned"] == local["tuned"]
    pd.testing.assert_frame_equal(read_lists(tmp_path / "dask"), read_lists(tmp_path / "local"))
    assert sorted(remote["blocks"]) == sorted(local["blocks"])
    assert remote["totals"]["objective_means"] == local["totals"]["objective_means"]
