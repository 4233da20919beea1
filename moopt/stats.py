"""Significance tests for comparing two methods, and p-value corrections.

The project's one place for "is A better than B?": the re-ranking table (per-user metric
values, :func:`paired_over_users`), the solver comparison over seeds and the per-domain
DWL table (per-seed aggregates, :func:`paired_over_seeds`, :func:`mean_ci`). Several
comparisons in one table are corrected together with :func:`adjust` / :func:`compare_table`.

Every comparison is *paired*: ``a[i]`` and ``b[i]`` must be the same user (or seed), so the
test works on the differences ``a - b``. Bad input raises ``ValueError``/``TypeError``
rather than returning NaN.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

# Bootstrap resamples are drawn this many indices at a time (int64 indices + float
# gathers: ~64 MiB), so n_boot x n_users never has to fit in memory at once.
_CHUNK_ELEMENTS = 1 << 22


@dataclasses.dataclass(frozen=True)
class PairedResult:
    """Outcome of one paired comparison of method A against method B.

    Attributes
    ----------
    n : int
        Number of pairs (users or seeds); ``df = n - 1``.
    mean_a, mean_b : float
        Means of the two methods.
    diff : float
        Mean of ``a - b`` (positive: A scores higher).
    ci_low, ci_high : float
        ``1 - alpha`` confidence interval of ``diff``.
    t, p : float
        Paired t statistic and its two-sided p-value.
    df : int
        Degrees of freedom of the t-test.
    cohens_d : float
        Paired effect size ``d_z = mean(diff) / sd(diff, ddof=1)``.
    method : str
        How ``p`` and the CI were obtained.
    alpha : float
        Level of the confidence interval.

    Notes
    -----
    When every difference is the same value ``c`` the t-test is undefined (zero variance).
    Rather than NaN, it is resolved by its limit: ``c != 0`` gives ``t = d = ±inf`` and
    ``p = 0``; ``c == 0`` gives ``t = d = 0`` and ``p = 1``. The CI is ``(c, c)``.
    """

    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    t: float
    p: float
    df: int
    cohens_d: float
    method: str
    alpha: float

    def as_dict(self) -> dict:
        """Return the fields as a plain ``dict`` (one table row)."""
        return dataclasses.asdict(self)


# ----------------------------------------------------------------- input validation


def _check_alpha(alpha: float) -> float:
    if not isinstance(alpha, (int, float, np.floating)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1 (e.g. 0.05), got {alpha!r}")
    return float(alpha)


def _check_values(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per user/seed), got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"{name} needs at least 2 values for a variance, got {arr.size}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; drop or fix those users/seeds first")
    return arr


def _check_pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _check_values(a, "a"), _check_values(b, "b")
    if a.size != b.size:
        raise ValueError(f"a has {a.size} values but b has {b.size}; pair the same users/seeds")
    return a, b


def _check_pvalues(pvalues) -> np.ndarray:
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"pvalues must be a 1-D sequence, got shape {p.shape}")
    if p.size == 0:
        raise ValueError("pvalues is empty; pass at least one p-value")
    if not np.all((p >= 0.0) & (p <= 1.0)):  # also rejects NaN
        raise ValueError("pvalues must all lie in [0, 1]")
    return p


# ----------------------------------------------------------------- paired tests


def _paired(a, b, ci, method: str, alpha: float) -> PairedResult:
    """Paired t-test of ``a - b`` plus the CI ``ci(d)``, with the zero-variance limit."""
    d = a - b
    diff = float(d.mean())
    # ptp is exact where a variance of identical values may come out as 1e-17, not 0.
    sd = float(d.std(ddof=1)) if np.ptp(d) > 0 else 0.0
    if sd == 0.0:
        t = cohens_d = 0.0 if diff == 0.0 else float(np.copysign(np.inf, diff))
        p, lo, hi = float(diff == 0.0), diff, diff
    else:
        res = stats.ttest_rel(a, b)
        t, p, cohens_d = float(res.statistic), float(res.pvalue), diff / sd
        lo, hi = ci(d)
    return PairedResult(
        n=d.size,
        mean_a=float(a.mean()),
        mean_b=float(b.mean()),
        diff=diff,
        ci_low=float(lo),
        ci_high=float(hi),
        t=t,
        p=p,
        df=d.size - 1,
        cohens_d=cohens_d,
        method=method,
        alpha=alpha,
    )


def paired_over_users(a, b, *, n_boot: int = 10000, alpha: float = 0.05, seed=0) -> PairedResult:
    """Compare two methods on per-user metric values.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Per-user values of methods A and B, for the same users in the same order.
    n_boot : int
        Bootstrap resamples (at least 100).
    alpha : float
        The CI has level ``1 - alpha``.
    seed : int or numpy.random.Generator
        Seed of the resampling, so a table is reproducible.

    Returns
    -------
    PairedResult
        Paired t-test (``p``, ``t``) and a percentile bootstrap CI of the mean difference:
        users are resampled with replacement, which does not assume normal differences
        (per-user metrics are often skewed, e.g. mostly 0 with a few hits).
    """
    a, b = _check_pair(a, b)
    alpha = _check_alpha(alpha)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 100:
        raise ValueError(f"n_boot must be an integer >= 100 for stable quantiles, got {n_boot!r}")
    rows = max(1, _CHUNK_ELEMENTS // a.size)

    def bootstrap_ci(d: np.ndarray) -> tuple[float, float]:
        rng = np.random.default_rng(seed)
        boot = np.empty(int(n_boot))
        for start in range(0, int(n_boot), rows):
            m = min(rows, int(n_boot) - start)
            boot[start : start + m] = d[rng.integers(0, d.size, size=(m, d.size))].mean(axis=1)
        lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
        return lo, hi

    return _paired(a, b, bootstrap_ci, "paired t-test over users + bootstrap percentile CI", alpha)


def paired_over_seeds(a, b, *, alpha: float = 0.05) -> PairedResult:
    """Compare two methods on per-seed aggregates (e.g. F1@10 of each of 5 seeds).

    With a handful of seeds a bootstrap has too few distinct resamples, so the CI is the
    t interval ``mean(d) ± t_{1-alpha/2, n-1} * sd(d) / sqrt(n)`` of the differences ``d``.
    The effect size is ``d_z = mean(d) / sd(d, ddof=1)``, the paired Cohen's d: it is what
    the paired test sees (``t = d_z * sqrt(n)``), whereas the pooled-sd d of independent
    samples would ignore that seed i of A and B share data splits and initialisations.
    """
    a, b = _check_pair(a, b)
    alpha = _check_alpha(alpha)
    return _paired(a, b, lambda d: mean_ci(d, alpha)[1:], "paired t-test over seeds + t CI", alpha)


def mean_ci(x, alpha: float = 0.05) -> tuple[float, float, float]:
    """Mean and t-based ``1 - alpha`` CI ``(mean, low, high)`` of ``x`` (at least 2 values).

    The t quantile (not 1.96) keeps the interval honest for 3-10 seeds.
    """
    x = _check_values(x, "x")
    alpha = _check_alpha(alpha)
    mean = float(x.mean())
    half = stats.t.ppf(1 - alpha / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return mean, float(mean - half), float(mean + half)


# ----------------------------------------------------------------- multiple comparisons


def bonferroni(pvalues) -> np.ndarray:
    """Bonferroni-adjusted p-values ``min(1, m * p)``, in the input order."""
    p = _check_pvalues(pvalues)
    return np.minimum(1.0, p * p.size)


def holm(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values, in the input order.

    The i-th smallest p (0-based) is multiplied by ``m - i``; a running maximum then keeps
    the adjusted values in the order of the raw ones (a smaller raw p can never end up
    with a larger adjusted p), and they are capped at 1. Never larger than Bonferroni.
    """
    p = _check_pvalues(pvalues)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * (p.size - np.arange(p.size)))
    out = np.empty_like(p)
    out[order] = np.minimum(1.0, stepped)
    return out


