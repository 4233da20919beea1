"""Re-ranking at size: memory-mapped candidates re-ranked in user blocks, lists streamed
to Parquet partitions, locally or on a Dask cluster.

Each block of users is read from a candidates directory (``<dir>/<name>.npy`` per array,
``<dir>/meta.json`` for the ``meta_*`` values; ``open_candidates``), turned into hit
probabilities (the calibration of ``recommenders.evaluate.calibrated_scores``, or a softmax
over the candidates when the candidates are uncalibrated), seeded with the greedy lists
``moopt rerank``'s ``nsga2_seeded`` uses (MMR, DPP and SSD along their parameter grid),
searched by the engine (``moopt.engine.run_engine``), and reduced to one chosen list per user
(the utility choice) before the next block is read: the archive is freed with the block, so
memory does not grow with the number of users. Every user keeps its global row as its random
stream, so the lists equal one in-memory ``rerank_batch`` over all users for the same seed,
whatever the block size or the number of Dask workers. The expected_hits weight of the
utility is tuned on a validation candidates directory as ``moopt apply --valid`` does (F1@K
of each weight of ``DEFAULT_W``), on a seeded sample of its users when it is large.

Output folder: ``lists/part-<first>-<last>.parquet`` (one per block, written atomically:
``user``, ``rank``, ``item``, ``score``, ``q`` and each objective's value of the list) and
``summary.json`` (the settings, the tuned weight, per block its seconds by stage and its
objective sums; the totals). A block whose partition exists and is recorded in a summary of
the same settings is skipped, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from problems.rerank_eval.stages import DEFAULT_GRID, DEFAULT_W

REQUIRED = ("users", "items", "scores", "item_genres", "item_popularity")
STAGES = ("calibration", "seeds", "search", "choice", "write")


@dataclass(frozen=True)
class StreamConfig:
    """Settings of a streamed re-ranking; every field but ``block_users`` is part of what
    the seed reproduces (the lists do not depend on the block size).

    Parameters
    ----------
    k : int, default 10
        List length K.
    pop_size, n_gen : int, default 50 and 10
        NSGA-II's population and generations.
    objectives : tuple of str, default ("expected_hits", "diversity", "novelty")
        Registered objective names, maximised.
    weights : dict of str to float, optional
        Utility weights (default: 1 for expected_hits, 0.5 for the others); with a
        validation set the expected_hits weight is tuned.
    seed : int, default 0
        Seed of the searches and of the validation sample.
    block_users : int, default 2048
        Users per block (one engine call, one partition, one Dask task).
    seeds : {"greedy", "topk"}, default "greedy"
        ``"greedy"``: the top-K list and the MMR, DPP and SSD lists along ``grid`` (as
        ``nsga2_seeded``); ``"topk"``: the top-K list only.
    grid : tuple of float, default (0.1, ..., 0.9)
        Trade-offs of the greedy seeds.
    valid_users : int, default 20000
        Validation users the weight is tuned on (a seeded sample when there are more).
    archive_size : int, default 256
        Archive capacity per user.
    """

    k: int = 10
    pop_size: int = 50
    n_gen: int = 10
    objectives: tuple[str, ...] = ("expected_hits", "diversity", "novelty")
    weights: dict[str, float] | None = field(default=None, hash=False)
    seed: int = 0
    block_users: int = 2048
    seeds: str = "greedy"
    grid: tuple[float, ...] = DEFAULT_GRID
    valid_users: int = 20000
    archive_size: int = 256

    def __post_init__(self) -> None:
        for name in ("k", "pop_size", "n_gen", "block_users", "valid_users"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.seeds not in ("greedy", "topk"):
            raise ValueError(f"seeds must be 'greedy' or 'topk', got {self.seeds!r}")
        unknown = set(self.weights or {}) - set(self.objectives)
        if unknown:
            raise ValueError(f"weights name {sorted(unknown)}, not among the objectives "
                             f"{list(self.objectives)}")  # fmt: skip

    def utility(self) -> dict[str, float]:
        """The utility weights, defaults filled in.

        Returns
        -------
        dict of str to float
            One weight per objective.
        """
        w = {o: (1.0 if o == "expected_hits" else 0.5) for o in self.objectives}
        return {**w, **(self.weights or {})}

    def record(self) -> dict[str, Any]:
        """The settings as JSON values (``summary.json``'s ``settings``).

        Returns
        -------
        dict of str to Any
            Every field, tuples as lists.
        """
        return json.loads(json.dumps({**asdict(self), "weights": self.utility()}))


def open_candidates(path, name: str = "candidates", target: bool = False) -> dict[str, Any]:
    """Open a candidates directory without reading it: memory-mapped arrays plus metadata.

    Parameters
    ----------
    path : str or os.PathLike
        A folder holding ``users.npy``, ``items.npy``, ``scores.npy``, ``item_genres.npy``,
        ``item_popularity.npy`` (and ``target.npy``, ``log_norm_full.npy`` ...) and
        ``meta.json`` (``meta_*`` values, with or without the prefix).
    name : str, default "candidates"
        The argument's name, for the messages.
    target : bool, default False
        Require ``target.npy`` (a validation set).

    Returns
    -------
    dict of str to Any
        Arrays opened with ``np.load(mmap_mode="r")`` and ``meta_<key>`` values.

    Raises
    ------
    ValueError
        Naming ``name``, for a missing folder, array or ``meta.json``, or shapes that
        disagree.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"{name}: no candidates directory {folder} (a folder of <array>.npy "
                         "files and meta.json, as moopt candidates writes at size)")  # fmt: skip
    need = REQUIRED + (("target",) if target else ())
    missing = [a for a in need if not (folder / f"{a}.npy").is_file()]
    if missing or not (folder / "meta.json").is_file():
        missing += [] if (folder / "meta.json").is_file() else ["meta.json"]
        raise ValueError(f"{name}: {folder} lacks {missing}; write every array as "
                         "<name>.npy and the metadata as meta.json")  # fmt: skip
    out: dict[str, Any] = {p.stem: np.load(p, mmap_mode="r") for p in folder.glob("*.npy")}
    meta = json.loads((folder / "meta.json").read_text())
    out.update({(k if k.startswith("meta_") else f"meta_{k}"): v for k, v in meta.items()})
    u = out["users"].shape[0]
    shapes = {a: out[a].shape for a in ("users", "items", "scores", "target", "log_norm_full")
              if a in out}  # fmt: skip
    rows = {a: s[0] if s else None for a, s in shapes.items()}
    if (out["items"].ndim != 2 or out["scores"].shape != out["items"].shape
            or len(shapes["users"]) != 1 or set(rows.values()) != {u}
            or out["item_genres"].ndim != 2
            or out["item_popularity"].shape != (out["item_genres"].shape[0],)):
        raise ValueError(f"{name}: the arrays' shapes disagree ({shapes}, item_genres "
                         f"{out['item_genres'].shape}, item_popularity "
                         f"{out['item_popularity'].shape}): items and scores must be (U, N), "
                         "users, target and log_norm_full (U,), item_popularity (I,) for "
                         "item_genres (I, G)")  # fmt: skip
    if _calibrated(out) and "log_norm_full" not in out:
        raise ValueError(f"{name}: meta calibration is {out['meta_calibration']!r} but there "
                         "is no log_norm_full.npy; write it, or set calibration none")  # fmt: skip
    return out


