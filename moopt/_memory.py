"""Fresh memory for the engine's large arrays, mapped the way their first writes need, and
borrowed views of arrays inside kernels (no reference counting).

Large arrays from numpy are advised for transparent huge pages; on the machines measured
(a sandboxed VM, 2 threads) that made first writes either fast or, when the kernel had to
compact memory to find huge pages, stall for tens of microseconds per user. The engine's
anonymous maps therefore ask for no huge pages (``madvise(MADV_NOHUGEPAGE)``, where the
platform has it) rather than rely on the system's default, which may be ``always``.

Borrowed views (``borrowed``, ``BorrowedArray``) extend Numba's internals. Two
guards keep that safe:

* ``MOOPT_BORROWED=0`` in the environment (read once, at import) builds the engine with
  ordinary arrays: ``borrowed`` then returns its argument unchanged. The results are
  the same bit for bit (tests/moopt/test_engine_builds.py runs the engine both ways);
  only reference counting comes back (about 15,000 atomic increfs and decrefs per user).
  Use it the day a Numba release breaks the borrowed build. Functions that call
  ``borrowed`` are compiled differently in the two builds from the same arguments,
  so their Numba cache entries are keyed by the build (``build_keyed``, or
  ``key_caches_by_sources`` for the whole engine) and one build's cache never
  serves the other.
* A borrowed array carries no memory info, so an array *created* from one (``.copy()``,
  fancy or boolean indexing, ``astype``, ``flatten``, ``np.copy``, ``np.empty_like`` ...)
  must not be typed borrowed: it would never be freed. Numba types every such new array
  as a writeable copy of its source type (``copy(..., readonly=False)``), and
  ``BorrowedArray.copy`` answers that with an ordinary array type, so these arrays
  own their memory and are freed as usual; views (rows, slices, transposes, reshapes)
  stay borrowed. tests/moopt/test_engine_memory.py checks, with Numba's allocation
  counters, that each such operation frees what it allocates. (Before this rule, Numba
  0.68 refused to compile these operations on a borrowed array, since its allocator is
  looked up on the array type; a release that allocates otherwise would have compiled
  them into arrays never freed.)
"""

from __future__ import annotations

import hashlib
import mmap
import os

import numpy as np
from numba.core import cgutils, types
from numba.core.caching import FunctionCache
from numba.core.datamodel import models
from numba.core.errors import TypingError
from numba.core.imputils import impl_ret_borrowed, lower_cast
from numba.extending import intrinsic, register_model


def _read_switch(value: str | None) -> bool:
    """``MOOPT_BORROWED``: unset, ``1``, ``true``, ``yes`` or ``on`` for borrowed views;
    ``0``, ``false``, ``no`` or ``off`` for ordinary arrays."""
    if value is None or value.strip().lower() in ("", "1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(
        f"MOOPT_BORROWED must be 1 (borrowed views, the default) or 0 (ordinary arrays), "
        f"got {value!r}; set it to 0 or 1, or unset it"
    )


BORROWED: bool = _read_switch(os.environ.get("MOOPT_BORROWED"))
"""Whether ``borrowed`` makes borrowed views (the environment's ``MOOPT_BORROWED``
at import) or returns ordinary arrays."""


# madvise(MADV_POPULATE_WRITE), Linux 5.14+: map every page now, for writing. Python's mmap
# module names it from 3.13 on; the value is Linux's.
_MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)


def _anonymous_map(n: int, flags: int | None = None) -> mmap.mmap:
    """A private anonymous map of ``n`` bytes that asks for no transparent huge pages."""
    buf = mmap.mmap(-1, n) if flags is None else mmap.mmap(-1, n, flags=flags)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        buf.madvise(mmap.MADV_NOHUGEPAGE)
    return buf


def populated_zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
    """A zero array on a fresh anonymous memory map without transparent huge pages whose
    pages the kernel maps at once (``madvise(MADV_POPULATE_WRITE)``, ``MAP_POPULATE`` on
    Linux before 5.14; elsewhere numpy's zeros), for arrays the kernels write whole: the
    populations and the archives' results.

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
    # Advised before any page is mapped, then populated; MAP_POPULATE would map the pages
    # (huge ones, where the system's default is ``always``) before the advice.
    buf = _anonymous_map(n)
    try:
        buf.madvise(_MADV_POPULATE_WRITE)
    except OSError:  # kernels before 5.14: populated at the map, advised after
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE
        buf = _anonymous_map(n, flags)
    return np.frombuffer(buf, dtype=dtype).reshape(shape)


def sparse_zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
    """A zero array whose pages are only mapped when first written: an anonymous memory
    map that asks for no transparent huge pages. Each user writes a few rows of its archive's
    capacity; on memory that numpy advises for huge pages (large arrays) each of those
    first touches zeroes a whole 2 MB page, which made the default archive cost as much as
    the search itself (3,264 against 5,907 users/s at 6,040 users, rerank_speed)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) * dtype.itemsize
    if n == 0:
        return np.zeros(shape, dtype=dtype)
    return np.frombuffer(_anonymous_map(n), dtype=dtype).reshape(shape)


