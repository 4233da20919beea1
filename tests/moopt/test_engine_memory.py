"""moopt._memory: arrays created from borrowed views own (and free) their memory, views
stay borrowed, and the engine's anonymous maps ask for no transparent huge pages."""

import mmap

import numba
import numpy as np
import pytest

from moopt import _memory
from moopt._memory import borrowed, is_borrowed

# Each operation creates a new array from the borrowed (3, 4) float64 array ``a``, with
# ``idx`` an int64 index array and ``mask`` a bool mask over the rows.
CREATED = {
    "copy": lambda a, idx, mask: a.copy(),
    "row_copy": lambda a, idx, mask: a[1].copy(),
    "fancy_index": lambda a, idx, mask: a[idx],
    "mask_index": lambda a, idx, mask: a[mask],
    "astype": lambda a, idx, mask: a.astype(np.float32),
    "flatten": lambda a, idx, mask: a.flatten(),
    "ravel_of_a_transpose": lambda a, idx, mask: a.T.ravel(),
    "np_copy": lambda a, idx, mask: np.copy(a),
    "empty_like": lambda a, idx, mask: np.empty_like(a),
    "zeros_like": lambda a, idx, mask: np.zeros_like(a),
}
VIEWS = {
    "row": lambda a: a[1],
    "slice": lambda a: a[1:, ::2],
    "transpose": lambda a: a.T,
    "reshape": lambda a: a.reshape(12),
}


def _nrt_stats():
    from numba.core.runtime import _nrt_python, rtsys

    _nrt_python.memsys_enable_stats()
    s = rtsys.get_allocation_stats()
    return s.alloc - s.free, s.mi_alloc - s.mi_free


@pytest.mark.parametrize("name", sorted(CREATED))
def test_arrays_created_from_borrowed_ones_are_ordinary_and_freed(name):
    if not _memory.BORROWED:
        pytest.skip("MOOPT_BORROWED=0: borrowed() returns ordinary arrays")
    op = numba.njit(CREATED[name])

    @numba.njit
    def run(x, idx, mask):
        a = borrowed(x)
        out = op(a, idx, mask)
        out[0] = 5  # written, so that an empty_like result has known values
        total = 0.0
        for v in out.ravel():
            total += v
        return is_borrowed(out), total, out.size

    x = np.arange(12.0).reshape(3, 4)
    idx = np.array([2, 0, 2])
    mask = np.array([True, False, True])
    want = CREATED[name](x, idx, mask)
    want = np.asarray(want if name not in ("empty_like", "zeros_like") else np.zeros_like(x))
    want = want.copy()
    want[0] = 5
    run(x, idx, mask)  # compile first: compilation allocates too
    before = _nrt_stats()
    flag, total, size = run(x, idx, mask)
    after = _nrt_stats()
    assert not flag, f"{name} of a borrowed array is typed borrowed"
    assert after == before, f"{name}: {after[1] - before[1]} memory infos never freed"
    assert size == want.size
    if name != "empty_like":
        assert total == want.sum()
    np.testing.assert_array_equal(x, np.arange(12.0).reshape(3, 4))  # source untouched


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_of_borrowed_arrays_stay_borrowed(name):
    if not _memory.BORROWED:
        pytest.skip("MOOPT_BORROWED=0: borrowed() returns ordinary arrays")
    op = numba.njit(VIEWS[name])

    @numba.njit
    def run(x):
        return is_borrowed(op(borrowed(x)))

    assert run(np.arange(12.0).reshape(3, 4))


# ----------------------------------------------------------------------------- the maps


def _vma(address):
    """The /proc/self/smaps entry (header line and fields) of the map holding ``address``."""
    with open("/proc/self/smaps") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        head = line.split()[0]
        if "-" in head and ":" not in head:
            lo, hi = (int(h, 16) for h in head.split("-"))
            if lo <= address < hi:
                fields = {}
                for row in lines[i + 1 :]:
                    key, _, value = row.partition(":")
                    fields[key] = value.strip()
                    if key == "VmFlags":  # the entry's last field
                        return fields
    raise AssertionError(f"no map holds {address:#x}")


needs_smaps = pytest.mark.skipif(
    not hasattr(mmap, "MADV_NOHUGEPAGE") or not hasattr(mmap, "MAP_POPULATE"),
    reason="madvise(MADV_NOHUGEPAGE) and /proc/self/smaps are Linux's",
)


@needs_smaps
@pytest.mark.parametrize("make", ["sparse_zeros", "populated_zeros"])
def test_maps_ask_for_no_transparent_huge_pages(make):
    x = getattr(_memory, make)((512, 1024), np.float64)  # 4 MiB: two huge pages' worth
    vma = _vma(x.__array_interface__["data"][0])
    assert "nh" in vma["VmFlags"].split()  # the kernel's mark for MADV_NOHUGEPAGE
    assert vma["AnonHugePages"].split()[0] == "0"
    rss_kb = int(vma["Rss"].split()[0])
    if make == "populated_zeros":
        assert rss_kb >= x.nbytes // 1024  # every page mapped before the first write
    else:
        assert rss_kb < x.nbytes // 1024  # pages mapped on first write only
    assert not x.any()


@needs_smaps
def test_populated_map_falls_back_to_map_populate(monkeypatch):
    # A kernel without MADV_POPULATE_WRITE (before 5.14) answers EINVAL.
    monkeypatch.setattr(_memory, "_MADV_POPULATE_WRITE", 0x7FFF)
    x = _memory.populated_zeros((256, 1024), np.float64)
    vma = _vma(x.__array_interface__["data"][0])
    assert int(vma["Rss"].split()[0]) >= x.nbytes // 1024
    assert "nh" in vma["VmFlags"].split()
    x[-1, -1] = 3.0
    assert x.sum() == 3.0


@pytest.mark.parametrize("make", ["sparse_zeros", "populated_zeros"])
def test_maps_without_madvise_advice_still_work(monkeypatch, make):
    monkeypatch.delattr(mmap, "MADV_NOHUGEPAGE", raising=False)
    x = getattr(_memory, make)((64, 1024), np.int64)
    assert x.shape == (64, 1024) and x.flags.writeable and not x.any()
