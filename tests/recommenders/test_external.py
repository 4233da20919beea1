"""recommenders.external: candidates from a model trained anywhere."""

import numpy as np
import pandas as pd
import pytest

from recommenders.data import leave_one_out, make_synthetic
from recommenders.evaluate import calibrate, candidates, full_log_norm, load_candidates
from recommenders.external import IdMap, candidates_from_scores, read_items
from recommenders.models import Pop

# 3 users x 5 items, ids the user's own: users "ann", "bob", "cy"; items 10..50.
ITEMS = pd.DataFrame({
    "item": [10, 20, 30, 40, 50],
    "categories": ["Action|Drama", "Drama", "Comedy", "Action", "Comedy|Drama"],
    "title": ["a", "b", "c", "d", "e"],
})  # fmt: skip
SCORES = np.array([
    [5.0, 4.0, 3.0, 2.0, 1.0],
    [1.0, 2.0, 3.0, 4.0, 5.0],
    [0.5, 3.5, 2.5, 4.5, 1.5],
])  # fmt: skip
USERS = ["ann", "bob", "cy"]
TRAIN = pd.DataFrame({"user": ["ann", "bob", "bob", "cy"], "item": [10, 50, 40, 40]})
VALID = pd.DataFrame({"user": ["ann", "bob", "cy"], "item": [30, 30, 20]})
TEST = pd.DataFrame({"user": ["ann", "bob", "cy"], "item": [20, 20, 30]})


def _build(**kw):
    args = {"user_ids": USERS, "n": 2, "protocols": ("full",), "calibration": False}
    args.update(kw)
    return candidates_from_scores(SCORES, ITEMS, TRAIN, VALID, TEST, **args)


def test_hand_computed_top_n_excludes_seen_items():
    ext = _build()
    ids = ext.id_map
    # test stage, history train + valid: ann saw 10, 30 -> 20 (4), 40 (2);
    # bob saw 50, 40, 30 -> 20 (2), 10 (1); cy saw 40, 20 -> 30 (2.5), 50 (1.5).
    test = ext.test
    assert ids.user_ids(test["users"]).tolist() == USERS
    assert ids.item_ids(test["items"]).tolist() == [[20, 40], [20, 10], [30, 50]]
    np.testing.assert_array_equal(test["scores"], [[4, 2], [2, 1], [2.5, 1.5]])
    assert ids.item_ids(test["target"]).tolist() == [20, 20, 30]
    # validation stage, history train only: ann saw 10 -> 20, 30; bob 50, 40 -> 30, 20;
    # cy 40 -> 20 (3.5), 30 (2.5).
    valid = ext.valid
    assert ids.item_ids(valid["items"]).tolist() == [[20, 30], [30, 20], [20, 30]]
    assert ids.item_ids(valid["target"]).tolist() == [30, 30, 20]
    lists = ext.lists()
    assert lists["user"].tolist() == ["ann", "ann", "bob", "bob", "cy", "cy"]
    assert lists["item"].tolist() == [20, 40, 20, 10, 30, 50]
    assert lists["rank"].tolist() == [1, 2] * 3 and lists["title"].tolist()[:2] == ["b", "d"]
    np.testing.assert_array_equal(lists["score"], [4, 2, 2, 1, 2.5, 1.5])


def test_a_score_table_gives_what_the_dense_array_gives():
    table = pd.DataFrame([(u, i, SCORES[r, c]) for r, u in enumerate(USERS)
                          for c, i in enumerate(ITEMS["item"])], columns=["user", "item", "score"])
    shuffled = table.sample(frac=1.0, random_state=0)
    dense = _build(protocols=("full", "sampled"), calibration=True, n_negatives=1)
    ext = candidates_from_scores(shuffled, ITEMS, TRAIN, VALID, TEST, n=2, n_negatives=1)
    for stage in ("valid", "test"):
        for key, value in dense.sets[stage].items():
            np.testing.assert_array_equal(ext.sets[stage][key], value, err_msg=key)


def test_id_map_round_trips_through_its_file(tmp_path):
    ext = _build()
    ext.save(tmp_path)
    back = IdMap.load(tmp_path / "id_map.json")
    assert back.users.tolist() == USERS and back.items.tolist() == [10, 20, 30, 40, 50]
    assert back.items.dtype == np.int64
    np.testing.assert_array_equal(back.user_index(["cy", "ann"]), [2, 0])
    np.testing.assert_array_equal(back.item_index([50, 10]), [4, 0])
    assert back.item_ids(back.item_index([30, 40])).tolist() == [30, 40]
    with pytest.raises(ValueError, match=r"unknown id\(s\) \(e.g. \['zed'\]\)"):
        back.user_index(["zed"])


