"""pymoo's NSGA2 with moopt's list operators, one user at a time, against
``moopt.rerank_batch`` for all users at once, and against ``rerank_batch`` at a baseline
revision of this repository, on the same synthetic users.

Settings (PreferRec's): N = 100 candidates, K = 10, 18 genres, population 50,
10 generations, crossover 0.9, mutation 0.2, the default objectives (accuracy, diversity,
novelty, each in [0, 1]). Both NSGA-II implementations use the same operators (list
one-point crossover with repair, swap/replace mutation, row-hash duplicate elimination)
and binary tournaments on rank then crowding.

Speed: users per second of one ``rerank_batch`` call (input checks and result included),
with the default archive (``archive_size=256``, what users get) and without one
(``archive_size=0``). The baseline revision runs in a temporary ``git worktree`` in a
subprocess that waits for requests, so current and baseline runs alternate in one
benchmark run on the same inputs (timings on a shared machine drift; alternating keeps
the comparison fair). Numba compilation is excluded (warm-up calls run first on both
sides), and so is the first full-size call of each variant (memory growth of the
process). pymoo is timed on the first ``--pymoo-users`` users. ``--ordinary`` adds this
tree's engine built with ordinary arrays instead of borrowed views (``MOOPT_BORROWED=0``,
see :mod:`moopt._memory`), served by a subprocess the same way, default archive.

Quality: each user's hypervolume of the final population's first front, objectives
negated to [-1, 0] with reference point 0, so values lie in [0, 1] (a difference of
0.005 is 0.5 % of the unit cube). Differences are paired by user, with their standard
error.

    python -m benchmarks.rerank_speed [--users 943,6040,20000] [--pymoo-users 50]
        [--repeats 1] [--baseline db004be | none] [--ordinary]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numba
import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.indicators.hv import HV
from pymoo.optimize import minimize

from moopt import rerank_batch
from moopt.operators import (
    ListDuplicateElimination,
    ListMutation,
    ListSampling,
    OnePointListCrossover,
)
from problems import ListReRankingProblem
from recommenders.io import write_json

N, K, GENRES, POP, GEN, PCX, PMUT = 100, 10, 18, 50, 10, 0.9, 0.2
DEFAULT_BASELINE = "db004be"  # the engine before the archive
DEFAULT_USERS = "943,6040,20000"
REPO = Path(__file__).resolve().parent.parent


def synthetic_users(n_users: int, n_items: int = 3000, seed: int = 0):
    """Candidate sets with skewed popularity, 1-3 genres per item, scores falling with rank."""
    rng = np.random.default_rng(seed)
    genres = np.zeros((n_items, GENRES), dtype=bool)
    genres[np.arange(n_items), rng.integers(0, GENRES, n_items)] = True
    extra = rng.random(n_items) < 0.5
    genres[np.flatnonzero(extra), rng.integers(0, GENRES, int(extra.sum()))] = True
    popularity = np.floor(5000.0 / np.arange(1, n_items + 1) ** 0.9)[rng.permutation(n_items)]
    candidates = np.stack([rng.choice(n_items, N, replace=False) for _ in range(n_users)])
    scores = np.sort(rng.normal(size=(n_users, N)), axis=1)[:, ::-1] + rng.normal(
        scale=0.3, size=(n_users, N)
    )
    return scores, candidates, genres, popularity


def pymoo_algorithm() -> NSGA2:
    algo = NSGA2(
        pop_size=POP,
        sampling=ListSampling(),
        crossover=OnePointListCrossover(prob=PCX),
        mutation=ListMutation(prob=PMUT),
        eliminate_duplicates=ListDuplicateElimination(),
    )
    algo.tournament_type = "comp_by_rank_and_crowding"  # the batch engine's tournament
    return algo


def front_hv(F_max: np.ndarray, rank: np.ndarray | None = None) -> float:
    """Hypervolume of maximised values in [0, 1]: negated to [-1, 0], reference point 0."""
    if rank is not None:
        F_max = F_max[rank == 0]
    return float(HV(ref_point=np.zeros(F_max.shape[1]))(-F_max))


def user_hvs(F: np.ndarray, rank: np.ndarray, n: int) -> np.ndarray:
    """Per-user front hypervolume of the first ``n`` users of a batch result."""
    return np.array([front_hv(F[u], rank[u]) for u in range(n)])


def paired(a: np.ndarray, b: np.ndarray) -> dict:
    """Mean of ``a - b`` over users with its standard error."""
    d = np.asarray(a) - np.asarray(b)
    se = float(np.std(d, ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0
    return {"difference": float(d.mean()), "se": se}


# ----------------------------------------------------------------------------- baseline

# Runs inside the baseline worktree (PYTHONPATH points there): one JSON request per line
# on stdin ({"inputs": npz, "seed": s, "out": npz}), one JSON answer per line on stdout.
_BASELINE_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from moopt import rerank_batch

    def call(d, seed, n_gen):
        return rerank_batch(d["scores"], d["candidates"], d["genres"], d["popularity"],
                            k=d["k"].item(), pop_size=d["pop"].item(), n_gen=n_gen,
                            p_cx=d["p_cx"].item(), p_mut=d["p_mut"].item(), seed=seed)

    ready = False
    for line in sys.stdin:
        req = json.loads(line)
        d = dict(np.load(req["inputs"]))
        if not ready:  # compile (or load) every kernel before timing anything
            call({**d, "scores": d["scores"][:2], "candidates": d["candidates"][:2]}, 0, 2)
            ready = True
        t0 = time.perf_counter()
        res = call(d, req["seed"], d["n_gen"].item())
        seconds = time.perf_counter() - t0
        np.savez(req["out"], F=res.F, rank=res.rank)
        print(json.dumps({"seconds": seconds}), flush=True)
    """
)


