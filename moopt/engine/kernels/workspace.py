"""The engine's per-block workspace: every buffer a user's generation needs, allocated
once per block of users (:mod:`.batch`) and reused, so nothing is allocated inside the
generation loop; and the hash set of list hashes that finds duplicate lists.

Several buffers serve a second purpose once their first is over; the code says so where
that happens (look for "reused").
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

LANES = 8  # int64 / float64 lanes of one 512-bit vector: the padding of ranking rows

# q: rows of the merged population (parents + children), P: population, K: list length,
# M: objectives, N: candidates, T: slots of the hash set (a power of two >= 4 q).
Workspace = namedtuple(
    "Workspace",
    [
        # The merged population: lists (q, K), minimised objectives (q, M), list hashes (q,).
        "merged_x", "merged_f", "merged_hash",
        # Sorting: the merged rows in lexicographic order of their objectives (q,); index
        # scratch (q,); the values being sorted and their scratch (q,) x 2; tie-break keys
        # (q, 2), column 1 the random keys of the crowding truncation.
        "lex_order", "idx_scratch", "sort_values", "values_scratch", "tie_keys",
        # Non-dominated sorting: each row's front (q,); rows per front (q + 8,); each
        # front's rows (q, q) int32; the objectives in lexicographic order (3, q + 8).
        "merged_rank", "front_count", "front_members", "lex_objectives",
        # Rows grouped by front: each front's first slot (q + 1,), its next free slot
        # (q + 1,), the rows (q,); the crowding of one front (q,).
        "front_start", "front_fill", "rows_by_front", "front_crowding",
        # Each row's position in its front (q,); each front's positions in lexicographic
        # order (q,).
        "pos_in_front", "front_lex_pos",
        # The survivors: merged rows (P,), their fronts (P,) and crowding (P,).
        "survivors", "survivor_rank", "survivor_crowding",
        # The survivors' lexicographic order, as positions in ``survivors`` (q,), and how
        # many of its entries are valid (1,): the next survival's head.
        "survivor_lex", "n_survivor_lex",
        # Tournament: the permutation competitors are read from (P,), its position (1,).
        "tournament_perm", "tournament_cursor",
        # Parents and children (K,).
        "parent_a", "parent_b", "child_a", "child_b",
        # Operators: which candidates are in the list being repaired (N,) bool, all False
        # between uses; scratch for drawing random lists (N,).
        "in_list", "candidate_scratch",
        # The hash set (:func:`hset_add`): slots (T,), their epochs (T,), this epoch (1,).
        "hash_slots", "hash_epochs", "hash_epoch",
        # Whether each merged row survives (q,) bool.
        "survives",
    ],
)  # fmt: skip


@njit(cache=True)
def make_workspace(q, p, k, m, n):
    """A :class:`Workspace` for merged populations of up to ``q`` rows, population ``p``,
    lists of ``k`` out of ``n`` candidates and ``m`` objectives."""
    t = 16
    while t < 4 * q:
        t *= 2
    return Workspace(
        np.empty((q, k), dtype=np.int64), np.empty((q, m)), np.empty(q, dtype=np.uint64),
        np.empty(q, dtype=np.int64), np.empty(q, dtype=np.int64), np.empty(q), np.empty(q),
        np.empty((q, 2)),
        np.empty(q, dtype=np.int64), np.empty(q + LANES, dtype=np.int64),
        np.empty((q, q), dtype=np.int32), np.empty((3, q + LANES)),
        np.empty(q + 1, dtype=np.int64), np.empty(q + 1, dtype=np.int64),
        np.empty(q, dtype=np.int64), np.empty(q),
        np.empty(q, dtype=np.int64), np.empty(q, dtype=np.int64),
        np.empty(p, dtype=np.int64), np.empty(p, dtype=np.int64), np.empty(p),
        np.empty(q, dtype=np.int64), np.zeros(1, dtype=np.int64),
        np.empty(p, dtype=np.int64), np.empty(1, dtype=np.int64),
        np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64),
        np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64), np.zeros(n, dtype=np.bool_),
        np.empty(n, dtype=np.int64),
        np.zeros(t, dtype=np.uint64), np.zeros(t, dtype=np.int64), np.zeros(1, dtype=np.int64),
        np.zeros(q, dtype=np.bool_),
    )  # fmt: skip


# ----------------------------------------------------------------------------- hash set


@njit(inline="always")
def hset_add(htab, hstamp, epoch, h):
    """Add hash ``h`` to the set (``htab``, ``hstamp``) of epoch ``epoch``; False if it was
    already there. Open addressing with linear probing (load <= 1/4); slots stamped with
    an older epoch count as empty, so a new epoch empties the set in O(1)."""
    mask = htab.shape[0] - 1
    i = np.int64((h ^ (h >> np.uint64(31))) & np.uint64(mask))
    while True:
        if hstamp[i] != epoch:
            hstamp[i] = epoch
            htab[i] = h
            return True
        if htab[i] == h:
            return False
        i = (i + 1) & mask
