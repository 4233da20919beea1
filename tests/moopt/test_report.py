"""moopt report on a comparison folder: the page's embedded data equal the folder's files,
a folder without fronts says so, the CLI's errors, and the page in headless Chromium."""

import json
import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("plotly")

from moopt.cli import main  # noqa: E402
from moopt.report import table_html  # noqa: E402
from moopt.report.compare import comparison_page  # noqa: E402

SOLVERS = ("NSGA-II", "BayesOpt")
SEEDS = (0, 1, 2)


def page_data(text: str) -> dict:
    """The JSON a page embeds for its script."""
    return json.loads(re.search(r"const DATA = (.*?);\n", text).group(1))


def front(solver: int, seed: int) -> np.ndarray:
    """A distinct, known front per solver and seed: 3 + seed points on f1 = 1 - f0 ** 0.5
    shifted by the solver."""
    f0 = np.linspace(0.0, 1.0, 3 + seed)
    return np.column_stack([f0, 1.0 - np.sqrt(f0) + 0.1 * solver])


@pytest.fixture
def comparison(tmp_path):
    """A compare folder as `moopt compare` writes it, with fronts.csv and comparison.json
    in the documented layout."""
    out = tmp_path / "cmp"
    out.mkdir()
    curves, bands, runs, fronts = [], [], [], []
    for i, s in enumerate(SOLVERS):
        for seed in SEEDS:
            ev = np.arange(1, 11)
            hv = 0.3 + 0.03 * ev + 0.01 * seed - 0.05 * i
            curves.append(pd.DataFrame({"seed": seed, "evaluations": ev, "seconds": ev * 0.1,
                                        "hypervolume": hv, "solver": s}))
            runs.append({"solver": s, "seed": seed, "status": "ok", "hypervolume": hv[-1],
                         "evaluations": 10})  # fmt: skip
            f = front(i, seed)
            fronts.append(pd.DataFrame({"solver": s, "seed": seed, "point": np.arange(len(f)),
                                        "x0": f[:, 0], "x1": 0.0, "f0": f[:, 0],
                                        "f1": f[:, 1]}))  # fmt: skip
        mean = 0.3 + 0.03 * np.arange(1, 11) + 0.01 - 0.05 * i
        bands.append(pd.DataFrame({"x": np.arange(1, 11), "mean": mean, "ci_low": mean - 0.02,
                                   "ci_high": mean + 0.02, "solver": s}))  # fmt: skip
    pd.concat(curves).to_csv(out / "curves.csv", index=False)
    pd.concat(bands).to_csv(out / "bands.csv", index=False)
    pd.DataFrame(runs).to_csv(out / "runs.csv", index=False)
    # Shuffled rows: the page orders each front by its point index.
    pd.concat(fronts).sample(frac=1.0, random_state=0).to_csv(out / "fronts.csv", index=False)
    pd.DataFrame({"solver": SOLVERS, "evaluations": [10, 10], "hypervolume": [0.61, 0.56],
                  "hypervolume ci": [0.011, 0.012]}).to_csv(out / "comparison.csv", index=False)
    pd.DataFrame({"indicator": ["hypervolume"], "a": ["NSGA-II"], "b": ["BayesOpt"],
                  "diff": [0.05], "ci_low": [0.049], "ci_high": [0.051], "p": [1.3e-4],
                  "cohens_d": [9.0]}).to_csv(out / "significance.csv", index=False)
    (out / "comparison.json").write_text(json.dumps({
        "problem": "zdt1", "n_var": 2, "n_obj": 2, "budget": 10, "budget_type": "evaluations",
        "seeds": list(SEEDS), "solvers": list(SOLVERS), "reference_point": [1.1, 1.3],
        "settings": {"pop_size": 8}, "versions": {"moopt": "0.1.0"},
    }))  # fmt: skip
    return out


