"""Numba settings shared by every kernel, and the thread policy."""
import numba

#: fastmath flags for kernels that never test for NaN/Inf (no "nnan"/"ninf").
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def set_threads(n):
    """Set the number of threads the parallel kernels use (None: leave as is)."""
    if n is not None:
        numba.set_num_threads(int(n))


def get_threads():
    """Number of threads the parallel kernels use now."""
    return numba.get_num_threads()
