"""Ranking metrics, vectorised over users.

Conventions
-----------
* A *list* array is ``(U, K)`` int item ids, row ``r`` being one user's ranked list.
* A *hit* array is ``(U, L)`` bool, ``hit[r, p]`` true when position ``p`` (0-based) of
  row ``r`` is relevant; ``n_relevant`` is ``(U,)``, the number of relevant items of
  each user (the denominator of recall and of the ideal DCG).
* Per-user functions return ``(U,)`` float64 arrays; average them (or use
  ``accuracy_report``) for a table. Catalogue-level functions return a float.

Every function validates its input and raises ``ValueError`` rather than returning NaN:
a ``hit`` array that is not 2-D 0/1, ``k`` outside ``[1, L]``, ``n_relevant`` of the wrong
shape or below 1, ``lists`` that are not 2-D or name items outside the catalogue (a
non-integer ``lists`` dtype is a ``TypeError``).

Modules
-------
* ``accuracy``: hit matrices, HR, Precision, Recall, NDCG, MRR.
* ``beyond_accuracy``: Div, ILD, novelty, ARP, exposure, coverage, Gini, entropies.
* ``system``: system-level goals over all users' lists: position-weighted group exposure
    and its shares, max-min share, gap to a target, consumer group gap, item groups.
* ``tradeoff``: F-beta, ResSum, HarMean.
* ``reports``: ``accuracy_report``, ``beyond_accuracy_report``, ``per_domain_accuracy``.

Every public name is importable from ``recommenders.metrics`` itself.
"""

from .accuracy import (
    hit_matrix,
    hit_rate,
    mrr,
    ndcg,
    precision,
    rank_candidates,
    recall,
)
from .beyond_accuracy import (
    arp,
    catalog_coverage,
    category_coverage,
    exposure,
    exposure_entropy,
    gini,
    gini_of,
    ild,
    ild_embedding,
    interest_entropy,
    novelty,
)
from .reports import (
    accuracy_report,
    beyond_accuracy_report,
    per_domain_accuracy,
)
from .system import (
    activity_groups,
    exposure_gap,
    genre_groups,
    group_exposure,
    group_gap,
    group_shares,
    list_exposure,
    min_share_ratio,
    popularity_groups,
    position_weights,
    system_report,
)
from .tradeoff import (
    f_beta,
    har_mean,
    res_sum,
)

__all__ = [
    "hit_matrix",
    "rank_candidates",
    "hit_rate",
    "precision",
    "recall",
    "ndcg",
    "mrr",
    "category_coverage",
    "ild",
    "ild_embedding",
    "novelty",
    "arp",
    "exposure",
    "catalog_coverage",
    "gini",
    "exposure_entropy",
    "f_beta",
    "res_sum",
    "har_mean",
    "accuracy_report",
    "beyond_accuracy_report",
    "interest_entropy",
    "per_domain_accuracy",
    "gini_of",
    "position_weights",
    "popularity_groups",
    "genre_groups",
    "group_exposure",
    "group_shares",
    "list_exposure",
    "min_share_ratio",
    "exposure_gap",
    "activity_groups",
    "group_gap",
    "system_report",
]
