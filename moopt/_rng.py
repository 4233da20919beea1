"""Counter-based random streams for Numba kernels.

Every kernel that needs randomness derives an independent SplitMix64 stream per row
(per user, per offspring) from one 64-bit seed, instead of sharing numba's global
generator. The result depends only on the seed and the row, never on how rows are
spread over threads, so the same seed gives the same result on 1 thread or 16.

SplitMix64: Steele, Lea and Flood, "Fast Splittable Pseudorandom Number Generators",
OOPSLA 2014 (the finaliser constants below are theirs).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(inline="always")
def mix64(z):
    """The SplitMix64 finaliser: a bijective scramble of a uint64."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always")
def stream_seed(seed, index):
    """The starting state of stream ``index`` under ``seed`` (both uint64-convertible)."""
    return mix64(np.uint64(seed) + _GOLDEN * (np.uint64(index) + np.uint64(1)))


@njit(inline="always")
def next_u64(state):
    """Advance ``state`` (a length-1 uint64 array) and return the next 64 random bits."""
    state[0] += _GOLDEN
    return mix64(state[0])


@njit(inline="always")
def next_float(state):
    """A uniform float in [0, 1)."""
    return np.float64(next_u64(state) >> _S11) * _INV53


@njit(inline="always")
def next_int(state, n):
    """A uniform integer in [0, n) for 1 <= n < 2**53."""
    return np.int64(next_float(state) * n)


def draw_seed(random_state: np.random.Generator) -> np.uint64:
    """One uint64 kernel seed from a numpy Generator (how pymoo operators seed kernels)."""
    return np.uint64(random_state.integers(0, 2**63, dtype=np.int64))
