"""Kill-and-rerun harness: a CLI job killed with SIGKILL and run again with the same
command must finish with the result files of an uninterrupted run, and leave no
temporary or partial file behind.

The kill points are deterministic: every atomic write of :mod:`recommenders.io` is two
numbered points (its temporary complete but not renamed, and just renamed), and
``MOOPT_KILL_AT=N`` makes the process SIGKILL itself at point N. :func:`kill_and_rerun`
runs the command once uninterrupted (tracing the points), draws kill points from a
seeded RNG, runs the command killed at each in turn (every run resumes from what the
previous ones left) and once more to the end, then compares the two output folders with
:func:`assert_same_results`: the same file names, CSV and JSON equal exactly once the
columns and keys that measure time are dropped, markdown tables likewise, ``.npz`` and
``.pt`` arrays equal, anything else byte for byte.

Other jobs use it as ``kill_and_rerun(["rerank", ...], tmp_path, n_kills=2, seed=0)``;
the command's ``--out`` is filled in (``{out}`` in the arguments).

Each run is a new process forked from a server that has only imported the command line's
heavy modules (multiprocessing's forkserver, started once per test process): the same
fresh ``moopt.cli.main`` as ``python -m moopt.cli`` in a new interpreter, without paying
for the imports in every run (about 5 s of CPU each; a job here is four to six runs).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recommenders.io import KILL_AT, KILL_TRACE

ROOT = Path(__file__).resolve().parents[1]

#: Columns and keys that measure time (or derive from it) and so differ between runs.
TIMING = re.compile(r"second|time|s/epoch|overhead", re.IGNORECASE)


@dataclass
class KillReport:
    """What :func:`kill_and_rerun` did: the number of kill points of the uninterrupted
    run, those tried (in the order of the runs; each run counts from 1) and the point at
    which each run died (``N before|after PATH``), and the points the last run, which
    finished the job, passed (what it still had to write)."""

    n_points: int
    killed_at: list[int] = field(default_factory=list)
    points: list[str] = field(default_factory=list)
    final: list[str] = field(default_factory=list)


#: What the server imports before it forks the runs: what every command imports.
PRELOAD = ["numpy", "pandas", "torch", "moopt.cli", "problems", "recommenders.pipeline"]
_server: list = []


def _context():
    """multiprocessing's forkserver context, its server started with this module's
    preloads and a fixed hash seed (``PYTHONHASHSEED=0``, as the runs had as processes)."""
    if not _server:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        saved = os.environ.get("PYTHONHASHSEED")
        os.environ["PYTHONHASHSEED"] = "0"
        try:
            from multiprocessing import forkserver

            forkserver.ensure_running()
        finally:
            if saved is None:
                del os.environ["PYTHONHASHSEED"]
            else:
                os.environ["PYTHONHASHSEED"] = saved
        _server.append(ctx)
    return _server[0]


def _run_main(args: list[str], env: dict[str, str], stdout: str, stderr: str) -> None:
    """The forked run: ``python -m moopt.cli ARGS`` with ``env``, its output to files."""
    os.chdir(ROOT)
    os.environ.clear()
    os.environ.update(env)
    for fd, name in ((1, stdout), (2, stderr)):
        target = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    sys.argv = [str(ROOT / "moopt" / "cli.py"), *args]
    from moopt.cli import main

    sys.exit(main(args))  # the exit status becomes the process's, as in a new interpreter


def run_cli(args: list[str], env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:  # fmt: skip
    """``python -m moopt.cli ARGS`` from the repository root, single-threaded, in a new
    process (forked from the preloaded server); a SIGKILL shows as returncode -9."""
    full_env = {k: v for k, v in os.environ.items() if k not in (KILL_AT, KILL_TRACE)}
    full_env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
                     **(env or {})})  # fmt: skip
    fd, stdout = tempfile.mkstemp(prefix="killrun-", suffix=".out")
    os.close(fd)
    fd, stderr = tempfile.mkstemp(prefix="killrun-", suffix=".err")
    os.close(fd)
    try:
        run = _context().Process(target=_run_main, args=(list(args), full_env, stdout, stderr))
        run.start()
        run.join(timeout)
        if run.exitcode is None:
            run.kill()
            run.join()
            raise subprocess.TimeoutExpired(["moopt", *args], timeout)
        return subprocess.CompletedProcess(["moopt", *args], run.exitcode,
                                           Path(stdout).read_text(errors="replace"),
                                           Path(stderr).read_text(errors="replace"))  # fmt: skip
    finally:
        os.unlink(stdout)
        os.unlink(stderr)


def _args(args: list[str], out: Path) -> list[str]:
    return [a.replace("{out}", str(out)) for a in args]


def kill_and_rerun(args: list[str], tmp_path: Path, n_kills: int = 2, seed: int = 0,
                   points: list[int] | None = None,
                   timeout: float = 600) -> KillReport:  # fmt: skip
    """Run ``args`` uninterrupted into ``tmp_path/reference`` and, into
    ``tmp_path/killed``, killed at ``n_kills`` points drawn with ``seed`` (or at
    ``points``) and then to the end; assert that both folders hold the same results."""
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    trace = tmp_path / "trace.txt"
    done = run_cli(_args(args, reference), {KILL_TRACE: str(trace)}, timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = trace.read_text().splitlines()
    report = KillReport(n_points=len(lines))
    if points is None:
        rng = np.random.default_rng(seed)
        points = sorted(rng.choice(np.arange(1, len(lines) + 1),
                                   size=min(n_kills, len(lines)), replace=False).tolist())
    for i, point in enumerate(points):
        killed_trace = tmp_path / f"trace-killed-{i}.txt"
        run = run_cli(_args(args, killed), {KILL_AT: str(point), KILL_TRACE: str(killed_trace)},
                      timeout)  # fmt: skip
        # A resumed run has fewer points left than the first; past its last one it ends.
        assert run.returncode in (-signal.SIGKILL, 0), run.stderr[-3000:]
        report.killed_at.append(point)
        last = killed_trace.read_text().splitlines()[-1:] if killed_trace.is_file() else []
        report.points.append(last[0] if run.returncode and last else f"{point} (not reached)")
    final_trace = tmp_path / "trace-final.txt"
    run = run_cli(_args(args, killed), {KILL_TRACE: str(final_trace)}, timeout)
    assert run.returncode == 0, run.stderr[-3000:]
    report.final = final_trace.read_text().splitlines() if final_trace.is_file() else []
    assert_same_results(reference, killed)
    return report


def assert_same_results(expected: Path, actual: Path) -> None:
    """The two folders hold the same files with the same results (timings aside)."""
    names_e = sorted(p.relative_to(expected).as_posix() for p in expected.rglob("*")
                     if p.is_file())  # fmt: skip
    names_a = sorted(p.relative_to(actual).as_posix() for p in actual.rglob("*") if p.is_file())
    assert names_a == names_e, (f"files differ: extra {sorted(set(names_a) - set(names_e))}, "
                                f"missing {sorted(set(names_e) - set(names_a))}")  # fmt: skip
    for name in names_e:
        _assert_same_file(expected / name, actual / name)


def _assert_same_file(e: Path, a: Path) -> None:
    suffix = e.suffix
    if suffix == ".csv":
        fe, fa = pd.read_csv(e), pd.read_csv(a)
        fe = fe[[c for c in fe.columns if not TIMING.search(str(c))]]
        fa = fa[[c for c in fa.columns if not TIMING.search(str(c))]]
        pd.testing.assert_frame_equal(fa, fe, check_exact=True, obj=str(a))
    elif suffix == ".json":
        assert _drop_timing(json.loads(a.read_text())) == _drop_timing(
            json.loads(e.read_text())), f"{a} differs from {e}"  # fmt: skip
    elif suffix == ".md":
        assert _markdown_cells(a) == _markdown_cells(e), f"{a} differs from {e}"
    elif suffix == ".npz":
        with np.load(e) as de, np.load(a) as da:
            assert sorted(de.files) == sorted(da.files), f"{a}: other arrays than {e}"
            for k in de.files:
                assert np.array_equal(de[k], da[k], equal_nan=de[k].dtype.kind == "f"), (
                    f"{a}[{k}] differs")  # fmt: skip
    elif suffix == ".pt":
        import torch

        te = torch.load(e, map_location="cpu", weights_only=False)
        ta = torch.load(a, map_location="cpu", weights_only=False)
        _assert_same_tree(_drop_timing(ta), _drop_timing(te), str(a))
    else:
        assert a.read_bytes() == e.read_bytes(), f"{a} differs from {e} byte for byte"


def _drop_timing(obj):
    if isinstance(obj, dict):
        return {k: _drop_timing(v) for k, v in obj.items() if not TIMING.search(str(k))}
    if isinstance(obj, (list, tuple)):
        return [_drop_timing(v) for v in obj]
    return obj


def _markdown_cells(path: Path) -> list[list[str]]:
    """The cells of every table in a markdown file, each table's timing columns (by its
    own header) dropped; the whole text when there is no table."""
    tables: list[list[list[str]]] = []
    previous_in_table = False
    for line in path.read_text().splitlines():
        in_table = line.startswith("|")
        if in_table:
            if not previous_in_table:
                tables.append([])
            tables[-1].append([c.strip() for c in line.strip().strip("|").split("|")])
        previous_in_table = in_table
    if not tables:
        return [[path.read_text()]]
    out = []
    for rows in tables:
        keep = [i for i, h in enumerate(rows[0]) if not TIMING.search(h)]
        out += [[r[i] for i in keep] for r in rows]
    return out


def _assert_same_tree(a, e, where: str) -> None:
    import torch

    if isinstance(e, torch.Tensor):
        assert isinstance(a, torch.Tensor) and torch.equal(a, e), f"{where} differs"
    elif isinstance(e, np.ndarray):
        assert np.array_equal(a, e), f"{where} differs"
    elif isinstance(e, dict):
        assert isinstance(a, dict) and sorted(map(str, a)) == sorted(map(str, e)), (
            f"{where}: keys differ")  # fmt: skip
        for k in e:
            _assert_same_tree(a[k], e[k], f"{where}[{k!r}]")
    elif isinstance(e, (list, tuple)):
        assert len(a) == len(e), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, e, strict=True)):
            _assert_same_tree(x, y, f"{where}[{i}]")
    else:
        assert a == e or (a != a and e != e), f"{where}: {a!r} != {e!r}"
