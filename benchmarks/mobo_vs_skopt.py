"""MOBO (BoTorch qLogNEHVI) against the scikit-optimize BayesOpt scalarisations.

Every solver gets the same evaluation budget and the same 10-point initial design size
(its own design: Sobol for MOBO, uniform random for BayesOpt), on

* ZDT1 with 4 variables (two objectives), hypervolume reference point (11, 11), the one
  BoTorch's ZDT test functions use; the gap to the true front's hypervolume is shown too;
* ``problems.QuadraticsProblem(n_var=4, n_obj=3, seed=0)``, reference point (1.5, 1.5, 1.5).
  Three objectives so that BOOML's rescaled sum applies: it reads F as (-NDCG, -ILD, ARP)
  and maximises NDCG + sigmoid(ILD) + sigmoid(1/ARP), which is decreasing in each of the
  three losses here as well (ARP = f3 > 0).

Solvers: ``MOBO()`` (defaults: q = 1, 10 restarts, 512 raw samples, 128 QMC samples;
reference point by BoTorch's advice on the observed front) and ``MOBO(ref_point=
"observed")`` (the same rule on all observed points, which rewards extending the front),
``BayesOpt(scalarization="parego")``, ``BayesOpt(scalarization="booml_ressum")`` (only on
the three-objective problem: it is defined for (-NDCG, -ILD, ARP)) and, as the generic
rescaled sum any problem admits, ``BayesOpt(scalarization="sum")`` (the mean of the
objectives rescaled to [0, 1]). Final hypervolume of all evaluated points: mean and
standard deviation over the seeds; wall time per run.

    python -m benchmarks.mobo_vs_skopt [--evals 30] [--seeds 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.optimize import minimize
from pymoo.problems import get_problem

from moopt.algorithms import BayesOpt
from problems import QuadraticsProblem


def cases():
    zdt1 = get_problem("zdt1", n_var=4)
    quad = QuadraticsProblem(n_var=4, n_obj=3, seed=0)
    ref_zdt = np.array([11.0, 11.0])
    return [
        ("ZDT1 (n_var=4)", zdt1, ref_zdt, HV(ref_point=ref_zdt)(zdt1.pareto_front(2000))),
        ("Quadratics (n_var=4, n_obj=3)", quad, np.full(3, 1.5), None),
    ]


def solvers(n_obj: int, n_initial: int) -> dict:
    from moopt.algorithms import MOBO

    out = {
        "MOBO qLogNEHVI": lambda: MOBO(n_initial=n_initial),
        "MOBO ref=observed": lambda: MOBO(n_initial=n_initial, ref_point="observed"),
        "BayesOpt parego": lambda: BayesOpt(n_initial=n_initial, scalarization="parego"),
        "BayesOpt sum": lambda: BayesOpt(n_initial=n_initial, scalarization="sum"),
    }
    if n_obj == 3:
        out["BayesOpt booml_ressum"] = lambda: BayesOpt(n_initial=n_initial,
                                                        scalarization="booml_ressum")
    return out


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-initial", type=int, default=10)
    args = parser.parse_args(argv)
    rows = []
    for name, problem, ref, best in cases():
        hv = HV(ref_point=ref)
        print(f"\n{name}: {args.evals} evaluations, {args.seeds} seeds, reference point "
              f"{ref.tolist()}" + ("" if best is None else f", true front's HV {best:.4f}"))
        print("| solver | HV mean | HV std | " + ("gap to front | " if best else "")
              + "seconds per run |")
        print("|---|---|---|" + ("---|" if best else "") + "---|")
        for label, make in solvers(problem.n_obj, args.n_initial).items():
            hvs, secs = [], []
            for seed in range(args.seeds):
                start = time.perf_counter()
                res = minimize(problem, make(), ("n_evals", args.evals), seed=seed)
                secs.append(time.perf_counter() - start)
                assert res.algorithm.evaluator.n_eval == args.evals
                hvs.append(hv(res.pop.get("F")))
            row = {"problem": name, "solver": label, "hv_mean": float(np.mean(hvs)),
                   "hv_std": float(np.std(hvs)), "seconds": float(np.mean(secs)),
                   "hv": [float(h) for h in hvs]}  # fmt: skip
            rows.append(row)
            gap = f" {best - row['hv_mean']:.4f} |" if best else ""
            print(f"| {label} | {row['hv_mean']:.4f} | {row['hv_std']:.4f} |{gap} "
                  f"{row['seconds']:.1f} |", flush=True)  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
