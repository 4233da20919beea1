"""Where the compiled engine is cached, and the announcement of its first compile.

moopt's Numba functions are compiled with ``cache=True``: the first call in a fresh
install compiles the engine (about two minutes of one core: 2 min 11 s of CPU measured)
and writes the machine code to disk, and later processes load it in a fraction of a
second. Numba picks the folder, per function, the first of these that is writable:

1. ``$NUMBA_CACHE_DIR`` when it is set (a folder tree mirroring the sources' paths);
2. ``__pycache__`` beside the source file (an editable or user-owned install: e.g.
   ``moopt/engine/kernels/__pycache__/batch.run_batch-*.nbi`` and ``.nbc``);
3. the user's cache folder, ``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba`` on Linux
   (``~/Library/Caches/numba`` on macOS, ``%LOCALAPPDATA%\\numba`` on Windows), used when
   the package folder is read-only (a system-wide or shared install): each user then keeps
   their own compiled copy.

The engine's entries are keyed by the build (``MOOPT_BORROWED``) and a digest of its
sources (``moopt._memory.key_caches_by_sources``), so an upgrade recompiles once
instead of loading stale code. Deleting those files (``make clean-cache``) only costs the
next run a compile. ``NUMBA_CACHE_DIR=/some/folder`` moves the cache, e.g. onto a disk
that survives a container.

When the engine is about to compile, ``announce_compile`` says so on stderr, once
per process. The cache is *cold* when the engine's entry function has no compiled code in
this process and its cache index holds no entry for this machine (Numba's codegen magic:
CPU name and features), this build and these sources: exactly the entries Numba's
loader would accept for any signature.
"""

from __future__ import annotations

import sys

from numba.core.caching import FunctionCache

MESSAGE = "moopt: compiling the engine once, about two minutes (cached for later runs)"

_announced = False


def is_cold(dispatcher) -> bool:
    """Whether calling ``dispatcher`` (a Numba function) compiles: no code for it in this
    process, and none in its disk cache that this machine, build and source would load."""
    if dispatcher.overloads:
        return False
    cache = getattr(dispatcher, "_cache", None)
    if not isinstance(cache, FunctionCache):
        return True
    template = cache._index_key(None, dispatcher.targetctx.codegen())
    try:
        index = cache._cache_file._load_index()
    except Exception:  # an unreadable index is a miss to Numba too
        return True
    return not any(key[1:] == template[1:] for key in index)


def announce_compile(dispatcher, stream=None) -> bool:
    """Print ``MESSAGE`` to ``stream`` (default stderr) when ``dispatcher`` is cold
    (``is_cold``) and nothing was announced yet in this process; returns whether it
    printed."""
    global _announced
    if _announced or not is_cold(dispatcher):
        return False
    _announced = True
    print(MESSAGE, file=stream or sys.stderr, flush=True)
    return True