def _calibrated(cands) -> bool:
    return str(cands.get("meta_calibration", "none")) != "none"


def candidate_probabilities(cands: dict[str, Any]) -> np.ndarray:
    """Hit probabilities of candidates: calibrated, or a softmax when uncalibrated.

    Parameters
    ----------
    cands : dict of str to Any
        Candidates with ``scores`` and ``meta_calibration`` (``"none"``: no calibration),
        plus ``log_norm_full`` and ``meta_temperature_full`` when calibrated.

    Returns
    -------
    numpy.ndarray
        (U, N) float64 probabilities (``recommenders.evaluate.calibrated_scores``, or the
        softmax of the scores over each user's candidates).

    Examples
    --------
    >>> c = {"scores": np.array([[0.0, np.log(3.0)]]), "meta_calibration": "none"}
    >>> candidate_probabilities(c)
    array([[0.25, 0.75]])
    """
    from recommenders.evaluate import calibrated_scores

    if _calibrated(cands):
        meta = {k: np.asarray(v) for k, v in cands.items() if k.startswith("meta_")}
        return calibrated_scores({**cands, **meta}, "full")
    s = np.asarray(cands["scores"], dtype=np.float64)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _block(cands, rows) -> dict[str, Any]:
    """One block's rows (a slice or sorted indices) read into memory, with the catalogue."""
    out = {k: v for k, v in cands.items() if k.startswith("meta_")}
    for a in ("users", "items", "scores", "target", "log_norm_full"):
        if a in cands:
            out[a] = np.asarray(cands[a][rows])
    out["item_genres"] = np.asarray(cands["item_genres"], dtype=bool)
    out["item_popularity"] = np.asarray(cands["item_popularity"], dtype=np.float64)
    return out


