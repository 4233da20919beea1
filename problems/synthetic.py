"""Cheap problems with a known Pareto set, for comparing solvers and testing them.

``QuadraticsProblem``: m objectives f_j(x) = ||x - c_j||^2 / d on [-1, 1]^d with
analytic gradients (``out["dF"]``, and ``evaluate_torch`` for autograd), so
evolutionary, gradient and Bayesian solvers all apply. Its Pareto set is the convex hull
of the centres c_j, and its Pareto front is known in closed form for m = 2: with
a = ||c_1 - c_2||^2 / d, the front is (t^2 a, (1 - t)^2 a) for t in [0, 1].
"""

from __future__ import annotations

import numpy as np
from pymoo.core.problem import Problem


class QuadraticsProblem(Problem):
    """m scaled quadratics in d dimensions with seeded random centres in [-0.8, 0.8]^d.

    Decision variables: ``x`` in [-1, 1]^d (``n_var = d`` reals). Objectives (all
    minimised): f_j(x) = ||x - c_j||^2 / d for j = 1..m, each in [0, 3.24] on the box
    (0 at its own centre c_j). ``_evaluate`` also fills ``out["dF"]`` (n, m, d) with the
    analytic gradients when asked for them.

    Parameters
    ----------
    n_var : int, default 5
        Number of decision variables d (at least 1).
    n_obj : int, default 2
        Number of objectives m (at least 2).
    seed : int, default 0
        Seed of the random centres ``centres`` (m, d), drawn uniformly in [-0.8, 0.8]^d.

    Raises
    ------
    ValueError
        If ``n_var < 1`` or ``n_obj < 2``.

    Examples
    --------
    >>> import numpy as np
    >>> from problems.synthetic import QuadraticsProblem
    >>> problem = QuadraticsProblem(n_var=3, n_obj=2, seed=0)
    >>> F = problem.evaluate(problem.centres)  # each centre zeroes its own objective
    >>> F.shape
    (2, 2)
    >>> bool(np.allclose(np.diag(F), 0.0))
    True
    """

    def __init__(self, n_var: int = 5, n_obj: int = 2, seed: int = 0) -> None:
        if n_var < 1 or n_obj < 2:
            raise ValueError("QuadraticsProblem needs n_var >= 1 and n_obj >= 2")
        rng = np.random.default_rng(seed)
        self.centres = rng.uniform(-0.8, 0.8, size=(n_obj, n_var))
        super().__init__(n_var=n_var, n_obj=n_obj, xl=-1.0, xu=1.0)

    def _evaluate(self, X, out, *args, **kwargs):
        diff = X[:, None, :] - self.centres[None]  # (n, m, d)
        out["F"] = (diff**2).sum(axis=2) / self.n_var
        if "dF" in out:
            out["dF"] = 2.0 * diff / self.n_var

    def evaluate_torch(self, X):
        """The objectives on a torch tensor, for autograd.

        Parameters
        ----------
        X : torch.Tensor
            (n, n_var) decision vectors, any float dtype and device.

        Returns
        -------
        torch.Tensor
            (n, n_obj) objective values (minimised), on the dtype and device of ``X``.
        """
        import torch

        centres = torch.as_tensor(self.centres, dtype=X.dtype, device=X.device)
        return ((X[:, None, :] - centres[None]) ** 2).sum(dim=2) / self.n_var

    def pareto_front(self, n_points: int = 200) -> np.ndarray:
        """Exact front for two objectives (points along the segment between the centres).

        Parameters
        ----------
        n_points : int, default 200
            Number of front points, evenly spaced in t from the first centre to the second.

        Returns
        -------
        numpy.ndarray
            (n_points, 2) objective vectors (t^2 a, (1 - t)^2 a), a = ||c_1 - c_2||^2 / d,
            from (0, a) to (a, 0).

        Raises
        ------
        ValueError
            If the problem has more than two objectives.

        Examples
        --------
        >>> from problems.synthetic import QuadraticsProblem
        >>> front = QuadraticsProblem(n_var=2, seed=1).pareto_front(n_points=3)
        >>> front.shape
        (3, 2)
        >>> bool(front[1, 0] == front[1, 1])  # t = 1/2: both objectives equal a / 4
        True
        """
        if self.n_obj != 2:
            raise ValueError("the closed-form front is implemented for two objectives")
        a = ((self.centres[0] - self.centres[1]) ** 2).sum() / self.n_var
        t = np.linspace(0.0, 1.0, n_points)
        return np.stack([t**2 * a, (1 - t) ** 2 * a], axis=1)
