"""bilateral: agreement with the direct formula, limits, defaults and errors."""
import numpy as np
import pytest
from scipy import ndimage

from denoise import InvalidParameterError, MissingSigmaError, bilateral
from denoise.filters.bilateral import spatial_weights

import naive
from conftest import random_image


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("pilot", [True, False])
@pytest.mark.parametrize("radius, sigma_spatial, sigma_range", [
    (1, 1.0, 0.1), (2, 1.5, 0.3), (3, 2.0, 0.05), (4, 0.7, 1.0)])
def test_matches_direct_formula(channels, pilot, radius, sigma_spatial, sigma_range):
    image = random_image((13, 11, channels), np.float32, seed=radius + channels)
    out = bilateral(image, sigma_range=sigma_range, sigma_spatial=sigma_spatial,
                    radius=radius, pilot=pilot)
    ref = naive.bilateral(image, sigma_spatial=sigma_spatial, sigma_range=sigma_range,
                          radius=radius, pilot=pilot)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)


def test_sigma_range_is_in_image_units():
    image = random_image((12, 12, 3), np.uint8, seed=4)
    as_float = image.astype(np.float32) / 255
    out = bilateral(image, sigma_range=30.0, sigma_spatial=1.5, radius=3, pilot=False)
    ref = naive.bilateral(as_float, sigma_spatial=1.5, sigma_range=30 / 255, radius=3,
                          pilot=False)
    np.testing.assert_array_equal(out, np.clip(np.rint(ref * 255), 0, 255).astype(np.uint8))


def test_radius_zero_is_identity():
    image = random_image((10, 9, 3), np.float32)
    np.testing.assert_allclose(bilateral(image, sigma=0.1, radius=0), image, rtol=1e-7)


def test_huge_range_width_is_a_gaussian_blur():
    image = random_image((20, 17), np.float32, seed=8)
    out = bilateral(image, sigma_range=1e6, sigma_spatial=1.5, radius=3, pilot=False)
    kernel = spatial_weights(3, 1.5).astype(np.float64)
    ref = ndimage.correlate(image.astype(np.float64), kernel / kernel.sum(), mode="reflect")
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_tiny_range_width_is_the_identity():
    image = random_image((15, 15), np.uint8, seed=9)   # distinct neighbours differ by >= 1/255
    np.testing.assert_array_equal(
        bilateral(image, sigma_range=0.05, radius=2, pilot=False), image)


@pytest.mark.parametrize("channels", [1, 3])
def test_vanishing_range_width_is_the_identity_not_nan(channels):
    image = random_image((12, 12, channels), np.float32, seed=11)
    out = bilateral(image, sigma_range=1e-300, radius=2, pilot=False)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, image, rtol=1e-6)


def test_defaults_follow_sigma():
    image = random_image((16, 16), np.uint8, seed=10)
    at25 = bilateral(image, sigma=25)
    explicit = bilateral(image, sigma_range=17.5, sigma_spatial=2.0, radius=4, pilot=True)
    np.testing.assert_array_equal(at25, explicit)
    at15 = bilateral(image, sigma=15)
    np.testing.assert_array_equal(
        at15, bilateral(image, sigma_range=37.5, sigma_spatial=1.5, radius=3, pilot=False))
    # the same relative noise level in 16-bit units gives the same parameters
    wide = image.astype(np.uint16) * 257
    np.testing.assert_array_equal(bilateral(wide, sigma=25 * 257) // 257,
                                  bilateral(wide, sigma_range=17.5 * 257, sigma_spatial=2.0,
                                            radius=4, pilot=True) // 257)


def test_needs_sigma_or_sigma_range():
    with pytest.raises(MissingSigmaError, match="sigma"):
        bilateral(np.zeros((8, 8), np.uint8))
    bilateral(np.zeros((8, 8), np.uint8), sigma_range=10.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"sigma_range": 0.0}, "sigma_range must be a finite number > 0"),
    ({"sigma_range": -3.0}, "sigma_range must be a finite number > 0"),
    ({"sigma_spatial": 0.0}, "sigma_spatial must be a finite number > 0"),
    ({"radius": -1}, "radius must be an integer >= 0"),
    ({"radius": 2.0}, "radius must be an integer"),
    ({"pilot": "yes"}, "pilot must be true or false"),
])
def test_parameter_errors(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        bilateral(np.zeros((8, 8), np.uint8), sigma=10.0, **kwargs)
