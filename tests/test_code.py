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
