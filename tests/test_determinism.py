"""Outputs do not depend on whether the kernels were compiled in this process or
loaded from Numba's cache: two fresh processes share one new, empty cache folder,
the first compiles, the second loads, and their results are byte-identical."""
import os
import subprocess
import sys

from conftest import ROOT

METHODS = ("nlm", "bilateral", "median")

SCRIPT = """
import hashlib, sys
import numpy as np
sys.path.insert(0, {tests!r})
import denoise
from conftest import random_image
for name in {methods!r}:
    for k, shape in enumerate([(67, 83), (45, 52, 3)]):
        image = random_image(shape, np.uint8, seed=k)
        out = denoise.REGISTRY[name].func(image, sigma=20)
        print(name, k, hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest())
"""


def test_compiled_and_cached_kernels_give_identical_bytes(tmp_path):
    code = SCRIPT.format(tests=str(ROOT / "tests"), methods=METHODS)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout for _ in range(2)]
    assert any(tmp_path.rglob("*.nbi")), "the first run wrote no cache"
    assert runs[0].splitlines() and runs[0] == runs[1]
    assert len(runs[0].splitlines()) == 2 * len(METHODS)
