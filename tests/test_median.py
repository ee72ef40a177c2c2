"""median: exact agreement with scipy.ndimage.median_filter, defaults and errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from denoise import InvalidParameterError, median

from conftest import random_image


def scipy_median(image, radius):
    size = (2 * radius + 1,) * 2 + ((1,) if image.ndim == 3 else ())
    return ndimage.median_filter(image, size=size, mode="reflect")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 5), (24, 31), (33, 20, 3)])
@pytest.mark.parametrize("radius", [0, 1, 2, 3, 5])
def test_equals_scipy_exactly(dtype, shape, radius):
    image = random_image(shape, dtype, seed=sum(shape) + radius)
    out = median(image, radius=radius)
    assert out.dtype == image.dtype
    np.testing.assert_array_equal(out, scipy_median(image, radius))


def test_equals_scipy_with_many_ties():
    image = np.random.default_rng(5).integers(0, 3, size=(40, 40), dtype=np.uint8)
    np.testing.assert_array_equal(median(image, radius=2), scipy_median(image, 2))


def test_radius_zero_is_identity():
    image = random_image((9, 11, 3), np.float32)
    np.testing.assert_array_equal(median(image, radius=0), image)


def test_removes_an_isolated_impulse():
    image = np.full((9, 9), 40, dtype=np.uint8)
    image[4, 4] = 255
    np.testing.assert_array_equal(median(image), np.full((9, 9), 40, dtype=np.uint8))


@pytest.mark.parametrize("sigma, dtype, radius", [
    (None, np.uint8, 1), (15, np.uint8, 1), (30, np.uint8, 1), (50, np.uint8, 2),
    (80, np.uint8, 3), (50 * 257, np.uint16, 2), (50 / 255, np.float32, 2)])
def test_radius_from_sigma(sigma, dtype, radius):
    image = random_image((16, 16), dtype, seed=7)
    np.testing.assert_array_equal(median(image, sigma=sigma), median(image, radius=radius))


@pytest.mark.parametrize("kwargs, match", [
    ({"radius": -1}, "radius must be an integer >= 0"),
    ({"radius": 51}, "radius must be an integer <= 50"),
    ({"radius": 1.5}, "radius must be an integer"),
    ({"radius": True}, "radius must be an integer"),
    ({"sigma": 0}, "sigma must be a finite number > 0"),
])
def test_parameter_errors(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        median(np.zeros((8, 8), np.uint8), **kwargs)


@settings(max_examples=60, deadline=None)
@given(image=arrays(np.float32, st.tuples(st.integers(1, 14), st.integers(1, 14)),
                    elements=st.floats(-1e6, 1e6, width=32)),
       radius=st.integers(0, 4))
def test_equals_scipy_on_any_float_image(image, radius):
    np.testing.assert_array_equal(median(image, radius=radius), scipy_median(image, radius))