def test_popularity_is_counted_from_the_interactions_of_each_stage(tmp_path):
    ext = _build()
    # train: 10 x1, 40 x2, 50 x1; valid adds 30 x2, 20 x1.
    np.testing.assert_array_equal(ext.valid["item_popularity"], [1, 0, 0, 2, 1])
    np.testing.assert_array_equal(ext.test["item_popularity"], [1, 1, 2, 2, 1])
    names = ext.test["genre_names"].tolist()
    assert names == ["Action", "Comedy", "Drama"]
    np.testing.assert_array_equal(ext.test["item_genres"][0], [True, False, True])
    given = ITEMS.assign(popularity=[7, 6, 5, 4, 3])
    ext = candidates_from_scores(SCORES, given, TRAIN, VALID, TEST, user_ids=USERS, n=2,
                                 protocols=("full",), calibration=False)  # fmt: skip
    np.testing.assert_array_equal(ext.valid["item_popularity"], [7, 6, 5, 4, 3])
    ext.save(tmp_path)
    loaded = load_candidates(tmp_path / "candidates.npz")
    np.testing.assert_array_equal(loaded["item_popularity"], [7, 6, 5, 4, 3])
    assert str(loaded["meta_calibration"]) == "none" and "sampled_items" not in loaded


def test_files_from_csv_and_parquet_read_alike(tmp_path):
    for name, frame in (("items", ITEMS), ("train", TRAIN), ("valid", VALID), ("test", TEST)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    np.save(tmp_path / "scores.npy", SCORES)
    for ext in ("csv", "parquet"):
        got = candidates_from_scores(tmp_path / "scores.npy", tmp_path / f"items.{ext}",
                                     tmp_path / f"train.{ext}", tmp_path / f"valid.{ext}",
                                     tmp_path / f"test.{ext}", user_ids=USERS, n=2,
                                     protocols=("full",), calibration=False)  # fmt: skip
        np.testing.assert_array_equal(got.test["items"], _build().test["items"])


@pytest.fixture(scope="module")
def pop_run():
    data = make_synthetic(n_users=80, n_items=60, min_length=8, max_length=20, seed=3)
    split = leave_one_out(data.interactions)
    model = Pop(device="cpu").fit(split.train, split.valid)
    return data, split, model


def _frame(inter):
    return pd.DataFrame({"user": inter.users, "item": inter.items, "timestamp": inter.timestamps})


def test_pop_scores_through_the_entry_point_equal_moopts_own_candidates(pop_run):
    data, split, model = pop_run
    items = pd.DataFrame({
        "item": np.arange(data.n_items),
        "categories": ["|".join(n for n, g in zip(data.genre_names, row, strict=True) if g)
                       for row in data.item_genres],
    })  # fmt: skip
    scores = model.full_scores(np.arange(data.n_users))
    ext = candidates_from_scores(scores, items, _frame(split.train), _frame(split.valid),
                                 _frame(split.test), n=20, n_negatives=30, seed=5)  # fmt: skip
    valid = candidates(model, split, 20, "valid", 30, 5)
    meta, valid["log_norm_full"] = calibrate(model, split, valid, seed=5)
    test = candidates(model, split, 20, "test", 30, 5)
    test["log_norm_full"] = full_log_norm(model, split.history("test"), test["users"],
                                          meta["temperature_full"])  # fmt: skip
    for stage, want in (("valid", valid), ("test", test)):
        got = ext.sets[stage]
        for key, value in want.items():
            np.testing.assert_array_equal(got[key], value, err_msg=f"{stage} {key}")
        assert float(got["meta_temperature_full"]) == meta["temperature_full"]
        assert float(got["meta_temperature_sampled"]) == meta["temperature_sampled"]
    np.testing.assert_array_equal(ext.test["item_popularity"],
                                  split.history("test").item_counts())  # fmt: skip
    np.testing.assert_array_equal(ext.test["item_genres"][:, :0].shape, (data.n_items, 0))


def test_a_top_n_table_gives_the_full_protocol_uncalibrated():
    top = pd.DataFrame({"user": ["ann", "ann", "ann", "bob", "bob", "cy", "cy", "cy"],
                        "item": [20, 30, 40, 20, 10, 30, 50, 20],
                        "score": [4.0, 3.0, 2.0, 2.0, 1.0, 2.5, 1.5, 3.5]})  # fmt: skip
    with pytest.raises(ValueError, match=r"sampled protocol.*--protocols full"):
        candidates_from_scores(top, ITEMS, TRAIN, VALID, TEST, n=2)
    with pytest.raises(ValueError, match=r"--no-calibration"):
        candidates_from_scores(top, ITEMS, TRAIN, VALID, TEST, n=2, protocols=("full",))
    ext = candidates_from_scores(top, ITEMS, TRAIN, VALID, TEST, n=2, protocols=("full",),
                                 calibration=False)  # fmt: skip
    # test stage: ann 20, 40; bob 20, 10; cy 30, 50 (as the dense array gives)
    assert ext.id_map.item_ids(ext.test["items"]).tolist() == [[20, 40], [20, 10], [30, 50]]
    assert str(ext.test["meta_calibration"]) == "none"
    assert not bool(ext.test["meta_complete_scores"])
    with pytest.raises(ValueError, match=r"n=3 exceeds the 2 unseen scored items.*--n"):
        candidates_from_scores(top, ITEMS, TRAIN, VALID, TEST, n=3, protocols=("full",),
                               calibration=False)  # fmt: skip


@pytest.mark.parametrize(
    "change, match",
    [
        ({"scores": np.where(SCORES == 3.0, np.nan, SCORES)}, r"scores hold 2 NaN or infinite"),
        ({"scores": np.where(SCORES == 5.0, np.inf, SCORES)}, r"scores hold 2 NaN or infinite"),
        ({"test": pd.concat([TEST, pd.DataFrame({"user": ["ann"], "item": [99]})])},
         r"test column 'item' has 1 unknown id\(s\) \(e.g. \[99\]\)"),
        ({"train": TRAIN.rename(columns={"item": "movie"})},
         r"train lacks column\(s\) \['item'\]"),
        ({"items": ITEMS.drop(columns="categories")}, r"items needs a categories column"),
        ({"items": pd.concat([ITEMS, ITEMS.iloc[:1]])}, r"lists item\(s\) \[10\] more than once"),
        ({"n": 3}, r"n=3 exceeds the 2 unseen scored items of some test user; lower n"),
        ({"users": ["ann", "dan"]}, r"user ids has 1 unknown id\(s\) \(e.g. \['dan'\]\)"),
        ({"valid": pd.concat([VALID, pd.DataFrame({"user": ["dan"], "item": [10]})])},
         r"have valid interactions but no scores; give scores for every user"),
        ({"user_ids": ["ann", "bob"]}, r"user_ids has 2 ids for 3 score rows"),
        ({"scores": SCORES[:, :4]}, r"scores have 4 columns but the item table has 5 items"),
        ({"protocols": ("full", "sampled"), "n_negatives": 2},
         r"user 'bob' has only 1 never-seen items, fewer than n_negatives=2: lower n_negatives"),
    ],
)
def test_bad_input_is_refused_with_the_fix(change, match):
    args = {"scores": SCORES, "items": ITEMS, "train": TRAIN, "valid": VALID, "test": TEST,
            "user_ids": USERS, "n": 2, "protocols": ("full",), "calibration": False}
    args.update(change)
    with pytest.raises(ValueError, match=match):
        candidates_from_scores(**args)


def test_duplicate_pairs_and_users_without_a_held_out_item_are_named():
    table = pd.DataFrame({"user": ["ann", "ann"], "item": [10, 10], "score": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"duplicate \(user, item\) rows, e.g. \('ann', 10\)"):
        candidates_from_scores(table, ITEMS, TRAIN, VALID, TEST, n=1, protocols=("full",),
                               calibration=False)  # fmt: skip
    short = TEST.iloc[:2]  # cy has no test item
    with pytest.raises(ValueError, match=r"users \['cy'\] have no held-out test item"):
        candidates_from_scores(SCORES, ITEMS, TRAIN, VALID, short, user_ids=USERS, n=2,
                               users=["ann", "cy"], protocols=("full",),
                               calibration=False)  # fmt: skip


def test_read_items_splits_multi_valued_categories():
    cat = read_items(pd.DataFrame({"item": ["x", "y"], "genres": ["B|A", None]}))
    assert cat.genre_names == ("A", "B")
    np.testing.assert_array_equal(cat.genres, [[True, True], [False, False]])
    assert cat.ids.tolist() == ["x", "y"] and cat.popularity is None
