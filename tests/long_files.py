"""The longest files of the suite, longest first: per-file sums of pytest --durations in
a fresh clone on 2 cores (where the first engine runs compile it: test_engine_builds.py
compiles both builds). ``make test`` runs one file per pytest-xdist worker at a time;
tests/conftest.py starts these first so that the short files fill in at the end, rather
than a long file started last keeping one core busy while the other idles."""

LONG_FILES = (
    "tests/moopt/test_engine_builds.py",
    "tests/test_kill_rerun.py",
    "tests/moopt/test_archive.py",
    "tests/moopt/test_callbacks.py",
    "notebooks/02_solver_comparison.ipynb",
    "tests/moopt/test_cli.py",
    "tests/recommenders/test_models.py",
    "tests/moopt/test_algorithms.py",
    "tests/moopt/test_mobo.py",
    "tests/problems/test_rerank_stream.py",
    "tests/problems/test_fairness_eval.py",
    "notebooks/06_system_tradeoffs.ipynb",
    "tests/problems/test_fairness.py",
    "tests/problems/test_coverage.py",
    "notebooks/04_multimodal.ipynb",
    "tests/recommenders/test_sequential_losses.py",
    "tests/moopt/test_engine.py",
)
