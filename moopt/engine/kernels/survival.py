"""NSGA-II survival: crowding distance, the survivors of a merged population (whole
fronts while they fit, the splitting front truncated by crowding), and survival back
into a user's population with the archive's offers (``survive_and_archive``)."""

from __future__ import annotations

import numpy as np
from numba import njit

from ..._rng import next_float
from ..archive import archive_add_row
from .sorting import rank_into, sort_pairs
from .workspace import make_workspace


@njit(cache=True)
def crowding_into(F, members, size, cd, idx, ti, sv, tv, keys, lex=None):
    """NSGA-II crowding distance of the rows ``members[:size]`` of ``F`` (one front) into
    ``cd[:size]``; ``idx``, ``ti``, ``sv``, ``tv`` (size,) and ``keys`` are scratch.

    Each objective's values are sorted, ties by position in ``members``. ``lex``, if
    given, holds the positions ``0..size-1`` in lexicographic order of the members'
    objectives, which is already the order of objective 0 (only its exact ties, rare,
    are re-sorted by position), so that objective needs no sort."""
    n_obj = F.shape[1]
    if size <= 2:
        for t in range(size):
            cd[t] = np.inf
        return
    for t in range(size):
        cd[t] = 0.0
    for m in range(n_obj):
        if m == 0 and lex is not None:
            for t in range(size):
                idx[t] = lex[t]
                sv[t] = F[members[lex[t]], 0]
            for t in range(1, size):
                if sv[t] == sv[t - 1]:
                    # Ties of objective 0 come ordered by the other objectives: order
                    # them by position, as the sort would (insertion into the run).
                    c = idx[t]
                    j = t - 1
                    while j >= 0 and sv[j] == sv[t] and idx[j] > c:
                        idx[j + 1] = idx[j]
                        j -= 1
                    idx[j + 1] = c
        else:
            for t in range(size):
                sv[t] = F[members[t], m]
                idx[t] = t
            sort_pairs(sv, idx, size, tv, ti, keys, 1)
        span = sv[size - 1] - sv[0]
        if span <= 0.0:
            continue
        cd[idx[0]] = np.inf
        cd[idx[size - 1]] = np.inf
        for t in range(1, size - 1):
            cd[idx[t]] += (sv[t + 1] - sv[t - 1]) / span
    for t in range(size):
        cd[t] = cd[t] / n_obj


@njit(cache=True)
def crowding_of(F, members):
    """NSGA-II crowding distance of the rows ``members`` of ``F`` (one front)."""
    n = members.shape[0]
    cd = np.empty(n)
    crowding_into(F, members, n, cd, np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64),
                  np.empty(n), np.empty(n), np.empty((n, 1)))  # fmt: skip
    return cd


@njit(cache=True)
def crowding_distance(F):
    """NSGA-II crowding distance of the rows of ``F`` (one front)."""
    return crowding_of(F, np.arange(F.shape[0]))


@njit(cache=True)
def survive_into(F, q, n_keep, state, ws, n_head=0):
    """Survival of rows ``0..q-1`` of ``F``: the ``n_keep`` survivors into
    ``ws.survivors`` with their rank and crowding (``ws.survivor_rank``,
    ``ws.survivor_crowding``), the front index of every row into ``ws.merged_rank``
    (exact up to the splitting front; rows past it may get a lower bound that is still
    past it, see ``rank_into``) and whether it survives into
    ``ws.survives``.

    Fronts are taken whole while they fit; the splitting front is truncated by crowding
    distance, larger first, equal distances in random order (one draw per member).

    ``ws.survivor_lex`` receives the survivors' lexicographic order as positions in
    ``ws.survivors`` (ties by position), so that the next survival, whose first
    ``n_head`` rows are these survivors in that order, only sorts the new rows
    (``ws.survivor_lex`` read as the head, see ``lex_order_into``).
    """
    rank = ws.merged_rank
    n_fronts = rank_into(F, q, rank, ws.lex_order, ws.idx_scratch, ws.front_count,
                         ws.front_members, ws.lex_objectives, ws.sort_values,
                         ws.values_scratch, n_keep, ws.survivor_lex, n_head)  # fmt: skip
    # Counting sort of the rows by front. Rows whose search stopped at the cut (see
    # rank_into) rank at or past every front the loop below reaches; rank n_fronts, which
    # only they can have, is left out.
    start = ws.front_start
    fill = ws.front_fill
    by_front = ws.rows_by_front
    for r in range(n_fronts + 1):
        start[r] = 0
    for i in range(q):
        if rank[i] < n_fronts:
            start[rank[i] + 1] += 1
    for r in range(n_fronts):
        start[r + 1] += start[r]
    for r in range(n_fronts):
        fill[r] = start[r]
    # ``ws.front_count`` is free after ranking: reused as each front's next free slot in
    # lexicographic order.
    posf, lexf, lfill = ws.pos_in_front, ws.front_lex_pos, ws.front_count
    for i in range(q):
        r = rank[i]
        if r < n_fronts:
            by_front[fill[r]] = i
            posf[i] = fill[r] - start[r]
            fill[r] += 1
    # Each front's positions in lexicographic order (``ws.lex_order``): crowding's order of
    # objective 0 without a sort.
    for r in range(n_fronts):
        lfill[r] = start[r]
    for t in range(q):
        i = ws.lex_order[t]
        r = rank[i]
        if r < n_fronts:
            lexf[lfill[r]] = posf[i]
            lfill[r] += 1
    # ``ws.front_fill`` is free from here: reused as crowding's index scratch and as the
    # truncation's order. ``ws.lex_order`` (the lexicographic order) is kept.
    keep, keep_rank, keep_cd = ws.survivors, ws.survivor_rank, ws.survivor_crowding
    cd, keys = ws.front_crowding, ws.tie_keys
    filled = 0
    for r in range(n_fronts):
        if filled == n_keep:
            break
        members = by_front[start[r] : start[r + 1]]
        size = members.shape[0]
        crowding_into(F, members, size, cd, fill, ws.idx_scratch, ws.sort_values,
                      ws.values_scratch, keys, lexf[start[r] : start[r + 1]])  # fmt: skip
        if filled + size <= n_keep:
            for a in range(size):
                keep[filled] = members[a]
                keep_rank[filled] = r
                keep_cd[filled] = cd[a]
                filled += 1
        else:
            # Truncate the splitting front: crowding descending, random order among ties
            # (the random keys in column 1 of ``ws.tie_keys``).
            sv, order = ws.sort_values, fill
            for a in range(size):
                sv[a] = -cd[a]
                keys[a, 1] = next_float(state)
                order[a] = a
            sort_pairs(sv, order, size, ws.values_scratch, ws.idx_scratch, keys, 2)
            for a in range(n_keep - filled):
                b = order[a]
                keep[filled] = members[b]
                keep_rank[filled] = r
                keep_cd[filled] = cd[b]
                filled += 1
    _record_lex_order(F, q, n_keep, ws)


