"""Sorting and non-dominated ranking without allocation: index sorts (counting sorts up
to 128 pairs, merge sorts beyond), the lexicographic order of objective rows (merging a
known head), and the front index of every row (``rank_into``)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .workspace import LANES


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
    ``si``) into the same positions of (``dv``, ``di``), in ``_pair_less`` order."""
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
    """``sort_pairs`` for small ``n``: each pair's final place is the number of pairs
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
    Up to 128 pairs without NaN: a counting sort (``_count_sort``); otherwise values
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
    """``rank_into`` for three objectives, every rank exact: with the rows in
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
    padded = L.shape[1] >= q + LANES and lrank.shape[0] >= q + LANES
    e = 0  # rows before e differ from row t; rows e..t-1 equal it
    for t in range(q):
        x0 = L0[t]
        x1 = L1[t]
        x2 = L2[t]
        if not (t > 0 and L0[t - 1] == x0 and L1[t - 1] == x1 and L2[t - 1] == x2):
            e = t
        worst = np.int64(-1)
        for j in range((e + LANES - 1) // LANES * LANES if padded else e):
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

    With three objectives every rank is exact (``_rank_into_3``). Otherwise:
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
    ``lex_order_into``).
    """
    lex_order_into(F, q, order, tmp, sv, tv, head, n_head)
    if F.shape[1] == 3:
        # No front table here: ``count`` is reused for the fronts of the rows in
        # lexicographic order (``lrank``).
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
    """Front index of every row of ``F`` (0 = non-dominated); see ``rank_into``."""
    q = F.shape[0]
    rank = np.empty(q, dtype=np.int64)
    scratch = np.empty((2, q), dtype=np.int64)
    rank_into(F, q, rank, scratch[0], scratch[1], np.empty(q + LANES, dtype=np.int64),
              np.empty((q, q), dtype=np.int32), np.empty((3, q + LANES)), np.empty(q),
              np.empty(q), q)  # fmt: skip
    return rank
