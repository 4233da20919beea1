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
from numba.core.datamodel import models
from numba.core.errors import TypingError
from numba.core.imputils import lower_cast
from numba.extending import intrinsic, register_model


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


class BorrowedArray(types.Array):
    """A Numba array type whose values carry no memory info: Numba emits no reference
    counting for it at all (its data model types the ``meminfo`` field as a plain
    pointer). Views of a borrowed array (rows, slices, transposes) are borrowed too; a
    borrowed array converts to an ordinary one where a function asks for that (the memory
    info stays null, so counting it does nothing)."""

    def __init__(self, dtype, ndim, layout, readonly=False, aligned=True):
        kind = "readonly borrowed array" if readonly else "borrowed array"
        super().__init__(dtype, ndim, layout, readonly=readonly, aligned=aligned,
                         name=f"{kind}({dtype}, {ndim}d, {layout})")  # fmt: skip

    def copy(self, dtype=None, ndim=None, layout=None, readonly=None):
        return BorrowedArray(
            self.dtype if dtype is None else dtype, self.ndim if ndim is None else ndim,
            self.layout if layout is None else layout,
            (not self.mutable) if readonly is None else readonly, self.aligned,
        )  # fmt: skip

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
    a :class:`BorrowedArray` view: same data, shape and strides, no memory info.

    Numba counts references to arrays (atomic operations on their memory info): at every
    array argument an inlined helper binds, every row view, every variable copied. The
    engine's per-user functions take the whole workspace (35 arrays) and its mating loop
    inlines dozens of small helpers that take arrays, so a user's run made about 15,000
    increfs and as many decrefs. For borrowed arrays none are emitted. Only for use inside
    a kernel, on arrays an owner keeps alive for as long as the views are used
    (:func:`keep_alive`); never return one to Python."""
    out = _borrowed_type(x)
    if out is None:
        raise TypingError(f"borrowed() takes arrays and tuples of arrays and scalars, got {x}")

    def codegen(context, builder, sig, args):
        return _borrow_value(context, builder, sig.args[0], sig.return_type, args[0])

    return out(x), codegen


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
def keep_alive(typingctx, x):
    """A use of ``x`` that does nothing: Numba frees a variable after its last use, so an
    owner whose arrays were :func:`borrowed` is passed here after the views' last use."""

    def codegen(context, builder, sig, args):
        return context.get_dummy_value()

    return types.none(x), codegen
