"""What ``BayesOpt`` and ``MOBO`` share: their checkpoint and their history.

A checkpoint is a JSON file ``{"signature": {...}, "X": [...], "F": [...], "G": [...]}``:
every point evaluated so far, and a signature of the problem (sizes, bounds) and of every
setting that decides which points the run proposes. A run started with an existing
checkpoint resumes from it only when the signatures are equal; otherwise it stops with a
``ValueError`` that names each setting that differs, since the resumed run would
otherwise silently continue a different search. Files are written atomically (a
temporary file in the same folder, then a rename).

A callable setting (a custom scalarisation) cannot be compared by value. It counts as
the same callable when ``callable_identity`` agrees: its module and qualified name,
a SHA-256 of its source text (of its bytecode and constants where the source cannot be
read), and a SHA-256 of its default arguments and of the values its closure captures
(arrays by dtype, shape and bytes, other values by ``repr``). So an edited function body
or a lambda closing over other weights is a different callable, while the same function
imported again in a new process is the same one. Two callables with identical source,
name and captured values are indistinguishable, and so are values whose ``repr`` hides
a difference (an object without a ``repr`` of its own shows only its type and address,
which changes between processes: such a closure never matches a new process's).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pymoo.core.population import Population
from pymoo.termination.max_eval import MaximumFunctionCallTermination
from pymoo.termination.max_gen import MaximumGenerationTermination
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from ..files import atomic_path


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def _value_bytes(value) -> bytes:
    if isinstance(value, np.ndarray):
        return f"{value.dtype.str}{value.shape}".encode() + np.ascontiguousarray(value).tobytes()
    if isinstance(value, (list, tuple)):
        return repr(type(value)).encode() + b"".join(_value_bytes(v) for v in value)
    return repr(value).encode()


def callable_identity(fn: Callable) -> dict:
    """What identifies a callable setting across processes (see the module docstring).

    Parameters
    ----------
    fn:
        A function, lambda, ``functools.partial`` or an object with ``__call__``.

    Returns
    -------
    dict
        ``{"callable": "module.qualname", "source_sha256": ..., "values_sha256": ...}``;
        JSON-serialisable, equal for the same callable in a new process.
    """
    if isinstance(fn, functools.partial):
        inner = callable_identity(fn.func)
        bound = _digest([_value_bytes(fn.args), _value_bytes(sorted(fn.keywords.items()))])
        return {**inner, "callable": f"functools.partial({inner['callable']})",
                "values_sha256": _digest([inner["values_sha256"].encode(), bound.encode()])}
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else type(fn)
    func = getattr(target, "__func__", target)
    name = f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"
    try:
        source = inspect.getsource(func).encode()
    except (OSError, TypeError):  # defined in an interactive session or by exec
        code = getattr(func, "__code__", None)
        source = b"" if code is None else code.co_code + repr(code.co_consts).encode()
    values: list[bytes] = []
    if inspect.isfunction(func):
        values.append(_value_bytes(func.__defaults__))
        values.append(_value_bytes(sorted((func.__kwdefaults__ or {}).items())))
        for cell in func.__closure__ or ():
            try:
                values.append(_value_bytes(cell.cell_contents))
            except ValueError:  # an empty cell
                values.append(b"<empty>")
    else:  # a callable object: its state
        values.append(_value_bytes(sorted(vars(fn).items())) if hasattr(fn, "__dict__") else b"")
    if inspect.ismethod(fn):
        values.append(_value_bytes(sorted(vars(fn.__self__).items()))
                      if hasattr(fn.__self__, "__dict__") else b"")  # fmt: skip
    return {"callable": name, "source_sha256": hashlib.sha256(source).hexdigest(),
            "values_sha256": _digest(values)}  # fmt: skip


def _jsonable(value):
    """The signature as JSON will read it back (tuples become lists, numpy scalars numbers)."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a checkpoint signature cannot hold {type(value).__name__} {value!r}")


