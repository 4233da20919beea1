"""The engine's two builds: borrowed views (the default) and ordinary arrays
(``MOOPT_BORROWED=0``) give bit-identical results, and Numba's cache never serves one
build's code to the other. The switch is read at import, so each build runs in its own
process."""

import importlib
import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from moopt import _memory

REPO = Path(__file__).resolve().parents[2]
CASES = Path(__file__).with_name("engine_cases.py")


def _env(borrowed: int, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MOOPT_BORROWED"}
    return {**env, "MOOPT_BORROWED": str(borrowed), **extra}


def test_both_builds_give_bit_identical_outputs(tmp_path):
    # The engine's own cache (beside its sources) serves both builds: its entries for the
    # batch drivers are keyed by the build (test below), so neither loads the other's code.
    runs = {}
    for b in (1, 0):
        out, report = tmp_path / f"b{b}.npz", tmp_path / f"b{b}.json"
        subprocess.run([sys.executable, str(CASES), str(out), "--report", str(report)],
                       cwd=REPO, env=_env(b), check=True, timeout=1800)  # fmt: skip
        runs[b] = (np.load(out), json.loads(report.read_text()))
    (lent, lent_report), (plain, plain_report) = runs[1], runs[0]
    assert lent_report["borrowed"] is True and plain_report["borrowed"] is False
    # Per-user functions compiled in this run (cache misses) show the build's types.
    if lent_report["per_user_signatures"]:
        assert lent_report["borrowed_signatures"] > 0
    assert plain_report["borrowed_signatures"] == 0
    assert sorted(lent.files) == sorted(plain.files) and len(lent.files) > 100
    for name in lent.files:
        a, b = lent[name], plain[name]
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert a.tobytes() == b.tobytes(), f"{name} differs between the builds"


_LENDING_MODULE = textwrap.dedent(
    """
    from numba import njit

    from moopt._memory import borrowed, build_keyed, is_borrowed


    @build_keyed
    @njit(cache=True)
    def lend(x):
        return is_borrowed(borrowed(x))
    """
)

_PROBE = (
    "import json, sys; import numpy as np; sys.path.insert(0, sys.argv[1]); "
    "import lending as m; r = m.lend(np.zeros(3)); s = m.lend.stats; "
    "print(json.dumps([bool(r), sum(s.cache_hits.values()), sum(s.cache_misses.values())]))"
)


def test_a_cached_function_of_one_build_never_serves_the_other(tmp_path):
    # The same function, argument types and source in both builds: without the build in
    # the cache key, the second build would load the first one's code.
    (tmp_path / "lending.py").write_text(_LENDING_MODULE)
    cache = tmp_path / "cache"
    seen = []
    for b in (1, 0, 0, 1):
        done = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path)], cwd=REPO,
                              env=_env(b, NUMBA_CACHE_DIR=str(cache)), check=True,
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        seen.append(json.loads(done.stdout.strip().splitlines()[-1]))
    # [borrowed view?, cache hits, cache misses]: each build compiles once, then loads
    # its own entry.
    assert seen == [[True, 0, 1], [False, 0, 1], [False, 1, 0], [True, 1, 0]]


def test_every_cached_engine_function_is_keyed_by_the_build_and_the_sources():
    from numba.core.registry import CPUDispatcher

    from moopt.engine import kernels

    keyed, lending = kernels._cached_functions(), []
    for name in ("batch", "evaluation", "mating", "sorting", "survival", "workspace"):
        module = importlib.import_module(f"{kernels.__name__}.{name}")
        for obj in vars(module).values():
            if isinstance(obj, CPUDispatcher) and obj.__module__ == module.__name__:
                if "borrowed(" in inspect.getsource(obj.py_func):
                    lending.append(obj)
                if _memory.is_cached(obj):
                    assert obj in keyed, obj.__name__
    assert len(lending) == 5 and all(d in keyed for d in lending)  # the batch drivers
    for d in keyed:
        assert isinstance(d._cache, _memory._KeyedCache), d.__name__
        assert d._cache.sources_digest == kernels.SOURCES_DIGEST
    names = {Path(p).name for p in kernels.SOURCES}
    assert {"batch.py", "sorting.py", "archive.py", "_kernels.py", "_rng.py"} <= names


_CALLEE = "from numba import njit\n\n\n@njit(cache=True)\ndef value(x):\n    return x + {}\n"
_CALLER = textwrap.dedent(
    """
    from pathlib import Path

    from numba import njit

    from moopt._memory import key_caches_by_sources
    from callee import value


    @njit(cache=True)
    def call(x):
        return value(x) * 10


    here = Path(__file__).parent
    key_caches_by_sources([call, value], [here / "callee.py", here / "caller.py"])
    """
)


def test_a_callee_changed_in_another_file_is_recompiled_not_loaded_stale(tmp_path):
    # Numba checks a cached function against its own file only: ``call`` (caller.py)
    # would load the code it was compiled with, ``value`` + 1, after callee.py changed.
    (tmp_path / "caller.py").write_text(_CALLER)
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import caller; "
             "print(caller.call(1))")  # fmt: skip
    seen = []
    for increment in (1, 1, 2):
        (tmp_path / "callee.py").write_text(_CALLEE.format(increment))
        done = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], cwd=REPO,
                              env=_env(1, NUMBA_CACHE_DIR=str(tmp_path / "cache")),
                              check=True, capture_output=True, text=True,
                              timeout=600)  # fmt: skip
        seen.append(int(done.stdout.split()[-1]))
    assert seen == [20, 20, 30]


@pytest.mark.parametrize(("value", "want"), [
    (None, True), ("1", True), ("", True), (" yes ", True), ("On", True),
    ("0", False), ("false", False), ("NO", False), ("off", False),
])  # fmt: skip
def test_switch_values(value, want):
    assert _memory._read_switch(value) is want


def test_a_bad_switch_value_is_named():
    with pytest.raises(ValueError, match="MOOPT_BORROWED must be 1 .* or 0"):
        _memory._read_switch("2")


def test_build_keyed_needs_a_cached_function():
    from numba import njit

    with pytest.raises(TypeError, match="cache=True"):
        _memory.build_keyed(njit(lambda x: x))
    with pytest.raises(TypeError, match="cache=True"):
        _memory.key_caches_by_sources([lambda x: x], [])