_ADJUST = {"holm": holm, "bonferroni": bonferroni, "none": _check_pvalues}


def adjust(pvalues, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons: ``"holm"``, ``"bonferroni"`` or ``"none"``."""
    if method not in _ADJUST:
        raise ValueError(f"method must be one of {sorted(_ADJUST)}, got {method!r}")
    return _ADJUST[method](pvalues).copy()


def compare_table(
    results: Mapping[str, PairedResult], correction: str = "holm", alpha: float = 0.05
) -> pd.DataFrame:
    """One row per comparison: the :class:`PairedResult` fields plus ``p_adj`` and
    ``significant`` (``p_adj < alpha``), the p-values corrected together with ``correction``.
    """
    if not results:
        raise ValueError("results is empty; pass {name: PairedResult, ...}")
    bad = [k for k, r in results.items() if not isinstance(r, PairedResult)]
    if bad:
        raise TypeError(f"results values must be PairedResult; not so for {bad}")
    alpha = _check_alpha(alpha)
    if correction not in _ADJUST:
        raise ValueError(f"correction must be one of {sorted(_ADJUST)}, got {correction!r}")
    table = pd.DataFrame([r.as_dict() for r in results.values()], index=list(results))
    table.index.name = "comparison"
    table["p_adj"] = adjust(table["p"].to_numpy(), correction)
    table["significant"] = table["p_adj"] < alpha
    return table
