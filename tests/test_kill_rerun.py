"""Every long CLI job, killed with SIGKILL at seeded points and run again with the same
command, ends with the result files of an uninterrupted run and no temporary or partial
file (harness: tests/killrun.py). Small settings; each job is a few subprocess runs."""

import pytest
from killrun import kill_and_rerun

pytestmark = pytest.mark.slow

TRAIN = ["train", "sasrec", "--data", "synthetic", "--epochs", "4", "--set", "hidden=16",
         "--set", "max_len=20", "--n-candidates", "20", "--out", "{out}", "--quiet",
         "--device", "cpu"]  # fmt: skip


def test_train_killed_at_seeded_points(tmp_path):
    report = kill_and_rerun(TRAIN, tmp_path, n_kills=3, seed=0)
    assert len(report.killed_at) == 3


def test_train_resumes_after_the_last_saved_epoch(tmp_path):
    # Point 4: the training state after epoch 2 has just been renamed into place.
    report = kill_and_rerun(TRAIN, tmp_path, points=[4])
    assert report.points[0].endswith("after " + str(tmp_path / "killed" / "train_state.pt"))
    # The rerun trains epochs 3 and 4 only: two states written, not four.
    assert sum("train_state.pt" in line for line in report.final) == 2 * 2

SMALL = ["--data", "synthetic", "--out", "{out}"]


def test_booml_killed_between_the_two_saves_and_at_seeded_points(tmp_path):
    # The algorithm's checkpoint is written after each evaluation, the problem's state at
    # the end of the generation: killed just before the latter's rename, the checkpoint
    # is one evaluation ahead (this stopped the rerun with "Delete both files").
    args = ["booml", "--budget", "3", "--n-initial", "2", "--groups", "2", "--k", "10", *SMALL]
    report = kill_and_rerun(args, tmp_path, points=[3, 5])
    assert "before" in report.points[0] and "problem_warm.pt" in report.points[0]


def test_pmors_seeds_killed_at_seeded_points(tmp_path):
    args = ["pmors", "--epochs", "1", "--seeds", "2", *SMALL]
    report = kill_and_rerun(args, tmp_path, n_kills=2, seed=1)
    # Seeds finished before the kills are read back, not trained again.
    assert len(report.final) < report.n_points


def test_dwl_killed_at_seeded_points(tmp_path):
    args = ["dwl", "--variants", "generic,dynamic", "--seeds", "2", "--epochs", "2",
            "--patience", "2", "--n-negatives", "16", "--sparse", "genre5,genre2",
            "--dense", "genre14,genre10", "--device", "cpu", *SMALL]  # fmt: skip
    kill_and_rerun(args, tmp_path, n_kills=3, seed=2)


def test_multimodal_killed_at_seeded_points(tmp_path):
    args = ["multimodal", "--variants", "sasrec,duafmat", "--missing", "0,0.3", "--seeds", "2",
            "--epochs", "2", "--patience", "2", "--hidden", "16", "--set", "max_len=10",
            "--set", "n_layers=1", "--set", "inner=32", "--device", "cpu", *SMALL]  # fmt: skip
    kill_and_rerun(args, tmp_path, n_kills=3, seed=3)


def test_compare_killed_at_seeded_points(tmp_path):
    # Every solver family (MGDA charged its finite-difference probes), two seeds; a rerun
    # computes the comparison again and must write the same tables and figures.
    args = ["compare", "--problem", "zdt1", "--n-var", "4", "--budget", "24", "--seeds", "2",
            "--solvers", "nsga2", "mgda", "bo", "--out", "{out}"]  # fmt: skip
    report = kill_and_rerun(args, tmp_path, n_kills=3, seed=4)
    assert len(report.killed_at) == 3


def test_rerank_killed_at_seeded_points(tmp_path):
    from killrun import run_cli

    run = tmp_path / "pop"
    trained = run_cli(["train", "pop", "--data", "synthetic", "--out", str(run), "--quiet",
                       "--n-candidates", "50"])  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    args = ["rerank", "--candidates", str(run / "candidates.npz"), "--out", "{out}",
            "--pop-size", "12", "--n-gen", "3", "--seeds", "2",
            "--methods", "base", "mmr", "nsga2_seeded"]  # fmt: skip
    report = kill_and_rerun(args, tmp_path, n_kills=3, seed=5)
    assert len(report.killed_at) == 3


def test_markdown_tables_are_compared_by_their_own_headers(tmp_path):
    # rerank_summary.md holds the headline table (11 columns) above the summary table (8):
    # the comparison read every row by the first table's header (IndexError).
    from killrun import _markdown_cells

    path = tmp_path / "summary.md"
    path.write_text("Headline:\n\n| a | seconds | b |\n|---|---|---|\n| 1 | 0.5 | 2 |\n\n"
                    "Every method:\n\n| c | d |\n|---|---|\n| 3 | 4 |\n")
    assert _markdown_cells(path) == [["a", "b"], ["---", "---"], ["1", "2"],
                                     ["c", "d"], ["---", "---"], ["3", "4"]]