class BorrowedArray(types.Array):
    """A Numba array type whose values carry no memory info: Numba emits no reference
    counting for it at all (its data model types the ``meminfo`` field as a plain
    pointer). Views of a borrowed array (rows, slices, transposes) are borrowed too; a
    borrowed array converts to an ordinary one where a function asks for that (the memory
    info stays null, so counting it does nothing). Arrays created from one are ordinary
    arrays (see ``copy``)."""

    def __init__(self, dtype, ndim, layout, readonly=False, aligned=True):
        kind = "readonly borrowed array" if readonly else "borrowed array"
        super().__init__(dtype, ndim, layout, readonly=readonly, aligned=aligned,
                         name=f"{kind}({dtype}, {ndim}d, {layout})")  # fmt: skip

    def copy(self, dtype=None, ndim=None, layout=None, readonly=None):
        """The type of a view of this array with the changes given, borrowed; or, asked
        for a writeable copy (``readonly=False``), the ordinary array type.

        Numba's typing asks ``readonly=False`` for every array it creates from another
        (``.copy()``, fancy and boolean indexing, ``astype``, ``flatten``, ``ravel`` of
        a non-contiguous array, ``np.copy``, ``np.empty_like`` ...): such an array owns
        new memory, which only an ordinary array's memory info frees. Views are typed
        without it. (``ravel`` of a contiguous writeable array, a view, is then typed
        ordinary too: harmless, its memory info is null.)"""
        dtype = self.dtype if dtype is None else dtype
        ndim = self.ndim if ndim is None else ndim
        layout = self.layout if layout is None else layout
        if readonly is False:
            return types.Array(dtype, ndim, layout, readonly=False, aligned=self.aligned)
        readonly = (not self.mutable) if readonly is None else readonly
        return BorrowedArray(dtype, ndim, layout, readonly, self.aligned)

    def unify(self, typingctx, other):
        if isinstance(other, BorrowedArray):
            u = super().unify(typingctx, other)
            return None if u is None else BorrowedArray(u.dtype, u.ndim, u.layout,
                                                        not u.mutable, u.aligned)  # fmt: skip
        return super().unify(typingctx, other)


@register_model(BorrowedArray)
class _BorrowedArrayModel(models.StructModel):
    def __init__(self, dmm, fe_type):
        members = [
            ("meminfo", types.voidptr),  # always null; not an NRT memory info
            ("parent", types.pyobject),
            ("nitems", types.intp),
            ("itemsize", types.intp),
            ("data", types.CPointer(fe_type.dtype)),
            ("shape", types.UniTuple(types.intp, fe_type.ndim)),
            ("strides", types.UniTuple(types.intp, fe_type.ndim)),
        ]
        super().__init__(dmm, fe_type, members)


def _array_as(context, builder, fromty, toty, val, keep_owner):
    """The array ``val`` of type ``fromty`` rebuilt as ``toty`` (the same data, shape and
    strides); ``keep_owner=False`` nulls its memory info and parent."""
    src = context.make_array(fromty)(context, builder, value=val)
    dst = context.make_array(toty)(context, builder)
    for name in ("nitems", "itemsize", "data", "shape", "strides"):
        setattr(dst, name, getattr(src, name))
    for name in ("meminfo", "parent"):
        field = getattr(src, name)
        setattr(dst, name, field if keep_owner else cgutils.get_null_value(field.type))
    return dst._getvalue()


@lower_cast(BorrowedArray, types.Array)
def _borrowed_to_array(context, builder, fromty, toty, val):
    """The same fields under an ordinary array type (layouts checked by the typing)."""
    return _array_as(context, builder, fromty, toty, val, keep_owner=True)


