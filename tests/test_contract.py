"""Invariants every registered method must keep, over dtypes and layouts."""
import inspect

import numba
import numpy as np
import pytest

import denoise
from denoise.registry import REGISTRY, our_methods

from conftest import DTYPES, LAYOUTS, data_range, random_image

METHODS = our_methods()          # the ref: adapters have their own tests
ALL = sorted(REGISTRY)
SHAPE = (24, 21)
# Methods whose output is a weighted mean or median of input values, so stays within
# their range. attention's closed-form weights are signed (a ridge regression).
CONVEX = set(METHODS) - {"attention"}


def run(name, image, **kwargs):
    sigma = 0.1 * data_range(image.dtype)
    return REGISTRY[name].func(image, sigma=sigma, **kwargs)


def test_registry_is_what_the_package_exports():
    assert set(METHODS) == {"median", "bilateral", "lark", "nlm", "adaptive-median",
                            "weighted-median", "attention"}
    for name in METHODS:
        assert getattr(denoise, name.replace("-", "_")) is REGISTRY[name].func
    for spec in REGISTRY.values():
        assert spec.summary and spec.reference


@pytest.mark.parametrize("name", ALL)
def test_docstring_documents_every_parameter(name):
    spec = REGISTRY[name]
    documented = {p.name for p in spec.params if p.doc_type}
    keyword_only = {p.name for p in inspect.signature(spec.func).parameters.values()
                    if p.kind is p.KEYWORD_ONLY} - {"sigma"}
    assert keyword_only == documented
    assert "sigma :" in inspect.getdoc(spec.func)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", METHODS)
def test_shape_dtype_alpha_and_input_kept(name, dtype, layout):
    image = random_image(SHAPE + LAYOUTS[layout], dtype, seed=1)
    before = image.copy()
    out = run(name, image)
    assert out.shape == image.shape
    assert out.dtype == image.dtype
    assert np.isfinite(out.astype(np.float64)).all()
    np.testing.assert_array_equal(image, before)
    if layout == "rgba":
        np.testing.assert_array_equal(out[..., 3], image[..., 3])
    color = slice(0, 3) if layout == "rgba" else slice(None)
    tol = 1e-6 * data_range(dtype) if np.dtype(dtype).kind == "f" else 0  # float32 work
    lo, hi = image[..., color].min(), image[..., color].max()
    if name in CONVEX:
        assert out[..., color].min() >= lo - tol and out[..., color].max() <= hi + tol


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", METHODS)
def test_constant_image_unchanged(name, dtype, layout):
    value = 0.37 * data_range(dtype)
    image = np.full(SHAPE + LAYOUTS[layout], value).astype(dtype)
    out = run(name, image)
    if np.dtype(dtype).kind == "u":
        np.testing.assert_array_equal(out, image)
    else:
        np.testing.assert_allclose(out, image, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", METHODS)
def test_gray_equals_single_channel(name, dtype):
    image = random_image(SHAPE, dtype, seed=2)
    np.testing.assert_array_equal(run(name, image), run(name, image[..., None])[..., 0])


@pytest.mark.parametrize("layout", ["gray", "rgb"])
@pytest.mark.parametrize("name", METHODS)
def test_one_thread_equals_two_threads(name, layout):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 threads")
    image = random_image((37, 29) + LAYOUTS[layout], np.float32, seed=3)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run(name, image)
        numba.set_num_threads(2)
        two = run(name, image)
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("bad, match", [
    (np.zeros((0, 5), np.uint8), "empty"),
    (np.zeros((4, 4), np.int16), "unsupported dtype"),
    (np.zeros((4, 4), bool), "unsupported dtype"),
    (np.zeros((4, 4, 5), np.uint8), "1 to 4 channels"),
    (np.zeros((2, 4, 4, 3), np.uint8), "2-D"),
    (np.array([[0.0, np.nan], [0.0, 0.0]]), "NaN"),
])
def test_bad_images_rejected(name, bad, match):
    with pytest.raises(denoise.ImageFormatError, match=match):
        REGISTRY[name].func(bad, sigma=0.1)


@pytest.mark.parametrize("name", ALL)
def test_bad_sigma_rejected(name):
    with pytest.raises(denoise.InvalidParameterError, match="sigma"):
        REGISTRY[name].func(np.zeros((8, 8), np.uint8), sigma=-1.0)
