"""Numba kernels on K-of-N lists: sampling, crossover, mutation, repair and hashing.

A list is a row of K distinct candidate positions in [0, N), in order. Row-level
functions (``*_row``) are shared by the batch engine (inlined into their callers, so the
engine's mating loop passes no arrays through calls, whose reference counting costs
more than these small bodies); the ``*_batch`` kernels behind the
pymoo operators run one parallel loop over rows, giving row ``r`` the random stream
``stream_seed(seed, r)`` so results do not depend on the thread count. Every kernel
returns lists of K distinct valid positions; callers validate shapes and ranges before
calling (nothing here checks bounds).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._rng import mix64, next_float, next_int, stream_seed

# ---------------------------------------------------------------------------- row helpers


@njit(cache=True)
def random_list_row(out, n, state, scratch):
    """Fill ``out`` (K,) with K distinct positions drawn uniformly from [0, n).

    Partial Fisher-Yates over ``scratch`` (n,), which is left permuted.
    """
    k = out.shape[0]
    for i in range(n):
        scratch[i] = i
    for i in range(k):
        j = i + next_int(state, n - i)
        tmp = scratch[i]
        scratch[i] = scratch[j]
        scratch[j] = tmp
        out[i] = scratch[i]


@njit(inline="always")
def repair_row(child, n, state, used):
    """Replace repeated positions in ``child`` by random positions it does not use.

    The first occurrence of a position is kept; ``used`` (n,) bool is scratch and is
    left all False.
    """
    k = child.shape[0]
    n_dup = 0
    for p in range(k):
        if used[child[p]]:
            child[p] = -1
            n_dup += 1
        else:
            used[child[p]] = True
    if n_dup:
        for p in range(k):
            if child[p] < 0:
                # Rejection sampling: at least n - k + n_dup >= 1 positions are free.
                c = next_int(state, n)
                while used[c]:
                    c = next_int(state, n)
                child[p] = c
                used[c] = True
    for p in range(k):
        used[child[p]] = False


@njit(inline="always")
def one_point_row(a, b, c1, c2, n, state, used):
    """List one-point crossover: heads of one parent, tails of the other, then repair."""
    k = a.shape[0]
    cut = 1 + next_int(state, k - 1) if k > 1 else 0
    for p in range(k):
        if p < cut:
            c1[p] = a[p]
            c2[p] = b[p]
        else:
            c1[p] = b[p]
            c2[p] = a[p]
    repair_row(c1, n, state, used)
    repair_row(c2, n, state, used)


@njit(inline="always")
def uniform_row(a, b, c1, c2, n, state, used):
    """Uniform crossover: each slot from either parent with probability 1/2, then repair."""
    for p in range(a.shape[0]):
        if next_float(state) < 0.5:
            c1[p] = a[p]
            c2[p] = b[p]
        else:
            c1[p] = b[p]
            c2[p] = a[p]
    repair_row(c1, n, state, used)
    repair_row(c2, n, state, used)


@njit(inline="always")
def sbx_row(a, b, c1, c2, n, state, used, eta):
    """List-level simulated binary crossover (PreferRec's operator), then repair.

    Slot by slot, with probability 1/2, the two parents' positions are treated as reals
    in [0, n - 1] and recombined by SBX (Deb and Agrawal 1995, spread factor from the
    polynomial distribution with index ``eta``); children are rounded and clipped.
    Candidates sorted by base score make a position a rank, so SBX proposes lists near
    the parents' ranks.
    """
    hi = n - 1.0
    for p in range(a.shape[0]):
        x1 = float(a[p])
        x2 = float(b[p])
        if next_float(state) < 0.5 and x1 != x2:
            u = next_float(state)
            if u <= 0.5:
                beta = (2.0 * u) ** (1.0 / (eta + 1.0))
            else:
                beta = (1.0 / (2.0 * (1.0 - u))) ** (1.0 / (eta + 1.0))
            y1 = 0.5 * ((1.0 + beta) * x1 + (1.0 - beta) * x2)
            y2 = 0.5 * ((1.0 - beta) * x1 + (1.0 + beta) * x2)
            c1[p] = np.int64(min(max(round(y1), 0.0), hi))
            c2[p] = np.int64(min(max(round(y2), 0.0), hi))
        else:
            c1[p] = a[p]
            c2[p] = b[p]
    repair_row(c1, n, state, used)
    repair_row(c2, n, state, used)


CX_ONE_POINT = 0
CX_UNIFORM = 1
CX_SBX = 2


@njit(inline="always")
def crossover_row(kind, a, b, c1, c2, n, state, used, eta):
    if kind == CX_ONE_POINT:
        one_point_row(a, b, c1, c2, n, state, used)
    elif kind == CX_UNIFORM:
        uniform_row(a, b, c1, c2, n, state, used)
    else:
        sbx_row(a, b, c1, c2, n, state, used, eta)


@njit(inline="always")
def swap_row(x, state):
    """Swap two distinct slots (changes the order, not the set)."""
    k = x.shape[0]
    if k < 2:
        return
    i = next_int(state, k)
    j = next_int(state, k - 1)
    if j >= i:
        j += 1
    tmp = x[i]
    x[i] = x[j]
    x[j] = tmp


@njit(inline="always")
def replace_row(x, n, state, used):
    """Replace one slot by a random candidate the list does not hold (if one exists)."""
    k = x.shape[0]
    if k >= n:
        return
    for p in range(k):
        used[x[p]] = True
    c = next_int(state, n)
    while used[c]:
        c = next_int(state, n)
    slot = next_int(state, k)
    used[x[slot]] = False  # the scratch must come back clean: callers reuse it
    x[slot] = c
    for p in range(k):
        used[x[p]] = False


@njit(inline="always")
def mutate_row(x, n, state, used, p_swap):
    """One swap (probability ``p_swap``) or one replacement."""
    if next_float(state) < p_swap:
        swap_row(x, state)
    else:
        replace_row(x, n, state, used)


_HASH_SEED = np.uint64(0x243F6A8885A308D3)
_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd: the polynomial is a bijection per slot


@njit(inline="always")
def hash_row(x):
    """Order-sensitive 64-bit hash of a list: a polynomial in the positions (odd
    multiplier, modulo 2**64; one multiply-add per slot) through the SplitMix64
    finaliser, so every output bit depends on every slot."""
    h = _HASH_SEED
    for p in range(x.shape[0]):
        h = h * _HASH_MULT + np.uint64(x[p])
    return mix64(h)


# ---------------------------------------------------------------------------- batch kernels


@njit(parallel=True, cache=True)
def random_lists(n_rows, k, n, seed):
    """(n_rows, k) random lists of distinct positions in [0, n)."""
    out = np.empty((n_rows, k), dtype=np.int64)
    for r in prange(n_rows):
        state = np.empty(1, dtype=np.uint64)
        state[0] = stream_seed(seed, r)
        scratch = np.empty(n, dtype=np.int64)
        random_list_row(out[r], n, state, scratch)
    return out


@njit(parallel=True, cache=True)
def crossover_batch(kind, parents_a, parents_b, n, seed, eta):
    """Two children per pair of parents; returns (2, n_pairs, k)."""
    m, k = parents_a.shape
    out = np.empty((2, m, k), dtype=np.int64)
    for r in prange(m):
        state = np.empty(1, dtype=np.uint64)
        state[0] = stream_seed(seed, r)
        used = np.zeros(n, dtype=np.bool_)
        crossover_row(kind, parents_a[r], parents_b[r], out[0, r], out[1, r], n, state, used, eta)
    return out


MUT_SWAP = 0
MUT_REPLACE = 1
MUT_MIXED = 2


@njit(parallel=True, cache=True)
def mutate_batch(kind, x, n, seed, p_swap):
    """A mutated copy of every row: a swap, a replacement, or one of them by ``p_swap``."""
    m, k = x.shape
    out = x.copy()
    for r in prange(m):
        state = np.empty(1, dtype=np.uint64)
        state[0] = stream_seed(seed, r)
        used = np.zeros(n, dtype=np.bool_)
        if kind == MUT_SWAP:
            swap_row(out[r], state)
        elif kind == MUT_REPLACE:
            replace_row(out[r], n, state, used)
        else:
            mutate_row(out[r], n, state, used, p_swap)
    return out


@njit(parallel=True, cache=True)
def hash_rows(x):
    """One uint64 hash per row."""
    out = np.empty(x.shape[0], dtype=np.uint64)
    for r in prange(x.shape[0]):
        out[r] = hash_row(x[r])
    return out