def _search(block, cfg: StreamConfig, stream_ids, times, memory_limit=None):
    """Calibration, seeds and search of one block; ``times`` gets each stage's seconds."""
    from moopt.engine import RerankConfig, run_engine
    from moopt.objectives import make_inputs, pack_objectives
    from problems.rerank_eval.stages import Context, RerankEvalConfig, Stage

    t = time.perf_counter()
    q = candidate_probabilities(block)
    genres, pop, items = block["item_genres"], block["item_popularity"], block["items"]
    t = _lap(times, "calibration", t)
    initial = None
    if cfg.seeds == "greedy":
        ecfg = RerankEvalConfig(k=cfg.k, ks=(cfg.k,), grid=cfg.grid)
        stage = Stage("test", "full", q, items, np.zeros(len(q), dtype=np.int64))
        initial = Context(stage, genres, pop, ecfg).greedy_seeds()
    t = _lap(times, "seeds", t)
    inputs = make_inputs(q, items, genres, pop, cfg.k)
    packed = pack_objectives(cfg.objectives, inputs)
    rcfg = RerankConfig(k=cfg.k, pop_size=cfg.pop_size, n_gen=cfg.n_gen,
                        archive_size=cfg.archive_size)  # fmt: skip
    res = run_engine(inputs, packed, rcfg, cfg.seed, np.asarray(stream_ids, dtype=np.int64),
                     None, initial, memory_limit=memory_limit)  # fmt: skip
    _lap(times, "search", t)
    return q, res, packed


def _lap(times: dict, stage: str, t0: float) -> float:
    now = time.perf_counter()
    times[stage] = times.get(stage, 0.0) + now - t0
    return now


def _choose(res, q, packed, weights):
    """The utility's list per user, ordered by q, and its objective values (U, M)."""
    from moopt.engine import evaluate_lists

    p = res.choose(weights, positions=True)
    order = np.argsort(-np.take_along_axis(q, p, axis=1), axis=1, kind="stable")
    p = np.ascontiguousarray(np.take_along_axis(p, order, axis=1))
    return p, evaluate_lists(p[:, None, :], packed)[:, 0]


def part_name(start: int, stop: int) -> str:
    """File name of the partition of rows ``start`` to ``stop - 1``.

    Parameters
    ----------
    start, stop : int
        The block's first row and the row after its last.

    Returns
    -------
    str
        ``part-<start>-<stop - 1>.parquet``, zero-padded to 10 digits (sorts by row).

    Examples
    --------
    >>> part_name(0, 2048)
    'part-0000000000-0000002047.parquet'
    """
    return f"part-{start:010d}-{stop - 1:010d}.parquet"


def stream_block(path, start: int, stop: int, out, cfg: StreamConfig, weights,
                 memory_limit=None) -> dict[str, Any]:
    """Re-rank rows ``start:stop`` of a candidates directory and write their partition.

    What one Dask task runs: it reads only its own rows and returns only a summary.

    Parameters
    ----------
    path : str or os.PathLike
        The candidates directory (visible to the process running this).
    start, stop : int
        The block's rows.
    out : str or os.PathLike
        The output folder; the partition goes to ``out/lists/``.
    cfg : StreamConfig
        Settings.
    weights : dict of str to float
        The utility weights (expected_hits' tuned).
    memory_limit : float, optional
        Bytes the engine may take (``moopt.engine.memory``).

    Returns
    -------
    dict of str to Any
        ``part``, ``start``, ``stop``, ``seconds`` by stage, ``objective_sums`` (the chosen
        lists' objective values summed over the block's users) and ``archive_sum``.
    """
    from moopt.files import atomic_path

    times: dict[str, float] = {}
    block = _block(open_candidates(path), slice(start, stop))
    q, res, packed = _search(block, cfg, np.arange(start, stop), times, memory_limit)
    t = time.perf_counter()
    pos, F = _choose(res, q, packed, weights)
    archive_sum = int(res.archive_size.sum())
    del res  # the archive: only the choice and its sums leave the block
    t = _lap(times, "choice", t)
    frame = _frame(block, q, pos, F, cfg)
    name = part_name(start, stop)
    with atomic_path(Path(out) / "lists" / name, suffix=".parquet") as tmp:
        frame.to_parquet(tmp, index=False)
    _lap(times, "write", t)
    return {"part": name, "start": int(start), "stop": int(stop), "seconds": times,
            "objective_sums": [float(x) for x in F.sum(axis=0)], "archive_sum": archive_sum}


