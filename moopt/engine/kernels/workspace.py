"""The engine's per-block workspace: every buffer a user's generation needs, allocated
once per block of users (``.batch``) and reused, so nothing is allocated inside the
generation loop; and the hash set of list hashes that finds duplicate lists.

Several buffers serve a second purpose once their first is over; the code says so where
that happens (look for "reused").
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

LANES = 8  # int64 / float64 lanes of one 512-bit vector: the padding of ranking rows

Workspace = namedtuple(
    "Workspace",
    [
        "merged_x", "merged_f", "merged_hash",
        "lex_order", "idx_scratch", "sort_values", "values_scratch", "tie_keys",
        "merged_rank", "front_count", "front_members", "lex_objectives",
        "front_start", "front_fill", "rows_by_front", "front_crowding",
        "pos_in_front", "front_lex_pos",
        "survivors", "survivor_rank", "survivor_crowding",
        "survivor_lex", "n_survivor_lex",
        "tournament_perm", "tournament_cursor",
        "parent_a", "parent_b", "child_a", "child_b",
        "in_list", "candidate_scratch",
        "hash_slots", "hash_epochs", "hash_epoch",
        "survives",
    ],
)  # fmt: skip
Workspace.__doc__ = """Every buffer one user's generation needs (built by ``make_workspace``).

Sizes: q rows of the merged population (parents + children), P population, K list
length, M objectives, N candidates, T slots of the hash set (a power of two >= 4 q).
All fields are numpy arrays.

Parameters
----------
merged_x, merged_f, merged_hash : numpy.ndarray
    The merged population: lists (q, K), minimised objectives (q, M), list hashes (q,).
lex_order, idx_scratch : numpy.ndarray
    Sorting: the merged rows in lexicographic order of their objectives (q,); index
    scratch (q,).
sort_values, values_scratch, tie_keys : numpy.ndarray
    The values being sorted and their scratch (q,) x 2; tie-break keys (q, 2), column 1
    the random keys of the crowding truncation.
merged_rank, front_count, front_members, lex_objectives : numpy.ndarray
    Non-dominated sorting: each row's front (q,); rows per front (q + 8,); each front's
    rows (q, q) int32; the objectives in lexicographic order (3, q + 8).
front_start, front_fill, rows_by_front, front_crowding : numpy.ndarray
    Rows grouped by front: each front's first slot (q + 1,), its next free slot
    (q + 1,), the rows (q,); the crowding of one front (q,).
pos_in_front, front_lex_pos : numpy.ndarray
    Each row's position in its front (q,); each front's positions in lexicographic
    order (q,).
survivors, survivor_rank, survivor_crowding : numpy.ndarray
    The survivors: merged rows (P,), their fronts (P,) and crowding (P,).
survivor_lex, n_survivor_lex : numpy.ndarray
    The survivors' lexicographic order, as positions in ``survivors`` (q,), and how many
    of its entries are valid (1,): the next survival's head.
tournament_perm, tournament_cursor : numpy.ndarray
    Tournament: the permutation competitors are read from (P,), its position (1,).
parent_a, parent_b, child_a, child_b : numpy.ndarray
    Parents and children (K,).
in_list, candidate_scratch : numpy.ndarray
    Operators: which candidates are in the list being repaired (N,) bool, all False
    between uses; scratch for drawing random lists (N,).
hash_slots, hash_epochs, hash_epoch : numpy.ndarray
    The hash set (``hset_add``): slots (T,), their epochs (T,), this epoch (1,).
survives : numpy.ndarray
    Whether each merged row survives (q,) bool.
"""


@njit(cache=True)
def make_workspace(q, p, k, m, n):
    """A ``Workspace`` for merged populations of up to ``q`` rows, population ``p``,
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
