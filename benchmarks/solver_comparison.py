"""NSGA-II, MGDA and both Bayesian optimisation backends on problems with known fronts.

For each problem and evaluation budget, ``problems.comparison.comparison_job`` (what
``moopt compare`` runs) runs every solver on the same seeds with the settings
``default_solvers`` sizes to the budget, and this script gathers the per-solver rows into
one table: mean hypervolume and IGD with their 95% t intervals over seeds, wall time per
run, where MGDA's gradients came from, and the paired test of the best two solvers.

Problems: pymoo's ZDT1 and ZDT2 (10 variables), DTLZ2 (10 variables, 3 objectives) and
``QuadraticsProblem(n_var=5)`` (analytic gradients). On ZDT and DTLZ2 MGDA uses central
finite differences, 2 n_var evaluations per gradient, charged to its budget, from as many
of its four starts as fit in the budget (2 at 50 evaluations with 10 variables). Each
(problem, budget) cell is written to its own folder as soon as it finishes, and a rerun
skips finished cells, so a stopped run resumes.

    python -m benchmarks.solver_comparison [--budgets 50,200] [--seeds 5,3]
        [--problems zdt1,zdt2,dtlz2,quadratics] [--solvers nsga2,mgda,bo,mobo]
        [--out runs/solver-comparison]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

N_VAR = {"zdt1": 10, "zdt2": 10, "dtlz2": 10, "quadratics": 5}
LABELS = {"nsga2": "NSGA-II", "mgda": "MGDA", "bo": "BayesOpt (ParEGO)",
          "mobo": "MOBO (qLogNEHVI)"}  # fmt: skip


def _interval(mean: float, lo: float, hi: float, digits: int = 4) -> str:
    if pd.isna(lo):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def markdown(rows: pd.DataFrame, sig: pd.DataFrame) -> str:
    """The results table (docs/results/solvers.md): one row per (problem, budget, solver)
    and the winners' tests."""
    lines = ["| problem | evals | seeds | solver | hypervolume [95% CI] | IGD [95% CI] | s/run |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for _, r in rows.iterrows():
        solver = LABELS.get(r["solver"], r["solver"])
        if isinstance(r.get("gradients"), str) and r["gradients"] not in ("", "-"):
            solver += f", {r['gradients']}"
        if r.get("separate", False):
            solver += ", separate run"
        hv = ("(own reference point)" if r.get("separate", False) else
              _interval(r["hypervolume"], r["hypervolume_ci_low"], r["hypervolume_ci_high"]))
        lines.append(
            f"| {r['problem']} | {r['budget']} | {r['seeds']} | {solver} | {hv} | "
            f"{_interval(r['igd'], r['igd_ci_low'], r['igd_ci_high'])} | {r['seconds']:.2f} |"
        )
    lines += ["", "| problem | evals | indicator | best | second | difference [95% CI] | p | d |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for _, s in sig.iterrows():
        lines.append(
            f"| {s['problem']} | {s['budget']} | {s['indicator']} | {LABELS.get(s['a'], s['a'])} | "
            f"{LABELS.get(s['b'], s['b'])} | "
            f"{_interval(s['diff'], s['ci_low'], s['ci_high'])} | {s['p']:.3g} | "
            f"{s['cohens_d']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    from problems.comparison import comparison_job
    from recommenders.io import write_csv

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", default="50,200")
    ap.add_argument("--seeds", default="5,3", help="seeds per budget, in the same order")
    ap.add_argument("--problems", default="zdt1,zdt2,dtlz2,quadratics")
    ap.add_argument("--solvers", default="nsga2,mgda,bo,mobo")
    ap.add_argument("--out", default="runs/solver-comparison")
    ap.add_argument("--suffix", default="",
                    help="write cells as <problem>-<budget>-<suffix>: a solver run apart from "
                    "the others (its hypervolume has its own reference point, so the table "
                    "shows its IGD only)")
    args = ap.parse_args(argv)
    budgets = [int(b) for b in args.budgets.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    if len(seeds) != len(budgets):
        raise SystemExit("--seeds needs one value per budget")
    solvers = tuple(args.solvers.split(","))
    out = Path(args.out)
    rows, sigs = [], []
    for budget, n_seeds in zip(budgets, seeds, strict=True):
        for name in args.problems.split(","):
            cell = out / (f"{name}-{budget}" + (f"-{args.suffix}" if args.suffix else ""))
            if not (cell / "comparison.csv").exists():
                print(f"{name}, {budget} evaluations, {n_seeds} seeds ...", flush=True)
                comparison_job(name, cell, budget, solvers, seed=0, seeds=n_seeds,
                               n_var=N_VAR.get(name), progress=True)  # fmt: skip
            main_cell = out / f"{name}-{budget}"
            if (main_cell / "comparison.csv").exists():
                rows.append(pd.read_csv(main_cell / "comparison.csv").assign(
                    problem=name, budget=budget, separate=False))  # fmt: skip
            for extra in sorted(out.glob(f"{name}-{budget}-*")):
                if (extra / "comparison.csv").exists():
                    rows.append(pd.read_csv(extra / "comparison.csv").assign(
                        problem=name, budget=budget, separate=True))  # fmt: skip
            cell = main_cell
            if (cell / "significance.csv").exists():
                sigs.append(pd.read_csv(cell / "significance.csv").assign(problem=name,
                                                                          budget=budget))
    rows = pd.concat(rows, ignore_index=True)
    sig = pd.concat(sigs, ignore_index=True) if sigs else pd.DataFrame()
    write_csv(out / "solver_comparison.csv", rows)
    if len(sig):
        write_csv(out / "solver_comparison_significance.csv", sig)
    text = markdown(rows, sig)
    (out / "solver_comparison.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