class Checkpoint:
    """A JSON checkpoint of an ask/tell search: the evaluated X, F, G and a signature.

    Parameters
    ----------
    path:
        The JSON file.
    owner:
        The algorithm's name, for messages.
    """

    def __init__(self, path: str | os.PathLike, owner: str) -> None:
        self.path = Path(path)
        self.owner = owner

    def exists(self) -> bool:
        """Whether there is a checkpoint to resume from."""
        return self.path.is_file()

    def load(self, signature: dict) -> tuple[list, list, list]:
        """The saved (X, F, G); a ``ValueError`` naming every differing setting when the
        checkpoint was written under another signature."""
        state = json.loads(self.path.read_text())
        saved, now = state.get("signature") or {}, _jsonable(signature)
        differ = [key for key in sorted(set(saved) | set(now)) if saved.get(key) != now.get(key)]
        if differ:
            detail = "; ".join(
                f"{key}: checkpoint {saved.get(key, '(not recorded)')!r}, "
                f"this run {now.get(key, '(not set)')!r}"
                for key in differ
            )
            raise ValueError(
                f"the checkpoint {self.path} was written for another problem, seed or "
                f"settings of {self.owner} ({detail}); resume with the same settings or "
                "use a new checkpoint path"
            )
        return state["X"], state["F"], state["G"]

    def save(self, signature: dict, X: list, F: list, G: list) -> None:
        """Write the state atomically (a temporary file beside it, then a rename)."""
        state = {"signature": _jsonable(signature), "X": X, "F": F, "G": G}
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(state))


def history_population(X: list, F: list, G: list) -> Population:
    """All evaluated points as a pymoo ``Population`` (with G where there are constraints);
    empty before the first evaluation."""
    if not X:
        return Population.empty()
    pop = Population.new("X", np.asarray(X, float), "F", np.asarray(F, float))
    if G and len(G[0]):
        pop.set("G", np.asarray(G, float))
    return pop


def considered(G: list, n: int) -> np.ndarray:
    """Which of the ``n`` evaluated points a front is read from: those that meet every
    inequality constraint (G <= 0), or all of them while none does (an infeasible front
    still says where the search stands). BayesOpt's and MOBO's results, and MOBO's
    reference point, whether inferred or given, follow this one rule."""
    if G and len(G[0]):
        feasible = (np.asarray(G, float) <= 0).all(axis=1)
        if feasible.any():
            return feasible
    return np.ones(n, bool)


class CheckpointedSearch:
    """What ``BayesOpt`` and ``MOBO`` share as pymoo ``Algorithm``\\ s: every
    evaluated X, F, G kept in order, the checkpoint written after every batch, the budget
    read off the termination, and the population and optimum built from all points.

    A subclass sets ``checkpoint`` (a ``Checkpoint`` or None) and ``budget``, and
    defines ``_signature(problem)`` and ``_infill()`` (None once the budget is spent).
    """

    checkpoint: Checkpoint | None
    budget: float | None

    def _start(self, problem, n_initial: int, generations_are_evaluations: bool) -> None:
        """Read the budget (refusing one below ``n_initial``) and resume from the
        checkpoint if there is one. With ``generations_are_evaluations`` (one point per
        generation) a generation limit is an evaluation budget too."""
        budget, term = self.budget, self.termination
        if budget is None and isinstance(term, MaximumFunctionCallTermination):
            budget = term.n_max_evals
        if (budget is None and generations_are_evaluations
                and isinstance(term, MaximumGenerationTermination)):  # fmt: skip
            budget = term.n_max_gen
        self._budget = np.inf if budget is None else float(budget)
        if np.isfinite(self._budget) and self._budget < n_initial:
            raise ValueError(
                f"the budget of {int(self._budget)} evaluations is smaller than n_initial="
                f"{n_initial}; lower n_initial or raise the budget"
            )
        self._X, self._F, self._G = [], [], []
        if self.checkpoint is not None and self.checkpoint.exists():
            self._X, self._F, self._G = self.checkpoint.load(self._signature(problem))
            self.evaluator.n_eval = len(self._X)

    def _initialize_infill(self):
        return self._infill()

    def _initialize_advance(self, infills=None, **kwargs):
        self._advance(infills)

    def _advance(self, infills=None, **kwargs):
        """Keep the evaluated batch (refusing non-finite objectives) and checkpoint it."""
        if infills is not None:
            X, F = np.asarray(infills.get("X"), float), np.asarray(infills.get("F"), float)
            bad = ~np.isfinite(F).all(axis=1)
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(
                    f"the problem returned non-finite objectives {F[i]} at x = {X[i]}"
                )
            G = infills.get("G")
            has_g = G is not None and np.size(G) > 0
            for i in range(len(X)):
                self._X.append(X[i].tolist())
                self._F.append(F[i].tolist())
                self._G.append(np.asarray(G[i], float).tolist() if has_g else [])
            if self.checkpoint is not None:
                self.checkpoint.save(self._signature(self.problem), self._X, self._F, self._G)
        self.pop = history_population(self._X, self._F, self._G)

    def _set_optimum(self) -> None:
        pop = self.pop
        if pop is None or len(pop) == 0:
            self.opt = pop
            return
        cand = pop[considered(self._G, len(pop))]
        self.opt = cand[NonDominatedSorting().do(cand.get("F"), only_non_dominated_front=True)]
