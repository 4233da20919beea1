"""RecBole atomic files: the chunked writer, and the chunked reader against the line reader."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recommenders.data.loaders as loaders
import recommenders.data.movielens_csv as movielens_csv
from recommenders.data import load_dataset, make_synthetic_large, read_atomic, write_atomic
from recommenders.data.atomic import read_inter_chunked


@pytest.fixture(scope="module")
def data():
    return make_synthetic_large(n_users=60, n_items=80, n_genres=5, min_length=3,
                                mean_length=8, max_length=40, seed=2)  # fmt: skip


def _genre_sets(ds):
    return [frozenset(np.asarray(ds.genre_names)[row]) for row in ds.item_genres]


def _line_reader(monkeypatch):
    for module in (loaders, movielens_csv):
        monkeypatch.setattr(module, "read_inter_chunked", lambda *args, **kwargs: None)


def _same_logs(a, b):
    for field in ("users", "items", "timestamps", "ratings"):
        assert np.array_equal(getattr(a.interactions, field), getattr(b.interactions, field))
    assert (a.n_users, a.n_items) == (b.n_users, b.n_items)


def test_round_trip(data, tmp_path):
    inter, item = write_atomic(data, tmp_path, "syn")
    assert (inter.name, item.name) == ("syn.inter", "syn.item")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syn.inter", "syn.item"]
    umask = os.umask(0)
    os.umask(umask)
    assert inter.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() makes files
    back = read_atomic(tmp_path, "syn")
    _same_logs(data, back)
    assert np.array_equal(back.raw_user_ids, data.raw_user_ids)
    assert np.array_equal(back.raw_item_ids, data.raw_item_ids)
    assert back.item_titles == data.item_titles
    assert _genre_sets(back) == _genre_sets(data)
    lines = inter.read_text().splitlines()
    assert lines[0] == "user_id:token\titem_id:token\trating:float\ttimestamp:float"
    assert len(lines) == data.n_interactions + 1
    assert item.read_text().splitlines()[0] == "item_id:token\tgenre:token_seq\ttitle:token_seq"


def test_chunk_size_does_not_change_the_files(data, tmp_path):
    write_atomic(data, tmp_path / "a", "syn")
    write_atomic(data, tmp_path / "b", "syn", chunk_rows=7)
    for suffix in ("inter", "item"):
        assert (tmp_path / "a" / f"syn.{suffix}").read_bytes() == (
            tmp_path / "b" / f"syn.{suffix}"
        ).read_bytes()


def test_chunked_reader_equals_line_reader(data, tmp_path, monkeypatch):
    write_atomic(data, tmp_path, "syn")
    fast = read_atomic(tmp_path, "syn", numeric_ids=True)
    header = {"user_id": 0, "item_id": 1, "rating": 2, "timestamp": 3}
    small = read_inter_chunked(tmp_path / "syn.inter", header, False, chunk_rows=7)
    big = read_inter_chunked(tmp_path / "syn.inter", header, False)
    flat_small = [*small[0], *small[1], small[2], small[3]]
    flat_big = [*big[0], *big[1], big[2], big[3]]
    assert all(np.array_equal(x, y) for x, y in zip(flat_small, flat_big, strict=True))
    _line_reader(monkeypatch)
    _same_logs(fast, read_atomic(tmp_path, "syn", numeric_ids=True))


TRICKY = (
    "item_id:token\tuser_id:token\tpad:float\n  b7\tu01\t1\n\na\tu1\t2\nb7\t u01 \t3\n010\tu1\t4\n"
)


@pytest.mark.parametrize("numeric", [False, True])
def test_string_ids_and_missing_columns_as_line_reader(tmp_path, monkeypatch, numeric):
    text = TRICKY.replace("b7", "7").replace("a\t", "12\t").replace("u", "9")
    text = text.replace("9ser_id", "user_id")
    (tmp_path / "t.inter").write_text(text if numeric else TRICKY)
    header = {"item_id": 0, "user_id": 1, "pad": 2}
    assert read_inter_chunked(tmp_path / "t.inter", header, numeric) is not None
    fast = read_atomic(tmp_path, numeric_ids=numeric)
    assert fast.n_interactions == 4 and fast.ratings.tolist() == [1.0] * 4
    _line_reader(monkeypatch)
    slow = read_atomic(tmp_path, numeric_ids=numeric)
    _same_logs(fast, slow)
    assert np.array_equal(fast.raw_user_ids, slow.raw_user_ids)
    assert np.array_equal(fast.raw_item_ids, slow.raw_item_ids)


@pytest.mark.parametrize(
    ("bad_line", "match"),
    [
        ("3\t4\tfive\t5", "line 40: rating must be a finite number, got 'five'"),
        ("3\t4\t5", "line 40: expected 4 fields"),
        ("3\t4\t5\t6\t7", "line 40: expected 4 fields"),
        ("3\t\t5\t6", "line 40: item_id is empty"),
        ("3\t4\tinf\t6", "line 40: rating must be a finite number"),
    ],
)
def test_malformed_line_named_in_a_longer_file(tmp_path, bad_line, match):
    rows = [f"{u}\t{u + 1}\t3\t{100 + u}" for u in range(60)]
    rows[38] = bad_line  # line 40 counting the header
    (tmp_path / "x.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + "\n".join(rows)
    )
    with pytest.raises(ValueError, match=match):
        read_atomic(tmp_path)


def test_writer_refuses_what_the_format_cannot_hold(data, tmp_path):
    with pytest.raises(ValueError, match="name must be a file stem"):
        write_atomic(data, tmp_path, "a/b")
    with pytest.raises(ValueError, match="chunk_rows must be >= 1"):
        write_atomic(data, tmp_path, "x", chunk_rows=0)
    spaced = type(data)(data.name, data.interactions, data.item_genres, data.genre_names,
                        data.item_titles, np.array([f"user {u}" for u in range(data.n_users)]),
                        data.raw_item_ids)  # fmt: skip
    with pytest.raises(ValueError, match="user id 'user 0'"):
        write_atomic(spaced, tmp_path, "x")
    assert list(tmp_path.iterdir()) == []


_ID = st.sampled_from(["1", "01", " 2", "2 ", "10", "1.0", "a", "b9", "-3", "nan", "1e3"])
_VALUE = st.one_of(st.integers(-5, 10**9).map(str), st.floats(-1e6, 1e6).map(repr), _ID)
_CLEAN = st.tuples(_ID, _ID, _VALUE, _VALUE)
_ANY_TEXT = st.text(alphabet=" 0a1b9.-", max_size=4)
_RAW = st.tuples(_ANY_TEXT, _ANY_TEXT, _ANY_TEXT, _ANY_TEXT)
_ANY = st.one_of(_RAW, st.floats().map(lambda x: ("1", "2", repr(x), "3")))


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(_CLEAN, max_size=12),
    odd=st.one_of(st.none(), _ANY),
    odd_at=st.integers(0, 12),
    blank_after=st.integers(0, 12),
    numeric=st.booleans(),
)
def test_block_reader_agrees_with_line_reader(
    tmp_path_factory, rows, odd, odd_at, blank_after, numeric
):
    """Whatever the file, both readers give the same dataset or the same error."""
    folder = tmp_path_factory.mktemp("agree")
    if odd is not None:
        rows = [*rows[:odd_at], odd, *rows[odd_at:]]
    lines = ["\t".join(row) for row in rows]
    lines.insert(min(blank_after, len(lines)), "")
    (folder / "h.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + "\n".join(lines)
    )

    def outcome():
        try:
            ds = read_atomic(folder, numeric_ids=numeric)
        except ValueError as exc:
            return str(exc)
        log = ds.interactions
        return [x.tolist() for x in (log.users, log.items, log.timestamps, log.ratings,
                                     ds.raw_user_ids, ds.raw_item_ids)]  # fmt: skip

    fast = outcome()
    with pytest.MonkeyPatch.context() as mp:
        _line_reader(mp)
        assert outcome() == fast


def _write_ml1m(ds, folder):
    log = ds.interactions
    rows = zip(log.users + 1, log.items + 1, log.ratings.astype(int), log.timestamps, strict=True)
    (folder / "ratings.dat").write_text("".join(f"{u}::{i}::{r}::{t}\n" for u, i, r, t in rows))
    genres = np.asarray(ds.genre_names)
    (folder / "movies.dat").write_text("".join(
        f"{i + 1}::{ds.item_titles[i]}: a (1995)::{'|'.join(genres[ds.item_genres[i]])}\n"
        for i in range(ds.n_items)
    ))  # fmt: skip


def test_ml1m_block_reader_equals_line_reader(data, tmp_path, monkeypatch):
    _write_ml1m(data, tmp_path)
    fast = loaders.read_ml1m(tmp_path)
    header = {"user_id": 0, "item_id": 2, "rating": 4, "timestamp": 6}
    assert read_inter_chunked(tmp_path / "ratings.dat", header, True, sep=":", n_fields=7,
                              empty=(1, 3, 5), skip=0) is not None  # fmt: skip
    _same_logs(data, fast)
    assert fast.item_titles[0] == "item 0: a (1995)"
    _line_reader(monkeypatch)
    slow = loaders.read_ml1m(tmp_path)
    _same_logs(fast, slow)
    assert np.array_equal(fast.raw_item_ids, slow.raw_item_ids)
    assert _genre_sets(fast) == _genre_sets(slow)


@pytest.mark.parametrize(
    ("bad_line", "match"),
    [
        ("3::4::5", "line 40: expected 4 fields"),
        ("3:4::5::6", "line 40: expected 4 fields"),
        ("3::4::5::6.5", "line 40: timestamp must be an integer, got '6.5'"),
        ("3::x::5::6", "line 40: movie id must be an integer, got 'x'"),
    ],
)
def test_ml1m_malformed_line_named(data, tmp_path, bad_line, match):
    _write_ml1m(data, tmp_path)
    lines = (tmp_path / "ratings.dat").read_text().splitlines()
    lines[39] = bad_line
    (tmp_path / "ratings.dat").write_text("\n".join(lines))
    with pytest.raises(ValueError, match=match):
        loaders.read_ml1m(tmp_path)


def _write_ml20m(ds, folder):
    log = ds.interactions
    rows = zip(log.users + 1, log.items + 1, log.ratings / 2, log.timestamps, strict=True)
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n" + "".join(f"{u},{i},{r},{t}\n" for u, i, r, t in rows)
    )
    genres = np.asarray(ds.genre_names)
    (folder / "movies.csv").write_text("movieId,title,genres\n" + "".join(
        f'{i + 1},"{ds.item_titles[i]}, The (1995)",'
        f"{'|'.join(genres[ds.item_genres[i]]) or '(no genres listed)'}\n"
        for i in range(ds.n_items)
    ))  # fmt: skip


def test_movielens_csv_block_reader_equals_line_reader(data, tmp_path, monkeypatch):
    _write_ml20m(data, tmp_path)
    fast = load_dataset("ml-20m", path=tmp_path)
    assert fast.name == "ml-20m"
    assert np.array_equal(fast.interactions.users, data.interactions.users)
    assert np.array_equal(fast.interactions.items, data.interactions.items)
    assert np.array_equal(fast.ratings, data.ratings / 2)
    assert np.array_equal(fast.timestamps, data.timestamps)
    assert fast.item_titles[3] == "item 3, The (1995)"
    assert _genre_sets(fast) == _genre_sets(data)
    assert fast.item_years is not None and fast.item_years[0] == 1995.0
    header = {"user_id": 0, "item_id": 1, "rating": 2, "timestamp": 3}
    assert read_inter_chunked(tmp_path / "ratings.csv", header, True, sep=",") is not None
    _line_reader(monkeypatch)
    slow = load_dataset("ml-20m", path=tmp_path)
    _same_logs(fast, slow)


@pytest.mark.parametrize(
    ("file", "line", "bad", "match"),
    [
        ("ratings.csv", 40, "3,4,5", "ratings.csv, line 40: expected 4 fields"),
        ("ratings.csv", 40, "3,4,x,6", "line 40: rating must be a finite number, got 'x'"),
        ("ratings.csv", 40, "3,4,5,6.5", "line 40: timestamp must be an integer"),
        ("ratings.csv", 1, "user,movie,rating,time", "line 1: expected the header"),
        ("movies.csv", 5, "x,t,Drama", "movies.csv, line 5: movieId must be an integer"),
        ("movies.csv", 5, "4,t", "movies.csv, line 5: expected 3 comma-separated fields"),
    ],
)
def test_movielens_csv_malformed_line_named(data, tmp_path, file, line, bad, match):
    _write_ml20m(data, tmp_path)
    lines = (tmp_path / file).read_text().splitlines()
    lines[line - 1] = bad
    (tmp_path / file).write_text("\n".join(lines))
    with pytest.raises(ValueError, match=match):
        load_dataset("ml-20m", path=tmp_path)
