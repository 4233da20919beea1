"""rerank_batch estimates its memory from the shapes it allocates and refuses, before
allocating, a run that cannot fit (``moopt.engine.memory``)."""

import math
import sys

import numpy as np
import pytest

from moopt import rerank_batch
from moopt.engine import RerankMemoryError, memory_estimate
from moopt.engine import memory as mem
from moopt.engine import rerank as rerank_module

REMEDIES = ("archive_size=", "fewer users per call", "client=")


def make_case(n_users=40, n=30, n_items=300, seed=0):
    rng = np.random.default_rng(seed)
    genres = rng.random((n_items, 10)) < 0.25
    pop = rng.integers(0, 300, n_items).astype(float)
    cands = np.stack([rng.choice(n_items, n, replace=False) for _ in range(n_users)])
    return rng.normal(size=(n_users, n)), cands, genres, pop


def record_allocations(monkeypatch):
    """Record the nbytes of every array the engine makes with populated_zeros and
    sparse_zeros (the populations, the archives and their staging)."""
    made = []
    for name in ("populated_zeros", "sparse_zeros"):
        real = getattr(rerank_module, name)

        def wrapper(shape, dtype, real=real):
            out = real(shape, dtype)
            made.append(out.nbytes)
            return out

        monkeypatch.setattr(rerank_module, name, wrapper)
    return made


def forbid_allocations(monkeypatch):
    def refuse(shape, dtype):
        raise AssertionError(f"an array of shape {shape} was allocated")

    for name in ("populated_zeros", "sparse_zeros"):
        monkeypatch.setattr(rerank_module, name, refuse)


def test_estimate_of_a_small_case_by_hand():
    # U=32, K=2, M=1, P=2, A=3, one generation, one seed, no workspace threads:
    # populations 32*2*(16+8+24) + seeds 32*(16+8) + top-K 32*16 + counters 6*8*32 = 5888;
    # archive staged 32*3*(16+8+1) + non-finite flags 32 = 2432;
    # results F 32*2*8 + gathered archive 32*min(3, 2*1)*(16+8+1) = 2112.
    est = memory_estimate(32, 2, 5, 1, pop_size=2, archive_size=3, n_gen=1, n_threads=0)
    assert est == {"populations": 5888, "archive": 2432, "results": 2112, "workspaces": 0,
                   "total": 10432}  # fmt: skip


@pytest.mark.parametrize("callback", [False, True])
def test_estimate_equals_the_bytes_the_engine_allocates(monkeypatch, callback):
    scores, cands, genres, pop = make_case()
    made = record_allocations(monkeypatch)
    kw = dict(k=6, pop_size=12, n_gen=4, seed=3, archive_size=4)
    res = rerank_batch(scores, cands, genres, pop, callback=(lambda s: None) if callback
                       else None, **kw)  # fmt: skip
    # archives full, so the result is as wide as the estimate assumes
    assert res.archive_positions.shape[1] == 4 and res.archive_overflow.max() > 0
    u, k, m = 40, 6, 3
    seeds = u * k * 8 * 2  # the top-K lists and the seeds made of them
    actual = sum(made) + res.F.nbytes + seeds
    if callback:
        actual += res.archive_size.nbytes + res.archive_overflow.nbytes
    est = memory_estimate(u, k, 30, m, pop_size=12, archive_size=4, n_gen=4,
                          callback=callback, n_threads=0)  # fmt: skip
    # the rest of the estimate is a few (U,) counters: within 3% of the arrays above
    assert actual <= est["total"] <= 1.03 * actual
    if not callback:  # the result's and the staged archives, exactly
        gathered = (res.archive_positions.nbytes + res.archive_F.nbytes
                    + res.archive_seed.nbytes)  # fmt: skip
        assert est["results"] == res.F.nbytes + gathered
        population = (res.positions.nbytes + res.F.nbytes + 2 * res.rank.nbytes
                      + res.crowding.nbytes)  # X, F, hashes, rank, crowding  # fmt: skip
        assert est["archive"] == sum(made) - population - gathered + u * m