def _frame(block, q, pos, F, cfg):
    import pandas as pd

    u, k = pos.shape
    cols = {"user": np.repeat(block["users"], k), "rank": np.tile(np.arange(1, k + 1), u),
            "item": np.take_along_axis(block["items"], pos, axis=1).ravel(),
            "score": np.take_along_axis(block["scores"], pos, axis=1).ravel().astype(np.float64),
            "q": np.take_along_axis(q, pos, axis=1).ravel()}  # fmt: skip
    cols.update({o: np.repeat(F[:, j], k) for j, o in enumerate(cfg.objectives)})
    return pd.DataFrame(cols)


def valid_block(path, rows, cfg: StreamConfig, w_grid) -> np.ndarray:
    """Per validation user and grid weight, the chosen list's hit, Div@K and Nov@K.

    Parameters
    ----------
    path : str or os.PathLike
        The validation candidates directory (with ``target.npy``).
    rows : numpy.ndarray
        Sorted rows of the users (their random streams).
    cfg : StreamConfig
        Settings.
    w_grid : sequence of float
        The expected_hits weights tried.

    Returns
    -------
    numpy.ndarray
        (len(w_grid), len(rows), 3) ``per_user_measures`` of each weight's lists.
    """
    from problems.rerank_eval.stages import per_user_measures

    block = _block(open_candidates(path, "valid", target=True), rows)
    q, res, packed = _search(block, cfg, rows, {})
    out = []
    for w in w_grid:
        pos, _ = _choose(res, q, packed, {**cfg.utility(), "expected_hits": w})
        lists = np.take_along_axis(block["items"], pos, axis=1)
        out.append(per_user_measures(lists, block["target"], block["item_genres"],
                                     block["item_popularity"], cfg.k))  # fmt: skip
    return np.stack(out)


def tune_weight(valid, cfg: StreamConfig, client=None, w_grid=DEFAULT_W) -> dict[str, Any]:
    """The expected_hits weight with the best validation F1@K (the first of equals).

    Parameters
    ----------
    valid : str or os.PathLike
        Validation candidates directory (``target.npy``: each user's held-out item).
    cfg : StreamConfig
        Settings; at most ``valid_users`` users, a sample drawn with ``seed``.
    client : dask.distributed.Client, optional
        Run the blocks on this cluster.
    w_grid : sequence of float, default ``DEFAULT_W``
        The weights tried (``moopt rerank``'s and ``moopt apply``'s grid).

    Returns
    -------
    dict of str to Any
        ``expected_hits_weight``, ``valid_F1@K``, ``grid``, ``grid_valid_F1@K`` and
        ``users`` (how many were sampled).

    Raises
    ------
    ValueError
        If expected_hits is not an objective, or as ``open_candidates``.
    """
    from problems.rerank_eval.stages import f_beta_of_means

    if "expected_hits" not in cfg.objectives:
        raise ValueError("valid: tuning needs expected_hits among the objectives")
    n = open_candidates(valid, "valid", target=True)["users"].shape[0]
    rows = np.arange(n)
    if n > cfg.valid_users:
        rows = np.sort(np.random.default_rng(cfg.seed).choice(n, cfg.valid_users, replace=False))
    blocks = [rows[i: i + cfg.block_users] for i in range(0, rows.size, cfg.block_users)]
    if client is None:
        parts = [valid_block(valid, b, cfg, w_grid) for b in blocks]
    else:
        parts = client.gather([client.submit(valid_block, str(valid), b, cfg, tuple(w_grid),
                                             pure=False) for b in blocks])  # fmt: skip
    f1 = [float(f_beta_of_means(1.0)(m.mean(axis=0))) for m in np.concatenate(parts, axis=1)]
    best = int(np.argmax(f1))
    return {"expected_hits_weight": float(w_grid[best]), f"valid_F1@{cfg.k}": f1[best],
            "grid": [float(w) for w in w_grid], f"grid_valid_F1@{cfg.k}": f1,
            "users": int(rows.size)}  # fmt: skip


