"""Numba's disk cache: a read-only install still caches (in the user's cache folder), the
cold cache is detected, and the engine announces the compile that follows."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from moopt import _numba_cache, rerank_batch
from moopt._memory import key_caches_by_sources
from moopt._numba_cache import MESSAGE, announce_compile, is_cold
from moopt.engine import kernels as K
from moopt.engine import rerank as engine_rerank

REPO = Path(__file__).resolve().parents[2]

_MODULE = """\
from numba import njit

from moopt._memory import build_keyed


@njit(cache=True)
def plain(x):
    return x + 1.0


@build_keyed
@njit(cache=True)
def keyed(x):
    return x * 2.0
"""

_PROBE = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); import cached_probe as m; "
    "from moopt._numba_cache import is_cold; fs = (m.plain, m.keyed); "
    "cold = [is_cold(f) for f in fs]; values = [f(1.0) for f in fs]; "
    "print(json.dumps({'cold': cold, 'values': values, "
    "'hits': [sum(f.stats.cache_hits.values()) for f in fs], "
    "'misses': [sum(f.stats.cache_misses.values()) for f in fs]}))"
)


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read_only_runner(src: Path) -> list[str]:
    """The command prefix that runs a program with ``src`` read-only to it: as root (who
    writes through file modes) a private read-only bind mount (``unshare -m``); else the
    folder's mode."""
    if os.geteuid() != 0:
        return []
    if shutil.which("unshare") is None:
        pytest.skip("root writes through file modes and unshare is missing")
    probe = subprocess.run(["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$1" "$1"', "sh",
                            str(src)], capture_output=True, timeout=60)  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"root writes through file modes and cannot bind-mount read-only: "
                    f"{probe.stderr.decode().strip()}")  # fmt: skip
    return ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$1" "$1" && shift && exec "$@"',
            "sh", str(src)]  # fmt: skip


def test_a_read_only_install_caches_in_the_users_cache_folder(tmp_path):
    # The module's folder is read-only to the process running it; Numba then caches in
    # the user's cache folder, and the second process loads what the first compiled.
    src, home = tmp_path / "src", tmp_path / "home"
    src.mkdir()
    home.mkdir()
    (src / "cached_probe.py").write_text(_MODULE)
    os.chmod(src / "cached_probe.py", 0o444)
    os.chmod(src, 0o555)
    try:
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
        env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
        probe = _PROBE.replace("print(json.dumps({", "print(json.dumps({'writable': "
                               "os.access(sys.argv[1], os.W_OK) and not "
                               "os.statvfs(sys.argv[1]).f_flag & os.ST_RDONLY, ")
        probe = "import os; " + probe
        runs = []
        for _ in range(2):
            done = subprocess.run(
                [*_read_only_runner(src), sys.executable, "-c", probe, str(src)], cwd=tmp_path,
                env=env, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        first, second = runs
        assert first["writable"] is False
        assert first["values"] == second["values"] == [2.0, 2.0]
        assert first["cold"] == [True, True] and first["misses"] == [1, 1]
        assert second["cold"] == [False, False]
        assert second["hits"] == [1, 1] and second["misses"] == [0, 0]
        assert not (src / "__pycache__").exists()
        cached = sorted(p.name.split("-")[0] for p in (home / ".cache" / "numba").rglob("*.nbi"))
        assert cached == ["cached_probe.keyed", "cached_probe.plain"]
    finally:
        os.chmod(src, 0o755)


def test_the_first_compile_is_announced_once_and_only_when_cold(tmp_path, monkeypatch, capsys):
    path = tmp_path / "cached_probe.py"
    path.write_text(_MODULE)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(_numba_cache, "_announced", False)
    first = _load(path, "cached_probe_first")
    assert is_cold(first.plain) and is_cold(first.keyed)
    assert announce_compile(first.plain) is True
    assert capsys.readouterr().err == MESSAGE + "\n"
    assert announce_compile(first.plain) is False  # once per process
    assert first.plain(1.0) == 2.0 and first.keyed(1.0) == 2.0  # compiled and cached
    assert not is_cold(first.plain)  # compiled in this process
    monkeypatch.setattr(_numba_cache, "_announced", False)
    assert announce_compile(first.plain) is False
    # A fresh dispatcher of the same source finds the entries on disk.
    second = _load(path, "cached_probe_second")
    assert not second.plain.overloads
    assert not is_cold(second.plain) and not is_cold(second.keyed)
    assert announce_compile(second.keyed) is False
    assert capsys.readouterr().err == ""
    # Keyed by other sources (an upgrade), the entry on disk no longer serves: cold.
    third = _load(path, "cached_probe_third")
    key_caches_by_sources([third.keyed], [path, Path(np.__file__)])
    assert is_cold(third.keyed) and not is_cold(third.plain)


def test_the_engine_announces_its_own_entry_function(monkeypatch):
    asked = []
    monkeypatch.setattr(engine_rerank, "announce_compile", asked.append)
    rng = np.random.default_rng(0)
    cands = np.stack([rng.choice(50, 12, replace=False) for _ in range(3)])
    scores = rng.normal(size=(3, 12))
    genres = rng.random((50, 4)) < 0.3
    rerank_batch(scores, cands, genres, np.ones(50), k=4, pop_size=8, n_gen=2)
    rerank_batch(scores, cands, genres, np.ones(50), k=4, pop_size=8, n_gen=2,
                 callback=lambda state: None)  # fmt: skip
    assert asked == [K.run_batch, K.init_batch]


@pytest.mark.parametrize("where", ["engine", "cli"])
def test_where_the_cache_goes_is_documented(where, capsys):
    if where == "engine":
        from moopt import engine

        text = engine.__doc__ + _numba_cache.__doc__
        assert "NUMBA_CACHE_DIR" in _numba_cache.__doc__ and "cold" in _numba_cache.__doc__
    else:
        from moopt.cli import main

        with pytest.raises(SystemExit):
            main(["--help"])
        text = capsys.readouterr().out
    assert "~/.cache/numba" in text and "read-only" in text and "NUMBA_CACHE_DIR" in text
