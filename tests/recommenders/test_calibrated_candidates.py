"""``train_and_evaluate`` writes validation candidates and a calibration fitted on them."""

import warnings

import numpy as np
import pytest
import torch

from recommenders.calibration import log_partition
from recommenders.evaluate import (
    calibrate,
    calibrated_scores,
    candidates,
    evaluate,
    fit_full_temperature,
    load_candidates,
    save_candidates,
)
from recommenders.pipeline import RunConfig, train_and_evaluate

FAST = {"pop": {}, "bpr": {"epochs": 3, "lr": 5e-3}}
META = (
    "meta_temperature_full",
    "meta_temperature_sampled",
    "meta_calib_valid_full_mean_top10_q",
    "meta_calib_valid_full_hr10",
    "meta_calib_valid_sampled_mean_top10_q",
    "meta_calib_valid_sampled_hr10",
)


@pytest.fixture(scope="module", params=[("pop", "leave-one-out"), ("bpr", "ratio")])
def run(request, tmp_path_factory):
    torch.set_num_threads(1)
    model, split = request.param
    out = tmp_path_factory.mktemp(f"{model}-{split}")
    cfg = RunConfig(model, dataset="synthetic", split=split, device="cpu", n_candidates=50,
                    model_settings=FAST[model])  # fmt: skip
    res = train_and_evaluate(cfg, out, verbose=False)
    valid = load_candidates(out / "candidates_valid.npz")
    return res, valid, load_candidates(out / "candidates.npz")


def _first_per_user(inter):
    users, first = np.unique(inter.users, return_index=True)
    return users, inter.items[first]


def test_validation_candidates_target_the_validation_items(run):
    res, valid, test = run
    split = res.split
    users, items = _first_per_user(split.valid)
    np.testing.assert_array_equal(valid["users"], users)
    np.testing.assert_array_equal(valid["target"], items)
    np.testing.assert_array_equal(valid["sampled_items"][:, 0], items)
    assert str(valid["meta_stage"]) == "valid" and str(test["meta_stage"]) == "test"
    assert valid["items"].shape == valid["scores"].shape == (users.size, 50)


def test_validation_history_is_train_only(run):
    res, valid, test = run
    split = res.split
    for row, u in enumerate(valid["users"]):
        shown = set(valid["items"][row].tolist())
        assert not shown & set(split.train.user_items(u).tolist())
    for row, u in enumerate(test["users"]):
        assert not set(test["items"][row].tolist()) & set(split.history("test").user_items(u))
    # The validation items are not masked in the validation file: some users get theirs.
    assert np.any(valid["items"] == valid["target"][:, None])
    # The model is left ready for the test stage (train + validation history).
    assert len(res.model.history) == len(split.train) + len(split.valid)


def test_calibration_metadata_is_stored_in_both_files(run):
    _, valid, test = run
    for key in META:
        assert key in valid and key in test
        assert float(valid[key]) == float(test[key])
        assert np.isfinite(float(valid[key]))
    for key in ("meta_temperature_full", "meta_temperature_sampled"):
        assert float(valid[key]) > 0
    for key in META[2:]:
        assert 0 <= float(valid[key]) <= 1


def test_full_normaliser_covers_the_catalogue(run):
    res, valid, test = run
    t = float(valid["meta_temperature_full"])
    for cands, stage in ((valid, "valid"), (test, "test")):
        lz = cands["log_norm_full"]
        assert lz.shape == cands["users"].shape and lz.dtype == np.float64
        assert np.all(lz >= log_partition(cands["scores"], t) - 1e-9)
        # Brute force on a few users: logsumexp over the stage's unseen catalogue.
        res.model.set_history(res.split.history(stage))
        users = cands["users"][:5]
        full = res.model.full_scores(users).astype(np.float64) / t
        for row, u in enumerate(users):
            keep = np.ones(res.split.n_items, dtype=bool)
            keep[res.split.history(stage).user_items(u)] = False
            x = full[row, keep]
            expect = x.max() + np.log(np.exp(x - x.max()).sum())
            assert lz[row] == pytest.approx(expect, rel=1e-9, abs=1e-9)
    res.model.set_history(res.split.history("test"))


def test_calibrated_scores_are_probabilities(run):
    _, valid, test = run
    for cands in (valid, test):
        full = calibrated_scores(cands, "full")
        assert full.shape == cands["scores"].shape
        # Rounded to float32 (portable across CPUs): each value within 2^-24 relative of
        # the exact probability, so a row's sum within 2^-24 of its exact sum.
        assert np.all(full >= 0) and np.all(full.sum(axis=1) <= 1 + 2.0**-24)
        assert np.all(np.diff(full, axis=1) <= 0)  # same order as the scores
        sampled = calibrated_scores(cands, "sampled")
        assert sampled.shape == cands["sampled_scores"].shape
        np.testing.assert_allclose(sampled.sum(axis=1), 1.0, rtol=2.0**-24)
        for q in (full, sampled):
            assert np.array_equal(q.astype(np.float32).astype(np.float64), q)
    with pytest.raises(ValueError, match="protocol"):
        calibrated_scores(valid, "both")


def test_summary_matches_validation_metrics(run):
    res, valid, _ = run
    if res.split.protocol != "leave-one-out":
        pytest.skip("HR of the first validation item equals HR@10 only for leave-one-out")
    metrics = evaluate(res.model, res.split, "valid", ks=(10,))
    assert float(valid["meta_calib_valid_full_hr10"]) == pytest.approx(metrics["full"]["HR@10"])
    assert float(valid["meta_calib_valid_sampled_hr10"]) == pytest.approx(
        metrics["sampled"]["HR@10"]
    )
    q = calibrated_scores(valid, "full")
    assert float(valid["meta_calib_valid_full_mean_top10_q"]) == pytest.approx(
        q[:, :10].sum(axis=1).mean()
    )
    res.model.set_history(res.split.history("test"))


def test_fit_on_a_subset_of_users_when_memory_is_bounded(run):
    res, valid, _ = run
    model, split = res.model, res.split
    t_all, rows_all = fit_full_temperature(model, split.train, valid["users"], valid["target"])
    n_rows = 40
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a weak model's T may hit a bound
        t_sub, rows = fit_full_temperature(
            model, split.train, valid["users"], valid["target"], max_entries=n_rows * split.n_items
        )
        meta, lz = calibrate(model, split, valid, max_entries=n_rows * split.n_items)
    assert rows_all == valid["users"].size and rows == n_rows
    if model.name == "pop":  # (3-epoch BPR is too weak to pin T down on 40 users)
        assert t_sub == pytest.approx(t_all, rel=0.25)
    # calibrate() then computes the normalisers chunk-wise: same values at the same T.
    assert meta["calib_valid_full_rows"] == n_rows
    t = meta["temperature_full"]
    model.set_history(split.train)
    scores = model.full_scores(valid["users"])
    mask = np.zeros(scores.shape, dtype=bool)
    for row, u in enumerate(valid["users"]):
        mask[row, split.train.user_items(u)] = True
    np.testing.assert_allclose(lz, log_partition(scores, t, mask), rtol=1e-12)
    model.set_history(split.history("test"))


def test_old_files_without_calibration_still_load(run, tmp_path):
    res, _, _ = run
    cands = candidates(res.model, res.split, 20, "test")
    path = save_candidates(tmp_path / "old.npz", cands, model="pop")
    old = load_candidates(path)
    assert "log_norm_full" not in old
    for protocol in ("full", "sampled"):
        with pytest.raises(ValueError, match="re-run moopt train"):
            calibrated_scores(old, protocol)
