"""Mating and one user's steps: the binary tournament, children kept unless they repeat
a list, and a user's initial population (``init_user``), generation
(``generation_user``) and injected lists (``inject_user``)."""

from __future__ import annotations

from numba import njit

from ..._rng import next_float, next_int
from ...operators._kernels import crossover_row, hash_row, mutate_row, random_list_row
from .evaluation import evaluate_into
from .survival import survive_and_archive
from .workspace import hset_add


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
    """Binary tournament by Deb's crowded comparison: lower rank (front) wins, then larger
    crowding distance, then a coin flip. Dominance is not compared (pymoo's NSGA2
    default, ``comp_by_dom_and_crowding``, compares it first)."""
    a = next_competitor(perm, cursor, state)
    b = next_competitor(perm, cursor, state)
    if rank[a] != rank[b]:
        return a if rank[a] < rank[b] else b
    if crowd[a] != crowd[b]:
        return a if crowd[a] > crowd[b] else b
    return a if next_float(state) < 0.5 else b


@njit(cache=True)
def init_user(X, F, H, rank, crowd, seeds, n_seeds, n, state, kernels, codes, fdata, idata,
              consts, foff, ioff, coff, max_tries, arc, ws):  # fmt: skip
    """Fill the population: the ``n_seeds`` seed lists (duplicates dropped), then random
    distinct lists; evaluate it and assign rank and crowding. Returns the size reached.
    ``ws`` is a ``Workspace`` with room for at least P merged rows."""
    p = X.shape[0]
    mx, mh, htab, hstamp = ws.merged_x, ws.merged_hash, ws.hash_slots, ws.hash_epochs
    ws.hash_epoch[0] += 1
    e = ws.hash_epoch[0]
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
        random_list_row(mx[size], n, state, ws.candidate_scratch)
        h = hash_row(mx[size])
        tries += 1
        if hset_add(htab, hstamp, e, h):
            mh[size] = h
            size += 1
    if size < p:
        return size
    evaluate_into(ws.merged_f[:p], kernels, codes, mx[:p], fdata, idata, consts, foff, ioff, coff)
    survive_and_archive(X, F, H, rank, crowd, ws, p, state, arc, 0, n_unique_seeds, 0)
    return size


@njit(inline="always")
def _merge_population(X, F, H, ws):
    """Copy the population into the first merged rows and start a new epoch of the hash
    set holding its hashes; returns the epoch."""
    p = X.shape[0]
    ws.hash_epoch[0] += 1
    e = ws.hash_epoch[0]
    ws.merged_x[:p] = X
    ws.merged_f[:p] = F
    for i in range(p):
        ws.merged_hash[i] = H[i]
        hset_add(ws.hash_slots, ws.hash_epochs, e, H[i])
    return e


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
    """One NSGA-II generation for one user, in place; ``ws`` is a
    ``Workspace`` with room for 2P merged rows, used for this user only
    from one generation to the next (it carries the population's lexicographic order).
    Returns the number of children."""
    p = X.shape[0]
    mx, mf, mh = ws.merged_x, ws.merged_f, ws.merged_hash
    c1, c2, used = ws.child_a, ws.child_b, ws.in_list
    htab, hstamp = ws.hash_slots, ws.hash_epochs
    e = _merge_population(X, F, H, ws)
    made = 0
    tries = 0
    perm, cursor = ws.tournament_perm, ws.tournament_cursor
    cursor[0] = p  # exhausted: the first draw shuffles
    k = X.shape[1]
    pa, pb = ws.parent_a, ws.parent_b
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
    # survivors of its last survival and ``ws.survivor_lex`` their order (checked before
    # use).
    n_head = p if ws.n_survivor_lex[0] == p else 0
    survive_and_archive(X, F, H, rank, crowd, ws, total, state, arc, p, 0, n_head)
    return made


@njit(cache=True)
def inject_user(X, F, H, rank, crowd, lists, state, kernels, codes, fdata, idata, consts, foff,
                ioff, coff, arc, ws):  # fmt: skip
    """Merge ``lists`` into the population (new ones only), then survive back to size;
    ``ws`` has room for P + len(lists) merged rows."""
    p = X.shape[0]
    m = lists.shape[0]
    mx, mf, mh = ws.merged_x, ws.merged_f, ws.merged_hash
    htab, hstamp = ws.hash_slots, ws.hash_epochs
    e = _merge_population(X, F, H, ws)
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
    survive_and_archive(X, F, H, rank, crowd, ws, total, state, arc, p, 0, 0)
    return n_new
