"""What knowledge transfer buys, and what it costs, at equal budgets.

For each transfer setting (PreferRec's, and cheaper ones: fewer training occurrences per
transfer, a smaller network, one epoch, no guided initialisation) this measures, on the
same users and seed:

* hypervolume after 10 generations with transfer, its wall time and evaluations per user
  (every evaluation counted: injected lists, anchors, the guided-initialisation runs);
* the **overhead**: transfer seconds minus plain NSGA-II's seconds at 10 generations;
* plain NSGA-II at **equal evaluations** (as many generations as the transfer's
  evaluations per user buy) and at **equal wall time** (as many generations as fit in the
  transfer's seconds), with their hypervolumes.

Hypervolume: mean over users of each user's archive (every non-dominated list found),
objectives negated to [-1, 0] with reference point 0, so values lie in [0, 1]. Users are
the synthetic ones of ``rerank_speed`` (or a ``candidates.npz`` from ``moopt train``).
Every timed run follows an untimed one of the same setting at full size (compilation and
torch's first use of each tensor shape are one-off costs); the plain and the transfer runs
are timed ``--repeats`` times and their median is reported.

    python -m benchmarks.knowledge_transfer [--users 943] [--settings paper,light]
        [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from pymoo.indicators.hv import HV

from moopt import rerank_batch
from moopt.callbacks import KnowledgeTransfer
from moopt.callbacks.knowledge_transfer import PRESETS
from moopt.callbacks.pareto_learning import ParetoLearnerConfig
from recommenders.io import write_json

from .rerank_speed import synthetic_users

SETTINGS = {
    "paper": {},
    "no guided init": {"guided_init": False},
    "5k samples": {"learner": {"max_samples": 5000}},
    "5k samples/1 epoch/hidden 32": {"learner": {"max_samples": 5000, "epochs": 1,
                                                 "hidden": 32}},  # fmt: skip
    "light": {**PRESETS["light"][0], "learner": PRESETS["light"][1]},
}


def mean_hv(res) -> float:
    """Mean over users of the hypervolume of the archive, objectives in [-1, 0], ref 0."""
    hv = HV(ref_point=np.zeros(res.F.shape[2]))
    return float(np.mean([hv(-res.archive_front(u)[1]) for u in range(res.n_users)]))


def load_candidates(path: str):
    from recommenders.data import leave_one_out, load_dataset
    from recommenders.evaluate import load_candidates as read

    cands = read(path)
    data = load_dataset(str(cands["meta_dataset"]))
    pop = leave_one_out(data.interactions).history("test").item_counts().astype(float)
    return cands["scores"].astype(float), cands["items"], data.item_genres, pop


def make_callback(setting: dict, seed: int) -> KnowledgeTransfer:
    learner = ParetoLearnerConfig(seed=seed, **setting.get("learner", {}))
    rest = {k: v for k, v in setting.items() if k != "learner"}
    return KnowledgeTransfer(learner_config=learner, **rest)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def timed_median(fn, repeats: int):
    """``fn()`` (the same seeded run each time) and the median of its ``repeats`` wall
    times, with every time: one run's time on a shared machine varies by a factor of two."""
    times = []
    for _ in range(repeats):
        out, secs = timed(fn)
        times.append(secs)
    return out, float(np.median(times)), times


