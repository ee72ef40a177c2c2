"""Shared fixtures: seeded random images of every supported dtype and layout."""
import contextlib
from pathlib import Path

import numba
import numpy as np
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_images"

DTYPES = [np.uint8, np.uint16, np.float32, np.float64]
LAYOUTS = {"gray": (), "rgb": (3,), "rgba": (4,)}


def random_image(shape, dtype, seed=0):
    """Uniform random image over the dtype's nominal range."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "u":
        return rng.integers(0, np.iinfo(dtype).max + 1, size=shape, dtype=dtype)
    return rng.random(shape).astype(dtype)


@contextlib.contextmanager
def threads(n):
    """Run the block with `n` Numba threads (at most what the machine has)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def data_range(dtype):
    dtype = np.dtype(dtype)
    return float(np.iinfo(dtype).max) if dtype.kind == "u" else 1.0


@pytest.fixture
def runner():
    return CliRunner()


def pytest_terminal_summary(terminalreporter):
    """After a run of tests/test_fuzz.py: the examples each method ran (the shrinking
    of a failure counts too), returned (checked output) or refused (documented error)."""
    import sys

    fuzz = sys.modules.get("test_fuzz")
    if fuzz is None or not fuzz.COUNTS:
        return
    terminalreporter.section("fuzz examples per method")
    for name, counts in sorted(fuzz.COUNTS.items()):
        total = counts["returned"] + counts["refused"]
        terminalreporter.write_line(f"{name:<24} {total:>7}  ({counts['returned']} returned, "
                                    f"{counts['refused']} refused)")
