"""bilateral: agreement with the direct formula, limits, defaults and errors."""

import numpy as np
import pytest
from scipy import ndimage

from denoise import InvalidParameterError, MissingSigmaError, bilateral
from denoise.filters.bilateral import spatial_weights

import naive
from conftest import random_image, threads


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


# --- the direct kernel: windows, colour distances, borders, bands, threads ---------------

def direct(work, *, sigma_spatial, sigma_range, radius, pilot=False, circular=False,
           l1=False):
    """float64 bilateral of (H, W, C) by offsets (np.pad symmetric: the edge repeated),
    with the disk window and the L1 colour distance as options (independent of naive)."""
    work = np.asarray(work, np.float64)
    height, width = work.shape[:2]
    guide = ndimage.uniform_filter(work, size=(3, 3, 1), mode="reflect") if pilot else work
    pad = ((radius, radius), (radius, radius), (0, 0))
    values, guides = np.pad(work, pad, mode="symmetric"), np.pad(guide, pad, mode="symmetric")
    num, den = np.zeros_like(work), np.zeros(work.shape[:2] + (1,))
    for di in range(-radius, radius + 1):
        for dj in range(-radius, radius + 1):
            if circular and di * di + dj * dj > radius * radius:
                continue
            rows, cols = slice(radius + di, radius + di + height), \
                slice(radius + dj, radius + dj + width)
            diff = guides[rows, cols] - guide
            d2 = np.abs(diff).sum(-1, keepdims=True) ** 2 if l1 else \
                (diff ** 2).sum(-1, keepdims=True)
            w = np.exp(-(di * di + dj * dj) / (2 * sigma_spatial ** 2)) \
                * np.exp(-d2 / (2 * sigma_range ** 2))
            num += w * values[rows, cols]
            den += w
    return num / den


def test_direct_reference_agrees_with_naive():
    image = random_image((9, 7, 3), np.float32, seed=3)
    for pilot in (False, True):
        np.testing.assert_allclose(
            direct(image, sigma_spatial=1.2, sigma_range=0.2, radius=2, pilot=pilot),
            naive.bilateral(image, sigma_spatial=1.2, sigma_range=0.2, radius=2, pilot=pilot),
            atol=1e-12)


@pytest.mark.parametrize("shape", [(37, 29), (17, 40, 3), (16, 16), (33, 5, 3), (3, 2),
                                   (1, 9), (2, 2, 3)])
@pytest.mark.parametrize("compat", [False, True])
@pytest.mark.parametrize("pilot", [False, True])
@pytest.mark.parametrize("radius, sigma_range", [(1, 0.05), (3, 0.1), (5, 0.3), (7, 0.1)])
def test_windows_borders_and_bands(shape, compat, pilot, radius, sigma_range):
    """Square and disk windows, Euclidean and L1 colour distances, heights off the band
    of 16 rows, images smaller than the window (mirrored again and again)."""
    image = random_image(shape, np.float32, seed=sum(shape) + radius)
    out = bilateral(image, sigma_range=sigma_range, sigma_spatial=radius / 2 + 0.5,
                    radius=radius, pilot=pilot, opencv_compat=compat)
    work = image if image.ndim == 3 else image[..., None]
    ref = direct(work, sigma_spatial=radius / 2 + 0.5, sigma_range=sigma_range, radius=radius,
                 pilot=pilot, circular=compat, l1=compat)
    assert out.shape == image.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, ref.reshape(image.shape), rtol=0, atol=1e-5)


