import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from moopt.cli import main
from recommenders.data import recbole_ml100k_dir
from recommenders.evaluate import load_candidates


def test_help_explains_the_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for word in ("train", "demo", "data", "models", "make demo"):
        assert word in out


def test_console_script_is_installed():
    beside = Path(sys.executable).parent / "moopt"
    exe = str(beside) if beside.exists() else shutil.which("moopt")
    assert exe is not None, "the moopt console script is not installed"
    res = subprocess.run([exe, "train", "--help"], capture_output=True, text=True, check=True)
    assert "metrics.json" in res.stdout and "--set KEY=VALUE" in res.stdout


def test_train_writes_metrics_and_candidates(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "pop",
            "--data",
            "synthetic",
            "--out",
            str(out),
            "--quiet",
            "--n-candidates",
            "50",
        ]
    )
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"full", "sampled"}
    assert 0 < metrics["full"]["HR@10"] <= metrics["sampled"]["HR@10"] <= 1
    assert {"NDCG@10", "Div@10", "Nov@10", "F1@10"} <= set(metrics["full"])
    cands = load_candidates(out / "candidates.npz")
    users = cands["users"]
    assert cands["items"].shape == cands["scores"].shape == (users.size, 50)
    assert cands["sampled_items"].shape == (users.size, 100)
    assert np.all(np.diff(cands["scores"], axis=1) <= 0)
    assert str(cands["meta_model"]) == "pop"
    run = json.loads((out / "run.json").read_text())
    assert run["signature"]["model"] == "pop" and run["reused_checkpoint"] is False
    assert "HR" in capsys.readouterr().out
    # Atomic writes must not leave results private (mkstemp creates 0600 files).
    mask = os.umask(0)
    os.umask(mask)
    assert (out / "metrics.json").stat().st_mode & 0o777 == 0o666 & ~mask


def test_train_reuses_a_matching_checkpoint(tmp_path, capsys):
    args = [
        "train",
        "bpr",
        "--data",
        "synthetic",
        "--out",
        str(tmp_path),
        "--quiet",
        "--epochs",
        "2",
    ]
    assert main(args) == 0
    first = json.loads((tmp_path / "metrics.json").read_text())
    assert main([*args, "--reuse"]) == 0
    assert json.loads((tmp_path / "run.json").read_text())["reused_checkpoint"] is True
    assert json.loads((tmp_path / "metrics.json").read_text()) == first
    # Different settings: trained again, not reused.
    assert main([*args[:-1], "3", "--reuse"]) == 0
    assert json.loads((tmp_path / "run.json").read_text())["reused_checkpoint"] is False


