"""Results that persist: a comparison or a re-ranking result saved to a folder and loaded
back equal.

Arrays go to ``.npz`` (or, for the fronts of a comparison, a long CSV that other tools
read), tables to CSV, settings to JSON; every file is written atomically
(``moopt.files``). Floats survive the round trip bit for bit: CSVs are written with
Python's shortest round-trip representation and read with pandas' exact parser.

A comparison's folder is the one ``moopt compare --out DIR`` writes, so
``Comparison.load(DIR)`` reloads a command-line run in a notebook:

- ``comparison.json``: problem, n_var, n_obj, budget, budget_type, seeds, solvers,
  reference_point, alpha, settings, versions;
- ``comparison.csv``: the summary table (one row per solver);
- ``runs.csv``: one row per solver and seed;
- ``curves.csv``: the hypervolume after every generation (column ``solver``);
- ``bands.csv``: mean and 95% band on a shared grid (column ``solver``);
- ``significance.csv``: the best two solvers paired over seeds (several seeds only);
- ``fronts.csv``: every solver's and seed's final front, one row per point:
  ``solver, seed, point, x0 .. x{n_var-1}, f0 .. f{n_obj-1}``;
- ``pareto_front.npz``: the known Pareto front (array ``F``), where there is one.

A re-ranking result (``moopt.engine.RerankResult``) is ``rerank_result.npz`` (its
arrays) and ``rerank_result.json`` (objective names, seconds, which arrays it has).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .files import read_csv, versions, write_csv, write_json, write_npz

COMPARISON_JSON = "comparison.json"
TABLES = {"table": "comparison.csv", "runs": "runs.csv"}
BY_SOLVER = {"curves": "curves.csv", "bands": "bands.csv"}


def jsonable(value: Any) -> Any:
    """Convert settings to JSON values: paths and numpy scalars as their plain equivalents.

    Parameters
    ----------
    value : Any
        A setting: mappings, lists and tuples are converted recursively (keys to text,
        tuples to lists).

    Returns
    -------
    Any
        The same value built of dicts, lists, numbers, text, booleans and None.

    Raises
    ------
    TypeError
        If a value is none of those (nor a numpy scalar or path).

    Examples
    --------
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from moopt.persist import jsonable
    >>> jsonable({"seeds": (np.int64(0), 1), "out": Path("runs/a"), 3: np.float32(0.5)})
    {'seeds': [0, 1], 'out': 'runs/a', '3': 0.5}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"settings must hold JSON values (numbers, text, lists, mappings), "
                    f"got {type(value).__name__}: {value!r}")  # fmt: skip


def fronts_frame(result) -> pd.DataFrame:
    """Return every solver's and seed's final front in long form, one row per point.

    Parameters
    ----------
    result : moopt.compare.Comparison
        A comparison with decision vectors (``fronts_X_by_seed``), as ``compare`` makes.

    Returns
    -------
    pandas.DataFrame
        Columns ``solver, seed, point, x0 .. x{n_var-1}, f0 .. f{n_obj-1}`` (a failed or
        empty run has no rows).

    Raises
    ------
    ValueError
        If a non-empty front has no decision vectors, or their lengths differ.
    """
    n_var, n_obj = _sizes(result)
    columns = ["solver", "seed", "point"] + [f"x{j}" for j in range(n_var)] + [
        f"f{j}" for j in range(n_obj)]  # fmt: skip
    frames = []
    for name, fronts in result.fronts_by_seed.items():
        xs = result.fronts_X_by_seed.get(name, [None] * len(fronts))
        for seed, F, X in zip(result.seeds, fronts, xs, strict=True):
            if not len(F):
                continue
            if X is None:
                raise ValueError(f"the comparison has no decision vectors for {name!r}; "
                                 "run it with moopt.compare.compare")  # fmt: skip
            frame = pd.DataFrame(np.asarray(X).reshape(len(F), n_var),
                                 columns=columns[3:3 + n_var])  # fmt: skip
            for j in range(n_obj):
                frame[f"f{j}"] = np.asarray(F, dtype=float)[:, j]
            frame.insert(0, "point", np.arange(len(F)))
            frame.insert(0, "seed", int(seed))
            frame.insert(0, "solver", name)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _sizes(result) -> tuple[int, int]:
    n_obj = len(result.ref_point)
    shapes = {np.shape(X)[1] for xs in result.fronts_X_by_seed.values() for X in xs}
    if len(shapes) > 1:
        raise ValueError(f"the fronts' decision vectors differ in length: {sorted(shapes)}")
    return (shapes.pop() if shapes else 0), n_obj