@njit(cache=True)
def _record_lex_order(F, q, n_keep, ws):
    """``ws.survives`` for the merged rows, and ``ws.survivor_lex``: the survivors'
    positions in ``ws.survivors`` in lexicographic order of their objectives, ties by
    position."""
    # ``ws.front_fill`` is free after the survival: reused as each survivor's position.
    alive, pos, plex, order = ws.survives, ws.front_fill, ws.survivor_lex, ws.lex_order
    for i in range(q):
        alive[i] = False
    for j in range(n_keep):
        alive[ws.survivors[j]] = True
        pos[ws.survivors[j]] = j
    m = F.shape[1]
    c = 0
    for t in range(q):
        i = order[t]
        if not alive[i]:
            continue
        # ``order`` breaks exact ties by merged row; re-break them by new position.
        j = pos[i]
        b = c
        while b > 0:
            w = ws.survivors[plex[b - 1]]
            same = True
            for col in range(m):
                if F[w, col] != F[i, col]:
                    same = False
                    break
            if not same or plex[b - 1] < j:
                break
            plex[b] = plex[b - 1]
            b -= 1
        plex[b] = j
        c += 1
    ws.n_survivor_lex[0] = c


@njit(cache=True)
def survive(F, n_keep, state):
    """Indices of the ``n_keep`` survivors of ``F`` with their rank and crowding, and the
    front index of every row of ``F`` (past the splitting front: a lower bound that is
    still past it)."""
    q, m = F.shape
    ws = make_workspace(q, n_keep, 1, m, 1)
    survive_into(F, q, n_keep, state, ws)
    return ws.survivors, ws.survivor_rank, ws.survivor_crowding, ws.merged_rank


@njit(cache=True)
def survive_and_archive(X, F, H, rank, crowd, ws, total, state, arc, first_new,
                        n_protected, n_head):  # fmt: skip
    """Survival of the ``total`` merged rows (``ws.merged_x``, ``ws.merged_f``,
    ``ws.merged_hash``) back into the population.

    The archive ``arc`` is offered the rows that leave the search while non-dominated:
    rows of the merged set's first front that do not survive (truncated by crowding).
    Rows that survive are offered when they leave later or, at the end of the run, by
    ``archive_population_batch``; a row dominated when it leaves is dominated by a
    row that is (or will be) offered. So the archive still ends as the non-dominated
    set of everything evaluated, with far fewer offers than one per new non-dominated
    row. The first ``n_protected`` rows from ``first_new`` on are seeds: offered at once,
    as protected entries, if non-dominated. ``n_head``: the first rows are the population
    and ``ws.survivor_lex`` holds their lexicographic order (0: not known).
    """
    mx, mf, mh = ws.merged_x, ws.merged_f, ws.merged_hash
    p = X.shape[0]
    survive_into(mf, total, p, state, ws, n_head)
    AX, AF, AH, AP, meta = arc
    if AX.shape[0] > 0:
        alive = ws.survives
        for i in range(total):
            if ws.merged_rank[i] == 0:
                seed = first_new <= i < first_new + n_protected
                if seed or not alive[i]:
                    archive_add_row(AX, AF, AH, AP, meta, mx, mf, i, mh[i], seed)
    k = X.shape[1]
    m = F.shape[1]
    for i in range(X.shape[0]):
        src = ws.survivors[i]
        for c in range(k):
            X[i, c] = mx[src, c]
        for c in range(m):
            F[i, c] = mf[src, c]
        H[i] = mh[src]
        rank[i] = ws.survivor_rank[i]
        crowd[i] = ws.survivor_crowding[i]
