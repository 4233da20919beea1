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


def make_case(n_users, seed):
    rng = np.random.default_rng(seed)
    genres = rng.random((400, 12)) < 0.2
    pop = rng.integers(0, 300, 400).astype(float)
    cands = np.stack([rng.choice(400, 40, replace=False) for _ in range(n_users)])
    return rng.normal(size=(n_users, 40)), cands, genres, pop


def test_sharded_run_equals_local_run(client):
    scores, cands, genres, pop = make_case(25, 0)
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


def test_sharded_run_checks_each_shard_against_the_limit(client):
    from moopt.engine import RerankMemoryError, memory_estimate

    scores, cands, genres, pop = make_case(64, 1)
    kw = dict(k=6, pop_size=16, n_gen=3, seed=2)
    # a shard of 32 users fits where all 64 would not: two shards run, equal to local
    whole = memory_estimate(64, 6, 40, 3, pop_size=16, n_gen=3, n_threads=1)["total"]
    shard = memory_estimate(32, 6, 40, 3, pop_size=16, n_gen=3, n_threads=1)["total"]
    assert shard < whole
    local = rerank_batch(scores, cands, genres, pop, **kw)
    remote = rerank_batch(scores, cands, genres, pop, client=client, n_shards=2,
                          memory_limit=shard, **kw)  # fmt: skip
    np.testing.assert_array_equal(remote.positions, local.positions)
    with pytest.raises(RerankMemoryError, match="one shard .*n_shards=") as info:
        rerank_batch(scores, cands, genres, pop, client=client, n_shards=2,
                     memory_limit=shard - 1, **kw)  # fmt: skip
    assert "32 users" in str(info.value)
