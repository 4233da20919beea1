"""The packages' import rule, checked in fresh interpreters.

``recommenders`` uses only moopt's leaf modules (moopt.stats, moopt.portable,
moopt._torch, moopt.files), never the engine, pymoo or Numba; ``moopt`` (its CLI aside)
never imports ``recommenders`` or ``problems``."""

import subprocess
import sys

import pytest

LEAVES = {"moopt", "moopt.stats", "moopt.portable", "moopt._torch", "moopt.files"}


def _loaded(package: str, skip: tuple[str, ...] = ()) -> set[str]:
    """Top modules in sys.modules after importing every module of ``package``."""
    code = f"""
import importlib, pkgutil, sys
import {package}
for m in pkgutil.walk_packages({package}.__path__, "{package}."):
    if not m.name.startswith({skip!r}):
        importlib.import_module(m.name)
print(" ".join(sorted(sys.modules)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True)  # fmt: skip
    return set(out.stdout.split())


@pytest.fixture(scope="module")
def recommenders_modules():
    return _loaded("recommenders")


def test_recommenders_loads_neither_pymoo_nor_numba(recommenders_modules):
    heavy = {m for m in recommenders_modules if m.split(".")[0] in ("pymoo", "numba")}
    assert heavy == set()


def test_recommenders_uses_only_moopts_leaf_modules(recommenders_modules):
    moopt = {m for m in recommenders_modules if m.split(".")[0] == "moopt"}
    assert moopt == LEAVES
    assert not {m for m in recommenders_modules if m.split(".")[0] == "problems"}


def test_moopt_never_imports_recommenders_or_problems():
    loaded = _loaded("moopt", skip=("moopt.cli",))
    assert "moopt.engine" in loaded  # the walk did import the engine
    assert not {m for m in loaded if m.split(".")[0] in ("recommenders", "problems")}


def test_the_engines_names_load_on_first_use():
    code = """
import sys
import moopt
assert "numba" not in sys.modules and "pymoo" not in sys.modules
from moopt.compare import nondominated  # the submodule first ...
from moopt import compare  # ... still leaves the function under the package's name
import moopt.compare as same
assert callable(compare) and compare.__name__ == "compare" and same is compare
assert moopt.rerank_batch.__name__ == "rerank_batch" and "rerank_batch" in dir(moopt)
try:
    moopt.no_such_name
except AttributeError as exc:
    assert "no_such_name" in str(exc)
else:
    raise AssertionError("missing attribute did not raise")
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