@intrinsic
def borrowed(typingctx, x):
    """``x`` (an array, or a tuple or named tuple of arrays and scalars) with every array
    a ``BorrowedArray`` view: same data, shape and strides, no memory info; with
    ``MOOPT_BORROWED=0`` (``BORROWED`` false), ``x`` itself.

    Numba counts references to arrays (atomic operations on their memory info): at every
    array argument an inlined helper binds, every row view, every variable copied. The
    engine's per-user functions take the whole workspace (35 arrays) and its mating loop
    inlines dozens of small helpers that take arrays, so a user's run made about 15,000
    increfs and as many decrefs. For borrowed arrays none are emitted. Only for use inside
    a kernel, on arrays an owner keeps alive for as long as the views are used
    (``keep_alive``); never return one to Python. A function that calls it is
    decorated with ``build_keyed``."""
    out = _borrowed_type(x)
    if out is None:
        raise TypingError(f"borrowed() takes arrays and tuples of arrays and scalars, got {x}")
    if not BORROWED:

        def same(context, builder, sig, args):
            return impl_ret_borrowed(context, builder, sig.return_type, args[0])

        return x(x), same

    def codegen(context, builder, sig, args):
        return _borrow_value(context, builder, sig.args[0], sig.return_type, args[0])

    return out(x), codegen


class _KeyedCache(FunctionCache):
    """A function's Numba cache whose index keys also hold the build (``BORROWED``)
    and a digest of the sources its compiled code may include."""

    def __init__(self, py_func, sources_digest: str = ""):
        super().__init__(py_func)
        self.sources_digest = sources_digest

    def _index_key(self, sig, codegen):
        return (*super()._index_key(sig, codegen), ("moopt-borrowed", BORROWED),
                ("moopt-sources", self.sources_digest))  # fmt: skip


def is_cached(dispatcher) -> bool:
    """Whether ``dispatcher`` is a function compiled with ``@njit(cache=True)``."""
    return isinstance(getattr(dispatcher, "_cache", None), FunctionCache)


def _cached_dispatcher(dispatcher) -> None:
    if not is_cached(dispatcher):
        raise TypeError(
            f"expected a function compiled with @njit(cache=True), got {dispatcher!r}; "
            "put build_keyed above the @njit(..., cache=True) decorator"
        )


def build_keyed(dispatcher):
    """Decorator (above ``@njit(cache=True)``) for a function that calls ``borrowed``:
    the same arguments compile to different code in the two builds (``MOOPT_BORROWED``),
    and Numba's cache keys entries by the signature and the source only, so one build
    would load the other's code. Keyed by the build too, each build caches its own."""
    _cached_dispatcher(dispatcher)
    if not isinstance(dispatcher._cache, _KeyedCache):
        dispatcher._cache = _KeyedCache(dispatcher.py_func)
    return dispatcher


def key_caches_by_sources(dispatchers, paths) -> str:
    """Key the Numba caches of ``dispatchers`` (functions compiled with
    ``@njit(cache=True)``) by the build and by a digest of the files ``paths``; returns
    the digest.

    Numba checks a cached function against its own file only, so a function compiled
    together with a callee from another file loads stale code after that file changes.
    Keyed by every file its code may include, it is recompiled instead."""
    digest = hashlib.sha256()
    for path in sorted(str(p) for p in paths):
        with open(path, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    hexdigest = digest.hexdigest()
    for d in dispatchers:
        _cached_dispatcher(d)
        d._cache = _KeyedCache(d.py_func, hexdigest)
    return hexdigest


def _borrowed_type(ty):
    if isinstance(ty, types.Array):
        return BorrowedArray(ty.dtype, ty.ndim, ty.layout, not ty.mutable, ty.aligned)
    if isinstance(ty, types.BaseTuple):
        members = [_borrowed_type(t) for t in ty]
        if any(m is None for m in members):
            return None
        return types.BaseTuple.from_types(members, getattr(ty, "instance_class", None))
    if isinstance(ty, (types.Number, types.Boolean)):
        return ty
    return None


def _borrow_value(context, builder, ty, out_ty, val):
    if isinstance(ty, types.Array):
        return _array_as(context, builder, ty, out_ty, val, keep_owner=False)
    if isinstance(ty, types.BaseTuple):
        out = cgutils.get_null_value(context.get_value_type(out_ty))
        for i, (t, o) in enumerate(zip(ty, out_ty, strict=True)):
            item = _borrow_value(context, builder, t, o, builder.extract_value(val, i))
            out = builder.insert_value(out, item, i)
        return out
    return val


@intrinsic
def is_borrowed(typingctx, x):
    """Whether ``x`` is typed ``BorrowedArray``: a constant of the compiled code, for
    checking what a build or an operation made of an array."""
    flag = isinstance(x, BorrowedArray)

    def codegen(context, builder, sig, args):
        return context.get_constant(types.boolean, flag)

    return types.boolean(x), codegen


@intrinsic
def keep_alive(typingctx, x):
    """A use of ``x`` that does nothing: Numba frees a variable after its last use, so an
    owner whose arrays were ``borrowed`` is passed here after the views' last use."""

    def codegen(context, builder, sig, args):
        return context.get_dummy_value()

    return types.none(x), codegen