def run(scores, cands, genres, pop, settings=("paper",), seed=0, max_gen=200,
        repeats: int = 3) -> dict:  # fmt: skip
    kw = dict(k=10, pop_size=50, p_cx=0.9, p_mut=0.2, seed=seed)
    data = (scores, cands, genres, pop)
    # Warm-up: compile the engine and the transfer path once.
    rerank_batch(scores[:4], cands[:4], genres, pop, n_gen=4,
                 callback=make_callback({}, seed), **kw)  # fmt: skip
    plain, plain_s, plain_times = timed_median(lambda: rerank_batch(*data, n_gen=10, **kw),
                                               repeats)  # fmt: skip
    out = {"users": int(scores.shape[0]), "hv_plain_10": mean_hv(plain),
           "seconds_plain_10": plain_s, "seconds_plain_10_runs": plain_times,
           "evals_plain_10": float(plain.n_evals.mean()),
           "settings": {}}  # fmt: skip
    by_gen: dict[int, tuple[float, float]] = {}

    def plain_at(n_gen):
        if n_gen not in by_gen:
            res, secs = timed(lambda: rerank_batch(*data, n_gen=n_gen, **kw))
            by_gen[n_gen] = (mean_hv(res), secs)
        return by_gen[n_gen]

    for name in settings:
        # One untimed run at full size first, as for the plain run's compilation: torch
        # prepares its kernels for each new tensor shape on first use, a one-off cost.
        rerank_batch(*data, n_gen=10, callback=make_callback(SETTINGS[name], seed), **kw)
        kt, kt_s, kt_times = timed_median(lambda name=name: rerank_batch(
            *data, n_gen=10, callback=make_callback(SETTINGS[name], seed), **kw),
            repeats)  # fmt: skip
        evals = float(kt.n_evals.mean())
        # Equal evaluations: the generations whose evaluations reach the transfer's.
        g_evals = max(10, math.ceil(evals / kw["pop_size"]))
        hv_evals, _ = plain_at(g_evals)
        # Equal wall time: plain NSGA-II's time grows linearly with generations; start
        # from that estimate and step down until the run fits in the transfer's seconds.
        g_time = int(min(max_gen, max(10, kt_s / plain_s * 10)))
        while g_time > 10 and plain_at(g_time)[1] > kt_s:
            g_time = max(10, g_time - max(1, g_time // 10))
        hv_time, secs_time = plain_at(g_time)
        out["settings"][name] = {
            "hv_transfer_10": mean_hv(kt), "seconds_transfer_10": kt_s,
            "seconds_transfer_10_runs": kt_times,
            "overhead_seconds": kt_s - plain_s, "overhead_vs_plain": (kt_s - plain_s) / plain_s,
            "evals_transfer_10": evals,
            "plain_generations_equal_evals": g_evals, "hv_plain_equal_evals": hv_evals,
            "plain_generations_equal_time": g_time, "hv_plain_equal_time": hv_time,
            "seconds_plain_equal_time": secs_time,
        }  # fmt: skip
    return out


def _runs(times) -> str:
    return "runs " + " / ".join(f"{t:.2f}" for t in times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=943)
    parser.add_argument("--candidates", default=None, help="a candidates.npz from moopt train")
    parser.add_argument("--settings", default=",".join(SETTINGS),
                        help=f"comma-separated subset of: {', '.join(SETTINGS)}")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs of the plain and each transfer run (median)")
    parser.add_argument("--out", default="runs/bench/knowledge_transfer.json")
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = set(names) - set(SETTINGS)
    if unknown:
        parser.error(f"unknown settings {sorted(unknown)}; choose from {list(SETTINGS)}")
    if args.candidates:
        data = load_candidates(args.candidates)
        source = args.candidates
    else:
        data = synthetic_users(args.users, seed=args.seed)
        source = "synthetic"
    r = run(*data, settings=names, seed=args.seed, repeats=args.repeats)
    r["source"] = source
    print(f"knowledge transfer on {r['users']} users ({source}); HV of the archives, "
          "objectives in [-1, 0], reference 0")  # fmt: skip
    print(f"  plain NSGA-II, 10 generations: HV {r['hv_plain_10']:.4f} "
          f"({r['seconds_plain_10']:.2f} s [{_runs(r['seconds_plain_10_runs'])}], "
          f"{r['evals_plain_10']:.0f} evaluations/user)")  # fmt: skip
    for name, s in r["settings"].items():
        print(f"  transfer [{name}]: HV {s['hv_transfer_10']:.4f} "
              f"({s['seconds_transfer_10']:.2f} s [{_runs(s['seconds_transfer_10_runs'])}], "
              f"overhead {s['overhead_vs_plain']:.1f}x the plain run, "
              f"{s['evals_transfer_10']:.0f} evaluations/user)")  # fmt: skip
        print(f"      plain at equal evaluations ({s['plain_generations_equal_evals']} gen): "
              f"HV {s['hv_plain_equal_evals']:.4f};  at equal time "
              f"({s['plain_generations_equal_time']} gen, {s['seconds_plain_equal_time']:.2f} s): "
              f"HV {s['hv_plain_equal_time']:.4f}")  # fmt: skip
    write_json(args.out, r)
    return r


if __name__ == "__main__":
    main()
