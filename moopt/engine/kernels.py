"""Numba kernels of the batched NSGA-II: one independent search per user, all users in
one parallel loop (leftmost array dimension = user).

NSGA-II as in Deb, Pratap, Agarwal and Meyarivan, "A fast and elitist multiobjective
genetic algorithm: NSGA-II", IEEE TEVC 2002, with pymoo's conventions:

* the first generation is the initial population (``n_gen`` counts it, as pymoo does);
* mating: binary tournaments on rank, then crowding distance, ties at random, with
  competitors drawn from random permutations of the population (pymoo's scheme); crossover
  with probability ``p_cx`` (else the parents are copied); each child mutated with
  probability ``p_mut``; a child equal to a member of the population or to an earlier
  child is discarded and mating repeats (at most ``max_tries`` matings per generation);
* survival: non-dominated sorting of parents + children, fronts taken whole while they
  fit, the splitting front truncated by crowding distance (descending, random ties);
* crowding distance: per objective, the normalised gap between a point's neighbours,
  boundary points infinite; an objective constant over the front contributes nothing.

All objectives are minimised here (the caller negates maximised ones). User ``u`` draws
from its own SplitMix64 stream, so results do not depend on the thread count.

Speed: nothing is allocated inside the generation loop. Each block of consecutive users
gets one :class:`Workspace` (merged population, sorting and ranking buffers, a hash set
for duplicate checks), allocated once in the batch functions and passed down. Sorts run
on index buffers (no ``argsort`` allocations): counting sorts with branch-free
comparisons up to 128 pairs, merge sorts beyond. Each survival records the survivors'
lexicographic order, so the next generation sorts only its children and merges them in
(the same order as a full sort, so results are unchanged), and that order also gives
crowding its order of objective 0. With three objectives, non-dominated sorting compares
each row with every lexicographically earlier one, branch-free; otherwise it keeps its
fronts in a preallocated table and stops a row's search once it cannot survive
(:func:`rank_into`). The built-in objectives are evaluated inline
(:func:`evaluate_into` dispatches on the objective codes of :mod:`moopt.objectives`), so
the typed list of kernel pointers is only called for user-defined objectives.

The batch functions hand the per-user functions *borrowed* views of their arrays
(:func:`moopt._memory.borrowed`, of type :class:`moopt._memory.BorrowedArray`: no memory
info, so Numba emits no reference counting for them). On ordinary arrays Numba counts a
reference, with an atomic operation, wherever an inlined helper binds an array argument,
a row view is taken or a variable is copied: about 15,000 increfs and as many decrefs per
user. On one thread at 2,000 users a user took 245 us with them, 157 us with null memory
info (the counting calls still made, doing nothing) and 132 us with none emitted.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from .._memory import borrowed, keep_alive
from .._rng import next_float, next_int, stream_seed
from ..objectives.registry import (
    OBJ_ACCURACY,
    OBJ_DIVERSITY,
    OBJ_EXPECTED_HITS,
    OBJ_ILD,
    OBJ_NOVELTY,
)
from ..operators._kernels import crossover_row, hash_row, mutate_row, random_list_row
from .archive import archive_add_row

# ----------------------------------------------------------------------------- workspace

_LANES = 8  # int64 / float64 lanes of one 512-bit vector: the padding of ranking rows

Workspace = namedtuple(
    "Workspace",
    [
        "mx", "mf", "mh",  # merged population (q, K), (q, M), (q,)
        "order", "tmp", "sv", "tv", "keys",  # sorting: (q,) x 4, tie-break keys (q, 2)
        "rank", "count", "memb", "lexv",  # non-dominated sorting: (q,), (q + 8,), fronts
        # (q, q) int32, objectives in lexicographic order (3, q + 8)
        "start", "fill", "by_front",  # rows grouped by front: (q + 1,), (q + 1,), (q,)
        "cd",  # crowding of one front (q,)
        "posf", "lexf",  # rows' positions in their fronts, fronts in lexicographic order (q,)
        "keep", "keep_rank", "keep_cd",  # survivors: (P,)
        "plex", "n_plex",  # the survivors' lexicographic order (q,), how many are valid (1,)
        "perm", "cursor",  # tournament permutation (P,) and its position (1,)
        "pa", "pb", "c1", "c2",  # parents and children (K,)
        "used", "scratch",  # operator scratch (N,)
        "htab", "hstamp", "epoch",  # hash set of list hashes: (T,), (T,), (1,)
        "alive",  # merged rows that survive: (q,) bool
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
        np.empty(q, dtype=np.int64), np.empty(q + _LANES, dtype=np.int64),
        np.empty((q, q), dtype=np.int32), np.empty((3, q + _LANES)),
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


# ----------------------------------------------------------------------------- sorting


@njit(cache=True)
def dominates(a, b):
    """1 if ``a`` dominates ``b``, -1 if ``b`` dominates ``a``, 0 otherwise (minimisation)."""
    a_better = False
    b_better = False
    for m in range(a.shape[0]):
        if a[m] < b[m]:
            a_better = True
        elif b[m] < a[m]:
            b_better = True
        if a_better and b_better:
            return 0
    if a_better:
        return 1
    if b_better:
        return -1
    return 0


@njit(inline="always")
def _pair_less(va, ia, vb, ib, keys, nk):
    """(value ``va``, row ``ia``) before (``vb``, ``ib``): by value, then by columns
    ``1..nk-1`` of ``keys`` at the rows, then by row (a strict total order)."""
    if va < vb:
        return True
    if vb < va:
        return False
    for c in range(1, nk):
        x = keys[ia, c]
        y = keys[ib, c]
        if x < y:
            return True
        if y < x:
            return False
    return ia < ib


@njit(inline="always")
def _merge_runs(sv, si, dv, di, lo, mid, hi, keys, nk):
    """Merge the sorted runs ``[lo, mid)`` and ``[mid, hi)`` of the pairs (``sv``,
    ``si``) into the same positions of (``dv``, ``di``), in :func:`_pair_less` order."""
    i = lo
    j = mid
    o = lo
    while i < mid and j < hi:
        if _pair_less(sv[j], si[j], sv[i], si[i], keys, nk):
            dv[o] = sv[j]
            di[o] = si[j]
            j += 1
        else:
            dv[o] = sv[i]
            di[o] = si[i]
            i += 1
        o += 1
    while i < mid:
        dv[o] = sv[i]
        di[o] = si[i]
        i += 1
        o += 1
    while j < hi:
        dv[o] = sv[j]
        di[o] = si[j]
        j += 1
        o += 1


_COUNT_SORT_MAX = 128


@njit(inline="always")
def _count_sort(vals, idx, n, tv, ti, keys, nk):
    """:func:`sort_pairs` for small ``n``: each pair's final place is the number of pairs
    before it, counted over all pairs. O(n^2) comparisons, but branch-free ones that
    vectorise, against a merge sort's O(n log n) mispredicted branches (four times
    faster at n = 50). ``idx`` holds distinct rows, so the places are distinct."""
    for i in range(n):
        x = vals[i]
        xi = idx[i]
        c = 0
        if nk <= 1:
            for j in range(n):
                c += (vals[j] < x) | ((vals[j] == x) & (idx[j] < xi))
        else:
            e = 0
            for j in range(n):
                c += vals[j] < x
                e += vals[j] == x
            if e > 1:  # exact ties of the value (rare): the full order among them
                for j in range(n):
                    if j != i and vals[j] == x and _pair_less(x, idx[j], x, xi, keys, nk):
                        c += 1
        tv[c] = x
        ti[c] = xi
    for t in range(n):
        vals[t] = tv[t]
        idx[t] = ti[t]


@njit(cache=True)
def sort_pairs(vals, idx, n, tv, ti, keys, nk):
    """Sort the pairs (``vals[t]``, ``idx[t]``), t < n, in place: by value, ties by
    columns ``1..nk-1`` of ``keys[idx]``, then by ``idx`` (so the result equals a stable
    argsort on those keys). ``tv`` and ``ti`` (n,) are scratch; nothing is allocated.
    Up to 128 pairs without NaN: a counting sort (:func:`_count_sort`); otherwise values
    move with their rows, so comparisons read contiguous memory; insertion-sorted runs of
    16, then bottom-up merges (a permutation whatever the values)."""
    if n <= _COUNT_SORT_MAX:
        finite = True
        for t in range(n):
            finite &= vals[t] == vals[t]
        if finite:  # NaN compares false both ways, so counted places could collide
            _count_sort(vals, idx, n, tv, ti, keys, nk)
            return
    run = 16
    for lo in range(0, n, run):
        hi = min(lo + run, n)
        for i in range(lo + 1, hi):
            cv = vals[i]
            ci = idx[i]
            j = i - 1
            while j >= lo and _pair_less(cv, ci, vals[j], idx[j], keys, nk):
                vals[j + 1] = vals[j]
                idx[j + 1] = idx[j]
                j -= 1
            vals[j + 1] = cv
            idx[j + 1] = ci
    sv = vals
    si = idx
    dv = tv
    di = ti
    in_place = True
    width = run
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            _merge_runs(sv, si, dv, di, lo, mid, hi, keys, nk)
        sv, dv = dv, sv
        si, di = di, si
        in_place = not in_place
        width *= 2
    if not in_place:
        for t in range(n):
            vals[t] = sv[t]
            idx[t] = si[t]


@njit(cache=True)
def lex_order_into(F, q, order, tmp, sv, tv, head=None, n_head=0):
    """Rows ``0..q-1`` of ``F`` in lexicographic order (column 0 first, ties by row)
    into ``order``; ``tmp``, ``sv`` and ``tv`` (q,) are scratch.

    ``head[:n_head]``, if given, is a permutation of rows ``0..n_head-1`` expected in
    that order (the population, whose order the previous survival recorded): if it is
    (checked, n_head - 1 comparisons), only the other rows are sorted and the two runs
    merged; otherwise everything is sorted. Either way the result is a full sort's."""
    nk = F.shape[1]
    if head is not None and 1 < n_head <= q:
        for t in range(n_head):
            order[t] = head[t]
            sv[t] = F[head[t], 0]
        for t in range(1, n_head):
            if _pair_less(sv[t], order[t], sv[t - 1], order[t - 1], F, nk):
                n_head = 0  # not the order of these rows: a stale or foreign hint
                break
    else:
        n_head = 0
    if n_head == 0:
        for t in range(q):
            sv[t] = F[t, 0]
            order[t] = t
        sort_pairs(sv, order, q, tv, tmp, F, nk)
        return
    for t in range(n_head, q):
        sv[t] = F[t, 0]
        order[t] = t
    if n_head == q:
        return
    sort_pairs(sv[n_head:q], order[n_head:q], q - n_head, tv, tmp, F, nk)
    _merge_runs(sv, order, tv, tmp, 0, n_head, q, F, nk)
    for t in range(q):
        sv[t] = tv[t]
        order[t] = tmp[t]


