"""Diversity re-ranking of a base ranker's candidates, vectorised over users.

Conventions
-----------
* One user's input is ``scores``, an ``(N,)`` float array: the base ranker's relevance of
  ``N`` candidate items. A re-ranker returns the selected candidate *positions* (indices
  ``0..N-1`` into the candidate array, not item ids) as an ``(k,)`` int64 array in selection
  order, so ``candidates[result]`` is the re-ranked list.
* The ``*_batch`` forms take ``(U, N)`` scores (and ``(U, N, N)`` similarities or
  ``(U, N, d)`` embeddings) and return ``(U, k)``. They loop in Python over the ``k``
  selection steps only, never over users. Each single-user function is the batch form with
  ``U = 1``, so the two can never disagree.
* Ties are broken towards the lowest candidate position (``np.argmax``); when candidates
  arrive sorted by the base score, that is the most relevant of the tied items.
* ``normalize=True`` (the default of MMR, DPP and SSD) min-max scales each user's scores to
  ``[0, 1]`` before re-ranking: ``s' = (s - min s) / (max s - min s)``, and a user whose
  scores are all equal gets ``s' = 0``. The trade-off parameters (``lam``, ``theta``,
  ``gamma``) weigh relevance against similarities that live in ``[0, 1]``; without the
  scaling their meaning would depend on the base ranker's score range (BPR logits, softmax
  probabilities, ...). With ``normalize=False`` scores are used exactly as given.

Every function validates its input and raises ``ValueError`` / ``TypeError`` rather than
returning NaN.

Modules
-------
* ``similarity``: ``candidate_similarity`` (genre Jaccard or embedding cosine).
* ``marginal``: MMR, ``mmr`` and ``mmr_batch``.
* ``determinantal``: DPP, ``dpp`` and ``dpp_batch``.
* ``spectrum``: SSD, ``ssd`` and ``ssd_batch``.
* ``exploration``: ``epsilon_greedy`` and ``epsilon_greedy_batch``.
* ``cpfair``: CPFair, ``cpfair_batch`` (consumer and producer group gaps, exact greedy)
    and ``cpfair_weights``.
* ``fairrec``: FairRec, ``fairrec_batch`` (greedy round robin with a producer exposure
    guarantee).
* ``pmmf``: P-MMF, ``pmmf_batch`` (provider max-min fair re-ranking by online dual
    mirror descent) and its dual projection ``project_dual``.

Every public name is importable from ``recommenders.rerank`` itself.
"""

from .cpfair import (
    cpfair_batch,
    cpfair_weights,
)
from .determinantal import (
    DPP_EPS,
    dpp,
    dpp_batch,
)
from .exploration import (
    epsilon_greedy,
    epsilon_greedy_batch,
)
from .fairrec import fairrec_batch
from .marginal import (
    mmr,
    mmr_batch,
)
from .pmmf import (
    pmmf_batch,
    project_dual,
)
from .similarity import candidate_similarity
from .spectrum import (
    ssd,
    ssd_batch,
)

__all__ = [
    "DPP_EPS",
    "candidate_similarity",
    "mmr_batch",
    "mmr",
    "dpp_batch",
    "dpp",
    "ssd_batch",
    "ssd",
    "epsilon_greedy_batch",
    "epsilon_greedy",
    "cpfair_batch",
    "cpfair_weights",
    "fairrec_batch",
    "pmmf_batch",
    "project_dual",
]
