"""benchmarks.scale_train at a tiny size: every stage runs in its own process and
reports its time and peak memory; the candidates it writes read back."""

import numpy as np
import pytest

from benchmarks.scale_train import markdown, rows
from recommenders.candidates_io import load_candidates


def test_scale_train_rows_at_a_tiny_size(tmp_path):
    stages = ("generate", "bpr", "evaluate", "candidates")
    table = rows(200, 1000, fraction=0.5, memory_budget=7 * 1000 * 32, stages=stages,
                 workdir=tmp_path)  # fmt: skip
    assert [r["stage"] for r in table] == list(stages)
    for r in table:
        assert r["seconds"] > 0 and 0.01 < r["peak_rss_gb"] < 8 and r["wall_s"] >= r["seconds"]
    cands = load_candidates(tmp_path / "candidates")
    assert cands["items"].shape == (200, 100) and np.isfinite(cands["log_norm_full"]).all()
    text = markdown(table, "head")
    assert text.startswith("head\n") and text.count("\n| ") == len(stages) + 1
    with pytest.raises(ValueError, match="fraction must lie in"):
        rows(fraction=0)