def test_comparison_page_embeds_every_seeds_front_in_point_order(comparison):
    text = comparison_page(comparison)
    data = page_data(text)
    assert data["solvers"] == list(SOLVERS) and data["n_obj"] == 2
    for i, s in enumerate(SOLVERS):
        assert sorted(data["fronts"][s]) == [str(seed) for seed in SEEDS]
        for seed in SEEDS:
            np.testing.assert_allclose(data["fronts"][s][str(seed)], front(i, seed))
    assert data["runs"]["BayesOpt"]["2"] == f"hypervolume {0.3 + 0.3 + 0.02 - 0.05:.4g}"
    assert text.count('<option value="') == len(SEEDS)
    assert "hypervolume reference point [1.1, 1.3]" in text
    # The table and the significance row, as the CSVs hold them.
    assert re.search(r"<td[^>]*>NSGA-II</td><td>10</td><td>0.61</td><td>0.011</td>", text)
    assert "<td>0.0001300</td>" not in text and "<td>0.00013</td>" in text
    assert "plotly" in text.lower() and "cdn" not in text.split("<script>const DATA")[0][-200:]


def test_comparison_page_without_fronts_says_so(comparison):
    (comparison / "fronts.csv").unlink()
    (comparison / "comparison.json").unlink()
    text = comparison_page(comparison)
    assert page_data(text)["fronts"] is None
    assert 'id="fronts-missing"' in text and "no fronts.csv" in text
    assert "comparison.json is absent" in text and 'id="seed-select"' not in text


def test_report_cli_writes_the_page_and_refuses_other_folders(comparison, tmp_path, capsys):
    assert main(["report", str(comparison)]) == 0
    page = comparison / "report.html"
    assert page_data(page.read_text())["solvers"] == list(SOLVERS)
    assert "compare report" in capsys.readouterr().out
    other = tmp_path / "elsewhere.html"
    assert main(["report", str(comparison), "--out", str(other)]) == 0 and other.is_file()
    (comparison / "bands.csv").unlink()
    assert main(["report", str(comparison)]) == 2
    err = capsys.readouterr().err
    assert "neither a moopt rerank folder" in err and "bands.csv" in err
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_report_without_plotly_says_how_to_install_it(comparison, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "plotly", None)  # what a missing package looks like
    assert main(["report", str(comparison)]) == 2
    assert "pip install 'moopt[report]'" in capsys.readouterr().err
    assert not (comparison / "report.html").exists()


def test_table_and_script_data_are_escaped():
    from moopt.report.html import _json_for_script

    frame = pd.DataFrame({"name": ["<b>x</b>"], "value": [float("nan")], "n": [3]})
    assert table_html(frame) == (
        '<table class="tbl"><thead><tr><th class="text">name</th><th>value</th><th>n</th>'
        "</tr></thead>"
        '<tbody><tr><td class="text">&lt;b&gt;x&lt;/b&gt;</td><td>-</td><td>3</td></tr>'
        "</tbody></table>"
    )
    text = _json_for_script({"title": "</script><!-- a"})
    assert "<" not in text and json.loads(text) == {"title": "</script><!-- a"}
    with pytest.raises(ValueError):
        _json_for_script({"x": float("nan")})


def test_comparison_page_in_chromium(comparison, browser, tmp_path):
    main(["report", str(comparison)])
    browser.open(comparison / "report.html")
    assert browser.console_errors() == []
    assert browser.js("return document.querySelectorAll('.js-plotly-plot').length") == 2
    first = browser.js("return document.getElementById('seed-info').textContent")
    assert browser.js("return document.getElementById('fronts').data[0].x") == pytest.approx(
        front(0, 0)[:, 0].tolist())
    from selenium.webdriver.support.ui import Select

    Select(browser.driver.find_element("id", "seed-select")).select_by_value("2")
    shown = browser.js("return document.getElementById('fronts').data.map(t => t.y)")
    for i in range(len(SOLVERS)):
        assert shown[i] == pytest.approx(front(i, 2)[:, 1].tolist())
    assert browser.js("return document.getElementById('seed-info').textContent") != first
    assert browser.console_errors() == []
    assert browser.screenshot(tmp_path / "compare.png").stat().st_size > 20_000