def check_block_memory(n_candidates: int, cfg: StreamConfig, memory_limit=None) -> dict:
    """Refuse a block size that cannot fit, before reading anything.

    Parameters
    ----------
    n_candidates : int
        Candidates N per user.
    cfg : StreamConfig
        Settings (``block_users`` users per block).
    memory_limit : float, optional
        Bytes (see ``moopt.engine.memory.memory_limit_of``).

    Returns
    -------
    dict of str to int
        The block's estimate: the engine's parts plus ``"seeds"`` (the greedy seed lists
        and the per-thread similarity of their Numba pass), in bytes.

    Raises
    ------
    moopt.engine.RerankMemoryError
        If one block's estimate exceeds the limit (lower ``block_users``).
    """
    from moopt.engine.memory import check_memory, memory_estimate

    b, n, k = cfg.block_users, n_candidates, cfg.k
    n_seeds = 1 + (3 * len(cfg.grid) if cfg.seeds == "greedy" else 0)
    est = memory_estimate(b, k, n, len(cfg.objectives), cfg.pop_size, cfg.archive_size,
                          cfg.n_gen, n_seeds)  # fmt: skip
    est.pop("total")
    # The greedy lists (U, 3 * grid, K) int64 and, per thread of the Numba pass
    # (problems.rerank_eval.greedy_kernels), one user's (N, N) similarity and scratch of
    # that order; the block's own arrays (U, N) several times.
    est["seeds"] = (b * 3 * len(cfg.grid) * k * 8 + 2 * _threads() * n * n * 8
                    if cfg.seeds == "greedy" else 0)  # fmt: skip
    est["block"] = 6 * b * n * 8
    est["total"] = sum(est.values())
    check_memory(est, b, cfg.archive_size, memory_limit,
                 what="one block of the streamed re-ranking (lower block_users / "
                 "--block-users)")  # fmt: skip
    return est


def _threads() -> int:
    """Threads of the Numba pass (``NUMBA_NUM_THREADS``, default the cores)."""
    import numba

    return int(numba.get_num_threads())


def rerank_stream(candidates, out, valid=None, cfg: StreamConfig | None = None, client=None,
                  progress: bool = True, memory_limit=None) -> dict[str, Any]:
    """Re-rank a candidates directory in user blocks into Parquet partitions.

    Parameters
    ----------
    candidates : str or os.PathLike
        The candidates directory (``open_candidates``); with a ``client`` a path every
        worker sees.
    out : str or os.PathLike
        Output folder: ``lists/`` (one partition per block) and ``summary.json``.
    valid : str or os.PathLike, optional
        A validation candidates directory: the expected_hits weight is tuned on it.
    cfg : StreamConfig, optional
        Settings (default ``StreamConfig()``).
    client : dask.distributed.Client, optional
        Run each block as a task on this cluster: the task reads its rows and writes its
        partition; only its summary comes back.
    progress : bool, default True
        A tqdm bar over users.
    memory_limit : float, optional
        Bytes one block may take (checked before anything is read; see
        ``check_block_memory``).

    Returns
    -------
    dict of str to Any
        What ``summary.json`` holds: ``settings``, ``tuned``, ``blocks``, ``totals``.

    Raises
    ------
    ValueError
        For bad inputs (``open_candidates``), or an ``out`` holding a run of other
        settings.
    moopt.engine.RerankMemoryError
        If one block cannot fit (lower ``block_users``).
    """
    from recommenders.io import job_folder

    cfg = StreamConfig() if cfg is None else cfg
    t_wall = time.perf_counter()
    cands = open_candidates(candidates)
    n_users, n = cands["items"].shape
    check_block_memory(n, cfg, memory_limit)
    if valid is not None:
        open_candidates(valid, "valid", target=True)
    settings = {**cfg.record(), "candidates": str(Path(candidates).resolve()),
                "valid": None if valid is None else str(Path(valid).resolve()),
                "n_users": int(n_users), "n_candidates": int(n)}  # fmt: skip
    with job_folder(out) as folder:  # one job at a time; a killed run's temporaries go
        return _stream(candidates, folder, valid, cfg, client, progress, memory_limit,
                       settings, t_wall)  # fmt: skip


