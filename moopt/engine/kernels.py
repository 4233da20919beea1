"""Numba kernels of the batched NSGA-II: one independent search per user, all users in
one parallel loop (leftmost array dimension = user).

NSGA-II as in Deb, Pratap, Agarwal and Meyarivan, "A fast and elitist multiobjective
genetic algorithm: NSGA-II", IEEE TEVC 2002, with pymoo's conventions:

* the first generation is the initial population (``n_gen`` counts it, as pymoo does);
* mating: binary tournaments on rank, then crowding distance, ties at random; crossover
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
def nondominated_rank(F):
    """Front index of every row of ``F`` (0 = non-dominated), fast non-dominated sort."""
    q = F.shape[0]
    dominated_by = np.zeros(q, dtype=np.int64)
    beats = np.zeros((q, q), dtype=np.bool_)
    for i in range(q):
        for j in range(i + 1, q):
            rel = dominates(F[i], F[j])
            if rel == 1:
                beats[i, j] = True
                dominated_by[j] += 1
            elif rel == -1:
                beats[j, i] = True
                dominated_by[i] += 1
    rank = np.full(q, -1, dtype=np.int64)
    current = np.empty(q, dtype=np.int64)
    nxt = np.empty(q, dtype=np.int64)
    n_cur = 0
    for i in range(q):
        if dominated_by[i] == 0:
            current[n_cur] = i
            n_cur += 1
    r = 0
    while n_cur > 0:
        n_nxt = 0
        for a in range(n_cur):
            i = current[a]
            rank[i] = r
            for j in range(q):
                if beats[i, j]:
                    dominated_by[j] -= 1
                    if dominated_by[j] == 0:
                        nxt[n_nxt] = j
                        n_nxt += 1
        for a in range(n_nxt):
            current[a] = nxt[a]
        n_cur = n_nxt
        r += 1
    return rank


@njit(cache=True)
def crowding_distance(F):
    """NSGA-II crowding distance of the rows of ``F`` (one front)."""
    n, n_obj = F.shape
    cd = np.zeros(n)
    if n <= 2:
        cd[:] = np.inf
        return cd
    for m in range(n_obj):
        order = np.argsort(F[:, m], kind="mergesort")
        lo = F[order[0], m]
        hi = F[order[n - 1], m]
        span = hi - lo
        if span <= 0.0:
            continue
        cd[order[0]] = np.inf
        cd[order[n - 1]] = np.inf
        for t in range(1, n - 1):
            cd[order[t]] += (F[order[t + 1], m] - F[order[t - 1], m]) / span
    return cd / n_obj


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
    """Indices of the ``n_keep`` survivors of ``F`` with their rank and crowding."""
    q = F.shape[0]
    rank = nondominated_rank(F)
    keep = np.empty(n_keep, dtype=np.int64)
    keep_rank = np.empty(n_keep, dtype=np.int64)
    keep_cd = np.empty(n_keep)
    filled = 0
    r = 0
    while filled < n_keep:
        members = np.flatnonzero(rank == r)
        cd = crowding_distance(F[members])
        if filled + members.shape[0] <= n_keep:
            for a in range(members.shape[0]):
                keep[filled] = members[a]
                keep_rank[filled] = r
                keep_cd[filled] = cd[a]
                filled += 1
        else:
            # Truncate the splitting front by crowding, larger first, random among ties.
            order = _order_desc_random_ties(cd, state)
            need = n_keep - filled
            for a in range(need):
                keep[filled] = members[order[a]]
                keep_rank[filled] = r
                keep_cd[filled] = cd[order[a]]
                filled += 1
        r += 1
        if r > q:
            break
    return keep, keep_rank, keep_cd


@njit(cache=True)
def tournament(rank, crowd, state):
    """Binary tournament: lower rank wins, then larger crowding, then a coin flip."""
    n = rank.shape[0]
    a = next_int(state, n)
    b = next_int(state, n - 1) if n > 1 else 0
    if n > 1 and b >= a:
        b += 1
    if rank[a] != rank[b]:
        return a if rank[a] < rank[b] else b
    if crowd[a] != crowd[b]:
        return a if crowd[a] > crowd[b] else b
    return a if next_float(state) < 0.5 else b


# ----------------------------------------------------------------------------- evaluation


@njit(cache=True)
def evaluate_into(out, kernels, x, fdata, idata, consts, foff, ioff, coff):
    """Minimised objective values (negated kernel values) of the lists ``x`` into ``out``;
    ``out`` has one column per real objective (``kernels`` may be padded beyond)."""
    n_obj = out.shape[1]
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


# ----------------------------------------------------------------------------- one user


@njit(cache=True)
def init_user(X, F, rank, crowd, seeds, n_seeds, n, state, kernels, fdata, idata, consts,
              foff, ioff, coff, max_tries):  # fmt: skip
    """Fill the population: the ``n_seeds`` seed lists (duplicates dropped), then random
    distinct lists; evaluate it and assign rank and crowding. Returns the size reached."""
    p, k = X.shape
    hashes = np.empty(p, dtype=np.uint64)
    size = 0
    for s in range(n_seeds):
        if size == p:
            break
        h = hash_row(seeds[s])
        if not _contains(hashes, size, h):
            X[size] = seeds[s]
            hashes[size] = h
            size += 1
    scratch = np.empty(n, dtype=np.int64)
    child = np.empty(k, dtype=np.int64)
    tries = 0
    while size < p and tries < max_tries * p:
        random_list_row(child, n, state, scratch)
        h = hash_row(child)
        tries += 1
        if not _contains(hashes, size, h):
            X[size] = child
            hashes[size] = h
            size += 1
    evaluate_into(F[:size], kernels, X[:size], fdata, idata, consts, foff, ioff, coff)
    keep, kr, kc = survive(F[:size], size, state)
    X[:size] = X[:size][keep]
    F[:size] = F[:size][keep]
    rank[:size] = kr
    crowd[:size] = kc
    return size


@njit(cache=True)
def generation_user(X, F, rank, crowd, n, state, kernels, fdata, idata, consts, foff, ioff,
                    coff, p_cx, p_mut, cx_kind, p_swap, eta, max_tries):  # fmt: skip
    """One NSGA-II generation for one user, in place. Returns the number of children."""
    p, k = X.shape
    n_obj = F.shape[1]
    hashes = np.empty(2 * p, dtype=np.uint64)
    for i in range(p):
        hashes[i] = hash_row(X[i])
    kids = np.empty((p, k), dtype=np.int64)
    c1 = np.empty(k, dtype=np.int64)
    c2 = np.empty(k, dtype=np.int64)
    used = np.zeros(n, dtype=np.bool_)
    made = 0
    tries = 0
    while made < p and tries < max_tries:
        tries += 1
        a = tournament(rank, crowd, state)
        b = tournament(rank, crowd, state)
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
            if _contains(hashes, p + made, h):
                continue
            kids[made] = child
            hashes[p + made] = h
            made += 1
    if made == 0:
        return 0
    merged_x = np.empty((p + made, k), dtype=np.int64)
    merged_f = np.empty((p + made, n_obj))
    merged_x[:p] = X
    merged_f[:p] = F
    merged_x[p:] = kids[:made]
    evaluate_into(merged_f[p:], kernels, kids[:made], fdata, idata, consts, foff, ioff, coff)
    keep, kr, kc = survive(merged_f, p, state)
    X[:] = merged_x[keep]
    F[:] = merged_f[keep]
    rank[:] = kr
    crowd[:] = kc
    return made


@njit(cache=True)
def inject_user(X, F, rank, crowd, lists, state, kernels, fdata, idata, consts, foff, ioff,
                coff):  # fmt: skip
    """Merge ``lists`` into the population (new ones only), then survive back to size."""
    p, k = X.shape
    n_obj = F.shape[1]
    hashes = np.empty(p + lists.shape[0], dtype=np.uint64)
    for i in range(p):
        hashes[i] = hash_row(X[i])
    fresh = np.empty((lists.shape[0], k), dtype=np.int64)
    n_new = 0
    for i in range(lists.shape[0]):
        h = hash_row(lists[i])
        if not _contains(hashes, p + n_new, h):
            fresh[n_new] = lists[i]
            hashes[p + n_new] = h
            n_new += 1
    if n_new == 0:
        return 0
    merged_x = np.empty((p + n_new, k), dtype=np.int64)
    merged_f = np.empty((p + n_new, n_obj))
    merged_x[:p] = X
    merged_f[:p] = F
    merged_x[p:] = fresh[:n_new]
    evaluate_into(merged_f[p:], kernels, fresh[:n_new], fdata, idata, consts, foff, ioff, coff)
    keep, kr, kc = survive(merged_f, p, state)
    X[:] = merged_x[keep]
    F[:] = merged_f[keep]
    rank[:] = kr
    crowd[:] = kc
    return n_new


# ----------------------------------------------------------------------------- all users


@njit(cache=True)
def init_batch(X, F, rank, crowd, states, seeds, n_seeds, seed, stream_ids, n, kernels, fdata,
               idata, consts, foff, ioff, coff, max_tries):  # fmt: skip
    """Initialise every user's population (serial: cheap next to the generations, and a
    parallel loop would add seconds to the first compile). User ``u`` draws from stream
    ``stream_ids[u]`` of ``seed`` (its global index, so a shard reproduces the whole run);
    ``states`` (U,) receives each stream's position."""
    u_count = X.shape[0]
    sizes = np.empty(u_count, dtype=np.int64)
    for u in prange(u_count):
        state = np.empty(1, dtype=np.uint64)
        state[0] = stream_seed(seed, stream_ids[u])
        sizes[u] = init_user(
            X[u], F[u], rank[u], crowd[u], seeds[u], n_seeds[u], n, state, kernels, fdata[u],
            idata[u], consts[u], foff, ioff, coff, max_tries,
        )  # fmt: skip
        states[u] = state[0]
    return sizes


