"""Significance tests for comparing two methods, and p-value corrections.

The project's one place for "is A better than B?": the re-ranking table (per-user metric
values, ``paired_over_users``), the solver comparison over seeds and the per-domain
DWL table (per-seed aggregates, ``paired_over_seeds``, ``mean_ci``). Several
comparisons in one table are corrected together with ``adjust`` / ``compare_table``.
A statistic of means that is not itself a mean (an F-measure of mean recall and mean
diversity, say) is compared over users by resampling them: ``bootstrap_of_means``
(paired bootstrap, CI and p) and ``sign_flip_of_means`` (paired sign-flip permutation
test); both are vectorised over resamples and seeded.

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

    Parameters
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
        """Return the fields as a plain ``dict`` (one table row).

        Returns
        -------
        dict
            Field name to value, in declaration order.
        """
        return dataclasses.asdict(self)


# ----------------------------------------------------------------- input validation


def _check_alpha(alpha: float) -> float:
    if not isinstance(alpha, (int, float, np.floating)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1 (e.g. 0.05), got {alpha!r}")
    return float(alpha)


def _real(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def _finite(arr: np.ndarray, name: str) -> np.ndarray:
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; drop or fix those users/seeds first")
    return arr


def _check_values(x, name: str) -> np.ndarray:
    arr = _real(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per user/seed), got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"{name} needs at least 2 values for a variance, got {arr.size}")
    return _finite(arr, name)


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


def _check_resamples(n, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 100:
        raise ValueError(f"{name} must be an integer >= 100 for stable quantiles, got {n!r}")
    return int(n)


def _check_measures(x, name: str) -> np.ndarray:
    """Per-user measures as a float (n, c) array: a 1-D input is one measure (c = 1)."""
    arr = _real(x, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ValueError(
            f"{name} must have shape (n_users, n_measures) with at least 2 users, got "
            f"{np.asarray(x).shape}"
        )
    return _finite(arr, name)


def _resampled_users(seed, n_boot: int, n: int, width: int):
    """Yield ``(start, idx)``: bootstrap resamples ``start .. start + len(idx)`` as user
    indices ``idx`` (rows, n), drawn in chunks of about ``_CHUNK_ELEMENTS / width`` indices
    (``width``: floats gathered per index) from one seeded stream."""
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_ELEMENTS // (n * width))
    for start in range(0, n_boot, rows):
        yield start, rng.integers(0, n, size=(min(rows, n_boot - start), n))


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
    _check_resamples(n_boot, "n_boot")

    def bootstrap_ci(d: np.ndarray) -> tuple[float, float]:
        boot = np.empty(int(n_boot))
        for start, idx in _resampled_users(seed, int(n_boot), d.size, 1):
            boot[start : start + len(idx)] = d[idx].mean(axis=1)
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

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Per-seed values of methods A and B (at least 2), seed ``i`` of both in position
        ``i``; finite real numbers.
    alpha : float, default 0.05
        The CI has level ``1 - alpha``; strictly between 0 and 1.

    Returns
    -------
    PairedResult
        Paired t-test (``p``, ``t``), t interval of the mean difference and ``cohens_d``.

    Raises
    ------
    ValueError
        If ``a`` and ``b`` differ in length, have fewer than 2 values, hold NaN/inf, or
        ``alpha`` is outside (0, 1).
    TypeError
        If the values are not real numbers.

    Examples
    --------
    >>> from moopt.stats import paired_over_seeds
    >>> r = paired_over_seeds([0.31, 0.33, 0.30, 0.32], [0.29, 0.30, 0.29, 0.30])
    >>> round(r.diff, 4), r.n, r.df
    (0.02, 4, 3)
    >>> round(r.p, 4), round(r.ci_low, 4), round(r.ci_high, 4)
    (0.0163, 0.007, 0.033)
    """
    a, b = _check_pair(a, b)
    alpha = _check_alpha(alpha)
    return _paired(a, b, lambda d: mean_ci(d, alpha)[1:], "paired t-test over seeds + t CI", alpha)


