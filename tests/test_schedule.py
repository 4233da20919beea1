"""The suite's schedule (tests/conftest.py): the long files run first."""

from pathlib import Path

from long_files import LONG_FILES

ROOT = Path(__file__).resolve().parents[1]


def test_every_long_file_exists():
    # A renamed or split file would silently lose its early start.
    assert len(set(LONG_FILES)) == len(LONG_FILES)
    assert [name for name in LONG_FILES if not (ROOT / name).is_file()] == []


def test_long_files_run_first(request):
    order = []
    for item in request.session.items:
        name = item.path.relative_to(ROOT).as_posix()
        if not order or order[-1] != name:
            order.append(name)
    present = [name for name in LONG_FILES if name in order]
    assert order[: len(present)] == present
