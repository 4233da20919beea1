"""Evaluation and candidates in user blocks: equal to the unblocked results for every
block size, the candidates directory format, and the memory-budget refusal."""

import numpy as np
import pytest
import torch

from recommenders import evaluate as ev
from recommenders.blocked import users_per_block, write_candidates
from recommenders.candidates_io import CandidatesWriter, load_candidates, save_candidates
from recommenders.metrics import accuracy_report, hit_matrix
from recommenders.models import BPRMF


@pytest.fixture(scope="module")
def model(split):
    """BPR-MF with weights on a 1/16 grid: every score is an exact float32 sum, so scores
    do not depend on how many users one matrix product covers (BLAS kernels for few rows
    round differently), and the grid makes tied scores common."""
    m = BPRMF(epochs=1, dim=8, seed=0, device="cpu").fit(split.train, split.valid)
    with torch.no_grad():
        for w in (m.net.user.weight, m.net.item.weight):
            w.copy_(torch.round(w * 16) / 16)
    return m


def _budget(block, split):
    return block * split.n_items * 32


def test_blocked_evaluation_equals_dense_ranking(model, split):
    """The full protocol against a dense, stably sorted ranking of all users, for block
    sizes of 1, 7 (not dividing the 299 users), 64 and all users."""
    targets = split.targets("test")
    users = np.unique(targets.users)
    model.set_history(split.history("test"))
    dense = model.full_scores(users)
    dense[split.history("test").contains(np.repeat(users[:, None], split.n_items, 1),
                                         np.arange(split.n_items)[None, :])] = -np.inf
    lists = np.argsort(-dense, axis=1, kind="stable")[:, :20]
    want = accuracy_report(*hit_matrix(lists, users, targets.users, targets.items,
                                       split.n_items), [5, 10, 20])  # fmt: skip
    results = [ev.evaluate(model, split, memory_budget=_budget(b, split)) for b in (1, 7, 64)]
    results.append(ev.evaluate(model, split))
    assert users.size % 7 != 0
    for got in results:
        assert got == results[0]
    assert results[0]["full"] == want


def test_blocked_candidates_equal_unblocked(model, split):
    want = ev.candidates(model, split, n=30)
    for block in (1, 7, 1000):
        got = ev.candidates(model, split, n=30, memory_budget=_budget(block, split))
        assert got.keys() == want.keys()
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])


def test_written_candidates_directory_equals_candidates(model, split, tmp_path):
    want = ev.candidates(model, split, n=30)
    want["log_norm_full"] = ev.full_log_norm(model, split.history("test"), want["users"], 0.7)
    for block in (7, 300):
        out = write_candidates(model, split, tmp_path / f"c{block}", n=30, temperature_full=0.7,
                               meta={"model": "bpr"}, memory_budget=_budget(block, split))
        got = load_candidates(out)
        assert set(got) == set(want) | {"meta_model", "meta_stage", "meta_temperature_full"}
        for key in want:
            assert isinstance(got[key], np.memmap) and got[key].dtype == want[key].dtype
            np.testing.assert_array_equal(got[key], want[key])
        assert got["meta_stage"] == "test" and float(got["meta_temperature_full"]) == 0.7


def test_directory_round_trip_equals_npz_round_trip(model, split, tmp_path):
    data = ev.candidates(model, split, n=10)
    data["item_genres"] = np.zeros((split.n_items, 3), dtype=bool)
    data["genre_names"] = np.array(["a", "bb", "c"])
    data["meta_temperature_full"] = np.asarray(1.5)
    npz = load_candidates(save_candidates(tmp_path / "c.npz", data, model="bpr", n_items=250))
    folder = load_candidates(save_candidates(tmp_path / "c", data, model="bpr", n_items=250))
    assert (tmp_path / "c" / "meta.json").is_file()
    assert npz.keys() == folder.keys()
    for key in npz:
        assert npz[key].dtype == folder[key].dtype and npz[key].shape == folder[key].shape
        np.testing.assert_array_equal(npz[key], folder[key])