@njit(parallel=True, cache=True)
def evolve_batch(X, F, rank, crowd, states, n_steps, n, kernels, fdata, idata, consts, foff,
                 ioff, coff, p_cx, p_mut, cx_kind, p_swap, eta, max_tries):  # fmt: skip
    """Run ``n_steps`` generations for every user; returns children made per user."""
    u_count = X.shape[0]
    made = np.zeros(u_count, dtype=np.int64)
    for u in prange(u_count):
        state = np.empty(1, dtype=np.uint64)
        state[0] = states[u]
        for _ in range(n_steps):
            made[u] += generation_user(
                X[u], F[u], rank[u], crowd[u], n, state, kernels, fdata[u], idata[u],
                consts[u], foff, ioff, coff, p_cx, p_mut, cx_kind, p_swap, eta, max_tries,
            )  # fmt: skip
        states[u] = state[0]
    return made


@njit(cache=True)
def inject_batch(X, F, rank, crowd, states, lists, kernels, fdata, idata, consts, foff, ioff,
                 coff):  # fmt: skip
    """Merge per-user ``lists`` (U, m, K) into the populations (serial: a few lists per
    user, so the cost is small and the compile time of a parallel loop is saved)."""
    u_count = X.shape[0]
    added = np.zeros(u_count, dtype=np.int64)
    for u in prange(u_count):
        state = np.empty(1, dtype=np.uint64)
        state[0] = states[u]
        added[u] = inject_user(
            X[u], F[u], rank[u], crowd[u], lists[u], state, kernels, fdata[u], idata[u],
            consts[u], foff, ioff, coff,
        )  # fmt: skip
        states[u] = state[0]
    return added