def save_comparison(result, folder: str | os.PathLike, problem: str | None = None,
                    settings: Mapping[str, Any] | None = None) -> list[Path]:  # fmt: skip
    """Write a comparison to ``folder`` (the files are listed in the module docstring).

    Parameters
    ----------
    result : moopt.compare.Comparison
        The comparison to save (at least one seed).
    folder : str or os.PathLike
        Destination folder, created if missing; files of the same names are replaced.
    problem : str, optional
        Name of the problem, kept in ``comparison.json``.
    settings : Mapping of str to Any, optional
        Whatever else made the run (the command line's options), JSON values (see
        ``jsonable``), kept in ``comparison.json`` with the package versions.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    ValueError
        If the comparison has no seeds or no decision vectors for a front.
    TypeError
        If ``settings`` holds a value that is not JSON.
    """
    if not result.seeds:
        raise ValueError("the comparison has no seeds; save a result of moopt.compare.compare")
    out = Path(folder)
    n_var, n_obj = _sizes(result)
    solvers = list(result.fronts_by_seed) or list(result.curves)
    written = [write_csv(out / name, getattr(result, attr)) for attr, name in TABLES.items()]
    for attr, name in BY_SOLVER.items():
        frames = [f.assign(solver=n) for n, f in getattr(result, attr).items()]
        written.append(write_csv(out / name, pd.concat(frames, ignore_index=True)))
    if len(result.significance):
        written.append(write_csv(out / "significance.csv", result.significance))
    written.append(write_csv(out / "fronts.csv", fronts_frame(result)))
    if result.pareto_front is not None:
        written.append(write_npz(out / "pareto_front.npz", {"F": result.pareto_front}))
    record = {
        "problem": problem, "n_var": n_var, "n_obj": n_obj,
        "budget": None if result.budget is None else float(result.budget),
        "budget_type": result.budget_type, "seeds": [int(s) for s in result.seeds],
        "solvers": solvers, "reference_point": [float(v) for v in result.ref_point],
        "alpha": float(result.alpha), "settings": jsonable(dict(settings or {})),
        "versions": versions(),
    }  # fmt: skip
    written.append(write_json(out / COMPARISON_JSON, record))
    return written


def load_comparison(folder: str | os.PathLike, cls=None):
    """Load the comparison saved in ``folder`` by ``save_comparison`` or ``moopt compare --out``.

    Parameters
    ----------
    folder : str or os.PathLike
        Folder holding ``comparison.json`` and the tables.
    cls : type, optional
        Class to build (default ``moopt.compare.Comparison``).

    Returns
    -------
    moopt.compare.Comparison
        Equal to the saved one but for ``results`` (pymoo's ``Result`` objects are not
        saved: empty). Its ``record`` holds ``comparison.json`` (settings and versions
        included).

    Raises
    ------
    FileNotFoundError
        If ``folder`` has no ``comparison.json``.
    """
    folder = Path(folder)
    path = folder / COMPARISON_JSON
    if not path.is_file():
        raise FileNotFoundError(f"no {COMPARISON_JSON} in {folder}: not a folder written by "
                                "Comparison.save or moopt compare --out")  # fmt: skip
    record = json.loads(path.read_text())
    if cls is None:
        from .compare import Comparison as cls
    solvers, seeds = record["solvers"], [int(s) for s in record["seeds"]]
    n_var, n_obj = int(record["n_var"]), int(record["n_obj"])
    tables = {attr: read_csv(folder / name) for attr, name in TABLES.items()}
    by_solver = {attr: _split(read_csv(folder / name), solvers) for attr, name in BY_SOLVER.items()}
    sig = folder / "significance.csv"
    significance = read_csv(sig) if sig.is_file() else pd.DataFrame()
    fronts_by_seed, fronts_X_by_seed = _read_fronts(folder / "fronts.csv", solvers, seeds,
                                                    n_var, n_obj)  # fmt: skip
    pf_path = folder / "pareto_front.npz"
    pareto_front = None
    if pf_path.is_file():
        with np.load(pf_path) as arrays:
            pareto_front = arrays["F"]
    loaded = cls(
        table=tables["table"], curves=by_solver["curves"],
        fronts={n: fronts_by_seed[n][0] for n in solvers if len(fronts_by_seed[n][0])},
        ref_point=np.asarray(record["reference_point"], dtype=float), results={},
        runs=tables["runs"], bands=by_solver["bands"], significance=significance,
        fronts_by_seed=fronts_by_seed, pareto_front=pareto_front,
        budget_type=record["budget_type"], fronts_X_by_seed=fronts_X_by_seed,
        budget=record["budget"], seeds=seeds, alpha=float(record.get("alpha", 0.05)),
        record=record,
    )  # fmt: skip
    return loaded


