"""What the command line says: defaults in the help, every file a command writes, and
one-line errors that name the flag (or the user's module) to fix."""

import re
import sys
import textwrap

import numpy as np
import pytest

from moopt.cli import build_parser, main
from problems.comparison import build_problem
from problems.rerank_eval.report import rerank_job


def _help(capsys, *argv) -> str:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return capsys.readouterr().out


def _commands() -> list[str]:
    return sorted(build_parser()._subparsers._group_actions[0].choices)


def test_help_shows_the_defaults(capsys):
    text = " ".join(_help(capsys, "compare").split())
    assert "--budget BUDGET evaluations (or seconds, with --budget-type seconds) per solver " \
           "and seed (default: 60)" in text  # fmt: skip
    assert "what --budget counts (default: evaluations)" in text
    assert "(default quadratics)" in text and "(default: quadratics)" not in text
    text = " ".join(_help(capsys, "rerank").split())
    assert "evaluation protocols (default: full sampled)" in text
    assert "(default 10)" in text and "(default: 10)" not in text  # said once, not twice


def test_no_help_shows_a_doubled_percent_sign(capsys):
    for command in _commands():
        text = _help(capsys, command)
        assert "%%" not in text, command
    assert "95% CIs over seeds" in " ".join(_help(capsys, "compare").split())


def test_rerank_help_lists_every_file_the_job_writes(capsys):
    text = " ".join(_help(capsys, "rerank").split())
    written = set(re.findall(r"``(\w+\.(?:csv|png|md))``", rerank_job.__doc__))
    assert len(written) >= 9
    for name in sorted(written):
        assert name in text, name


def test_a_missing_candidates_file_says_so(tmp_path, capsys):
    code = main(["rerank", "--candidates", str(tmp_path / "nope.npz"), "--out",
                 str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"moopt rerank: error: --candidates: no file {tmp_path / 'nope.npz'}" in err


def test_raw_scores_with_expected_hits_name_the_flags(tmp_path, capsys):
    cands = tmp_path / "candidates.npz"
    np.savez(cands, users=np.arange(2))
    code = main(["rerank", "--candidates", str(cands), "--out", str(tmp_path / "out"),
                 "--score-transform", "none"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--score-transform none" in err and "--accuracy accuracy" in err
    assert "score_transform=" not in err


_PROBLEM = textwrap.dedent(
    """
    import numpy as np
    from pymoo.core.problem import Problem


    class Shifted(Problem):
        def __init__(self, n_var=2, shift=0.0):
            if shift < 0:
                raise ValueError("shift must be non-negative")
            super().__init__(n_var=n_var, n_obj=2, xl=0.0, xu=1.0)
            self.shift = shift

        def _evaluate(self, x, out, *args, **kwargs):
            out["F"] = np.column_stack([x[:, 0] + self.shift, 1.0 - np.sqrt(x[:, 0])
                                        + x[:, 1:].sum(axis=1)])
    """
)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A problem module in the current folder (not on sys.path), under a unique name."""
    name = f"user_problem_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(_PROBLEM)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    yield name
    sys.modules.pop(name, None)


def test_a_problem_class_is_imported_from_the_current_folder_with_its_arguments(
        user_module, tmp_path, capsys):  # fmt: skip
    problem = build_problem(f"{user_module}:Shifted", problem_args={"n_var": 5, "shift": 0.5})
    assert problem.n_var == 5 and problem.shift == 0.5
    assert str(tmp_path) not in sys.path  # taken off again
    code = main(["compare", "--problem", f"{user_module}:Shifted", "--problem-args",
                 '{"n_var": 3}', "--budget", "16", "--solvers", "nsga2", "--out",
                 str(tmp_path / "out")])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "comparison.csv").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        ("{n_var: 3}", "--problem-args must be a JSON object such as '{{\"n_var\": 5}}', got "
                       "'{{n_var: 3}}'"),
        ("[3]", "--problem-args must be a JSON object (keyword arguments), got '[3]'"),
        ('{"shift": -1}', "{module}:Shifted(**{{'shift': -1}}) in module '{module}' raised "
                          "ValueError: shift must be non-negative"),
        ('{"n_vars": 3}', "in module '{module}' raised TypeError"),
    ],
)
def test_bad_problem_arguments_are_one_line(user_module, tmp_path, capsys, args, message):
    code = main(["compare", "--problem", f"{user_module}:Shifted", "--problem-args", args,
                 "--budget", "16", "--out", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert message.format(module=user_module) in err


def test_an_error_in_the_users_module_is_one_line_naming_it(tmp_path, monkeypatch, capsys):
    name = f"user_broken_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text("import numpy\nraise RuntimeError('boom at import')\n")
    monkeypatch.chdir(tmp_path)
    code = main(["compare", "--problem", f"{name}:P", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"importing module {name!r} for problem '{name}:P' raised RuntimeError: boom at " \
           "import" in err  # fmt: skip
    monkeypatch.setenv("MOOPT_DEBUG", "1")
    sys.modules.pop(name, None)
    with pytest.raises(ValueError, match="boom at import"):
        main(["compare", "--problem", f"{name}:P", "--out", str(tmp_path / "out2")])


def test_problem_args_do_not_apply_to_the_toolkits_problems():
    with pytest.raises(ValueError, match="--problem-args applies to module:Class"):
        build_problem("quadratics", problem_args={"n_var": 3})
    assert build_problem("zdt1", problem_args={"n_var": 4}).n_var == 4


def test_models_prints_each_rankers_training_budget(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    blocks = dict(re.findall(r"^\s*([\w-]+)  .*\n\s+trains at most (\d+ epochs, stopping after "
                             r"\d+) validation rounds", out, flags=re.M))  # fmt: skip
    assert blocks["duafmat"] == "30 epochs, stopping after 5"
    assert blocks["sasrec"] == "200 epochs, stopping after 10"
    assert blocks["bpr"] == "300 epochs, stopping after 15"
    assert set(blocks) == {"bpr", "lightgcn", "gru4rec", "sasrec", "duafmat", "unisrec-text",
                           "mm-concat"}  # fmt: skip


def test_to_frame_says_what_users_takes():
    from moopt import rerank_batch
    from moopt.engine.result import RerankResult

    doc = RerankResult.to_frame.__doc__
    assert "one per user row" in doc and "None" in doc
    rng = np.random.default_rng(0)
    cands = np.stack([rng.choice(40, 10, replace=False) for _ in range(3)])
    res = rerank_batch(rng.normal(size=(3, 10)), cands, rng.random((40, 3)) < 0.4,
                       np.ones(40), k=3, pop_size=6, n_gen=2)  # fmt: skip
    frame = res.to_frame(users=np.array([107, 5, 42]))
    assert frame["user"].tolist() == [107] * 6 + [5] * 6 + [42] * 6
    with pytest.raises(ValueError, match=r"users must hold one id per user row of the result "
                       r"\(3\), got shape \(2,\)"):
        res.to_frame(users=[107, 5])
