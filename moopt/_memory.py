"""Fresh memory for the engine's large arrays, mapped the way their first writes need, and
borrowed views of arrays inside kernels (no reference counting).

Large arrays from numpy are advised for transparent huge pages; on the machines measured
(a sandboxed VM, 2 threads) that made first writes either fast or, when the kernel had to
compact memory to find huge pages, stall for tens of microseconds per user.
"""

from __future__ import annotations

import mmap

import numpy as np
from numba.core import cgutils, types
from numba.core.errors import TypingError
from numba.extending import intrinsic


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


@intrinsic
def borrowed(typingctx, x):
    """``x`` (an array, or a tuple or named tuple of arrays and scalars) with every array
    a *borrowed* view: same data, shape and strides, no memory-info or parent pointer.

    Numba counts references to arrays with atomic operations: a jitted function increfs
    every array argument on entry (each array of a tuple too) and decrefs it on exit, and
    so do inlined calls and row views. The engine's per-user functions take the whole
    workspace (35 arrays), so a user's run made thousands of atomic operations, which on
    some machines were half its time. Views of a borrowed array have no memory info, so
    their reference counting does nothing. Only for use inside a kernel, on arrays an
    owner keeps alive for as long as the views are used; never return one to Python."""
    if not _borrowable(x):
        raise TypingError(f"borrowed() takes arrays and tuples of arrays and scalars, got {x}")

    def codegen(context, builder, sig, args):
        return _borrow_value(context, builder, sig.args[0], args[0])

    return x(x), codegen


def _borrowable(ty) -> bool:
    if isinstance(ty, types.Array):
        return True
    if isinstance(ty, types.BaseTuple):
        return all(_borrowable(t) for t in ty)
    return isinstance(ty, (types.Number, types.Boolean))


def _borrow_value(context, builder, ty, val):
    if isinstance(ty, types.Array):
        a = context.make_array(ty)(context, builder, value=val)
        a.meminfo = cgutils.get_null_value(a.meminfo.type)
        a.parent = cgutils.get_null_value(a.parent.type)
        return a._getvalue()
    if isinstance(ty, types.BaseTuple):
        out = val
        for i, t in enumerate(ty):
            out = builder.insert_value(
                out, _borrow_value(context, builder, t, builder.extract_value(val, i)), i
            )
        return out
    return val


@intrinsic
def keep_alive(typingctx, x):
    """A use of ``x`` that does nothing: Numba frees a variable after its last use, so an
    owner whose arrays were :func:`borrowed` is passed here after the views' last use."""

    def codegen(context, builder, sig, args):
        return context.get_dummy_value()

    return types.none(x), codegen
