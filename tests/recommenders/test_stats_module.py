import numpy as np

from moopt import stats as engine_stats
from recommenders import stats


def test_recommenders_stats_is_the_statistics_module_under_its_own_name():
    for name in stats.__all__:
        assert getattr(stats, name) is getattr(engine_stats, name)
    # Holm by hand: sorted p 0.01, 0.03, 0.04 times 3, 2, 1, running maximum.
    np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    # Paired over seeds by hand: differences 1, 2, 3 -> mean 2, sd 1, d = 2,
    # t = 2 / (1 / sqrt 3), CI 2 -+ t(0.975, 2) / sqrt 3 with t(0.975, 2) = 4.302653.
    res = stats.paired_over_seeds([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    assert res.diff == 2.0 and res.n == 3
    np.testing.assert_allclose([res.cohens_d, res.t], [2.0, 2.0 * np.sqrt(3.0)])
    half = 4.302653 / np.sqrt(3.0)
    np.testing.assert_allclose([res.ci_low, res.ci_high], [2.0 - half, 2.0 + half], rtol=1e-6)
