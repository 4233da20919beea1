"""Atomic writes and the output-folder lock that kill-and-rerun relies on."""

import multiprocessing
import os
import signal

import numpy as np
import pytest

from recommenders.io import (
    LOCK_NAME,
    FolderBusyError,
    atomic_path,
    digest,
    job_folder,
    remove_temporaries,
    write_json,
)


def _write_and_die(path):
    # Killed with the temporary complete but not yet renamed.
    with atomic_path(path) as tmp:
        tmp.write_text("partial")
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_write_leaves_a_temporary_that_the_next_job_removes(tmp_path):
    write_json(tmp_path / "sub" / "keep.json", {"a": 1})
    (tmp_path / ".hidden.txt").write_text("not ours")
    proc = multiprocessing.get_context("fork").Process(target=_write_and_die,
                                                       args=(tmp_path / "sub" / "r.json",))
    proc.start()
    proc.join()
    assert proc.exitcode == -signal.SIGKILL
    left = [p.name for p in (tmp_path / "sub").iterdir() if p.name != "keep.json"]
    assert len(left) == 1 and left[0].startswith(".r.json.") and left[0].endswith(".tmp")
    with job_folder(tmp_path) as out:
        assert out == tmp_path and (tmp_path / LOCK_NAME).is_file()
        assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["keep.json"]
    assert not (tmp_path / LOCK_NAME).exists()
    assert (tmp_path / ".hidden.txt").read_text() == "not ours"
    assert remove_temporaries(tmp_path / "absent") == []


def _hold(folder, ready, release):
    with job_folder(folder):
        ready.set()
        release.wait(30)


def test_a_second_job_in_a_held_folder_is_refused(tmp_path):
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(tmp_path, ready, release))
    proc.start()
    try:
        assert ready.wait(30)
        with pytest.raises(FolderBusyError, match="another job is writing"):
            with job_folder(tmp_path):
                pass
    finally:
        release.set()
        proc.join()
    with job_folder(tmp_path):  # free again once the first job ended
        pass


def test_digest_sees_values_dtypes_and_shapes():
    a = np.arange(6, dtype=np.int64)
    assert digest(a) == digest(a.copy()) and digest(a, None) == digest(a)
    assert digest(a) != digest(a.astype(np.int32))
    assert digest(a) != digest(a.reshape(2, 3))
    b = a.copy()
    b[3] = 7
    assert digest(a) != digest(b)
