"""``moopt apply``: lists out of another model's scores, in the user's own ids."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from moopt.cli import main
from moopt.objectives import item_novelty

N_USERS, N_ITEMS, K, N = 6, 30, 3, 12
GENRES = ("Action", "Drama", "Comedy", "Horror", "Sci-Fi")
SMALL = ["--n", str(N), "--k", str(K), "--pop-size", "12", "--n-gen", "3"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """6 users x 30 items with string ids, a full score table, train (5 items each) and
    validation (1 item each) interactions, categories from 5 genres."""
    root = tmp_path_factory.mktemp("apply")
    rng = np.random.default_rng(7)
    users = [f"user-{u}" for u in range(N_USERS)]
    items = [f"item-{i:02d}" for i in range(N_ITEMS)]
    cats = ["|".join(sorted(rng.choice(GENRES, size=rng.integers(1, 3), replace=False)))
            for _ in items]  # fmt: skip
    pd.DataFrame({"item": items, "categories": cats}).to_csv(root / "items.csv", index=False)
    seen = {u: rng.choice(N_ITEMS, size=6, replace=False) for u in users}
    train = [(u, items[i]) for u in users for i in seen[u][:5]]
    valid = [(u, items[seen[u][5]]) for u in users]
    pd.DataFrame(train, columns=["user", "item"]).to_csv(root / "train.csv", index=False)
    pd.DataFrame(valid, columns=["user", "item"]).to_csv(root / "valid.csv", index=False)
    scores = rng.normal(size=(N_USERS, N_ITEMS)).round(4)
    table = pd.DataFrame({"user": np.repeat(users, N_ITEMS), "item": items * N_USERS,
                          "score": scores.ravel()})  # fmt: skip
    table.to_csv(root / "scores.csv", index=False)
    return {"root": root, "users": users, "items": items, "cats": cats, "train": train,
            "valid": valid, "scores": scores}  # fmt: skip


def _apply(data, out, *extra, valid=False):
    root = data["root"]
    argv = ["apply", "--scores", str(root / "scores.csv"), "--items", str(root / "items.csv"),
            "--train", str(root / "train.csv"), "--out", str(out), "--format", "csv", *SMALL,
            *extra]  # fmt: skip
    if valid:
        argv += ["--valid", str(root / "valid.csv")]
    assert main(argv) == 0
    return pd.read_csv(out / "lists.csv")


def _expected(data, lists, history=None):
    """Each user's objective values computed by hand: q = softmax over the user's top-N
    unseen items by score (unseen: outside ``history``, default the training pairs);
    expected_hits = sum q of the list / sum q of the top-K; diversity = genres covered /
    all genres; novelty from training counts."""
    items, cats = data["items"], data["cats"]
    history = data["train"] if history is None else history
    counts = np.zeros(N_ITEMS)
    for _, it in data["train"]:
        counts[items.index(it)] += 1
    nov = item_novelty(counts)
    out = {}
    for u, rows in lists.groupby("user", sort=False):
        r = data["users"].index(u)
        seen = {items.index(it) for uu, it in history if uu == u}
        unseen = [i for i in np.argsort(-data["scores"][r], kind="stable") if i not in seen][:N]
        s = data["scores"][r, unseen].astype(np.float32).astype(np.float64)  # stored float32
        q = dict(zip(unseen, np.exp(s - s.max()) / np.exp(s - s.max()).sum(), strict=True))
        chosen = [items.index(it) for it in rows["item"]]
        eh = sum(q[i] for i in chosen) / sum(q[i] for i in unseen[:K])
        div = len({g for i in chosen for g in cats[i].split("|")}) / len(GENRES)
        out[u] = {"expected_hits": eh, "diversity": div, "novelty": nov[chosen].mean(),
                  "mean_q": np.mean([q[i] for i in chosen]), "q": q}  # fmt: skip
    return out


def test_lists_in_user_ids_with_their_objective_values(data, tmp_path):
    lists = _apply(data, tmp_path / "a")
    assert list(lists.columns) == ["user", "rank", "item", "score", "expected_hits",
                                   "diversity", "novelty"]  # fmt: skip
    assert sorted(lists["user"].unique()) == sorted(data["users"])
    assert (lists.groupby("user").size() == K).all()
    assert set(lists["item"]) <= set(data["items"])
    assert not set(zip(lists["user"], lists["item"], strict=True)) & set(data["train"])
    assert (lists.groupby("user")["rank"].apply(list) == [[1, 2, 3]] * N_USERS).all()
    assert not lists.duplicated(["user", "item"]).any()
    exp = _expected(data, lists)
    for u, rows in lists.groupby("user"):
        r, cols = data["users"].index(u), [data["items"].index(it) for it in rows["item"]]
        np.testing.assert_allclose(rows["score"], data["scores"][r, cols], rtol=1e-6)
        for name in ("expected_hits", "diversity", "novelty"):
            np.testing.assert_allclose(rows[name], exp[u][name], rtol=1e-9, atol=1e-12)
        q = [exp[u]["q"][i] for i in cols]
        assert q == sorted(q, reverse=True)  # most likely hit first
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert run["settings"]["seed"] == 0 and run["settings"]["k"] == K
    assert run["settings"]["weights"] == {"expected_hits": 1.0, "diversity": 0.5,
                                          "novelty": 0.5}  # fmt: skip
    assert "numpy" in run["versions"]


def test_same_seed_same_files_and_parquet(data, tmp_path):
    a, b = _apply(data, tmp_path / "a"), _apply(data, tmp_path / "b")
    files = [(tmp_path / d / "lists.csv").read_bytes() for d in "ab"]
    assert files[0] == files[1]
    pd.testing.assert_frame_equal(a, b)
    root = data["root"]
    assert main(["apply", "--scores", str(root / "scores.csv"), "--items", str(root / "items.csv"),
                 "--train", str(root / "train.csv"), "--out", str(tmp_path / "p"),
                 *SMALL]) == 0  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p" / "lists.parquet"), a)


def test_knee_and_dominating_base(data, tmp_path, capsys):
    knee = _apply(data, tmp_path / "knee", "--choose", "knee")
    assert (knee.groupby("user").size() == K).all()
    # the top-K maximises expected_hits, so only it would dominate itself: refused
    with pytest.raises(AssertionError):  # main() returns 2 and names the reason
        _apply(data, tmp_path / "no", "--dominating", "base")
    assert "--dominating base with expected_hits among --objectives keeps only the base " \
           "top-K itself" in capsys.readouterr().err
    dom = _apply(data, tmp_path / "dom", "--objectives", "diversity,novelty",
                 "--weights", "diversity=5,novelty=1", "--dominating", "base")  # fmt: skip
    free = _apply(data, tmp_path / "free", "--weights", "diversity=5,novelty=5,expected_hits=0")
    # the base top-K's objective values, by hand from the same q
    base = _expected(data, pd.DataFrame({
        "user": np.repeat(data["users"], K),
        "item": [data["items"][i] for u in data["users"]
                 for i in list(_expected(data, free[free["user"] == u])[u]["q"])[:K]]}))
    moved = 0
    for u, rows in dom.groupby("user"):
        for name in ("diversity", "novelty"):
            assert rows[name].iloc[0] >= base[u][name] - 1e-12
        moved += rows["diversity"].iloc[0] > base[u]["diversity"] + 1e-12
    assert moved > 0  # a real choice, not the base list everywhere
    # without the rule the diversity-heavy choice gives up accuracy for some user
    assert any(free[free["user"] == u]["expected_hits"].iloc[0] < base[u]["expected_hits"] - 1e-9
               for u in data["users"])  # fmt: skip


def test_user_objective_from_the_current_folder(data, tmp_path, monkeypatch):
    (tmp_path / "mymod.py").write_text(
        "import numpy as np\n"
        "import moopt\n"
        "from moopt.objectives import ObjectiveData\n\n\n"
        "def _prep(inp):\n"
        "    u, n = inp.scores.shape\n"
        "    return ObjectiveData(inp.scores[..., None], np.zeros((u, n, 0), np.int64),\n"
        "                         np.zeros((u, 0)))\n\n\n"
        "@moopt.objective('myobj', prepare=_prep, overwrite=True)\n"
        "def myobj(positions, fdata, idata, consts):\n"
        "    return fdata[positions, 0].mean()\n"
    )  # fmt: skip
    monkeypatch.chdir(tmp_path)
    lists = _apply(data, tmp_path / "u", "--objectives", "mymod:myobj,diversity",
                   "--weights", "myobj=1,diversity=0.1")  # fmt: skip
    assert list(lists.columns[4:]) == ["myobj", "diversity"]
    exp = _expected(data, lists)
    for u, rows in lists.groupby("user"):
        np.testing.assert_allclose(rows["myobj"], exp[u]["mean_q"], rtol=1e-9)


def test_validation_tunes_and_says_so(data, tmp_path, capsys):
    lists = _apply(data, tmp_path / "v", valid=True)
    said = capsys.readouterr().out
    assert "validation picked expected_hits weight" in said
    run = json.loads((tmp_path / "v" / "run.json").read_text())
    w = run["settings"]["tuned"]["expected_hits_weight"]
    assert run["settings"]["weights"]["expected_hits"] == w and f"weight {w} " in said
    assert run["settings"]["calibration"] == "catalogue"
    seen = set(data["train"]) | set(data["valid"])  # validation items are history now
    assert not set(zip(lists["user"], lists["item"], strict=True)) & seen


@pytest.mark.parametrize("extra, message", [
    (["--objectives", "expected_hits,nope"], "unknown objective 'nope'"),
    (["--weights", "expected_hits:2"], "--weights"),
    (["--weights", "diversity=x"], "--weights"),
    (["--objectives", "nomodule_xyz:obj"], "cannot import 'nomodule_xyz'"),
])  # fmt: skip
def test_bad_input_is_one_line_exit_2(data, tmp_path, capsys, extra, message):
    root = data["root"]
    argv = ["apply", "--scores", str(root / "scores.csv"), "--items", str(root / "items.csv"),
            "--train", str(root / "train.csv"), "--out", str(tmp_path / "x"), *extra]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and err.startswith("moopt apply: error:")
    assert not (tmp_path / "x" / "lists.parquet").exists()


def test_a_run_over_the_memory_limit_is_one_line_exit_2(data, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MOOPT_MEMORY_LIMIT", "1000")
    with pytest.raises(AssertionError):
        _apply(data, tmp_path / "x")
    err = capsys.readouterr().err  # after the progress bar's first frame
    line = err[err.index("moopt apply: error:"):].split("\n")[0]
    assert line.startswith("moopt apply: error: rerank_batch of 6 users needs ")
    assert "MOOPT_MEMORY_LIMIT" in line and "archive_size=" in line and "\r" not in line
    assert not (tmp_path / "x" / "lists.csv").exists()


def test_missing_file_is_one_line_exit_2(data, tmp_path, capsys):
    root = data["root"]
    argv = ["apply", "--scores", str(tmp_path / "none.npy"), "--items", str(root / "items.csv"),
            "--train", str(root / "train.csv"), "--out", str(tmp_path / "x")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "--scores" in err and "none.npy" in err and "\n" not in err


def test_dense_npy_scores_give_the_table_s_lists(data, tmp_path):
    root = data["root"]
    np.save(tmp_path / "scores.npy", data["scores"].astype(np.float32))
    (tmp_path / "users.txt").write_text("\n".join(data["users"]) + "\n")
    assert main(["apply", "--scores", str(tmp_path / "scores.npy"), "--user-ids",
                 str(tmp_path / "users.txt"), "--items", str(root / "items.csv"), "--train",
                 str(root / "train.csv"), "--out", str(tmp_path / "npy"), "--format", "csv",
                 *SMALL]) == 0  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "npy" / "lists.csv"),
                                  _apply(data, tmp_path / "table"))  # fmt: skip


def test_no_calibration_uses_the_scores_softmax_and_says_so(data, tmp_path, capsys):
    lists = _apply(data, tmp_path / "raw", "--no-calibration", valid=True)
    run = json.loads((tmp_path / "raw" / "run.json").read_text())
    assert run["settings"]["no_calibration"] is True
    assert run["settings"]["calibration"] == "none"
    assert "validation picked expected_hits weight" in capsys.readouterr().out
    # expected_hits is the softmax of the scores over the candidates outside train + valid
    exp = _expected(data, lists, history=data["train"] + data["valid"])
    for u, rows in lists.groupby("user"):
        for name in ("expected_hits", "diversity", "novelty"):
            np.testing.assert_allclose(rows[name], exp[u][name], rtol=1e-9, atol=1e-12)
    calibrated = _apply(data, tmp_path / "cal", valid=True)
    assert not np.allclose(calibrated["expected_hits"], lists["expected_hits"])
    assert "--no-calibration" in _help(capsys) and "softmax" in _help(capsys)


def _help(capsys) -> str:
    with pytest.raises(SystemExit):
        main(["apply", "--help"])
    return " ".join(capsys.readouterr().out.split())


#: Distinct primes: every K-subset of items has its own product of popularities, so no two
#: lists tie on novelty and the utility's argmax over all lists is unique.
PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61)


@pytest.fixture(scope="module")
def tune_data(tmp_path_factory):
    """12 users x 18 items, 4 training items and 1 validation item each; each user's
    validation item is among their 6 best-scored unseen items (at rank 1, 2 .. 6), so
    the validation hits depend on the utility weight. Popularity: distinct primes."""
    root = tmp_path_factory.mktemp("tune")
    rng = np.random.default_rng(3)
    n_users, n_items = 12, len(PRIMES)
    users, items = [f"u{u}" for u in range(n_users)], [f"i{i}" for i in range(n_items)]
    cats = ["|".join(sorted(rng.choice(GENRES, size=rng.integers(1, 3), replace=False)))
            for _ in items]  # fmt: skip
    pd.DataFrame({"item": items, "categories": cats, "popularity": PRIMES}).to_csv(
        root / "items.csv", index=False)
    scores = rng.normal(size=(n_users, n_items)).round(4)
    train, valid = [], []
    for r, u in enumerate(users):
        seen = rng.choice(n_items, size=4, replace=False)
        train += [(u, items[i]) for i in seen]
        unseen = [i for i in np.argsort(-scores[r], kind="stable") if i not in seen]
        valid.append((u, items[unseen[r % 6]]))
    pd.DataFrame(train, columns=["user", "item"]).to_csv(root / "train.csv", index=False)
    pd.DataFrame(valid, columns=["user", "item"]).to_csv(root / "valid.csv", index=False)
    pd.DataFrame({"user": np.repeat(users, n_items), "item": items * n_users,
                  "score": scores.ravel()}).to_csv(root / "scores.csv", index=False)  # fmt: skip
    return {"root": root, "users": users, "items": items, "cats": cats, "train": train,
            "valid": valid, "scores": scores}  # fmt: skip


def test_validation_weight_is_the_argmax_of_validation_f1_over_the_grid(tune_data, tmp_path):
    """Brute force: on validation (history: train; target: the validation item), at every
    grid weight w each user's list is the K-subset of their N candidates maximising
    w * expected_hits + (diversity + novelty) / 2 over all C(N, K) subsets (the archive of
    a search this size holds the whole front); F1@K = 2AB / (A + B) with A = HR@K and
    B = (Div@K + Nov@K) / 2 over users. apply must pick the first argmax and record F1@K."""
    from itertools import combinations

    from problems.rerank_eval.stages import DEFAULT_W

    d, n, k = tune_data, 6, 2
    root = d["root"]
    assert main(["apply", "--scores", str(root / "scores.csv"), "--items", str(root / "items.csv"),
                 "--train", str(root / "train.csv"), "--valid", str(root / "valid.csv"),
                 "--no-calibration", "--out", str(tmp_path / "t"), "--format", "csv", "--n",
                 str(n), "--k", str(k), "--pop-size", "30", "--n-gen", "10"]) == 0  # fmt: skip
    tuned = json.loads((tmp_path / "t" / "run.json").read_text())["settings"]["tuned"]

    items, pop = d["items"], np.asarray(PRIMES, dtype=np.float64)
    genres = np.array([[g in c.split("|") for g in GENRES] for c in d["cats"]])
    nov_obj = item_novelty(pop)  # the objective: log2(max / pop) / log2(max / min)
    nov_metric = -np.log2(pop / pop.sum()) / np.log2(pop.sum())  # Nov@K, normalised
    per_user = []  # (target, candidates, q) on the validation stage
    for r, u in enumerate(d["users"]):
        seen = {items.index(it) for uu, it in d["train"] if uu == u}
        cand = [i for i in np.argsort(-d["scores"][r], kind="stable") if i not in seen][:n]
        s = d["scores"][r, cand].astype(np.float32).astype(np.float64)
        q = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
        target = items.index(next(it for uu, it in d["valid"] if uu == u))
        per_user.append((target, cand, dict(zip(cand, q, strict=True))))
    f1 = []
    for w in DEFAULT_W:
        hits, div, nov = [], [], []
        for target, cand, q in per_user:
            top_q = sum(q[i] for i in cand[:k])

            def utility(sub, q=q, top_q=top_q, w=w):
                eh = sum(q[i] for i in sub) / top_q
                cov = genres[list(sub)].any(axis=0).mean()
                return w * eh + (cov + nov_obj[list(sub)].mean()) / 2

            best = max(combinations(cand, k), key=utility)
            hits.append(target in best)
            div.append(genres[list(best)].any(axis=0).mean())
            nov.append(nov_metric[list(best)].mean())
        a, b = np.mean(hits), (np.mean(div) + np.mean(nov)) / 2
        f1.append(2 * a * b / (a + b) if a + b > 0 else 0.0)
    assert len(set(np.round(f1, 12))) > 1  # the weight matters on this input
    assert tuned["grid"] == list(DEFAULT_W)
    np.testing.assert_allclose(tuned[f"grid_valid_F1@{k}"], f1, rtol=1e-9, atol=1e-12)
    assert tuned["expected_hits_weight"] == DEFAULT_W[int(np.argmax(f1))]
    np.testing.assert_allclose(tuned[f"valid_F1@{k}"], max(f1), rtol=1e-9)
