"""moopt: evolutionary multi-objective optimisation for recommender systems.

The engine: Numba list operators and objectives, the batched NSGA-II
(``rerank_batch``), decision making, gradient solvers (``moopt.gradient``), pymoo
algorithms for MGDA and Bayesian optimisation (``moopt.algorithms``) and the comparison
harness (``compare``). It knows nothing of recommendation data; ``problems`` joins it
to ``recommenders``.

The names below load on first use (PEP 562), so importing a leaf module does not import
the engine. The leaf modules import numpy, scipy, pandas or torch and nothing of pymoo,
Numba or the rest of moopt: ``moopt.stats`` (paired tests, confidence intervals,
corrections), ``moopt.portable`` (float32 rounding of computed inputs),
``moopt.files`` (atomic result files, package versions) and ``moopt._torch`` (device
resolution, deterministic kernels). ``recommenders`` uses these four and nothing else
of moopt; ``moopt`` never imports ``recommenders`` or ``problems`` (the CLI wires them
together, lazily).
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

_LAZY = {
    "Comparison": ".compare", "compare": ".compare", "RerankResult": ".engine",
    "rerank_batch": ".engine", "list_objectives": ".objectives", "objective": ".objectives",
    "register_objective": ".objectives",
}  # fmt: skip

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'moopt' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    # Loading the submodule moopt.compare binds it as the package's attribute "compare",
    # which would hide the function of that name that `from moopt import compare` gives.
    def __setattr__(self, name: str, value) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