def mean_ci(x, alpha: float = 0.05) -> tuple[float, float, float]:
    """Mean and t-based ``1 - alpha`` CI ``(mean, low, high)`` of ``x`` (at least 2 values).

    The t quantile (not 1.96) keeps the interval honest for 3-10 seeds.

    Parameters
    ----------
    x : array_like, shape (n,)
        Finite real values, at least 2 (e.g. one per seed).
    alpha : float, default 0.05
        The interval has level ``1 - alpha``; strictly between 0 and 1.

    Returns
    -------
    tuple of float
        ``(mean, low, high)``: ``mean(x) ± t_{1-alpha/2, n-1} * sd(x) / sqrt(n)``.

    Examples
    --------
    >>> from moopt.stats import mean_ci
    >>> tuple(round(v, 4) for v in mean_ci([1.0, 2.0, 3.0]))
    (2.0, -0.4841, 4.4841)
    """
    x = _check_values(x, "x")
    alpha = _check_alpha(alpha)
    mean = float(x.mean())
    half = stats.t.ppf(1 - alpha / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return mean, float(mean - half), float(mean + half)


# ----------------------------------------------------------------- statistics of means


@dataclasses.dataclass(frozen=True)
class ResampledResult:
    """Outcome of a resampling comparison of an aggregate statistic of per-user means.

    Parameters
    ----------
    n : int
        Number of users.
    stat_a, stat_b : float
        The statistic of each method's per-user means, on all users.
    diff : float
        ``stat_a - stat_b`` (positive: A scores higher).
    ci_low, ci_high : float
        ``1 - alpha`` percentile bootstrap interval of ``diff`` (NaN for a permutation
        test, which gives no interval).
    p : float
        Two-sided p-value of "no difference".
    n_resamples : int
        Bootstrap resamples, random sign-flip patterns, or ``2**n`` when every flip
        pattern was enumerated.
    exact : bool
        Whether ``p`` enumerates every sign-flip pattern.
    method : str
        How ``p`` and the CI were obtained.
    alpha : float
        Level of the interval.
    """

    n: int
    stat_a: float
    stat_b: float
    diff: float
    ci_low: float
    ci_high: float
    p: float
    n_resamples: int
    exact: bool
    method: str
    alpha: float

    def as_dict(self) -> dict:
        """Return the fields as a plain ``dict`` (one table row).

        Returns
        -------
        dict
            Field name to value, in declaration order.
        """
        return dataclasses.asdict(self)


def _check_means_pair(a, b, statistic) -> tuple[np.ndarray, np.ndarray, float, float]:
    a, b = _check_measures(a, "a"), _check_measures(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a has shape {a.shape} but b has {b.shape}; pair the same users")
    if not callable(statistic):
        raise TypeError("statistic must be a function of an (..., n_measures) array of means")
    both = statistic(np.stack([a.mean(axis=0), b.mean(axis=0)]))
    values = np.asarray(both, dtype=np.float64)
    if values.shape != (2,) or not np.all(np.isfinite(values)):
        raise ValueError(
            "statistic must map an (r, n_measures) array of means to r finite values, got "
            f"{values!r} for r = 2"
        )
    return a, b, float(values[0]), float(values[1])


def _statistic_of(statistic, means: np.ndarray) -> np.ndarray:
    return np.asarray(statistic(means), dtype=np.float64)


def bootstrap_of_means(
    a, b, statistic, *, n_boot: int = 10000, alpha: float = 0.05, seed=0
) -> ResampledResult:
    """Paired bootstrap over users of the difference of a statistic of means.

    The statistic is one of the whole population, ``statistic(mean of a) - statistic(mean
    of b)``, such as an F-measure of mean recall and mean diversity, which is not a mean
    of per-user values. Each resample draws ``n`` users with replacement (the same users
    for both methods, which keeps the pairing) and recomputes both statistics from that
    resample's means.

    Parameters
    ----------
    a, b : array_like, shape (n,) or (n, c)
        Per-user measures of methods A and B (``c`` of them, e.g. hit, diversity,
        novelty), the same users in the same order.
    statistic : callable
        Maps an array ``(..., c)`` of means to the statistic's values ``(...)``,
        vectorised over the leading axes.
    n_boot : int
        Resamples (at least 100).
    alpha : float
        The interval has level ``1 - alpha``.
    seed : int or numpy.random.Generator
        Seed of the resampling; the same seed gives the same result.

    Returns
    -------
    ResampledResult
        ``diff`` on all users; ``ci_low``/``ci_high`` the ``alpha / 2`` and ``1 - alpha /
        2`` quantiles of the resampled differences D*; ``p = min(1, 2 (1 + min(#{D* <=
        0}, #{D* >= 0})) / (n_boot + 1))``, the two-sided percentile-bootstrap p-value
        (below ``alpha`` about when the interval excludes 0; identical methods give 1).
    """
    a, b, stat_a, stat_b = _check_means_pair(a, b, statistic)
    n_boot = _check_resamples(n_boot, "n_boot")
    alpha = _check_alpha(alpha)
    ab = np.concatenate([a, b], axis=1)
    c = a.shape[1]
    boot = np.empty(n_boot)
    for start, idx in _resampled_users(seed, n_boot, a.shape[0], ab.shape[1]):
        means = ab[idx].mean(axis=1)  # (rows, 2c)
        boot[start : start + len(idx)] = (
            _statistic_of(statistic, means[:, :c]) - _statistic_of(statistic, means[:, c:])
        )
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    tail = min(int(np.count_nonzero(boot <= 0)), int(np.count_nonzero(boot >= 0)))
    p = min(1.0, 2.0 * (1 + tail) / (n_boot + 1))
    return ResampledResult(
        n=a.shape[0], stat_a=stat_a, stat_b=stat_b, diff=stat_a - stat_b, ci_low=float(lo),
        ci_high=float(hi), p=p, n_resamples=n_boot, exact=False,
        method="paired bootstrap over users, percentile CI and p", alpha=alpha,
    )  # fmt: skip


# Recomputed differences within this of the observed one count as ties: a flip pattern
# that leaves the means unchanged recomputes them in another order (last-bit changes).
_TIE = 1e-12


def sign_flip_of_means(a, b, statistic, *, n_perm: int = 10000, seed=0) -> ResampledResult:
    """Paired sign-flip permutation test of the difference of a statistic of means.

    Null hypothesis: for every user, A's and B's measures are exchangeable. A flip
    pattern swaps the two methods' measures of the flipped users, which flips the sign of
    those users' difference vectors ``a[i] - b[i]`` (their contributions to the
    difference of the means). The test statistic is the observed difference itself,
    ``T = statistic(mean of a) - statistic(mean of b)``, recomputed from the swapped
    means for each pattern; ``p`` is the share of patterns with ``|T*| >= |T|``
    (``|T| - 1e-12``: ties recomputed in another order).

    Parameters
    ----------
    a, b, statistic
        As in ``bootstrap_of_means``.
    n_perm : int
        Random flip patterns (at least 100). When ``2**n <= n_perm`` every pattern is
        enumerated instead and ``p`` is exact.
    seed : int or numpy.random.Generator
        Seed of the random patterns; the same seed gives the same result.

    Returns
    -------
    ResampledResult
        ``p``: exact, ``#{|T*| >= |T|} / 2**n`` over all patterns (the identity among
        them); random, ``(1 + #{|T*| >= |T|}) / (n_perm + 1)``. No interval (NaN).
    """
    a, b, stat_a, stat_b = _check_means_pair(a, b, statistic)
    n_perm = _check_resamples(n_perm, "n_perm")
    n, c = a.shape
    observed = abs(stat_a - stat_b)
    exact = n < 63 and 2**n <= n_perm
    total = 2**n if exact else n_perm
    rows = max(1, _CHUNK_ELEMENTS // (n * c * 2))
    rng = np.random.default_rng(seed)
    extreme = 0
    for start in range(0, total, rows):
        m = min(rows, total - start)
        if exact:
            flips = ((np.arange(start, start + m)[:, None] >> np.arange(n)) & 1).astype(bool)
        else:
            flips = rng.random((m, n)) < 0.5
        f = flips[:, :, None]
        t = _statistic_of(statistic, np.where(f, b, a).mean(axis=1)) - _statistic_of(
            statistic, np.where(f, a, b).mean(axis=1)
        )
        extreme += int(np.count_nonzero(np.abs(t) >= observed - _TIE))
    p = extreme / total if exact else (1 + extreme) / (n_perm + 1)
    how = "exact (all 2^n patterns)" if exact else "random patterns"
    return ResampledResult(
        n=n, stat_a=stat_a, stat_b=stat_b, diff=stat_a - stat_b, ci_low=np.nan, ci_high=np.nan,
        p=float(p), n_resamples=total, exact=exact,
        method=f"paired sign-flip permutation over users, {how}", alpha=np.nan,
    )  # fmt: skip


# ----------------------------------------------------------------- multiple comparisons


def bonferroni(pvalues) -> np.ndarray:
    """Bonferroni-adjusted p-values ``min(1, m * p)``, in the input order.

    Parameters
    ----------
    pvalues : array_like, shape (m,)
        Raw p-values, each in [0, 1].

    Returns
    -------
    numpy.ndarray, shape (m,)
        Adjusted p-values ``min(1, m * p)``.

    Examples
    --------
    >>> from moopt.stats import bonferroni
    >>> bonferroni([0.01, 0.04, 0.3])
    array([0.03, 0.12, 0.9 ])
    """
    p = _check_pvalues(pvalues)
    return np.minimum(1.0, p * p.size)


def holm(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values, in the input order.

    The i-th smallest p (0-based) is multiplied by ``m - i``; a running maximum then keeps
    the adjusted values in the order of the raw ones (a smaller raw p can never end up
    with a larger adjusted p), and they are capped at 1. Never larger than Bonferroni.

    Parameters
    ----------
    pvalues : array_like, shape (m,)
        Raw p-values, each in [0, 1].

    Returns
    -------
    numpy.ndarray, shape (m,)
        Adjusted p-values, in the order of ``pvalues``.

    Raises
    ------
    ValueError
        If ``pvalues`` is empty, not 1-D, or holds a value outside [0, 1] (NaN included).

    Examples
    --------
    >>> from moopt.stats import holm
    >>> holm([0.01, 0.04, 0.03])
    array([0.03, 0.06, 0.06])
    """
    p = _check_pvalues(pvalues)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * (p.size - np.arange(p.size)))
    out = np.empty_like(p)
    out[order] = np.minimum(1.0, stepped)
    return out


_ADJUST = {"holm": holm, "bonferroni": bonferroni, "none": _check_pvalues}


def adjust(pvalues, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons: ``"holm"``, ``"bonferroni"`` or ``"none"``.

    Parameters
    ----------
    pvalues : array_like, shape (m,)
        Raw p-values, each in [0, 1].
    method : {"holm", "bonferroni", "none"}, default "holm"
        The correction; ``"none"`` returns a checked copy of the raw values.

    Returns
    -------
    numpy.ndarray, shape (m,)
        Adjusted p-values, in the input order (a new array).

    Raises
    ------
    ValueError
        If ``method`` is unknown or the p-values are invalid (see ``holm``).
    """
    if method not in _ADJUST:
        raise ValueError(f"method must be one of {sorted(_ADJUST)}, got {method!r}")
    return _ADJUST[method](pvalues).copy()


def compare_table(
    results: Mapping[str, PairedResult], correction: str = "holm", alpha: float = 0.05
) -> pd.DataFrame:
    """Tabulate several paired comparisons with their p-values corrected together.

    Parameters
    ----------
    results : Mapping of str to PairedResult
        Comparison name to its result (non-empty); names become the index.
    correction : {"holm", "bonferroni", "none"}, default "holm"
        Multiple-comparison correction applied to all the p-values together.
    alpha : float, default 0.05
        Significance level of the ``significant`` column; strictly between 0 and 1.

    Returns
    -------
    pandas.DataFrame
        One row per comparison (index ``comparison``): the ``PairedResult`` fields plus
        ``p_adj`` (corrected p) and ``significant`` (``p_adj < alpha``).

    Raises
    ------
    ValueError
        If ``results`` is empty, ``alpha`` is outside (0, 1) or ``correction`` unknown.
    TypeError
        If a value of ``results`` is not a ``PairedResult``.

    Examples
    --------
    >>> from moopt.stats import compare_table, paired_over_seeds
    >>> base = [0.29, 0.30, 0.29, 0.30]
    >>> table = compare_table({
    ...     "A vs base": paired_over_seeds([0.31, 0.33, 0.30, 0.32], base),
    ...     "B vs base": paired_over_seeds([0.30, 0.29, 0.31, 0.30], base),
    ... })
    >>> table[["p", "p_adj", "significant"]].round(4)
                     p   p_adj  significant
    comparison
    A vs base   0.0163  0.0326         True
    B vs base   0.4950  0.4950        False
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