class Baseline:
    """``rerank_batch`` at another revision: a detached worktree in a temporary
    directory and a subprocess serving timing requests; removed on :meth:`close`.
    ``rev=None``: this working tree itself (no worktree), e.g. with ``env`` choosing
    another build of the engine."""

    def __init__(self, rev: str | None, env: dict[str, str] | None = None):
        self.rev = rev
        self.tmp = tempfile.mkdtemp(prefix="moopt-baseline-")
        if rev is None:
            self.tree, self.commit = str(REPO), "this tree"
        else:
            self.tree = os.path.join(self.tmp, "tree")
            self.commit = subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "--short", rev], check=True,
                capture_output=True, text=True,
            ).stdout.strip()  # fmt: skip
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", self.tree, rev],
                check=True, capture_output=True,
            )  # fmt: skip
        script = os.path.join(self.tmp, "serve.py")
        Path(script).write_text(_BASELINE_SCRIPT)
        env = {**os.environ, "PYTHONPATH": self.tree, **(env or {})}
        self.proc = subprocess.Popen([sys.executable, script], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env,
                                     cwd=self.tree)  # fmt: skip
        self.n_calls = 0

    def run(self, inputs: str, seed: int) -> tuple[float, np.ndarray, np.ndarray]:
        out = os.path.join(self.tmp, f"out{self.n_calls}.npz")
        self.n_calls += 1
        self.proc.stdin.write(json.dumps({"inputs": inputs, "seed": seed, "out": out}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the baseline process ({self.rev}) stopped; see its stderr")
        with np.load(out) as r:
            F, rank = r["F"], r["rank"]
        os.remove(out)
        return json.loads(line)["seconds"], F, rank

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
        finally:
            if self.rev is not None:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", self.tree],
                    capture_output=True,
                )  # fmt: skip
                subprocess.run(["git", "-C", str(REPO), "worktree", "prune"],
                               capture_output=True)  # fmt: skip
            for f in Path(self.tmp).glob("*"):
                if f.is_file():
                    f.unlink()
            try:
                os.rmdir(self.tmp)
            except OSError:
                pass


# ----------------------------------------------------------------------------- one size


def _batch(data, seed: int, archive_size: int):
    scores, cands, genres, pop = data
    t0 = time.perf_counter()
    res = rerank_batch(scores, cands, genres, pop, k=K, pop_size=POP, n_gen=GEN, p_cx=PCX,
                       p_mut=PMUT, seed=seed, archive_size=archive_size)  # fmt: skip
    return time.perf_counter() - t0, res.F, res.rank


def run(n_users: int, pymoo_users: int, seed: int, repeats: int = 1,
        baseline: Baseline | None = None, hv_users: int | None = None,
        ordinary: Baseline | None = None) -> dict:  # fmt: skip
    """Time pymoo, the current engine (archive on and off), the baseline and the
    ordinary-array build (``ordinary``, if given) on one set of ``n_users`` users;
    hypervolumes of the first ``hv_users`` users (all: None).

    Runs alternate (current, current without archive, baseline, ordinary) ``repeats``
    times with seeds ``seed + 7919 r``, the order rotating by one variant each time (a
    multiple of the number of variants puts every variant equally often in every
    position); per-user hypervolumes are averaged over repeats.
    """
    data = synthetic_users(n_users, seed=seed)
    scores, cands, genres, pop = data
    pymoo_users = min(pymoo_users, n_users)
    n_hv = n_users if hv_users is None else min(max(hv_users, pymoo_users), n_users)

    # Warm-up: compile (or load) every kernel this process uses.
    rerank_batch(scores[:2], cands[:2], genres, pop, k=K, pop_size=POP, n_gen=2, seed=seed)
    rerank_batch(scores[:2], cands[:2], genres, pop, k=K, pop_size=POP, n_gen=2, seed=seed,
                 archive_size=0)  # fmt: skip
    minimize(ListReRankingProblem(scores[0], cands[0], genres, pop, k=K), pymoo_algorithm(),
             ("n_gen", 2), seed=seed)  # fmt: skip

    servers = {v: b for v, b in (("baseline", baseline), ("ordinary", ordinary)) if b}
    inputs = None
    if servers:
        inputs = os.path.join(next(iter(servers.values())).tmp, f"inputs{n_users}.npz")
        np.savez(inputs, scores=scores, candidates=cands, genres=genres, popularity=pop,
                 k=K, pop=POP, n_gen=GEN, p_cx=PCX, p_mut=PMUT)  # fmt: skip

    variants = ["current", "current_no_archive", *servers]
    # One untimed run of every variant at full size: the first call at a new size grows
    # the process's memory, and first-touch page faults (over 10 us each on sandboxed
    # VMs) would otherwise land on whichever variant happens to run first.
    for v in variants:
        if v in servers:
            servers[v].run(inputs, seed)
        else:
            _batch(data, seed, 256 if v == "current" else 0)
    seconds = {v: [] for v in variants}
    hvs = {v: np.zeros((repeats, n_hv)) for v in variants}
    for r in range(repeats):
        s = seed + 7919 * r
        # The order rotates: a run that follows the baseline's subprocess maps memory that
        # the subprocess has just given back, which cost the run after it up to 40% here
        # (measured on both current variants by swapping their order).
        for v in variants[r % len(variants):] + variants[:r % len(variants)]:
            if v in servers:
                t, F, rank = servers[v].run(inputs, s)
            else:
                t, F, rank = _batch(data, s, 256 if v == "current" else 0)
            seconds[v].append(t)
            hvs[v][r] = user_hvs(F, rank, n_hv)
    if inputs is not None:
        os.remove(inputs)

    pymoo_hv = np.zeros((repeats, pymoo_users))
    t0 = time.perf_counter()
    for r in range(repeats):
        for u in range(pymoo_users):
            problem = ListReRankingProblem(scores[u], cands[u], genres, pop, k=K)
            res = minimize(problem, pymoo_algorithm(), ("n_gen", GEN),
                           seed=seed + 1_000_003 * r + u)  # fmt: skip
            pymoo_hv[r, u] = front_hv(-res.F)
    pymoo_per_user = (time.perf_counter() - t0) / (pymoo_users * repeats)

    hv = {v: h.mean(axis=0) for v, h in hvs.items()}
    out = {
        "users": n_users,
        "repeats": repeats,
        "hv_users": n_hv,
        "pymoo_users_timed": pymoo_users,
        "pymoo_ms_per_user": 1000 * pymoo_per_user,
        "pymoo_mean_hv": float(pymoo_hv.mean()),
    }
    for v in variants:
        ups = n_users * repeats / sum(seconds[v])
        out[v] = {
            "seconds": sum(seconds[v]) / repeats,
            "seconds_each_run": seconds[v],
            "users_per_second": ups,
            # The fastest run: least disturbed by other work on a shared machine.
            "users_per_second_best_run": n_users / min(seconds[v]),
            "ms_per_user": 1000 / ups,
            "speedup_over_pymoo": pymoo_per_user * ups,
            "mean_hv": float(hv[v].mean()),
            "mean_hv_pymoo_users": float(hv[v][:pymoo_users].mean()),
            "hv_minus_pymoo": paired(hv[v][:pymoo_users], pymoo_hv.mean(axis=0)),
        }
    if baseline is not None:
        b = out["baseline"]["users_per_second"]
        b_best = out["baseline"]["users_per_second_best_run"]
        for v in ("current", "current_no_archive"):
            out[v]["ratio_to_baseline"] = out[v]["users_per_second"] / b
            out[v]["ratio_to_baseline_best_run"] = out[v]["users_per_second_best_run"] / b_best
            out[v]["hv_minus_baseline"] = paired(hv[v], hv["baseline"])
    if ordinary is not None:  # the same search: identical hypervolumes expected
        x = out["ordinary"]
        x["ratio_to_current"] = x["users_per_second"] / out["current"]["users_per_second"]
        x["ratio_to_current_best_run"] = (x["users_per_second_best_run"]
                                          / out["current"]["users_per_second_best_run"])
        x["hv_identical_to_current"] = bool(np.array_equal(hv["ordinary"], hv["current"]))
    return out


def report(r: dict, baseline_name: str | None) -> None:
    print(f"{r['users']} users ({r['repeats']} run(s); hypervolume over {r['hv_users']} users, "
          f"pymoo over the first {r['pymoo_users_timed']}):")  # fmt: skip
    print(f"  pymoo NSGA2, one user at a time: {r['pymoo_ms_per_user']:.1f} ms/user, "
          f"HV {r['pymoo_mean_hv']:.4f}")  # fmt: skip
    names = {
        "current": "rerank_batch (archive 256)",
        "current_no_archive": "rerank_batch (archive 0)",
        "baseline": f"rerank_batch at {baseline_name}",
        "ordinary": "ordinary arrays (archive 256)",
    }
    for v, label in names.items():
        if v not in r:
            continue
        x = r[v]
        line = (f"  {label:<28} {x['users_per_second']:8.0f} users/s "
                f"({x['ms_per_user']:.3f} ms/user, {x['speedup_over_pymoo']:.0f}x pymoo), "
                f"HV {x['mean_hv']:.4f}; vs pymoo {x['hv_minus_pymoo']['difference']:+.4f} "
                f"+- {x['hv_minus_pymoo']['se']:.4f}")  # fmt: skip
        if r["repeats"] > 1:
            line += f" [best run {x['users_per_second_best_run']:.0f} users/s]"
        if "ratio_to_baseline" in x:
            d = x["hv_minus_baseline"]
            if r["repeats"] > 1:
                line += f"; best runs {x['ratio_to_baseline_best_run']:.2f}x"
            line += (f"; {x['ratio_to_baseline']:.2f}x baseline, HV vs baseline "
                     f"{d['difference']:+.4f} +- {d['se']:.4f}")  # fmt: skip
        if "ratio_to_current" in x:
            line += (f"; {x['ratio_to_current']:.2f}x borrowed views (best runs "
                     f"{x['ratio_to_current_best_run']:.2f}x), HV identical: "
                     f"{x['hv_identical_to_current']}")  # fmt: skip
        print(line)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--users", default=DEFAULT_USERS,
        help=f"comma-separated user counts (default {DEFAULT_USERS})",
    )  # fmt: skip
    parser.add_argument(
        "--pymoo-users", type=int, default=50,
        help="time pymoo on the first N users of each size (default 50)",
    )  # fmt: skip
    parser.add_argument(
        "--hv-users", type=int, default=None,
        help="hypervolumes of the first N users only (default: all)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeats", type=int, default=1,
        help="alternating runs of each engine, hypervolumes averaged (default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", default=DEFAULT_BASELINE,
        help=f"git revision to compare with (default {DEFAULT_BASELINE}); 'none' skips it",
    )  # fmt: skip
    parser.add_argument(
        "--ordinary", action="store_true",
        help="also time this tree built with ordinary arrays (MOOPT_BORROWED=0)",
    )  # fmt: skip
    parser.add_argument("--out", default="runs/bench/rerank_speed.json")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in str(args.users).split(",") if s.strip()]
    print(f"rerank speed: N={N}, K={K}, pop {POP}, {GEN} generations, "
          f"{numba.get_num_threads()} threads, {os.cpu_count()} CPUs")  # fmt: skip
    baseline = ordinary = None
    results = []
    try:
        if args.baseline and args.baseline.lower() != "none":
            baseline = Baseline(args.baseline)
        if args.ordinary:
            ordinary = Baseline(None, env={"MOOPT_BORROWED": "0"})
        for n in sizes:
            r = run(n, args.pymoo_users, args.seed, args.repeats, baseline, args.hv_users,
                    ordinary)  # fmt: skip
            report(r, baseline.commit if baseline else None)
            results.append(r)
    finally:
        for server in (baseline, ordinary):
            if server is not None:
                server.close()
    out = {
        "settings": {"N": N, "K": K, "genres": GENRES, "pop_size": POP, "n_gen": GEN,
                     "p_cx": PCX, "p_mut": PMUT, "seed": args.seed,
                     "baseline": baseline.commit if baseline else None,
                     "ordinary_build": ordinary is not None,
                     "threads": numba.get_num_threads(), "cpu_count": os.cpu_count(),
                     "hv": "objectives negated to [-1, 0], reference point 0"},  # fmt: skip
        "sizes": results,
    }
    write_json(args.out, out)
    return out


if __name__ == "__main__":
    main()
