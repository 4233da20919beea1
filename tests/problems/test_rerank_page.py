"""moopt report on a moopt rerank folder: the page's data equal the folder's files, an
older folder without the curves and lists gets notes, and in headless Chromium the
weight slider shows the metrics at the chosen w and the user view shows the lists."""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("plotly")

from moopt.cli import main  # noqa: E402
from problems.rerank_eval.page import rerank_page  # noqa: E402


def page_data(text: str) -> dict:
    return json.loads(re.search(r"const DATA = (.*?);\n", text).group(1))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A real moopt rerank folder: Pop on synthetic data, base, MMR and NSGA-II seeded."""
    root = tmp_path_factory.mktemp("rerank")
    assert main(["train", "pop", "--data", "synthetic", "--out", str(root / "pop"), "--quiet",
                 "--n-candidates", "50"]) == 0  # fmt: skip
    assert main(["rerank", "--candidates", str(root / "pop" / "candidates.npz"),
                 "--out", str(root / "rerank"), "--pop-size", "12", "--n-gen", "3",
                 "--seeds", "2", "--methods", "base", "mmr", "nsga2_seeded"]) == 0  # fmt: skip
    return root / "rerank"


def nsga_curve(run, protocol: str, stage: str) -> pd.DataFrame:
    curves = pd.read_csv(run / "rerank_curves.csv")
    return curves[(curves.protocol == protocol) & (curves.stage == stage)
                  & (curves.key == "nsga2_seeded")].sort_values("param")  # fmt: skip


def test_rerank_page_data_are_the_folders_files(run):
    text = rerank_page(run)
    data = page_data(text)
    assert data["k"] == 10 and set(data["protocols"]) == {"full", "sampled"}
    lists = pd.read_csv(run / "rerank_lists.csv")
    items = pd.read_csv(run / "rerank_items.csv")
    assert data["items"]["title"] == list(items["title"])
    for protocol, entry in data["protocols"].items():
        for stage in ("valid", "test"):
            curve = nsga_curve(run, protocol, stage)
            assert entry["w"] == list(curve["param"])
            (nsga,) = entry["nsga"]
            assert nsga["label"] == "NSGA-II seeded with greedy lists"
            assert nsga[stage]["F1"] == list(curve["F1@10"])
        # Two markers move with the slider: NSGA-II seeded on validation and on test.
        assert [m["stage"] for m in entry["marks"]] == ["valid", "test"]
        part = lists[lists.protocol == protocol]
        assert len(entry["lists"]["names"]) == 1 + 2 + 2  # base, MMR F1/F2, NSGA F1/F2
        base = part[part.method == "base ranker"]
        assert entry["lists"]["items"][entry["lists"]["base"]] == base[
            [f"item_{r}" for r in range(1, 11)]].to_numpy().tolist()  # fmt: skip
        assert entry["lists"]["targets"] == list(base["target"])
        # The slider starts at NSGA-II seeded's validated F1 weight.
        results = pd.read_csv(run / "rerank_results.csv")
        row = results[(results.protocol == protocol) & (results.rule == "utility F1")]
        w = float(re.search(r"w=([0-9.]+)", row["choice"].iloc[0]).group(1))
        start = int(re.search(rf'id="slider-{protocol}"[^>]*value="(\d+)"', text).group(1))
        assert entry["w"][start] == w


def test_page_of_a_folder_without_curves_and_lists_says_so(run, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(run / "rerank_results.csv", old)
    text = rerank_page(old)
    assert text.count("no rerank_curves.csv") == 2 and text.count("no rerank_lists.csv") == 2
    assert 'id="slider-full"' not in text and page_data(text)["protocols"]["full"]["w"] == []
    assert main(["report", str(old)]) == 0 and (old / "report.html").is_file()


def test_rerank_page_in_chromium(run, browser, tmp_path):
    assert main(["report", str(run)]) == 0
    browser.open(run / "report.html")
    assert browser.console_errors() == []
    assert browser.js("return document.querySelectorAll('.js-plotly-plot').length") == 2

    def shown():
        rows = browser.js("return Array.from(document.querySelectorAll('#metrics-full tbody tr'))"
                          ".map(r => Array.from(r.cells).map(c => c.textContent))")
        w = float(browser.js("return document.getElementById('w-full').textContent"))
        return w, rows

    def star():  # the slider's marker on the test subplot
        return browser.js("const d = document.getElementById('tradeoff-full').data;"
                          "return [d[d.length - 1].x[0], d[d.length - 1].y[0]]")

    from selenium.webdriver.common.keys import Keys

    slider = browser.driver.find_element("id", "slider-full")
    start, top = int(slider.get_attribute("value")), int(slider.get_attribute("max"))
    moves = []
    for key in ("ARROW_RIGHT",) * 2 if start <= top // 2 else ("ARROW_LEFT",) * 2:
        w_before, rows_before = shown()
        slider.send_keys(getattr(Keys, key))
        w, rows = shown()
        moves.append((w_before, w))
        index = int(slider.get_attribute("value"))
        for stage, row in zip(("valid", "test"), rows, strict=True):
            curve = nsga_curve(run, "full", stage)
            assert curve["param"].iloc[index] == w
            assert row[1] == ("validation" if stage == "valid" else "test")
            expected = [f"{curve[f'{m}@10'].iloc[index]:.4f}"
                        for m in ("HR", "NDCG", "Div", "Nov", "F1", "F2")]  # fmt: skip
            assert row[2:8] == expected
        test = nsga_curve(run, "full", "test").iloc[index]
        assert star() == pytest.approx([(test["Div@10"] + test["Nov@10"]) / 2, test["HR@10"]])
    assert all(a != b for a, b in moves), moves  # each key press moved w
    # The user view: user 3's base list, rank by rank, with titles.
    lists = pd.read_csv(run / "rerank_lists.csv")
    items = pd.read_csv(run / "rerank_items.csv")
    user = browser.driver.find_element("id", "user-full")
    user.clear()
    user.send_keys("3")
    base = lists[(lists.protocol == "full") & (lists.method == "base ranker") & (lists.user == 3)]
    titles = browser.js("return Array.from(document.querySelectorAll('#base-full tr'))"
                        ".slice(1).map(r => r.cells[2].textContent)")
    expected = [items["title"].iloc[int(base[f"item_{r}"].iloc[0])] for r in range(1, 11)]
    assert titles == expected
    target = items.iloc[int(base["target"].iloc[0])]
    assert browser.js("return document.getElementById('target-full').textContent").startswith(
        f"user {base['user_id'].iloc[0]} (row 3): held-out item {target['item_id']}, "
        f"{target['title']}")
    assert browser.console_errors() == []
    assert browser.screenshot(tmp_path / "rerank.png").stat().st_size > 20_000
    np.testing.assert_array_equal(base["user"], [3])


@pytest.fixture(scope="module")
def external_run(tmp_path_factory):
    """moopt candidates on a small model of the user's own (string user and item ids,
    titles for all but one item), then moopt rerank on its files."""
    root = tmp_path_factory.mktemp("external")
    rng = np.random.default_rng(11)
    n_users, n_items = 40, 60
    users = [f"cust-{u:03d}" for u in range(n_users)]
    items = [f"sku{i:03d}" for i in range(n_items)]
    genres = ("Action", "Drama", "Comedy", "Horror", "Sci-Fi", "Romance")
    cats = ["|".join(rng.choice(genres, size=rng.integers(1, 3), replace=False))
            for _ in items]  # fmt: skip
    titles = [f"Film number {i}" for i in range(n_items)]
    titles[5] = ""  # an item without a title shows its id
    pd.DataFrame({"item": items, "categories": cats, "title": titles}).to_csv(
        root / "items.csv", index=False)
    stages = {"train": [], "valid": [], "test": []}
    for u in users:
        seen = rng.choice(n_items, size=8, replace=False)
        stages["train"] += [(u, items[i]) for i in seen[:6]]
        stages["valid"].append((u, items[seen[6]]))
        stages["test"].append((u, items[seen[7]]))
    for stage, rows in stages.items():
        pd.DataFrame(rows, columns=["user", "item"]).to_csv(root / f"{stage}.csv", index=False)
    scores = rng.normal(size=(n_users, n_items)).round(4)
    pd.DataFrame({"user": np.repeat(users, n_items), "item": items * n_users,
                  "score": scores.ravel()}).to_csv(root / "scores.csv", index=False)  # fmt: skip
    assert main(["candidates", "--scores", str(root / "scores.csv"), "--items",
                 str(root / "items.csv"), "--train", str(root / "train.csv"), "--valid",
                 str(root / "valid.csv"), "--test", str(root / "test.csv"), "--n", "20",
                 "--n-negatives", "20", "--out", str(root / "cands")]) == 0  # fmt: skip
    assert main(["rerank", "--candidates", str(root / "cands" / "candidates.npz"),
                 "--out", str(root / "rerank"), "--pop-size", "12", "--n-gen", "3",
                 "--seeds", "1", "--methods", "base", "mmr", "nsga2"]) == 0  # fmt: skip
    return {"root": root, "users": users, "items": items, "cats": cats, "titles": titles,
            "test": stages["test"]}  # fmt: skip


#: Random scores carry no signal: the calibration's temperature runs to its bound, and says so.
UNINFORMATIVE = pytest.mark.filterwarnings("ignore:the fitted temperature:RuntimeWarning")


@UNINFORMATIVE
def test_page_of_external_scores_shows_the_users_ids_and_titles(external_run):
    run, ex = external_run["root"] / "rerank", external_run
    items = pd.read_csv(run / "rerank_items.csv")
    assert list(items["item_id"]) == ex["items"]
    assert list(items["title"]) == [t or f"item {i}" for t, i in zip(ex["titles"], ex["items"],
                                                                       strict=True)]
    assert items["title"].iloc[5] == "item sku005"
    for cats, given in zip(items["categories"], ex["cats"], strict=True):
        assert set(cats.split("|")) == set(given.split("|"))
    lists = pd.read_csv(run / "rerank_lists.csv")
    data = page_data(rerank_page(run))
    assert data["items"]["id"] == ex["items"]
    assert data["items"]["title"] == list(items["title"])
    for protocol, entry in data["protocols"].items():
        assert sorted(entry["lists"]["users"]) == ex["users"]  # every test user, by own id
        base = lists[(lists.protocol == protocol) & (lists.method == "base ranker")]
        assert entry["lists"]["users"] == list(base["user_id"])
        # each row's held-out item is that user's own test item
        held_out = dict(ex["test"])
        assert [ex["items"][t] for t in entry["lists"]["targets"]] == [
            held_out[u] for u in entry["lists"]["users"]]  # fmt: skip


@UNINFORMATIVE
def test_external_page_in_chromium_finds_a_user_by_id(external_run, browser, tmp_path):
    run, ex = external_run["root"] / "rerank", external_run
    assert main(["report", str(run)]) == 0
    browser.open(run / "report.html")
    lists = pd.read_csv(run / "rerank_lists.csv")
    base = lists[(lists.protocol == "full") & (lists.method == "base ranker")]
    row = base.iloc[7]
    uid = browser.driver.find_element("id", "uid-full")
    uid.clear()
    uid.send_keys(row["user_id"] + "\n")
    assert browser.js("return document.getElementById('user-full').value") == "7"
    cells = browser.js("return Array.from(document.querySelectorAll('#base-full tr'))"
                       ".slice(1).map(r => [r.cells[1].textContent, r.cells[2].textContent])")
    listed = [int(row[f"item_{r}"]) for r in range(1, 11)]
    assert cells == [[ex["items"][i], ex["titles"][i] or f"item {ex['items'][i]}"]
                     for i in listed]  # fmt: skip
    target = int(row["target"])
    assert browser.js("return document.getElementById('target-full').textContent").startswith(
        f"user {row['user_id']} (row 7): held-out item {ex['items'][target]}, ")
    uid.clear()
    uid.send_keys("nobody\n")
    assert browser.js("return document.getElementById('target-full').textContent") == (
        "no user with id nobody here")
    assert browser.console_errors() == []
    assert browser.screenshot(tmp_path / "external.png").stat().st_size > 20_000
