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
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._rng import next_float, next_int, stream_seed
from ..operators._kernels import crossover_row, hash_row, mutate_row, random_list_row
from .archive import archive_add

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


@njit(cache=True)
def lexicographic_order(F):
    """Row indices sorting ``F`` lexicographically (column 0 first), stable."""
    q, m = F.shape
    order = np.arange(q)
    vals = np.empty(q)
    for c in range(m - 1, -1, -1):
        for t in range(q):
            vals[t] = F[order[t], c]
        order = order[np.argsort(vals, kind="mergesort")]
    return order


@njit(cache=True)
def nondominated_rank(F):
    """Front index of every row of ``F`` (0 = non-dominated).

    Efficient non-dominated sort with sequential search (ENS-SS; Zhang, Tian, Cheng and
    Jin, IEEE TEVC 2015): rows are visited in lexicographic order, so a row can only be
    dominated by rows already placed, and each joins the first front none of whose
    members dominates it (members checked newest first, where a dominator is likeliest).
    """
    q = F.shape[0]
    rank = np.empty(q, dtype=np.int64)
    members = np.empty((q, q), dtype=np.int64)
    count = np.zeros(q, dtype=np.int64)
    n_fronts = 0
    for i in lexicographic_order(F):
        f = 0
        while f < n_fronts:
            dominated = False
            for t in range(count[f] - 1, -1, -1):
                if dominates(F[members[f, t]], F[i]) == 1:
                    dominated = True
                    break
            if not dominated:
                break
            f += 1
        members[f, count[f]] = i
        count[f] += 1
        if f == n_fronts:
            n_fronts += 1
        rank[i] = f
    return rank


@njit(cache=True)
def crowding_of(F, members):
    """NSGA-II crowding distance of the rows ``members`` of ``F`` (one front)."""
    n = members.shape[0]
    n_obj = F.shape[1]
    cd = np.zeros(n)
    if n <= 2:
        cd[:] = np.inf
        return cd
    vals = np.empty(n)
    for m in range(n_obj):
        for t in range(n):
            vals[t] = F[members[t], m]
        order = np.argsort(vals, kind="mergesort")
        span = vals[order[n - 1]] - vals[order[0]]
        if span <= 0.0:
            continue
        cd[order[0]] = np.inf
        cd[order[n - 1]] = np.inf
        for t in range(1, n - 1):
            cd[order[t]] += (vals[order[t + 1]] - vals[order[t - 1]]) / span
    return cd / n_obj


@njit(cache=True)
def crowding_distance(F):
    """NSGA-II crowding distance of the rows of ``F`` (one front)."""
    return crowding_of(F, np.arange(F.shape[0]))


@njit(cache=True)
def _order_desc_random_ties(values, state):
    """Indices sorting ``values`` descending, equal values in random order (insertion sort
    on (value, jitter): fronts are small)."""
    n = values.shape[0]
    jitter = np.empty(n)
    order = np.empty(n, dtype=np.int64)
    for a in range(n):
        jitter[a] = next_float(state)
        order[a] = a
    for a in range(1, n):
        cur = order[a]
        b = a - 1
        while b >= 0:
            prev = order[b]
            if values[prev] > values[cur] or (
                values[prev] == values[cur] and jitter[prev] <= jitter[cur]
            ):
                break
            order[b + 1] = prev
            b -= 1
        order[b + 1] = cur
    return order


@njit(cache=True)
def survive(F, n_keep, state):
    """Indices of the ``n_keep`` survivors of ``F`` with their rank and crowding, and the
    front index of every row of ``F``."""
    q = F.shape[0]
    rank = nondominated_rank(F)
    n_fronts = rank.max() + 1
    # Counting sort of the rows by front.
    start = np.zeros(n_fronts + 1, dtype=np.int64)
    for i in range(q):
        start[rank[i] + 1] += 1
    for r in range(n_fronts):
        start[r + 1] += start[r]
    by_front = np.empty(q, dtype=np.int64)
    fill = start[:-1].copy()
    for i in range(q):
        by_front[fill[rank[i]]] = i
        fill[rank[i]] += 1
    keep = np.empty(n_keep, dtype=np.int64)
    keep_rank = np.empty(n_keep, dtype=np.int64)
    keep_cd = np.empty(n_keep)
    filled = 0
    for r in range(n_fronts):
        if filled == n_keep:
            break
        members = by_front[start[r] : start[r + 1]]
        cd = crowding_of(F, members)
        size = members.shape[0]
        if filled + size <= n_keep:
            for a in range(size):
                keep[filled] = members[a]
                keep_rank[filled] = r
                keep_cd[filled] = cd[a]
                filled += 1
        else:
            # Truncate the splitting front by crowding, larger first, random among ties.
            order = _order_desc_random_ties(cd, state)
            for a in range(n_keep - filled):
                keep[filled] = members[order[a]]
                keep_rank[filled] = r
                keep_cd[filled] = cd[order[a]]
                filled += 1
    return keep, keep_rank, keep_cd, rank


@njit(cache=True)
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


