"""Fresh memory for the engine's large arrays, mapped the way their first writes need.

Large arrays from numpy are advised for transparent huge pages; on the machines measured
(a sandboxed VM, 2 threads) that made first writes either fast or, when the kernel had to
compact memory to find huge pages, stall for tens of microseconds per user.
"""

from __future__ import annotations

import mmap

import numpy as np


def populated_zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
    """A zero array on a fresh anonymous memory map whose pages the kernel maps at once
    (``MAP_POPULATE``, where the platform has it), for arrays the kernels write whole:
    the populations and the archives' results.

    Measured alternatives, on 2 threads of a sandboxed VM:
    - pages mapped on first write cost a trap per 4 KB page (about 3 us each here), and
      when both threads of a kernel first-write at once the faults serialise (the
      initialisation took 19-27 us per user at 6,040 users);
    - numpy's memory, advised for huge pages and written once on the main thread, is
      fast while the kernel has free huge pages and stalls when it must compact memory
      for them: at 20,000 users 6,527 users/s against 8,513 with this map (medians of
      eight alternating runs, default archive; 6,698 against 9,510 without it)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) * dtype.itemsize
    if n == 0 or not hasattr(mmap, "MAP_POPULATE"):  # Linux only
        return np.zeros(shape, dtype=dtype)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE
    return np.frombuffer(mmap.mmap(-1, n, flags=flags), dtype=dtype).reshape(shape)


def sparse_zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
    """A zero array whose pages are only mapped when first written: an anonymous memory
    map without transparent huge pages. Each user writes a few rows of its archive's
    capacity; on memory that numpy advises for huge pages (large arrays) each of those
    first touches zeroes a whole 2 MB page, which made the default archive cost as much as
    the search itself (3,264 against 5,907 users/s at 6,040 users, rerank_speed)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) * dtype.itemsize
    if n == 0:
        return np.zeros(shape, dtype=dtype)
    return np.frombuffer(mmap.mmap(-1, n), dtype=dtype).reshape(shape)