@pytest.mark.parametrize("sigma_range", [0.01, 0.05, 0.1, 0.3])
@pytest.mark.parametrize("diameter", [3, 5, 7, 9, 15, 21])
def test_accuracy_over_range_widths_and_windows(diameter, sigma_range):
    image = random_image((40, 36), np.float32, seed=diameter)
    out = bilateral(image, sigma_range=sigma_range, sigma_spatial=diameter / 3,
                    radius=diameter // 2, pilot=False, opencv_compat=True)
    ref = direct(image[..., None], sigma_spatial=diameter / 3, sigma_range=sigma_range,
                 radius=diameter // 2, circular=True)[..., 0]
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)


def test_data_far_from_one_keeps_its_precision():
    image = 1000.0 + 50.0 * random_image((21, 19, 3), np.float32, seed=2)
    out = bilateral(image, sigma_range=5.0, sigma_spatial=1.5, radius=3, pilot=False)
    ref = direct(image, sigma_spatial=1.5, sigma_range=5.0, radius=3)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5 * 1050)


@pytest.mark.parametrize("shape", [(70, 45), (53, 38, 3)])
@pytest.mark.parametrize("pilot", [False, True])
def test_one_thread_equals_two(shape, pilot):
    image = random_image(shape, np.float32, seed=5)
    results = []
    for n in (1, 2):
        with threads(n):
            results.append(bilateral(image, sigma_range=0.1, radius=4, sigma_spatial=2.0,
                                     pilot=pilot))
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("diameter", [3, 5, 9, 15])
def test_compat_mode_matches_opencv(channels, diameter):
    """OpenCV tabulates its range weights over the image's range (4096 bins a channel,
    interpolated): float32 results agree within 1e-4 of the [0, 1] range."""
    cv2 = pytest.importorskip("cv2")
    image = random_image((45, 38, channels), np.float32, seed=diameter)[..., :channels]
    image = image[..., 0] if channels == 1 else image
    for sigma_range in (0.05, 0.1, 0.3):
        expected = cv2.bilateralFilter(image, diameter, sigma_range, diameter / 3,
                                       borderType=cv2.BORDER_REFLECT)
        got = bilateral(image, sigma_range=sigma_range, sigma_spatial=diameter / 3,
                        radius=diameter // 2, pilot=False, opencv_compat=True)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_compat_table_matches_a_disk_of_square_weights():
    """The disk window is the square one with the corners' weights zero."""
    from denoise.filters.bilateral import table_taps, window_table

    square, disk = window_table(3, 1.5, False), window_table(3, 1.5, True)
    assert (disk[square != disk] == 0).all() and (disk > 0).sum() == 29
    taps, log_weights, centre = table_taps(disk)
    assert taps.shape == (28, 2) and centre == 1.0
    np.testing.assert_allclose(2.0 ** log_weights, disk[taps[:, 0] + 3, taps[:, 1] + 3],
                               rtol=1e-6)


def test_algorithms():
    image = random_image((20, 18), np.float32, seed=6)
    kwargs = dict(sigma_range=0.1, sigma_spatial=3.0, radius=8, pilot=False)
    direct_out = bilateral(image, **kwargs)
    np.testing.assert_array_equal(bilateral(image, algorithm="auto", **kwargs), direct_out)
    np.testing.assert_allclose(bilateral(image, algorithm="fast", **kwargs), direct_out,
                               rtol=0, atol=1e-3)
    wide = dict(kwargs, radius=20, sigma_spatial=10.0, sigma_range=0.2)
    np.testing.assert_allclose(bilateral(image, algorithm="auto", **wide),
                               bilateral(image, algorithm="direct", **wide), rtol=0, atol=1e-3)
    for bad in (dict(pilot=True), dict(opencv_compat=True)):
        with pytest.raises(InvalidParameterError, match="algorithm 'fast' is for gray"):
            bilateral(image, algorithm="fast", **dict(kwargs, **bad))
    with pytest.raises(InvalidParameterError, match="algorithm 'fast' is for gray"):
        bilateral(np.dstack([image] * 3), algorithm="fast", **kwargs)
    with pytest.raises(InvalidParameterError, match="algorithm must be one of"):
        bilateral(image, algorithm="quick", **kwargs)
    with pytest.raises(InvalidParameterError, match="opencv_compat must be true or false"):
        bilateral(image, opencv_compat="no", **kwargs)
