"""The batch drivers: every user's search in one parallel loop over blocks of users, each
block with one workspace; the per-user functions get borrowed views of the arrays
(``moopt._memory.borrowed``; their Numba caches are keyed by the build, see the
package's ``__init__``)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..._memory import borrowed, keep_alive
from ..._rng import stream_seed
from ..archive import archive_add_row
from .mating import generation_user, init_user, inject_user
from .workspace import make_workspace


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
    A workspace serves a block of users (``_n_chunks``), one user's generations at a
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
            ws.n_survivor_lex[0] = 0  # the recorded order is the previous user's
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
    """A whole run without a callback: per user, ``init_user``, ``n_steps``
    generations and the archive's final pass (``archive_population_batch``), one
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
    made per user. The same operations in the same order as ``init_batch``,
    ``evolve_batch`` and ``archive_population_batch``, so results are identical.
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
            ws.n_survivor_lex[0] = 0  # as in evolve_batch: no recorded order at a user's start
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
    ``survive_and_archive``)."""
    AX, AF, AH, AP, meta = arc
    for i in range(X.shape[0]):
        if rank[i] == 0:
            archive_add_row(AX, AF, AH, AP, meta, X, F, i, H[i], False)


@njit(parallel=True, cache=True)
def archive_population_batch(X, F, H, rank, AX, AF, AH, AP, ameta):
    """``_offer_first_front`` for every user."""
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
