"""Objective values of lists: the built-in objectives inline (``evaluate_into``), the
others through the typed list of kernel pointers; and the finiteness check of results."""

from __future__ import annotations

import numpy as np
from numba import njit

from ...objectives.registry import (
    OBJ_ACCURACY,
    OBJ_DIVERSITY,
    OBJ_EXPECTED_HITS,
    OBJ_ILD,
    OBJ_NOVELTY,
)

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
    ``moopt.objectives.registry``) is computed inline, with the same arithmetic as
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
