"""The kill-and-rerun harness compares markdown tables cell by cell, timing columns aside,
each table by its own header (a summary may hold tables of different widths)."""

import pytest
from killrun import _markdown_cells

TWO_TABLES = """Headline:

| protocol | F-beta | diff | seconds |
|---|---|---|---|
| full | F1@10 | 0.01 | 3.2 |

Every method:

| method | seconds | HR@10 |
|---|---|---|
| MMR | 1.5 | 0.25 |
"""


def test_each_table_drops_its_own_timing_columns(tmp_path):
    path = tmp_path / "summary.md"
    path.write_text(TWO_TABLES)
    assert _markdown_cells(path) == [
        ["protocol", "F-beta", "diff"], ["---", "---", "---"], ["full", "F1@10", "0.01"],
        ["method", "HR@10"], ["---", "---"], ["MMR", "0.25"],
    ]  # fmt: skip
    other = tmp_path / "other.md"
    other.write_text(TWO_TABLES.replace("| 1.5 | 0.25 |", "| 9.9 | 0.26 |"))
    assert _markdown_cells(other)[-1] == ["MMR", "0.26"]


@pytest.mark.parametrize("text", ["no table here\n", ""])
def test_a_file_without_a_table_is_compared_whole(tmp_path, text):
    path = tmp_path / "notes.md"
    path.write_text(text)
    assert _markdown_cells(path) == [[text]]