def _stream(candidates, out, valid, cfg, client, progress, memory_limit, settings, t_wall):
    from tqdm.auto import tqdm

    from moopt.files import versions, write_json

    n_users = settings["n_users"]
    summary_path = out / "summary.json"
    summary = {"settings": settings, "tuned": None, "blocks": {}}
    if summary_path.is_file():
        old = json.loads(summary_path.read_text())
        if old.get("settings") != settings:
            raise ValueError(f"out: {out} holds a streamed run of other settings; give a new "
                             "--out folder, or delete it to start again")  # fmt: skip
        summary = {**summary, "tuned": old.get("tuned"), "blocks": old.get("blocks", {})}
    weights = cfg.utility()
    if valid is not None and summary["tuned"] is None:
        t = time.perf_counter()
        summary["tuned"] = {**tune_weight(valid, cfg, client), "seconds": 0.0}
        summary["tuned"]["seconds"] = time.perf_counter() - t
        write_json(summary_path, {**summary, "versions": versions()})
    if summary["tuned"] is not None:
        weights["expected_hits"] = summary["tuned"]["expected_hits_weight"]
    bounds = [(s, min(s + cfg.block_users, n_users)) for s in range(0, n_users, cfg.block_users)]
    done = {b["part"] for b in summary["blocks"].values()
            if (out / "lists" / b["part"]).is_file()}  # fmt: skip
    todo = [(s, e) for s, e in bounds if part_name(s, e) not in done]
    bar = tqdm(total=n_users, desc="stream", unit="user", disable=not progress)
    bar.update(n_users - sum(e - s for s, e in todo))

    def record(stats):
        summary["blocks"][stats["part"]] = stats
        write_json(summary_path, {**summary, "versions": versions()})
        bar.update(stats["stop"] - stats["start"])

    if client is None:
        for s, e in todo:
            record(stream_block(candidates, s, e, out, cfg, weights, memory_limit))
    else:
        from distributed import as_completed

        futures = [client.submit(stream_block, str(candidates), s, e, str(out), cfg, weights,
                                 memory_limit, pure=False) for s, e in todo]  # fmt: skip
        for future in as_completed(futures):
            record(future.result())
    bar.close()
    summary["blocks"] = dict(sorted(summary["blocks"].items()))
    summary["totals"] = _totals(summary["blocks"].values(), cfg, n_users,
                                time.perf_counter() - t_wall, len(todo))  # fmt: skip
    write_json(summary_path, {**summary, "versions": versions()})
    return summary


def _totals(blocks, cfg: StreamConfig, n_users: int, wall: float, run: int) -> dict:
    blocks = list(blocks)
    sums = np.sum([b["objective_sums"] for b in blocks], axis=0)
    return {"users": n_users, "blocks": len(blocks), "blocks_run": run,
            "wall_seconds": wall,
            "seconds": {s: float(sum(b["seconds"].get(s, 0.0) for b in blocks)) for s in STAGES},
            "objective_means": dict(zip(cfg.objectives, (sums / n_users).tolist(), strict=True)),
            "archive_mean": sum(b["archive_sum"] for b in blocks) / n_users}  # fmt: skip


def save_candidates_dir(path, arrays: dict[str, np.ndarray], **meta) -> Path:
    """Write a candidates directory: each array as ``<name>.npy``, ``meta`` as ``meta.json``.

    Every file is written atomically (``meta.json`` last); the reverse of
    ``open_candidates``.

    Parameters
    ----------
    path : str or os.PathLike
        The folder (created if missing).
    arrays : dict of str to numpy.ndarray
        ``users``, ``items``, ``scores``, ``item_genres``, ``item_popularity`` and any
        others (``target``, ``log_norm_full`` ...).
    **meta
        JSON values (e.g. ``calibration="none"``), stored without the ``meta_`` prefix.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from moopt.files import atomic_path, write_json

    folder = Path(path)
    for name, a in arrays.items():
        with atomic_path(folder / f"{name}.npy", suffix=".npy") as tmp:
            np.save(tmp, np.asarray(a))
    write_json(folder / "meta.json", {k.removeprefix("meta_"): v for k, v in meta.items()})
    return folder