def test_a_run_over_the_limit_is_refused_before_allocating(monkeypatch):
    scores, cands, genres, pop = make_case()
    kw = dict(k=6, pop_size=12, n_gen=4, seed=3)
    need = memory_estimate(40, 6, 30, 3, pop_size=12, n_gen=4)["total"]
    forbid_allocations(monkeypatch)
    with pytest.raises(RerankMemoryError) as info:
        rerank_batch(scores, cands, genres, pop, memory_limit=need - 1, **kw)
    msg = str(info.value)
    assert isinstance(info.value, MemoryError)
    assert f"needs {need} bytes" in msg and "memory_limit=" in msg
    assert all(r in msg for r in REMEDIES), msg
    monkeypatch.setenv("MOOPT_MEMORY_LIMIT", str(need // 2))
    with pytest.raises(MemoryError, match="MOOPT_MEMORY_LIMIT"):
        rerank_batch(scores, cands, genres, pop, **kw)


def test_a_million_users_are_refused_on_their_estimate_alone(monkeypatch):
    forbid_allocations(monkeypatch)
    est = memory_estimate(10**6, 10, 100, 3)
    # the archive dominates: 256 lists per user staged and gathered
    assert est["archive"] > 10**6 * 256 * (80 + 24 + 1)
    with pytest.raises(RerankMemoryError, match="blocks of at most 32 users"):
        mem.check_memory(est, 10**6, 256, memory_limit=est["total"] / 10**6 * 40)


def test_a_run_under_the_limit_is_unchanged(monkeypatch):
    scores, cands, genres, pop = make_case()
    kw = dict(k=6, pop_size=12, n_gen=4, seed=3)
    need = memory_estimate(40, 6, 30, 3, pop_size=12, n_gen=4)["total"]
    free = rerank_batch(scores, cands, genres, pop, memory_limit=math.inf, **kw)
    monkeypatch.setenv("MOOPT_MEMORY_LIMIT", str(need))
    bound = rerank_batch(scores, cands, genres, pop, **kw)
    for name in ("positions", "F", "rank", "archive_positions", "archive_F", "n_evals"):
        np.testing.assert_array_equal(getattr(bound, name), getattr(free, name))


@pytest.mark.parametrize("bad", [0, -5, "lots", True, math.nan])
def test_a_bad_limit_names_the_argument(bad):
    scores, cands, genres, pop = make_case(n_users=2)
    with pytest.raises(ValueError, match="memory_limit= must be a positive number"):
        rerank_batch(scores, cands, genres, pop, k=3, pop_size=4, n_gen=2, memory_limit=bad)


def test_a_bad_environment_limit_names_the_variable(monkeypatch):
    monkeypatch.setenv("MOOPT_MEMORY_LIMIT", "2GB")
    with pytest.raises(ValueError, match="MOOPT_MEMORY_LIMIT must be a positive number"):
        mem.memory_limit_of(None)


def test_available_memory_falls_back_to_proc_meminfo_then_sysconf(monkeypatch):
    first, source = mem.available_memory()
    assert first > 0 and source == "psutil"
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil raises ImportError
    got, source = mem.available_memory()
    with open("/proc/meminfo") as f:
        want = next(int(x.split()[1]) * 1024 for x in f if x.startswith("MemAvailable:"))
    assert source == "/proc/meminfo" and abs(got - want) < 2**28
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: (_ for _ in ()).throw(OSError()))
    got, source = mem.available_memory()
    assert source == "os.sysconf" and got > 0
    monkeypatch.setattr("builtins.open", real_open)


def test_no_memory_figure_skips_the_check(monkeypatch):
    monkeypatch.setattr(mem, "available_memory", lambda: (None, "nothing answers"))
    mem.check_memory({"total": 10**18}, 1, 256)  # nothing to compare: no refusal
    with pytest.raises(RerankMemoryError):
        mem.check_memory({"total": 10**18}, 1, 256, memory_limit=10**9)
