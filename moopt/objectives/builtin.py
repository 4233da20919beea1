"""The built-in list objectives of PreferRec re-ranking (accuracy, diversity, novelty) and ILD.

PreferRec (Learning and Transferring Pareto Preferences for Multi-objective Re-ranking)
eqs. 3-5 define the three objectives; their extracted formulas are incomplete, so the
forms below are the standard ones, each normalised to [0, 1]:

* accuracy(L) = sum_p s'(L_p) / log2(p + 2)  /  the same sum for the top-K by score,
  with s' = s - min over the user's candidates (scores of logits, BPR or dot products
  can be negative; the shift keeps their order and makes the ratio lie in [0, 1], the
  top-K list scoring exactly 1). If all candidates score alike, every list scores 1.
* diversity(L) = |union of the categories of L| / number of categories (eq. 4).
* novelty(L) = mean over L of log2(pop_max / pop_i) / log2(pop_max / pop_min), with
  pop_min the smallest positive popularity in the catalogue and zero popularities
  counted as pop_min (eq. 5's self-information, normalised by its catalogue maximum).
* ild(L) = mean over pairs of the Jaccard distance of the items' category sets.
* expected_hits(L) = sum_{i in L} q_i / the same sum for the top-K by q, where the scores
  q are calibrated hit probabilities (e.g. a temperature-scaled softmax of the base
  ranker's logits, ``recommenders.calibration``). Unlike the DCG form it counts every
  slot alike, so it tracks the list's expected number of hits, which HR/Recall@K reward;
  chosen lists are ordered by q afterwards, so the order inside the list costs nothing.

Categories are packed 62 to an int64 word, so a union is a few ORs and a popcount.

Novelty values are rounded to float32 precision (``portable_round``): numpy's
transcendental functions may take CPU-specific code paths (its ``exp`` gives different
last bits with and without AVX-512), and the search compares objective values, so
unrounded inputs could let the machine change which lists survive.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._topk import top_k_rows
from ..portable import portable_round
from .registry import (
    OBJ_ACCURACY,
    OBJ_DIVERSITY,
    OBJ_EXPECTED_HITS,
    OBJ_ILD,
    OBJ_NOVELTY,
    OBJECTIVE_SIGNATURE,
    ObjectiveData,
    RerankInputs,
    register_objective,
    set_inline_code,
)

BITS_PER_WORD = 62  # stay clear of the sign bit


def category_bits(item_genres: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Pack the candidates' category sets into int64 words, 62 categories to a word.

    Parameters
    ----------
    item_genres : array_like, shape (I, G)
        Bool (or 0/1) category matrix of the catalogue.
    candidates : numpy.ndarray, shape (U, N)
        Item ids indexing the rows of ``item_genres``.

    Returns
    -------
    numpy.ndarray, shape (U, N, ceil(G / 62))
        Bit ``b`` of word ``w`` is category ``62 w + b`` (at least one word).

    Examples
    --------
    >>> import numpy as np
    >>> from moopt.objectives import category_bits
    >>> genres = np.array([[1, 0, 1], [0, 1, 0]], dtype=bool)
    >>> category_bits(genres, np.array([[1, 0]]))
    array([[[2],
            [5]]])
    """
    g = np.asarray(item_genres, dtype=bool)  # pack per catalogue item, then index
    n_words = max(1, -(-g.shape[-1] // BITS_PER_WORD))
    padded = np.zeros((g.shape[0], n_words * BITS_PER_WORD), dtype=np.int64)
    padded[:, : g.shape[-1]] = g
    weights = np.left_shift(np.int64(1), np.arange(BITS_PER_WORD, dtype=np.int64))
    per_item = padded.reshape(g.shape[0], n_words, BITS_PER_WORD) @ weights
    return per_item[candidates]


def position_discounts(k: int) -> np.ndarray:
    """Return the DCG position discounts ``1 / log2(p + 2)`` for ``p = 0 .. k - 1``.

    Parameters
    ----------
    k : int
        List length.

    Returns
    -------
    numpy.ndarray, shape (k,)
        The discounts, 1 for the first position.

    Examples
    --------
    >>> from moopt.objectives import position_discounts
    >>> position_discounts(3).round(4)
    array([1.    , 0.6309, 0.5   ])
    """
    return 1.0 / np.log2(np.arange(k) + 2.0)


@njit(inline="always")
def _popcount(x):
    c = 0
    while x:
        x &= x - 1
        c += 1
    return c


# --------------------------------------------------------------------------- accuracy


def prepare_accuracy(inputs: RerankInputs) -> ObjectiveData:
    """Prepare the ``accuracy`` objective: shifted scores and the top-K's discounted sum.

    Parameters
    ----------
    inputs : RerankInputs
        Validated re-ranking inputs (``make_inputs``).

    Returns
    -------
    ObjectiveData
        ``fdata`` (U, N, 1) the scores minus each user's minimum; ``consts`` (U, 1 + K) the
        top-K list's discounted sum, then the K position discounts.
    """
    s = inputs.scores - inputs.scores.min(axis=1, keepdims=True)
    disc = position_discounts(inputs.k)
    ideal = np.take_along_axis(s, top_k_rows(s, inputs.k), axis=1) @ disc  # best K, best first
    consts = np.concatenate([ideal[:, None], np.tile(disc, (inputs.n_users, 1))], axis=1)
    return ObjectiveData(s[..., None], np.zeros((*s.shape, 0), np.int64), consts)


@njit(OBJECTIVE_SIGNATURE, cache=True)
def accuracy_kernel(positions, fdata, idata, consts):
    ideal = consts[0]
    if ideal <= 0.0:
        return 1.0
    total = 0.0
    for p in range(positions.shape[0]):
        total += fdata[positions[p], 0] * consts[1 + p]
    return total / ideal


# --------------------------------------------------------------------------- expected hits


def prepare_expected_hits(inputs: RerankInputs) -> ObjectiveData:
    """Prepare the ``expected_hits`` objective from scores that are hit probabilities.

    Parameters
    ----------
    inputs : RerankInputs
        Validated re-ranking inputs (``make_inputs``).

    Returns
    -------
    ObjectiveData
        ``fdata`` (U, N, 1) the probabilities; ``consts`` (U, 1) the sum over the top-K.

    Raises
    ------
    ValueError
        If a score lies outside [0, 1] (pass calibrated probabilities).
    """
    q = inputs.scores
    if q.min() < 0.0 or q.max() > 1.0:
        raise ValueError(
            "expected_hits reads the scores as hit probabilities in [0, 1], got values in "
            f"[{q.min():.4g}, {q.max():.4g}]; pass calibrated probabilities "
            "(recommenders.calibration) or use the 'accuracy' objective for raw scores"
        )
    ideal = np.take_along_axis(q, top_k_rows(q, inputs.k), axis=1).sum(axis=1)
    return ObjectiveData(q[..., None], np.zeros((*q.shape, 0), np.int64), ideal[:, None])


@njit(OBJECTIVE_SIGNATURE, cache=True)
def expected_hits_kernel(positions, fdata, idata, consts):
    ideal = consts[0]
    if ideal <= 0.0:
        return 1.0
    total = 0.0
    for p in range(positions.shape[0]):
        total += fdata[positions[p], 0]
    return total / ideal


# --------------------------------------------------------------------------- diversity


def prepare_diversity(inputs: RerankInputs) -> ObjectiveData:
    """Prepare the category objectives (``diversity`` and ``ild``): packed category sets.

    Parameters
    ----------
    inputs : RerankInputs
        Validated re-ranking inputs (``make_inputs``).

    Returns
    -------
    ObjectiveData
        ``idata`` (U, N, words) the candidates' ``category_bits``; ``consts`` (U, 1) the
        number of categories G.

    Raises
    ------
    ValueError
        If ``inputs.item_genres`` has no column.
    """
    if inputs.item_genres.shape[1] == 0:
        raise ValueError(
            "category objectives (diversity, ild) need item_genres with at least one column"
        )
    bits = category_bits(inputs.item_genres, inputs.candidates)
    n_cat = float(inputs.item_genres.shape[1])
    u, n = inputs.scores.shape
    return ObjectiveData(np.zeros((u, n, 0)), bits, np.full((u, 1), n_cat))


@njit(OBJECTIVE_SIGNATURE, cache=True)
def diversity_kernel(positions, fdata, idata, consts):
    covered = 0
    for w in range(idata.shape[1]):
        union = 0
        for p in range(positions.shape[0]):
            union |= idata[positions[p], w]
        covered += _popcount(union)
    return covered / consts[0]


# --------------------------------------------------------------------------- novelty


def item_novelty(item_popularity: np.ndarray) -> np.ndarray:
    """Per-item novelty in [0, 1]: ``log2(pop_max / pop_i) / log2(pop_max / pop_min)``.

    ``pop_min`` is the smallest positive popularity; zero popularities count as
    ``pop_min``. Values are rounded to float32 precision (``portable_round``).

    Parameters
    ----------
    item_popularity : array_like, shape (I,)
        Non-negative popularity of every item (counts or frequencies).

    Returns
    -------
    numpy.ndarray, shape (I,)
        Novelty of every item (all 0 when fewer than two distinct positive values).

    Examples
    --------
    >>> from moopt.objectives import item_novelty
    >>> item_novelty([1.0, 2.0, 4.0, 0.0])
    array([1. , 0.5, 0. , 1. ])
    """
    pop = np.asarray(item_popularity, dtype=np.float64)
    positive = pop[pop > 0]
    if positive.size == 0:
        return np.zeros_like(pop)
    lo, hi = positive.min(), positive.max()
    if hi <= lo:
        return np.zeros_like(pop)
    return portable_round(np.log2(hi / np.maximum(pop, lo)) / np.log2(hi / lo))


def prepare_novelty(inputs: RerankInputs) -> ObjectiveData:
    """Prepare the ``novelty`` objective: each candidate's ``item_novelty``.

    Parameters
    ----------
    inputs : RerankInputs
        Validated re-ranking inputs (``make_inputs``).

    Returns
    -------
    ObjectiveData
        ``fdata`` (U, N, 1) the candidates' novelty.

    Examples
    --------
    >>> from moopt.objectives import make_inputs
    >>> from moopt.objectives.builtin import prepare_novelty
    >>> inputs = make_inputs([0.3, 0.2], [0, 2], item_popularity=[1.0, 2.0, 4.0], k=1)
    >>> prepare_novelty(inputs).fdata[..., 0]
    array([[1., 0.]])
    """
    nov = item_novelty(inputs.item_popularity)[inputs.candidates]
    u, n = nov.shape
    return ObjectiveData(nov[..., None], np.zeros((u, n, 0), np.int64), np.zeros((u, 0)))


@njit(OBJECTIVE_SIGNATURE, cache=True)
def novelty_kernel(positions, fdata, idata, consts):
    total = 0.0
    for p in range(positions.shape[0]):
        total += fdata[positions[p], 0]
    return total / positions.shape[0]


# --------------------------------------------------------------------------- ILD


@njit(OBJECTIVE_SIGNATURE, cache=True)
def ild_kernel(positions, fdata, idata, consts):
    k = positions.shape[0]
    if k < 2:
        return 0.0
    total = 0.0
    for a in range(k):
        for b in range(a + 1, k):
            inter = 0
            union = 0
            for w in range(idata.shape[1]):
                x = idata[positions[a], w]
                y = idata[positions[b], w]
                inter += _popcount(x & y)
                union += _popcount(x | y)
            if union > 0:
                total += 1.0 - inter / union
    return total / (k * (k - 1) / 2)


ACCURACY = register_objective(
    "accuracy", accuracy_kernel, prepare_accuracy,
    description="position-discounted score of the list / that of the top-K by score",
    bounds=(0.0, 1.0),
)  # fmt: skip
EXPECTED_HITS = register_objective(
    "expected_hits", expected_hits_kernel, prepare_expected_hits,
    description="sum of calibrated hit probabilities of the list / that of the top-K",
    bounds=(0.0, 1.0),
)  # fmt: skip
DIVERSITY = register_objective(
    "diversity", diversity_kernel, prepare_diversity,
    description="categories covered by the list / number of categories", bounds=(0.0, 1.0),
)  # fmt: skip
NOVELTY = register_objective(
    "novelty", novelty_kernel, prepare_novelty,
    description="mean normalised self-information log2(pop_max / pop) of the items",
    bounds=(0.0, 1.0),
)  # fmt: skip
ILD = register_objective(
    "ild", ild_kernel, prepare_diversity,
    description="mean pairwise Jaccard distance of the items' category sets",
    bounds=(0.0, 1.0),
)  # fmt: skip

# The engine computes these inline (moopt.engine.kernels.evaluate_into).
_INLINE = (
    (ACCURACY, OBJ_ACCURACY), (EXPECTED_HITS, OBJ_EXPECTED_HITS), (DIVERSITY, OBJ_DIVERSITY),
    (NOVELTY, OBJ_NOVELTY), (ILD, OBJ_ILD),
)  # fmt: skip
for _obj, _code in _INLINE:
    set_inline_code(_obj.kernel, _code)