def test_torn_or_incomplete_directory_is_a_clear_error(model, split, tmp_path):
    data = ev.candidates(model, split, n=10)
    for case in ("meta", "array", "truncated", "shape"):
        path = save_candidates(tmp_path / case, data)
        if case == "meta":
            (path / "meta.json").unlink()
            match = "incomplete candidates directory"
        elif case == "array":
            (path / "items.npy").unlink()
            match = "items.npy is missing"
        elif case == "truncated":
            raw = (path / "scores.npy").read_bytes()
            (path / "scores.npy").write_bytes(raw[: len(raw) // 2])
            match = "torn or truncated"
        else:
            np.save(path / "target.npy", np.zeros(3, dtype=np.int64))
            match = "the directory is torn"
        with pytest.raises(ValueError, match=match):
            load_candidates(path)


def test_writer_failure_keeps_the_old_directory(tmp_path):
    save_candidates(tmp_path / "c", {k: np.zeros(2, dtype=np.int64)
                                     for k in ("users", "items", "scores", "target")})  # fmt: skip
    with pytest.raises(RuntimeError, match="boom"), CandidatesWriter(tmp_path / "c") as w:
        w.put("users", np.ones(5, dtype=np.int64))
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]
    assert load_candidates(tmp_path / "c")["users"].tolist() == [0, 0]


def test_budget_below_one_user_is_refused_before_allocating(model, split, tmp_path):
    with pytest.raises(ValueError, match=r"raise it to at least 8,000"):
        users_per_block(250, 7_999)
    assert users_per_block(250, 8_000) == 1 and users_per_block(26_744, 1 << 30) == 1254
    calls = []
    inner = model.full_scores
    model.full_scores = lambda users: calls.append(users) or inner(users)
    try:
        with pytest.raises(ValueError, match="cannot hold one user's scores"):
            ev.evaluate(model, split, memory_budget=100)
        with pytest.raises(ValueError, match="cannot hold one user's scores"):
            write_candidates(model, split, tmp_path / "c", memory_budget=100)
    finally:
        del model.full_scores
    assert calls == [] and not (tmp_path / "c").exists()


@pytest.mark.filterwarnings("ignore:the fitted temperature")
def test_full_temperature_subset_builds_no_all_users_mask(model, split, monkeypatch):
    """Fitting the full temperature on a subset of users built the seen mask of *all*
    users first (138k x 27k bools at ML-20M size) to find whose target is unseen."""
    sizes = []
    inner = ev._seen_mask
    monkeypatch.setattr(ev, "_seen_mask", lambda h, u: sizes.append(len(u)) or inner(h, u))
    users, first = np.unique(split.valid.users, return_index=True)
    target = split.valid.items[first]
    t, rows = ev.fit_full_temperature(model, split.train, users, target,
                                      max_entries=40 * split.n_items)  # fmt: skip
    assert rows == 40 and max(sizes) <= 40 and np.isfinite(t)


def test_train_cli_writes_candidate_directories_equal_to_npz(tmp_path, capsys):
    from moopt.cli import main

    args = ["train", "pop", "--data", "synthetic", "--quiet", "--n-candidates", "20"]
    assert main([*args, "--out", str(tmp_path / "npz")]) == 0
    assert main([*args, "--out", str(tmp_path / "dir"), "--candidates-format", "dir"]) == 0
    assert f"{tmp_path / 'dir' / 'candidates'}\n" in capsys.readouterr().out
    for name in ("candidates", "candidates_valid"):
        npz = load_candidates(tmp_path / "npz" / f"{name}.npz")
        folder = load_candidates(tmp_path / "dir" / name)
        assert not (tmp_path / "dir" / f"{name}.npz").exists()
        assert npz.keys() == folder.keys()
        for key in npz:
            np.testing.assert_array_equal(npz[key], folder[key])


@pytest.mark.slow
def test_rerank_reads_a_candidates_directory_and_its_validation_beside(tmp_path, capsys):
    import pandas as pd

    from moopt.cli import main

    run = tmp_path / "run"
    assert main(["train", "pop", "--data", "synthetic", "--quiet", "--n-candidates", "20",
                 "--out", str(run), "--candidates-format", "dir"]) == 0  # fmt: skip
    assert main(["rerank", "--candidates", str(run / "candidates"), "--out", str(tmp_path / "rr"),
                 "--methods", "base", "mmr", "--seeds", "1"]) == 0  # fmt: skip
    table = pd.read_csv(tmp_path / "rr" / "rerank_results.csv")
    base = table[table["method"] == "base ranker"].set_index("protocol")
    cands = load_candidates(run / "candidates")
    hand = (cands["items"][:, :10] == cands["target"][:, None]).any(axis=1).mean()
    assert base.loc["full", "HR@10"] == pytest.approx(hand, abs=1e-12)