def test_train_multimodal_with_missing_modality_and_user_features(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MOOPT_CACHE", str(tmp_path / "cache"))
    from recommenders.data import make_synthetic

    n_items = make_synthetic().n_items
    text = np.random.default_rng(0).normal(size=(n_items, 6))
    text[4] = np.nan  # item 4 has no text: generated from its other modality
    np.save(tmp_path / "text.npy", text)
    out = tmp_path / "run"
    args = ["train", "duafmat", "--data", "synthetic", "--missing", "0.3", "--features",
            f"text={tmp_path / 'text.npy'}", "--epochs", "1", "--set", "hidden=16",
            "--set", "modalities=text,visual", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["signature"]["missing"] == 0.3
    assert run["signature"]["model_config"]["modalities"] == ["text", "visual"]
    from recommenders.models import Ranker

    model = Ranker.load(out / "model.pt", device="cpu")
    assert model.features.present[4].tolist() == [False, True]
    assert int((~model.features.present[:, 1]).sum()) == round(0.3 * n_items)
    assert main([*args, "--reuse"]) == 0  # the same settings reuse the checkpoint
    assert json.loads((out / "run.json").read_text())["reused_checkpoint"] is True
    assert main(["train", "bpr", "--data", "synthetic", "--missing", "0.3", "--out",
                 str(tmp_path / "b"), "--quiet"]) == 2  # fmt: skip
    assert "multimodal models only" in capsys.readouterr().err
    assert main([*args[:6], "--features", "audio=x.npy", "--out", str(out), "--quiet"]) == 2
    assert "'text' or 'visual'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "bpr", "--data", "synthetic", "--set", "dimm=3"], "has no setting 'dimm'"),
        (["train", "bpr", "--data", "synthetic", "--set", "dim=big"], "expected int"),
        (["train", "transformer", "--data", "synthetic"], "unknown model"),
        (["train", "pop", "--data", "netflix"], "unknown dataset"),
    ],
)
def test_bad_arguments_give_a_clear_error(tmp_path, capsys, argv, message):
    assert main([*argv, "--out", str(tmp_path), "--quiet"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(recbole_ml100k_dir() is None, reason="ML-100K not installed")
def test_data_command_shows_ml100k(capsys):
    assert main(["data", "ml-100k"]) == 0
    out = capsys.readouterr().out
    assert "943" in out and "1682" in out and "100000" in out and "unknown" in out


def test_models_command_lists_all(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("pop", "bpr", "lightgcn", "gru4rec", "sasrec", "n_heads=2"):
        assert name in out


def test_compare_command_writes_the_comparison(tmp_path, capsys):
    assert main(["compare", "--problem", "quadratics", "--budget", "20", "--out",
                 str(tmp_path)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "hypervolume reference point" in out
    for name in ("nsga2", "mgda", "bo"):
        assert name in out
    for f in ("comparison.csv", "curves.csv", "hypervolume.png", "fronts.png"):
        assert (tmp_path / f).stat().st_size > 0


def test_compare_command_on_a_pymoo_problem_over_seeds(tmp_path, capsys):
    assert main(["compare", "--problem", "zdt2", "--n-var", "4", "--solvers", "nsga2", "bo",
                 "--budget", "20", "--seeds", "2", "--out", str(tmp_path)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "best two solvers, paired over seeds" in out and "igd" in out
    assert (tmp_path / "significance.csv").stat().st_size > 0
    assert main(["compare", "--problem", "zdt2", "--budget", "20", "--seeds", "0", "--out",
                 str(tmp_path / "x")]) == 2  # fmt: skip
    assert "seeds must be at least 1" in capsys.readouterr().err


def test_compare_command_keeps_reference_point_fronts_settings_and_versions(tmp_path, capsys):
    import pandas as pd
    from pymoo.indicators.hv import HV
    from pymoo.problems import get_problem

    from moopt.compare import Comparison
    from moopt.files import read_csv, versions

    assert main(["compare", "--problem", "zdt1", "--n-var", "3", "--solvers", "nsga2", "mgda",
                 "--budget", "24", "--seeds", "2", "--seed", "5", "--out",
                 str(tmp_path)]) == 0  # fmt: skip
    record = json.loads((tmp_path / "comparison.json").read_text())
    assert sorted(record) == ["alpha", "budget", "budget_type", "n_obj", "n_var", "problem",
                              "reference_point", "seeds", "settings", "solvers", "versions"]
    assert (record["problem"], record["n_var"], record["n_obj"]) == ("zdt1", 3, 2)
    assert (record["budget"], record["budget_type"]) == (24.0, "evaluations")
    assert record["seeds"] == [5, 6] and record["solvers"] == ["nsga2", "mgda"]
    settings = record["settings"]
    assert settings["solvers"] == ["nsga2", "mgda"] and settings["budget"] == 24.0
    assert settings["n_var"] == 3 and settings["seeds"] == 2 and settings["seed"] == 5
    assert settings["command"] == "compare" and "out" not in settings
    assert record["versions"] == versions()
    assert {"python", "numpy", "pymoo", "torch", "numba", "moopt"} <= set(record["versions"])
    printed = capsys.readouterr().out.split("hypervolume reference point: ")[1].split("\n")[0]
    assert json.loads(printed) == np.round(record["reference_point"], 4).tolist()
    fronts = read_csv(tmp_path / "fronts.csv")
    assert list(fronts.columns) == ["solver", "seed", "point", "x0", "x1", "x2", "f0", "f1"]
    runs = read_csv(tmp_path / "runs.csv")
    hv, zdt1 = HV(ref_point=np.array(record["reference_point"])), get_problem("zdt1", n_var=3)
    for _, run in runs.iterrows():
        mine = fronts[(fronts.solver == run["solver"]) & (fronts.seed == run["seed"])]
        assert len(mine) == run["n_front"] > 0
        F = mine[["f0", "f1"]].to_numpy()
        # Each front is the run's: its hypervolume is the table's, its X evaluate to its F.
        assert hv(F) == pytest.approx(run["hypervolume"], rel=1e-12)
        again = zdt1.evaluate(mine[["x0", "x1", "x2"]].to_numpy(), return_values_of=["F"])
        np.testing.assert_allclose(again, F, rtol=0, atol=1e-12)
    loaded = Comparison.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.runs, runs, check_exact=True)
    assert loaded.ref_point.tolist() == record["reference_point"] and loaded.seeds == [5, 6]
    assert [len(f) for f in loaded.fronts_by_seed["mgda"]] == runs["n_front"].tolist()[2:]


def test_dwl_command_on_synthetic_data(tmp_path, capsys):
    argv = ["dwl", "--data", "synthetic", "--seeds", "2", "--epochs", "1", "--n-negatives", "8",
            "--variants", "generic,dynamic",
            "--sparse", "genre8", "--dense", "genre15", "--device", "cpu",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "[sparse]" in out and "dynamic against the baselines" in out
    for f in ("dwl_table.csv", "dwl_significance.csv", "dwl_domains.png"):
        assert (tmp_path / f).stat().st_size > 0
    assert main(["dwl", "--data", "synthetic", "--sparse", "Film-Noir", "--out",
                 str(tmp_path / "x")]) == 2  # fmt: skip
    assert "unknown domain" in capsys.readouterr().err


def test_multimodal_command_on_synthetic_data(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MOOPT_CACHE", str(tmp_path / "cache"))  # the text embedding cache
    argv = ["multimodal", "--data", "synthetic", "--variants", "sasrec,concat", "--missing",
            "0,0.5", "--seeds", "2", "--epochs", "1", "--hidden", "16", "--set", "max_len=10",
            "--out", str(tmp_path / "mm")]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "against SASRec, paired over seeds" in out and "concat" in out
    for f in ("mm_table.csv", "mm_significance.csv", "mm_significance_users.csv", "mm_ndcg.png"):
        assert (tmp_path / "mm" / f).stat().st_size > 0
    assert main([*argv[:-2], "--missing", "0,x", "--out", str(tmp_path / "y")]) == 2
    assert "comma-separated numbers" in capsys.readouterr().err
    assert main([*argv, "--ablation-missing", "0.3"]) == 2
    assert "ablation_rates must be a subset" in capsys.readouterr().err
    assert main([*argv, "--ablation-missing", "a"]) == 2
    assert "--ablation-missing takes comma-separated numbers" in capsys.readouterr().err


def test_booml_command_over_seeds(tmp_path, capsys):
    import pandas as pd

    argv = ["booml", "--data", "synthetic", "--budget", "2", "--n-initial", "2", "--k", "10",
            "--seeds", "2", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    assert "against the fixed weights, paired over seeds" in capsys.readouterr().out
    runs = pd.read_csv(tmp_path / "booml_runs.csv")
    assert sorted(runs["seed"].unique()) == [0, 1]
    mean = pd.read_csv(tmp_path / "booml_seeds_table.csv").set_index("method")
    fixed = runs[runs["method"] == "fixed (lambda = beta = 1)"]["NDCG@10"]
    assert mean.loc["fixed (lambda = beta = 1)", "NDCG@10"] == pytest.approx(fixed.mean())
    sig = pd.read_csv(tmp_path / "booml_significance.csv")
    assert len(sig) == 2 * 4 and (sig["p_adj"] >= sig["p"] - 1e-12).all()
    for s in (0, 1):
        assert (tmp_path / f"seed{s}" / "booml_table.csv").is_file()


def test_booml_command_on_synthetic_data(tmp_path, capsys):
    argv = ["booml", "--data", "synthetic", "--budget", "2", "--n-initial", "2", "--k", "10",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "fixed (lambda = beta = 1)" in out and "BO with warm start" in out
    saved = json.loads((tmp_path / "booml.json").read_text())
    assert saved["budget"] == 2 and saved["config"]["k"] == 10
    assert [r["search"] for r in saved["epochs"]] == ["warm", "scratch"]
    assert saved["config"]["projection"] == "booml" and "projection: booml" in out
    for row in saved["epochs"]:
        assert row["mean gradient passes"] > 0 and row["mean seconds"] > 0
    assert all(r["gradient passes"] > 0 for r in saved["table"])


def test_pmors_command_on_synthetic_data(tmp_path, capsys):
    assert main(["pmors", "--data", "synthetic", "--epochs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "MGDA (l2)" in out and "alpha=1.0" in out
    saved = json.loads((tmp_path / "pmors.json").read_text())
    assert len(saved["table"]) == 10  # 4 normalisations + 6 alphas


def test_compare_command_exits_non_zero_when_a_run_failed(tmp_path, capsys, monkeypatch):
    from pymoo.algorithms.moo.nsga2 import NSGA2

    import problems.comparison

    class Failing(NSGA2):
        def _advance(self, infills=None, **kwargs):
            raise FloatingPointError("overflow in the training loss")

    monkeypatch.setattr(problems.comparison, "default_solvers", lambda problem, budget, names: {
        "nsga2": NSGA2(pop_size=6), "failing": Failing(pop_size=6)})  # fmt: skip
    assert main(["compare", "--problem", "quadratics", "--budget", "12", "--out",
                 str(tmp_path)]) == 1  # fmt: skip
    captured = capsys.readouterr()
    assert "1 of 2 runs failed" in captured.err
    assert "failing seed 0: error: FloatingPointError: overflow in the training" in captured.err
    assert (tmp_path / "runs.csv").stat().st_size > 0  # the files are still written


def test_a_folder_another_job_holds_is_a_one_line_error(tmp_path, capsys):
    from recommenders.io import job_folder

    with job_folder(tmp_path / "out"):
        code = main(["compare", "--problem", "zdt1", "--n-var", "4", "--budget", "12",
                     "--solvers", "nsga2", "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("moopt compare: error: another job is writing into")
    assert "Traceback" not in err
