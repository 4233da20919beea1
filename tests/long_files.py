"""The files that take a minute or more of the suite, longest first (pytest --durations
on 2 cores). ``make test`` runs one file per pytest-xdist worker at a time; tests/conftest.py
starts these first so that the short files fill in at the end, rather than a long file
started last keeping one core busy while the other idles."""

LONG_FILES = (
    "tests/test_kill_rerun.py",
    "tests/moopt/test_cli.py",
    "notebooks/04_multimodal.ipynb",
    "tests/moopt/test_mobo.py",
    "tests/recommenders/test_models.py",
    "tests/problems/test_loss_weight_eval.py",
    "tests/moopt/test_algorithms.py",
    "notebooks/02_solver_comparison.ipynb",
    "tests/problems/test_loss_weight.py",
    "tests/recommenders/test_sequential_losses.py",
    "notebooks/03_dynamic_weights.ipynb",
)