@njit(cache=True)
def tournament(rank, crowd, perm, cursor, state):
    """Binary tournament: lower rank wins, then larger crowding, then a coin flip."""
    a = next_competitor(perm, cursor, state)
    b = next_competitor(perm, cursor, state)
    if rank[a] != rank[b]:
        return a if rank[a] < rank[b] else b
    if crowd[a] != crowd[b]:
        return a if crowd[a] > crowd[b] else b
    return a if next_float(state) < 0.5 else b


# ----------------------------------------------------------------------------- evaluation


@njit(cache=True)
def evaluate_into(out, kernels, x, fdata, idata, consts, foff, ioff, coff):
    """Minimised objective values (negated kernel values) of the lists ``x`` into ``out``."""
    n_obj = len(kernels)
    for i in range(x.shape[0]):
        for j in range(n_obj):
            out[i, j] = -kernels[j](
                x[i], fdata[:, foff[j] : foff[j + 1]], idata[:, ioff[j] : ioff[j + 1]],
                consts[coff[j] : coff[j + 1]],
            )  # fmt: skip


@njit(cache=True)
def _contains(hashes, n, h):
    for i in range(n):
        if hashes[i] == h:
            return True
    return False


@njit(cache=True)
def _survive_into(X, F, H, rank, crowd, mx, mf, mh, total, state, arc, first_new,
                  n_protected):  # fmt: skip
    """Survival of the ``total`` merged rows (mx, mf, mh) back into the population.

    Rows from ``first_new`` on are new; those non-dominated in the merged set are offered
    to the archive ``arc`` (the others are dominated by a population member, which is in
    the archive or dominated by an entry), the first ``n_protected`` of them as seeds.
    """
    keep, kr, kc, merged_rank = survive(mf[:total], X.shape[0], state)
    AX, AF, AH, AP, meta = arc
    for i in range(first_new, total):
        if merged_rank[i] == 0:
            archive_add(AX, AF, AH, AP, meta, mx[i], mf[i], mh[i], i - first_new < n_protected)
    for i in range(X.shape[0]):
        X[i] = mx[keep[i]]
        F[i] = mf[keep[i]]
        H[i] = mh[keep[i]]
        rank[i] = kr[i]
        crowd[i] = kc[i]


# ----------------------------------------------------------------------------- one user


@njit(cache=True)
def init_user(X, F, H, rank, crowd, seeds, n_seeds, n, state, kernels, fdata, idata, consts,
              foff, ioff, coff, max_tries, arc):  # fmt: skip
    """Fill the population: the ``n_seeds`` seed lists (duplicates dropped), then random
    distinct lists; evaluate it and assign rank and crowding. Returns the size reached."""
    p, k = X.shape
    mx = np.empty((p, k), dtype=np.int64)
    mh = np.empty(p, dtype=np.uint64)
    size = 0
    for s in range(n_seeds):
        if size == p:
            break
        h = hash_row(seeds[s])
        if not _contains(mh, size, h):
            mx[size] = seeds[s]
            mh[size] = h
            size += 1
    n_unique_seeds = size
    scratch = np.empty(n, dtype=np.int64)
    tries = 0
    while size < p and tries < max_tries * p:
        random_list_row(mx[size], n, state, scratch)
        h = hash_row(mx[size])
        tries += 1
        if not _contains(mh, size, h):
            mh[size] = h
            size += 1
    if size < p:
        return size
    mf = np.empty((p, F.shape[1]))
    evaluate_into(mf, kernels, mx, fdata, idata, consts, foff, ioff, coff)
    _survive_into(X, F, H, rank, crowd, mx, mf, mh, p, state, arc, 0, n_unique_seeds)
    return size


@njit(cache=True)
def generation_user(X, F, H, rank, crowd, n, state, kernels, fdata, idata, consts, foff, ioff,
                    coff, p_cx, p_mut, cx_kind, p_swap, eta, max_tries, mx, mf, mh, c1, c2,
                    used, arc):  # fmt: skip
    """One NSGA-II generation for one user, in place; ``mx`` (2P, K), ``mf`` (2P, M),
    ``mh`` (2P,), ``c1``/``c2`` (K,) and ``used`` (N,) are reusable workspace.
    Returns the number of children."""
    p = X.shape[0]
    mx[:p] = X
    mf[:p] = F
    mh[:p] = H
    made = 0
    tries = 0
    perm = np.empty(p, dtype=np.int64)
    cursor = np.full(1, p, dtype=np.int64)  # exhausted: the first draw shuffles
    while made < p and tries < max_tries:
        tries += 1
        a = tournament(rank, crowd, perm, cursor, state)
        b = tournament(rank, crowd, perm, cursor, state)
        if next_float(state) < p_cx:
            crossover_row(cx_kind, X[a], X[b], c1, c2, n, state, used, eta)
        else:
            c1[:] = X[a]
            c2[:] = X[b]
        for child in (c1, c2):
            if made == p:
                break
            if next_float(state) < p_mut:
                mutate_row(child, n, state, used, p_swap)
            h = hash_row(child)
            if _contains(mh, p + made, h):
                continue
            mx[p + made] = child
            mh[p + made] = h
            made += 1
    if made == 0:
        return 0
    total = p + made
    evaluate_into(mf[p:total], kernels, mx[p:total], fdata, idata, consts, foff, ioff, coff)
    _survive_into(X, F, H, rank, crowd, mx, mf, mh, total, state, arc, p, 0)
    return made


