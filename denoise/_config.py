"""Numba settings shared by every kernel, the thread policy, and the band runner.

Kernels are ``@njit(cache=True, nogil=True)`` functions that fill one band (a
fixed slab of rows, or a fixed chunk of work) per call; :func:`run_bands` runs the
bands on a pool of threads. Numba's ``parallel=True`` would do the same inside a
kernel, but its parfor passes and the gufunc it builds re-optimise all the code
of the kernel twice more: on this project's kernels that was 40-70 % of the
first-call compile time (BENCHMARKS.md, "First run"). Bands are fixed by the
kernel's caller, never by the number of threads, so results do not depend on it.
"""
import contextlib
import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba

#: fastmath flags for kernels that never test for NaN/Inf (no "nnan"/"ninf").
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def kernel_cache_dir():
    """The Numba cache folder of this version of the kernels' sources.

    Numba checks a cached kernel only against its own file, so a kernel whose
    helper changed in another file (an update of the checkout, say) would load
    stale code. The folder is named after all the kernels' sources instead: any
    change to them starts a new cache. NUMBA_CACHE_DIR, when set, wins.
    """
    package = Path(__file__).resolve().parent
    digest = hashlib.sha1()
    for path in [package / "_config.py", *sorted((package / "filters").glob("*.py"))]:
        digest.update(path.read_bytes())
    return package / "__pycache__" / f"kernels-{digest.hexdigest()[:12]}"


@contextlib.contextmanager
def kernel_cache():
    """Kernels decorated inside this block are cached in :func:`kernel_cache_dir`.

    Numba fixes a function's cache folder when it is decorated, so the setting is
    restored on leaving: the user's own Numba functions keep their usual cache.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        yield
        return
    before = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = str(kernel_cache_dir())
    try:
        yield
    finally:
        numba.config.CACHE_DIR = before


def set_threads(n):
    """Set the number of threads the kernels use (None: leave as is)."""
    if n is not None:
        numba.set_num_threads(int(n))


def get_threads():
    """Number of threads the kernels use now (Numba's setting, all cores by default)."""
    return numba.get_num_threads()


def run_bands(kernel, n_bands, *args, buffers=None):
    """Call ``kernel(band, *args)`` for band = 0 .. n_bands - 1 on :func:`get_threads` threads.

    `kernel` must be a ``nogil`` Numba function whose bands write disjoint parts
    of its outputs. With `buffers`, each thread makes its own scratch arrays once,
    ``buffers()``, and the kernel gets them last: ``kernel(band, *args, scratch)``
    (kernels then allocate nothing). The first exception of a band is re-raised.
    """
    local = threading.local()

    def one(band):
        if buffers is None:
            return kernel(band, *args)
        if not hasattr(local, "scratch"):
            local.scratch = buffers()
        return kernel(band, *args, local.scratch)

    workers = min(get_threads(), n_bands)
    if workers <= 1:
        for band in range(n_bands):
            one(band)
        return
    for _ in _pool(get_threads()).map(one, range(n_bands)):
        pass


_POOL = {}
_POOL_LOCK = threading.Lock()


def _pool(size):
    """The process's band threads (kept: starting threads costs a millisecond a call)."""
    with _POOL_LOCK:
        if size not in _POOL:
            _POOL[size] = ThreadPoolExecutor(size, thread_name_prefix="denoise")
        return _POOL[size]


@contextlib.contextmanager
def on_compile(callback):
    """Call ``callback()`` once, just before Numba starts compiling a kernel in the block.

    Loading a kernel from Numba's cache does not count: the callback runs only
    when code is about to be compiled, so a caller can say why the wait is long.
    """
    from numba.core import event

    lock = threading.Lock()
    fired = []

    class Listener(event.Listener):
        def on_start(self, ev):
            with lock:
                if not fired:
                    fired.append(True)
                    callback()

        def on_end(self, ev):
            pass

    listener = Listener()
    event.register("numba:compile", listener)
    try:
        yield
    finally:
        event.unregister("numba:compile", listener)
