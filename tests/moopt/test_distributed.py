"""rerank_batch sharded over a Dask LocalCluster equals the local run."""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from moopt import rerank_batch  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_sharded_run_equals_local_run(client):
    rng = np.random.default_rng(0)
    genres = rng.random((400, 12)) < 0.2
    pop = rng.integers(0, 300, 400).astype(float)
    cands = np.stack([rng.choice(400, 40, replace=False) for _ in range(25)])
    scores = rng.normal(size=(25, 40))
    kw = dict(k=6, pop_size=16, n_gen=6, seed=11)
    local = rerank_batch(scores, cands, genres, pop, **kw)
    for n_shards in (2, 5):
        remote = rerank_batch(scores, cands, genres, pop, client=client, n_shards=n_shards, **kw)
        np.testing.assert_array_equal(remote.positions, local.positions)
        np.testing.assert_array_equal(remote.F, local.F)
        np.testing.assert_array_equal(remote.rank, local.rank)
        np.testing.assert_array_equal(remote.X, local.X)
    assert len(client.scheduler_info()["workers"]) == 2


def test_sharded_run_rejects_callbacks(client):
    with pytest.raises(ValueError, match="run callbacks locally"):
        rerank_batch(np.zeros((2, 5)), np.arange(10).reshape(2, 5), np.eye(10, dtype=bool),
                     np.ones(10), k=2, pop_size=4, n_gen=2, client=client,
                     callback=lambda s: None)