@njit(cache=True)
def inject_user(X, F, H, rank, crowd, lists, state, kernels, fdata, idata, consts, foff, ioff,
                coff, arc):  # fmt: skip
    """Merge ``lists`` into the population (new ones only), then survive back to size."""
    p, k = X.shape
    m = lists.shape[0]
    mx = np.empty((p + m, k), dtype=np.int64)
    mf = np.empty((p + m, F.shape[1]))
    mh = np.empty(p + m, dtype=np.uint64)
    mx[:p] = X
    mf[:p] = F
    mh[:p] = H
    n_new = 0
    for i in range(m):
        h = hash_row(lists[i])
        if not _contains(mh, p + n_new, h):
            mx[p + n_new] = lists[i]
            mh[p + n_new] = h
            n_new += 1
    if n_new == 0:
        return 0
    total = p + n_new
    evaluate_into(mf[p:total], kernels, mx[p:total], fdata, idata, consts, foff, ioff, coff)
    _survive_into(X, F, H, rank, crowd, mx, mf, mh, total, state, arc, p, 0)
    return n_new


# ----------------------------------------------------------------------------- all users


@njit(parallel=True, cache=True)
def init_batch(X, F, H, rank, crowd, states, seeds, n_seeds, seed, stream_ids, n, kernels,
               fdata, idata, consts, foff, ioff, coff, max_tries, AX, AF, AH, AP,
               ameta):  # fmt: skip
    """Initialise every user's population. User ``u`` draws from stream
    ``stream_ids[u]`` of ``seed`` (its global index, so a shard reproduces the whole run);
    ``states`` (U,) receives each stream's position."""
    u_count = X.shape[0]
    sizes = np.empty(u_count, dtype=np.int64)
    for u in prange(u_count):
        state = np.empty(1, dtype=np.uint64)
        state[0] = stream_seed(seed, stream_ids[u])
        sizes[u] = init_user(
            X[u], F[u], H[u], rank[u], crowd[u], seeds[u], n_seeds[u], n, state, kernels,
            fdata[u], idata[u], consts[u], foff, ioff, coff, max_tries,
            (AX[u], AF[u], AH[u], AP[u], ameta[u]),
        )  # fmt: skip
        states[u] = state[0]
    return sizes


@njit(parallel=True, cache=True)
def evolve_batch(X, F, H, rank, crowd, states, n_steps, n, kernels, fdata, idata, consts, foff,
                 ioff, coff, AX, AF, AH, AP, ameta, p_cx, p_mut, cx_kind, p_swap, eta,
                 max_tries):  # fmt: skip
    """Run ``n_steps`` generations for every user; returns children made per user."""
    u_count, p, k = X.shape
    made = np.zeros(u_count, dtype=np.int64)
    for u in prange(u_count):
        state = np.empty(1, dtype=np.uint64)
        state[0] = states[u]
        mx = np.empty((2 * p, k), dtype=np.int64)
        mf = np.empty((2 * p, F.shape[2]))
        mh = np.empty(2 * p, dtype=np.uint64)
        c1 = np.empty(k, dtype=np.int64)
        c2 = np.empty(k, dtype=np.int64)
        used = np.zeros(n, dtype=np.bool_)
        for _ in range(n_steps):
            made[u] += generation_user(
                X[u], F[u], H[u], rank[u], crowd[u], n, state, kernels, fdata[u], idata[u],
                consts[u], foff, ioff, coff, p_cx, p_mut, cx_kind, p_swap, eta, max_tries, mx,
                mf, mh, c1, c2, used, (AX[u], AF[u], AH[u], AP[u], ameta[u]),
            )  # fmt: skip
        states[u] = state[0]
    return made


@njit(cache=True)
def inject_batch(X, F, H, rank, crowd, states, lists, kernels, fdata, idata, consts, foff, ioff,
                 coff, AX, AF, AH, AP, ameta):  # fmt: skip
    """Merge per-user ``lists`` (U, m, K) into the populations (serial: a few lists per
    user, so the cost is small and the compile time of a parallel loop is saved)."""
    u_count = X.shape[0]
    added = np.zeros(u_count, dtype=np.int64)
    for u in range(u_count):
        state = np.empty(1, dtype=np.uint64)
        state[0] = states[u]
        added[u] = inject_user(
            X[u], F[u], H[u], rank[u], crowd[u], lists[u], state, kernels, fdata[u], idata[u],
            consts[u], foff, ioff, coff, (AX[u], AF[u], AH[u], AP[u], ameta[u]),
        )  # fmt: skip
        states[u] = state[0]
    return added
