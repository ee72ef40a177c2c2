"""The code's own rules: module and function sizes, and how every kernel is compiled."""
import ast
import importlib
import pkgutil

import pytest
from numba.core.registry import CPUDispatcher

import denoise
import denoise.filters
from conftest import ROOT

GENERATED = {"_medianfused.py"}         # written by _sortnet; a test keeps it current


def sources():
    return sorted(p for p in (ROOT / "denoise").rglob("*.py") if p.name not in GENERATED)


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_small(path):
    text = path.read_text()
    assert len(text.splitlines()) <= 500, f"{path.name}: over 500 lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if ast.get_docstring(node, clean=False) is not None:
                doc = node.body[0]
                length -= doc.end_lineno - doc.lineno + 1
            assert length <= 60, f"{path.name}: {node.name} has {length} lines of code"


def kernels():
    modules = [importlib.import_module(f"denoise.filters.{m.name}")
               for m in pkgutil.iter_modules(denoise.filters.__path__)]
    found = {}
    for module in modules:
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.py_func.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_kernel_is_cached_nogil_and_never_parallel():
    """Cached on disk; run by the band threads (nogil); no parfors (their compile time)."""
    found = kernels()
    assert len(found) > 20
    for name, dispatcher in found.items():
        options = dispatcher.targetoptions
        assert dispatcher._cache.__class__.__name__ == "FunctionCache", name
        assert options.get("nogil"), name
        assert not options.get("parallel"), name


def test_kernels_are_cached_by_the_version_of_their_sources(tmp_path):
    """A change to any kernel file (a helper another kernel inlines, say) starts a new
    cache, so no kernel is ever loaded stale; NUMBA_CACHE_DIR still wins, and Numba's
    setting is left as it was for the user's own functions."""
    import os
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "denoise"
    shutil.copytree(ROOT / "denoise", copy, ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import numba, denoise._config as c, denoise.filters.nlm as m; "
            "print(m._pixel_band._cache._cache_path, c.kernel_cache_dir(), "
            "numba.config.CACHE_DIR, sep='|')")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}

    def cache_dir():
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                              capture_output=True, text=True, check=True)
        used, expected, setting = done.stdout.strip().split("|")
        assert used.startswith(expected) and expected.startswith(str(copy))
        assert setting == "", "the user's own Numba functions keep their cache"
        return expected

    before = cache_dir()
    with open(copy / "filters" / "_weights.py", "a") as f:
        f.write("\n# a change\n")
    assert cache_dir() != before
    pinned = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                            env={**env, "NUMBA_CACHE_DIR": str(tmp_path / "mine")},
                            capture_output=True, text=True, check=True)
    assert pinned.stdout.split("|")[0].startswith(str(tmp_path / "mine"))