def _split(frame: pd.DataFrame, solvers: list[str]) -> dict[str, pd.DataFrame]:
    """Per-solver frames of a long table with a ``solver`` column (dropped)."""
    columns = [c for c in frame.columns if c != "solver"]
    out = {}
    for name in solvers:
        mine = frame[frame["solver"] == name][columns].reset_index(drop=True)
        out[name] = mine if len(mine) else pd.DataFrame(columns=columns)
    return out


def _read_fronts(path: Path, solvers, seeds, n_var: int, n_obj: int):
    frame = read_csv(path)
    x_cols, f_cols = [f"x{j}" for j in range(n_var)], [f"f{j}" for j in range(n_obj)]
    fronts, fronts_X = {}, {}
    for name in solvers:
        for seed in seeds:
            rows = frame[(frame["solver"] == name) & (frame["seed"] == seed)]
            rows = rows.sort_values("point")
            F = rows[f_cols].to_numpy(dtype=float) if len(rows) else np.zeros((0, n_obj))
            X = rows[x_cols].to_numpy() if len(rows) else np.zeros((0, n_var))
            fronts.setdefault(name, []).append(F)
            fronts_X.setdefault(name, []).append(X)
    return fronts, fronts_X


RERANK_NPZ, RERANK_JSON = "rerank_result.npz", "rerank_result.json"


def save_rerank_result(result, folder: str | os.PathLike) -> list[Path]:
    """Write a re-ranking result to ``folder``.

    Its arrays go to ``rerank_result.npz``; its objective names, seconds and the names
    of the arrays it has (absent ones, e.g. no archive or no anchors, stay absent) to
    ``rerank_result.json``.

    Parameters
    ----------
    result : moopt.engine.RerankResult
        The result to save.
    folder : str or os.PathLike
        Destination folder, created if missing.

    Returns
    -------
    list of pathlib.Path
        The two files written.

    Raises
    ------
    TypeError
        If a field other than ``objectives`` and ``seconds`` is neither an array nor None.
    """
    arrays, scalars = {}, {}
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if isinstance(value, np.ndarray):
            arrays[f.name] = value
        elif value is not None:
            scalars[f.name] = value
    record = {"objectives": list(scalars.pop("objectives")),
              "seconds": float(scalars.pop("seconds")), "arrays": sorted(arrays),
              "versions": versions()}  # fmt: skip
    if scalars:
        raise TypeError(f"cannot save the fields {sorted(scalars)}: not arrays")
    out = Path(folder)
    return [write_npz(out / RERANK_NPZ, arrays), write_json(out / RERANK_JSON, record)]


def load_rerank_result(folder: str | os.PathLike, cls=None):
    """Load the re-ranking result saved in ``folder`` by ``save_rerank_result``.

    Parameters
    ----------
    folder : str or os.PathLike
        Folder holding ``rerank_result.json`` and ``rerank_result.npz``.
    cls : type, optional
        Class to build (default ``moopt.engine.RerankResult``).

    Returns
    -------
    moopt.engine.RerankResult
        Equal to the saved one.

    Raises
    ------
    FileNotFoundError
        If ``folder`` has no ``rerank_result.json``.
    """
    folder = Path(folder)
    if not (folder / RERANK_JSON).is_file():
        raise FileNotFoundError(f"no {RERANK_JSON} in {folder}: not a folder written by "
                                "RerankResult.save")  # fmt: skip
    record = json.loads((folder / RERANK_JSON).read_text())
    if cls is None:
        from .engine.result import RerankResult as cls
    with np.load(folder / RERANK_NPZ) as data:
        arrays = {name: data[name] for name in record["arrays"]}
    return cls(objectives=tuple(record["objectives"]), seconds=record["seconds"], **arrays)
