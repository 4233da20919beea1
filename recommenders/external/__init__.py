"""Any model's scores in: the candidates ``moopt rerank`` reads, from a model trained anywhere.

``candidates_from_scores`` is the one entry point. It takes what a user of another
library has:

* **scores**: a dense ``(users, items)`` array (or a ``.npy`` file), rows and columns named by
  ``user_ids``/``item_ids``; or a table (a DataFrame, ``.parquet`` or ``.csv``) with columns
  ``user``, ``item``, ``score``;
* **items**: a table with ``item`` and ``categories`` (multi-valued, ``"Action|Drama"``),
  optionally ``popularity`` (else popularity is counted from the interactions given) and
  ``title``;
* **interactions**: ``train``, ``valid`` and ``test`` tables with ``user``, ``item`` and an
  optional ``timestamp`` (without one, a file's row order is its order).

and builds, exactly as ``moopt train`` does for its own rankers
(``recommenders.evaluate.candidate_sets``), the validation and test candidates: each user's
top-``n`` items by score with the items of their history excluded (train for validation,
train + validation for test), the first held-out item as target, the sampled protocol's
1 + ``n_negatives`` candidates (seeded), the score calibration fitted on validation, and the
catalogue (categories, popularity). ``ExternalCandidates.save`` writes
``candidates.npz``, ``candidates_valid.npz`` and ``id_map.json``, so that
``moopt rerank --candidates DIR/candidates.npz`` evaluates the model with the same protocol
and tables as moopt's own rankers.

Ids: users and items keep the user's own ids (integers or strings). Inside the files they are
contiguous indices; ``IdMap`` (``id_map.json``) maps them back, and
``ExternalCandidates.lists`` gives lists in the user's ids.

One score matrix serves both stages, so it should come from a model fitted on the training
interactions only (the validation stage then measures it fairly); a model whose scores
depend on the history it is given (a sequential one) is not represented exactly.

What a top-n table supports: a table with a score for every item outside each evaluated
user's training history is treated like a dense array (both protocols, calibration over the
catalogue). A table with fewer scores (a model's top-n) supports the **full protocol only**,
**uncalibrated**: every evaluated user needs at least ``n`` scored items outside their
history; the sampled protocol needs the scores of sampled negatives and the calibration the
scores of the whole unseen catalogue (to normalise), which such a table does not hold, so
both raise ``ValueError`` unless turned off (``protocols=("full",)``, ``calibration=False``);
the files then say ``meta_calibration = "none"`` and ``meta_sampled = False``, and
``moopt rerank`` runs with ``--protocols full --score-transform softmax``.

A table is made dense in memory, ``(scored users, items)`` float32: this path is for
catalogues whose score matrix fits in memory.

Modules
-------
* ``ids``: ``IdMap``.
* ``tables``: ``read_table``, ``read_items`` and ``Catalogue``.
* ``scores``: ``ScoreMatrix``.
* ``candidates``: ``candidates_from_scores`` and ``ExternalCandidates``.

Every public name is importable from ``recommenders.external`` itself.
"""

from .candidates import (
    ExternalCandidates,
    candidates_from_scores,
)
from .ids import IdMap
from .scores import ScoreMatrix
from .tables import (
    CATEGORY_COLUMNS,
    Catalogue,
    read_items,
    read_table,
)

__all__ = [
    "CATEGORY_COLUMNS",
    "IdMap",
    "read_table",
    "Catalogue",
    "read_items",
    "ScoreMatrix",
    "ExternalCandidates",
    "candidates_from_scores",
]