@njit(cache=True)
def lexicographic_order(F):
    """Row indices sorting ``F`` lexicographically (column 0 first), stable."""
    q = F.shape[0]
    order = np.empty(q, dtype=np.int64)
    lex_order_into(F, q, order, np.empty(q, dtype=np.int64), np.empty(q), np.empty(q))
    return order


@njit(inline="always")
def _dominates_earlier(F, j, i):
    """True if row ``j``, which precedes row ``i`` in lexicographic order (so
    ``F[j, 0] <= F[i, 0]``), dominates it (minimisation)."""
    m = F.shape[1]
    for c in range(1, m):
        if F[j, c] > F[i, c]:
            return False
    for c in range(m):
        if F[j, c] != F[i, c]:
            return True
    return False


@njit(cache=True)
def _rank_into_3(F, q, rank, order, L, lrank):
    """:func:`rank_into` for three objectives, every rank exact: with the rows in
    lexicographic order, a row's front is one more than the largest front among the
    earlier rows that dominate it (all its dominators are earlier).

    Rows equal to row t in every objective come just before it in that order; every
    earlier row differs from it and is no larger in objective 0, so it dominates row t
    exactly when it is no larger in objectives 1 and 2. Each row is compared with every
    earlier one, q^2 / 2 comparisons, but branch-free ones over contiguous copies of the
    objectives (``L`` (3, q + 8), in lexicographic order; ``lrank`` (q + 8,) their fronts)
    that vectorise: faster at q = 100 than a search of the fronts, whose every step is a
    data-dependent branch. Each row's comparisons run over a whole number of vectors
    (rows past the earlier ones masked out; ``L`` and ``lrank`` narrower than q + 8 get
    none), so none falls to a scalar remainder loop, which at these lengths took half
    the time.
    """
    L0 = L[0]
    L1 = L[1]
    L2 = L[2]
    for t in range(q):
        i = order[t]
        L0[t] = F[i, 0]
        L1[t] = F[i, 1]
        L2[t] = F[i, 2]
    n_fronts = 0
    padded = L.shape[1] >= q + _LANES and lrank.shape[0] >= q + _LANES
    e = 0  # rows before e differ from row t; rows e..t-1 equal it
    for t in range(q):
        x0 = L0[t]
        x1 = L1[t]
        x2 = L2[t]
        if not (t > 0 and L0[t - 1] == x0 and L1[t - 1] == x1 and L2[t - 1] == x2):
            e = t
        worst = np.int64(-1)
        for j in range((e + _LANES - 1) // _LANES * _LANES if padded else e):
            dom = (L1[j] <= x1) & (L2[j] <= x2) & (j < e)
            worst = max(worst, lrank[j] if dom else np.int64(-1))
        r = worst + 1
        lrank[t] = r
        rank[order[t]] = r
        if r >= n_fronts:
            n_fronts = r + 1
    return n_fronts


@njit(cache=True)
def rank_into(F, q, rank, order, tmp, count, memb, lexv, sv, tv, n_keep, head=None,
              n_head=0):  # fmt: skip
    """Front index of rows ``0..q-1`` of ``F`` into ``rank`` (0 = non-dominated); returns
    the number of fronts. ``order``, ``tmp``, ``sv``, ``tv`` (q,), ``count`` (q + 8,),
    ``memb`` (q, q) int32 and ``lexv`` (3, q + 8) are scratch.

    With three objectives every rank is exact (:func:`_rank_into_3`). Otherwise:
    efficient non-dominated sort with sequential search (ENS-SS; Zhang, Tian, Cheng and
    Jin, IEEE TEVC 2015): rows are visited in lexicographic order, so a row can only be
    dominated by rows already placed, and each joins the first front none of whose
    members dominates it (members checked newest first, where a dominator is likeliest).
    ``memb[f, :count[f]]`` lists front ``f``; the table is preallocated workspace.

    Survival needs exact fronts only until they hold ``n_keep`` rows: once fronts
    ``0..c-1`` hold at least ``n_keep`` rows, a row that every one of them dominates goes
    to front ``c`` or later and cannot survive, so its search stops at ``c`` (its rank is
    then ``c``, a lower bound) and it joins no front. Rows that can survive, and every row
    of a front before the final cut, get their exact front (the order of visits makes
    every dominator of such a row one of those rows). ``n_keep = q``: every rank exact.
    ``head[:n_head]``: rows ``0..n_head-1`` in lexicographic order, if known (see
    :func:`lex_order_into`).
    """
    lex_order_into(F, q, order, tmp, sv, tv, head, n_head)
    if F.shape[1] == 3:
        return _rank_into_3(F, q, rank, order, lexv, count)
    n_fronts = 0
    cut = q  # rows that reach front ``cut`` cannot survive
    below = 0  # rows placed in fronts before ``cut``
    for t in range(q):
        i = order[t]
        f = 0
        while f < n_fronts and f < cut:
            dominated = False
            for s in range(count[f] - 1, -1, -1):
                if _dominates_earlier(F, memb[f, s], i):
                    dominated = True
                    break
            if not dominated:
                break
            f += 1
        rank[i] = f
        if f == cut:
            continue
        if f == n_fronts:
            count[f] = 0
            n_fronts += 1
        memb[f, count[f]] = i
        count[f] += 1
        below += 1
        if below >= n_keep:
            # Lower the cut while the fronts before it would still hold n_keep rows.
            cut = min(cut, n_fronts)
            while below - count[cut - 1] >= n_keep:
                cut -= 1
                below -= count[cut]
    return n_fronts


@njit(cache=True)
def nondominated_rank(F):
    """Front index of every row of ``F`` (0 = non-dominated); see :func:`rank_into`."""
    q = F.shape[0]
    rank = np.empty(q, dtype=np.int64)
    scratch = np.empty((2, q), dtype=np.int64)
    rank_into(F, q, rank, scratch[0], scratch[1], np.empty(q + _LANES, dtype=np.int64),
              np.empty((q, q), dtype=np.int32), np.empty((3, q + _LANES)), np.empty(q),
              np.empty(q), q)  # fmt: skip
    return rank


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
    """Survival of rows ``0..q-1`` of ``F``: the ``n_keep`` survivors into ``ws.keep``
    with their rank and crowding (``ws.keep_rank``, ``ws.keep_cd``), the front index of
    every row into ``ws.rank`` (exact up to the splitting front; rows past it may get a
    lower bound that is still past it, see :func:`rank_into`) and whether it survives
    into ``ws.alive``.

    Fronts are taken whole while they fit; the splitting front is truncated by crowding
    distance, larger first, equal distances in random order (one draw per member).

    ``ws.plex`` receives the survivors' lexicographic order as positions in ``keep``
    (ties by position), so that the next survival, whose first ``n_head`` rows are these
    survivors in ``keep`` order, only sorts the new rows (``ws.plex`` read as the head,
    see :func:`lex_order_into`).
    """
    rank = ws.rank
    n_fronts = rank_into(F, q, rank, ws.order, ws.tmp, ws.count, ws.memb, ws.lexv,
                         ws.sv, ws.tv, n_keep, ws.plex, n_head)  # fmt: skip
    # Counting sort of the rows by front. Rows whose search stopped at the cut (see
    # rank_into) rank at or past every front the loop below reaches; rank n_fronts, which
    # only they can have, is left out.
    start = ws.start
    fill = ws.fill
    by_front = ws.by_front
    for r in range(n_fronts + 1):
        start[r] = 0
    for i in range(q):
        if rank[i] < n_fronts:
            start[rank[i] + 1] += 1
    for r in range(n_fronts):
        start[r + 1] += start[r]
    for r in range(n_fronts):
        fill[r] = start[r]
    posf, lexf, lfill = ws.posf, ws.lexf, ws.count  # ``count`` is free after ranking
    for i in range(q):
        r = rank[i]
        if r < n_fronts:
            by_front[fill[r]] = i
            posf[i] = fill[r] - start[r]
            fill[r] += 1
    # Each front's positions in lexicographic order (``ws.order``): crowding's order of
    # objective 0 without a sort.
    for r in range(n_fronts):
        lfill[r] = start[r]
    for t in range(q):
        i = ws.order[t]
        r = rank[i]
        if r < n_fronts:
            lexf[lfill[r]] = posf[i]
            lfill[r] += 1
    # ``fill`` is scratch from here; ``ws.order`` (the lexicographic order) is kept.
    keep, keep_rank, keep_cd, cd, keys = ws.keep, ws.keep_rank, ws.keep_cd, ws.cd, ws.keys
    filled = 0
    for r in range(n_fronts):
        if filled == n_keep:
            break
        members = by_front[start[r] : start[r + 1]]
        size = members.shape[0]
        crowding_into(F, members, size, cd, fill, ws.tmp, ws.sv, ws.tv, keys,
                      lexf[start[r] : start[r + 1]])  # fmt: skip
        if filled + size <= n_keep:
            for a in range(size):
                keep[filled] = members[a]
                keep_rank[filled] = r
                keep_cd[filled] = cd[a]
                filled += 1
        else:
            # Truncate the splitting front: crowding descending, random order among ties.
            sv, order = ws.sv, fill
            for a in range(size):
                sv[a] = -cd[a]
                keys[a, 1] = next_float(state)
                order[a] = a
            sort_pairs(sv, order, size, ws.tv, ws.tmp, keys, 2)
            for a in range(n_keep - filled):
                b = order[a]
                keep[filled] = members[b]
                keep_rank[filled] = r
                keep_cd[filled] = cd[b]
                filled += 1
    _record_lex_order(F, q, n_keep, ws)


@njit(cache=True)
def _record_lex_order(F, q, n_keep, ws):
    """``ws.alive`` for the merged rows, and ``ws.plex``: the survivors' positions in
    ``ws.keep`` in lexicographic order of their objectives, ties by position."""
    alive, pos, plex, order = ws.alive, ws.fill, ws.plex, ws.order
    for i in range(q):
        alive[i] = False
    for j in range(n_keep):
        alive[ws.keep[j]] = True
        pos[ws.keep[j]] = j
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
            w = ws.keep[plex[b - 1]]
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
    ws.n_plex[0] = c


@njit(cache=True)
def survive(F, n_keep, state):
    """Indices of the ``n_keep`` survivors of ``F`` with their rank and crowding, and the
    front index of every row of ``F`` (past the splitting front: a lower bound that is
    still past it)."""
    q, m = F.shape
    ws = make_workspace(q, n_keep, 1, m, 1)
    survive_into(F, q, n_keep, state, ws)
    return ws.keep, ws.keep_rank, ws.keep_cd, ws.rank


@njit(inline="always")
def next_competitor(perm, cursor, state):
    """The next tournament competitor. As in pymoo's ``TournamentSelection``, competitors
    are read from concatenated random permutations of the population, so every member
    competes equally often; ``perm`` (P,) and ``cursor`` (1,) carry the position."""
    p = perm.shape[0]
    if cursor[0] >= p:
        for i in range(p):
            perm[i] = i
        for i in range(p - 1, 0, -1):
            j = next_int(state, i + 1)
            tmp = perm[i]
            perm[i] = perm[j]
            perm[j] = tmp
        cursor[0] = 0
    c = perm[cursor[0]]
    cursor[0] += 1
    return c


@njit(inline="always")
def tournament(rank, crowd, perm, cursor, state):
    """Binary tournament: lower rank wins, then larger crowding, then a coin flip."""
    a = next_competitor(perm, cursor, state)
    b = next_competitor(perm, cursor, state)
    if rank[a] != rank[b]:
        return a if rank[a] < rank[b] else b
    if crowd[a] != crowd[b]:
        return a if crowd[a] > crowd[b] else b
    return a if next_float(state) < 0.5 else b


# ----------------------------------------------------------------------------- helpers


@njit(cache=True)
def finite_columns(F, AF, sizes):
    """(M,) bool: whether objective m is finite in every row of ``F`` (U, P, M) and in the
    first ``sizes[u]`` rows of ``AF[u]`` (U, A, M)."""
    m = F.shape[2]
    ok = np.ones(m, dtype=np.bool_)
    for u in range(F.shape[0]):
        for i in range(F.shape[1]):
            for c in range(m):
                ok[c] &= np.isfinite(F[u, i, c])
        for i in range(min(sizes[u], AF.shape[1])):
            for c in range(m):
                ok[c] &= np.isfinite(AF[u, i, c])
    return ok


# ----------------------------------------------------------------------------- evaluation

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@njit(inline="always")
def popcount64(v):
    """Set bits of a non-negative int64 (SWAR popcount, no loop over bits)."""
    x = np.uint64(v)
    x = x - ((x >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return np.int64((x * _H01) >> np.uint64(56))


@njit(cache=True)
def evaluate_into(out, kernels, codes, x, fdata, idata, consts, foff, ioff, coff):
    """Minimised objective values (negated kernel values) of the lists ``x`` into ``out``.

    Objective ``j`` with a built-in code (``codes[j] >= 0``, see
    :mod:`moopt.objectives.registry`) is computed inline, with the same arithmetic as
    its kernel; the others call their kernel through the typed list ``kernels``.
    """
    n_obj = codes.shape[0]
    k = x.shape[1]
    for j in range(n_obj):
        code = codes[j]
        f0 = foff[j]
        i0 = ioff[j]
        c0 = coff[j]
        if code == OBJ_ACCURACY:
            ideal = consts[c0]
            for i in range(x.shape[0]):
                if ideal <= 0.0:
                    out[i, j] = -1.0
                    continue
                total = 0.0
                for p in range(k):
                    total += fdata[x[i, p], f0] * consts[c0 + 1 + p]
                out[i, j] = -(total / ideal)
        elif code == OBJ_EXPECTED_HITS:
            ideal = consts[c0]
            for i in range(x.shape[0]):
                if ideal <= 0.0:
                    out[i, j] = -1.0
                    continue
                total = 0.0
                for p in range(k):
                    total += fdata[x[i, p], f0]
                out[i, j] = -(total / ideal)
        elif code == OBJ_NOVELTY:
            for i in range(x.shape[0]):
                total = 0.0
                for p in range(k):
                    total += fdata[x[i, p], f0]
                out[i, j] = -(total / k)
        elif code == OBJ_DIVERSITY:
            n_cat = consts[c0]
            for i in range(x.shape[0]):
                covered = 0
                for w in range(i0, ioff[j + 1]):
                    union = 0
                    for p in range(k):
                        union |= idata[x[i, p], w]
                    covered += popcount64(union)
                out[i, j] = -(covered / n_cat)
        elif code == OBJ_ILD:
            for i in range(x.shape[0]):
                out[i, j] = -_ild(x[i], idata, i0, ioff[j + 1])
        else:
            kernel = kernels[j]
            fd = fdata[:, f0 : foff[j + 1]]
            idd = idata[:, i0 : ioff[j + 1]]
            cs = consts[c0 : coff[j + 1]]
            for i in range(x.shape[0]):
                out[i, j] = -kernel(x[i], fd, idd, cs)


@njit(inline="always")
def _ild(positions, idata, w0, w1):
    """The ILD kernel's arithmetic on category words ``w0..w1-1`` of ``idata``."""
    k = positions.shape[0]
    if k < 2:
        return 0.0
    total = 0.0
    for a in range(k):
        for b in range(a + 1, k):
            inter = 0
            union = 0
            for w in range(w0, w1):
                x = idata[positions[a], w]
                y = idata[positions[b], w]
                inter += popcount64(x & y)
                union += popcount64(x | y)
            if union > 0:
                total += 1.0 - inter / union
    return total / (k * (k - 1) / 2)


@njit(cache=True)
def _survive_into(X, F, H, rank, crowd, ws, total, state, arc, first_new, n_protected,
                  n_head):  # fmt: skip
    """Survival of the ``total`` merged rows (``ws.mx``, ``ws.mf``, ``ws.mh``) back into
    the population.

    The archive ``arc`` is offered the rows that leave the search while non-dominated:
    rows of the merged set's first front that do not survive (truncated by crowding).
    Rows that survive are offered when they leave later or, at the end of the run, by
    :func:`archive_population_batch`; a row dominated when it leaves is dominated by a
    row that is (or will be) offered. So the archive still ends as the non-dominated
    set of everything evaluated, with far fewer offers than one per new non-dominated
    row. The first ``n_protected`` rows from ``first_new`` on are seeds: offered at once,
    as protected entries, if non-dominated. ``n_head``: the first rows are the population
    and ``ws.plex`` holds their lexicographic order (0: not known).
    """
    mx, mf, mh = ws.mx, ws.mf, ws.mh
    p = X.shape[0]
    survive_into(mf, total, p, state, ws, n_head)
    AX, AF, AH, AP, meta = arc
    if AX.shape[0] > 0:
        alive = ws.alive
        for i in range(total):
            if ws.rank[i] == 0:
                seed = first_new <= i < first_new + n_protected
                if seed or not alive[i]:
                    archive_add_row(AX, AF, AH, AP, meta, mx, mf, i, mh[i], seed)
    k = X.shape[1]
    m = F.shape[1]
    for i in range(X.shape[0]):
        src = ws.keep[i]
        for c in range(k):
            X[i, c] = mx[src, c]
        for c in range(m):
            F[i, c] = mf[src, c]
        H[i] = mh[src]
        rank[i] = ws.keep_rank[i]
        crowd[i] = ws.keep_cd[i]


# ----------------------------------------------------------------------------- one user


@njit(cache=True)
def init_user(X, F, H, rank, crowd, seeds, n_seeds, n, state, kernels, codes, fdata, idata,
              consts, foff, ioff, coff, max_tries, arc, ws):  # fmt: skip
    """Fill the population: the ``n_seeds`` seed lists (duplicates dropped), then random
    distinct lists; evaluate it and assign rank and crowding. Returns the size reached.
    ``ws`` is a :class:`Workspace` with room for at least P merged rows."""
    p = X.shape[0]
    mx, mh, htab, hstamp = ws.mx, ws.mh, ws.htab, ws.hstamp
    ws.epoch[0] += 1
    e = ws.epoch[0]
    size = 0
    for s in range(n_seeds):
        if size == p:
            break
        h = hash_row(seeds[s])
        if hset_add(htab, hstamp, e, h):
            mx[size] = seeds[s]
            mh[size] = h
            size += 1
    n_unique_seeds = size
    tries = 0
    while size < p and tries < max_tries * p:
        random_list_row(mx[size], n, state, ws.scratch)
        h = hash_row(mx[size])
        tries += 1
        if hset_add(htab, hstamp, e, h):
            mh[size] = h
            size += 1
    if size < p:
        return size
    evaluate_into(ws.mf[:p], kernels, codes, mx[:p], fdata, idata, consts, foff, ioff, coff)
    _survive_into(X, F, H, rank, crowd, ws, p, state, arc, 0, n_unique_seeds, 0)
    return size


@njit(inline="always")
def _take_child(child, mx, mh, p, made, n, state, used, p_mut, p_swap, htab, hstamp, e):
    """Mutate ``child`` with probability ``p_mut``; unless its hash is already in the set,
    store it as merged row ``p + made``. Returns the new number of children."""
    if next_float(state) < p_mut:
        mutate_row(child, n, state, used, p_swap)
    h = hash_row(child)
    if not hset_add(htab, hstamp, e, h):
        return made
    for c in range(child.shape[0]):
        mx[p + made, c] = child[c]
    mh[p + made] = h
    return made + 1


@njit(cache=True)
def generation_user(X, F, H, rank, crowd, n, state, kernels, codes, fdata, idata, consts, foff,
                    ioff, coff, p_cx, p_mut, cx_kind, p_swap, eta, max_tries, arc,
                    ws):  # fmt: skip
    """One NSGA-II generation for one user, in place; ``ws`` is a :class:`Workspace`
    with room for 2P merged rows, used for this user only from one generation to the
    next (it carries the population's lexicographic order). Returns the number of
    children."""
    p = X.shape[0]
    mx, mf, mh, c1, c2, used = ws.mx, ws.mf, ws.mh, ws.c1, ws.c2, ws.used
    htab, hstamp = ws.htab, ws.hstamp
    ws.epoch[0] += 1
    e = ws.epoch[0]
    mx[:p] = X
    mf[:p] = F
    for i in range(p):
        mh[i] = H[i]
        hset_add(htab, hstamp, e, H[i])
    made = 0
    tries = 0
    perm, cursor = ws.perm, ws.cursor
    cursor[0] = p  # exhausted: the first draw shuffles
    k = X.shape[1]
    pa, pb = ws.pa, ws.pb
    while made < p and tries < max_tries:
        tries += 1
        a = tournament(rank, crowd, perm, cursor, state)
        b = tournament(rank, crowd, perm, cursor, state)
        if next_float(state) < p_cx:
            for c in range(k):
                pa[c] = X[a, c]
                pb[c] = X[b, c]
            crossover_row(cx_kind, pa, pb, c1, c2, n, state, used, eta)
        else:
            for c in range(k):
                c1[c] = X[a, c]
                c2[c] = X[b, c]
        made = _take_child(c1, mx, mh, p, made, n, state, used, p_mut, p_swap, htab, hstamp, e)
        if made < p:
            made = _take_child(c2, mx, mh, p, made, n, state, used, p_mut, p_swap, htab,
                               hstamp, e)  # fmt: skip
    if made == 0:
        return 0
    total = p + made
    evaluate_into(mf[p:total], kernels, codes, mx[p:total], fdata, idata, consts, foff, ioff,
                  coff)  # fmt: skip
    # A workspace serves one user's consecutive generations, so the population is the
    # survivors of its last survival and ``ws.plex`` their order (checked before use).
    n_head = p if ws.n_plex[0] == p else 0
    _survive_into(X, F, H, rank, crowd, ws, total, state, arc, p, 0, n_head)
    return made


@njit(cache=True)
def inject_user(X, F, H, rank, crowd, lists, state, kernels, codes, fdata, idata, consts, foff,
                ioff, coff, arc, ws):  # fmt: skip
    """Merge ``lists`` into the population (new ones only), then survive back to size;
    ``ws`` has room for P + len(lists) merged rows."""
    p = X.shape[0]
    m = lists.shape[0]
    mx, mf, mh, htab, hstamp = ws.mx, ws.mf, ws.mh, ws.htab, ws.hstamp
    ws.epoch[0] += 1
    e = ws.epoch[0]
    mx[:p] = X
    mf[:p] = F
    for i in range(p):
        mh[i] = H[i]
        hset_add(htab, hstamp, e, H[i])
    n_new = 0
    for i in range(m):
        h = hash_row(lists[i])
        if hset_add(htab, hstamp, e, h):
            mx[p + n_new] = lists[i]
            mh[p + n_new] = h
            n_new += 1
    if n_new == 0:
        return 0
    total = p + n_new
    evaluate_into(mf[p:total], kernels, codes, mx[p:total], fdata, idata, consts, foff, ioff,
                  coff)  # fmt: skip
    _survive_into(X, F, H, rank, crowd, ws, total, state, arc, p, 0, 0)
    return n_new


# ----------------------------------------------------------------------------- all users


@njit(parallel=True, cache=True)
def init_batch(X, F, H, rank, crowd, states, seeds, n_seeds, seed, stream_ids, n, kernels,
               codes, fdata, idata, consts, foff, ioff, coff, max_tries, AX, AF, AH, AP,
               ameta):  # fmt: skip
    """Initialise every user's population. User ``u`` draws from stream
    ``stream_ids[u]`` of ``seed`` (its global index, so a shard reproduces the whole run);
    ``states`` (U,) receives each stream's position."""
    u_count, p, k = X.shape
    sizes = np.empty(u_count, dtype=np.int64)
    n_chunks = _n_chunks(u_count)
    for ch in prange(n_chunks):
        owned = (make_workspace(p, p, k, F.shape[2], n), np.empty(1, dtype=np.uint64))
        ws, state = borrowed(owned)
        bX, bF, bH, brank, bcrowd = borrowed((X, F, H, rank, crowd))
        bseeds, bfdata, bidata, bconsts = borrowed((seeds, fdata, idata, consts))
        bAX, bAF, bAH, bAP, bameta = borrowed((AX, AF, AH, AP, ameta))
        for u in range(ch * u_count // n_chunks, (ch + 1) * u_count // n_chunks):
            state[0] = stream_seed(seed, stream_ids[u])
            sizes[u] = init_user(
                bX[u], bF[u], bH[u], brank[u], bcrowd[u], bseeds[u], n_seeds[u], n, state, kernels,
                codes, bfdata[u], bidata[u], bconsts[u], foff, ioff, coff, max_tries,
                (bAX[u], bAF[u], bAH[u], bAP[u], bameta[u]), ws,
            )  # fmt: skip
            states[u] = state[0]
        keep_alive(owned)
    return sizes


@njit(inline="always")
def _n_chunks(u_count):
    """Blocks of up to 32 consecutive users for the parallel loops: each block allocates
    one workspace and reuses it for its users (a workspace is about 200 KB at P = 50, and
    allocating one per user cost several microseconds). The result does not depend on
    the blocking (each user has its own random stream)."""
    return (u_count + 31) // 32


@njit(parallel=True, cache=True)
def evolve_batch(X, F, H, rank, crowd, states, n_steps, n, kernels, codes, fdata, idata, consts,
                 foff, ioff, coff, AX, AF, AH, AP, ameta, p_cx, p_mut, cx_kind, p_swap, eta,
                 max_tries):  # fmt: skip
    """Run ``n_steps`` generations for every user; returns children made per user.
    A workspace serves a block of users (:func:`_n_chunks`), one user's generations at a
    time."""
    u_count, p, k = X.shape
    made = np.zeros(u_count, dtype=np.int64)
    n_chunks = _n_chunks(u_count)
    for ch in prange(n_chunks):
        owned = (make_workspace(2 * p, p, k, F.shape[2], n), np.empty(1, dtype=np.uint64))
        ws, state = borrowed(owned)
        bX, bF, bH, brank, bcrowd = borrowed((X, F, H, rank, crowd))
        bfdata, bidata, bconsts = borrowed((fdata, idata, consts))
        bAX, bAF, bAH, bAP, bameta = borrowed((AX, AF, AH, AP, ameta))
        for u in range(ch * u_count // n_chunks, (ch + 1) * u_count // n_chunks):
            state[0] = states[u]
            ws.n_plex[0] = 0  # the recorded order is the previous user's
            for _ in range(n_steps):
                made[u] += generation_user(
                    bX[u], bF[u], bH[u], brank[u], bcrowd[u], n, state, kernels, codes, bfdata[u],
                    bidata[u], bconsts[u], foff, ioff, coff, p_cx, p_mut, cx_kind, p_swap, eta,
                    max_tries, (bAX[u], bAF[u], bAH[u], bAP[u], bameta[u]), ws,
                )  # fmt: skip
            states[u] = state[0]
        keep_alive(owned)
    return made


@njit(parallel=True, cache=True)
def run_batch(X, F, H, rank, crowd, seeds, n_seeds, seed, stream_ids, n_steps, n, kernels,
              codes, fdata, idata, consts, foff, ioff, coff, max_tries, SX, SF, SP, start, size,
              overflow, bad, p_cx, p_mut, cx_kind, p_swap, eta, max_tries_gen):  # fmt: skip
    """A whole run without a callback: per user, :func:`init_user`, ``n_steps``
    generations and the archive's final pass (:func:`archive_population_batch`), one
    user after another in each block of users.

    A user's archive lives in its block's workspace while the user runs (memory that is
    already mapped and warm), then is copied into the staging arrays ``SX`` (R, K), ``SF``
    (R, M), ``SP`` (R,) packed, block after block: block ``b`` owns rows from
    ``b * 32 * A`` on (A the capacity, ``SX.shape[0] // (32 * n_blocks)``), so only the
    rows used are ever written (few pages per user, where a per-user region of capacity A
    touched four arrays' pages). ``start``/``size``/``overflow`` (U,) receive each user's
    first staging row, archive size and overflow count; ``bad`` (U, M) is True where an
    archive entry had a non-finite value before the final pass (which may drop entries).
    Returns the population sizes reached (below P: the caller raises) and the children
    made per user. The same operations in the same order as :func:`init_batch`,
    :func:`evolve_batch` and :func:`archive_population_batch`, so results are identical.
    """
    u_count, p, k = X.shape
    m = F.shape[2]
    sizes = np.zeros(u_count, dtype=np.int64)
    made = np.zeros(u_count, dtype=np.int64)
    n_chunks = _n_chunks(u_count)
    cap = SX.shape[0] // (32 * n_chunks) if n_chunks > 0 else 0
    for ch in prange(n_chunks):
        owned = (make_workspace(2 * p, p, k, m, n),
                 (np.empty((cap, k), dtype=np.int64), np.empty((m, cap)).T,
                  np.empty(cap, dtype=np.uint64), np.empty(cap, dtype=np.uint8),
                  np.zeros(2, dtype=np.int64)),
                 np.empty(1, dtype=np.uint64))  # fmt: skip
        # The archive's values are stored column by column (an F-ordered view), so an
        # offer's scans over the entries read contiguous memory.
        ws, arc, state = borrowed(owned)
        bX, bF, bH, brank, bcrowd = borrowed((X, F, H, rank, crowd))
        bseeds, bfdata, bidata, bconsts = borrowed((seeds, fdata, idata, consts))
        AX, AF, _, AP, meta = arc
        row = ch * 32 * cap
        for u in range(ch * u_count // n_chunks, (ch + 1) * u_count // n_chunks):
            meta[0] = 0
            meta[1] = 0
            state[0] = stream_seed(seed, stream_ids[u])
            sizes[u] = init_user(
                bX[u], bF[u], bH[u], brank[u], bcrowd[u], bseeds[u], n_seeds[u], n, state, kernels,
                codes, bfdata[u], bidata[u], bconsts[u], foff, ioff, coff, max_tries, arc, ws,
            )  # fmt: skip
            start[u] = row
            if sizes[u] < p:
                continue
            ws.n_plex[0] = 0  # as in evolve_batch: no recorded order at a user's start
            for _ in range(n_steps):
                made[u] += generation_user(
                    bX[u], bF[u], bH[u], brank[u], bcrowd[u], n, state, kernels, codes, bfdata[u],
                    bidata[u], bconsts[u], foff, ioff, coff, p_cx, p_mut, cx_kind, p_swap, eta,
                    max_tries_gen, arc, ws,
                )  # fmt: skip
            if cap == 0:
                continue
            for j in range(meta[0]):
                for c in range(m):
                    if not np.isfinite(AF[j, c]):
                        bad[u, c] = True
            _offer_first_front(arc, bX[u], bF[u], bH[u], brank[u])
            a = meta[0]
            for j in range(a):
                for c in range(k):
                    SX[row + j, c] = AX[j, c]
                for c in range(m):
                    SF[row + j, c] = AF[j, c]
                SP[row + j] = AP[j]
            size[u] = a
            overflow[u] = meta[1]
            row += a
        keep_alive(owned)
    return sizes, made


@njit(parallel=True, cache=True)
def gather_archives(SX, SF, SP, start, size, AX, AF, AP):
    """Copy each user's staged archive into the results (U, A', ...), values negated
    (results maximise); rows past a user's size get positions -1, values NaN, not
    protected. The results' pages are mapped before this runs (``MAP_POPULATE``), so
    both threads write without page faults."""
    k = AX.shape[2]
    m = AF.shape[2]
    for u in prange(AX.shape[0]):
        o = start[u]
        s = size[u]
        for j in range(s):
            for c in range(k):
                AX[u, j, c] = SX[o + j, c]
            for c in range(m):
                AF[u, j, c] = -SF[o + j, c]
            AP[u, j] = SP[o + j]
        for j in range(s, AX.shape[1]):
            for c in range(k):
                AX[u, j, c] = -1
            for c in range(m):
                AF[u, j, c] = np.nan
            AP[u, j] = 0


@njit(inline="always")
def _offer_first_front(arc, X, F, H, rank):
    """Offer one user's final first front to its archive ``arc`` (the end of a run; see
    :func:`_survive_into`)."""
    AX, AF, AH, AP, meta = arc
    for i in range(X.shape[0]):
        if rank[i] == 0:
            archive_add_row(AX, AF, AH, AP, meta, X, F, i, H[i], False)


@njit(parallel=True, cache=True)
def archive_population_batch(X, F, H, rank, AX, AF, AH, AP, ameta):
    """:func:`_offer_first_front` for every user."""
    if AX.shape[1] == 0:
        return
    bX, bF, bH, brank = borrowed((X, F, H, rank))
    bAX, bAF, bAH, bAP, bameta = borrowed((AX, AF, AH, AP, ameta))
    for u in prange(X.shape[0]):
        _offer_first_front((bAX[u], bAF[u], bAH[u], bAP[u], bameta[u]), bX[u], bF[u], bH[u],
                           brank[u])  # fmt: skip


@njit(cache=True)
def inject_batch(X, F, H, rank, crowd, states, lists, kernels, codes, fdata, idata, consts,
                 foff, ioff, coff, AX, AF, AH, AP, ameta):  # fmt: skip
    """Merge per-user ``lists`` (U, m, K) into the populations (serial: a few lists per
    user, so the cost is small and the compile time of a parallel loop is saved)."""
    u_count, p, k = X.shape
    added = np.zeros(u_count, dtype=np.int64)
    owned = (make_workspace(p + lists.shape[1], p, k, F.shape[2], 1),
             np.empty(1, dtype=np.uint64))  # fmt: skip
    ws, state = borrowed(owned)
    bX, bF, bH, brank, bcrowd, blists = borrowed((X, F, H, rank, crowd, lists))
    bfdata, bidata, bconsts = borrowed((fdata, idata, consts))
    bAX, bAF, bAH, bAP, bameta = borrowed((AX, AF, AH, AP, ameta))
    for u in range(u_count):
        state[0] = states[u]
        added[u] = inject_user(
            bX[u], bF[u], bH[u], brank[u], bcrowd[u], blists[u], state, kernels, codes,
            bfdata[u], bidata[u], bconsts[u], foff, ioff, coff,
            (bAX[u], bAF[u], bAH[u], bAP[u], bameta[u]), ws,
        )  # fmt: skip
        states[u] = state[0]
    keep_alive(owned)
    return added
