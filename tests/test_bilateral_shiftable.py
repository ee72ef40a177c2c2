"""The fast (Fourier range kernel) bilateral: within its stated bound of the direct
kernel, exact where it must be, and auto's rule."""
import numpy as np
import pytest
from scipy import ndimage

from denoise import InvalidParameterError
from denoise.filters.bilateral import bilateral
from denoise.filters._bilateral_shiftable import (auto_prefers_fast, fast_terms, fourier_terms,
                                                  shiftable_bilateral)

from conftest import threads

TOLERANCE = 1e-3          # of the data range (1 on the working scale)


def crop(seed, kind, shape=(56, 60)):
    """A gray float32 test crop in about [0, 1]: piecewise flat with edges ("smooth",
    light noise), strongly noisy, or sparse outliers on flat ground (the worst
    case of the bound: a pixel with no similar neighbours)."""
    rng = np.random.default_rng(seed)
    cells = rng.random((shape[0] // 8 + 1, shape[1] // 8 + 1))
    blocks = np.kron(cells, np.ones((8, 8)))[:shape[0], :shape[1]]
    if kind == "smooth":
        image = ndimage.gaussian_filter(blocks, 1.0) + 0.02 * rng.standard_normal(shape)
    elif kind == "noisy":
        image = blocks + 0.1 * rng.standard_normal(shape)
    else:
        image = np.full(shape, 0.2) + (rng.random(shape) < 0.01) * 0.8
    return image.astype(np.float32)


def direct(image, radius, sigma_spatial, sigma_range):
    return bilateral(image, sigma_range=sigma_range, sigma_spatial=sigma_spatial,
                     radius=radius, pilot=False)


@pytest.mark.parametrize("radius, sigma_range", [
    (3, 0.05), (3, 0.3), (7, 0.1), (12, 0.05), (12, 0.2), (20, 0.05), (20, 0.3)])
@pytest.mark.parametrize("kind", ["smooth", "noisy", "outliers"])
def test_within_the_bound_of_the_direct_kernel(radius, sigma_range, kind):
    for seed in range(2):
        image = crop(10 * radius + seed, kind)
        sigma_spatial = radius / 2
        fast = shiftable_bilateral(image, sigma_spatial, radius, sigma_range)
        ref = direct(image, radius, sigma_spatial, sigma_range)
        assert fast.dtype == np.float32 and fast.shape == image.shape
        assert np.abs(fast - ref).max() <= TOLERANCE


@pytest.mark.parametrize("sigma_range", [0.02, 0.1, 0.3])
def test_one_bright_pixel_the_worst_case_of_the_bound(sigma_range):
    image = np.zeros((45, 45), np.float32)
    image[22, 22] = 1.0
    fast = shiftable_bilateral(image, 10.0, 20, sigma_range)
    assert np.abs(fast - direct(image, 20, 10.0, sigma_range)).max() <= TOLERANCE


@pytest.mark.parametrize("extent, sigma_range, eps", [
    (1.0, 0.05, 1e-6), (1.5, 0.1, 1e-7), (1.0, 0.3, 1e-5), (0.0, 0.1, 1e-6)])
def test_range_kernel_error_is_within_the_planned_bound(extent, sigma_range, eps):
    plan = fourier_terms(extent, sigma_range, eps)
    assert plan.bound <= eps
    t = np.linspace(-extent, extent, 4001)
    k = np.arange(plan.coefs.shape[0])
    approx = np.cos(np.outer(t, k) * plan.omega) @ plan.coefs
    assert np.abs(approx - np.exp(-t ** 2 / (2 * sigma_range ** 2))).max() <= plan.bound


@pytest.mark.parametrize("tolerance", [1e-2, 1e-4])
def test_other_tolerances_are_met(tolerance):
    image = crop(3, "outliers")
    ref = direct(image, 9, 4.5, 0.1)
    out = shiftable_bilateral(image, 4.5, 9, 0.1, tolerance=tolerance)
    assert np.abs(out - ref).max() <= tolerance
    assert fast_terms(9, 0.1, 1.0, 4.5, tolerance / 10) > fast_terms(9, 0.1, 1.0, 4.5, tolerance)


def test_guide_gives_the_direct_pilot_filter():
    image = crop(5, "noisy")
    guide = ndimage.uniform_filter(image, 3, mode="reflect")
    fast = shiftable_bilateral(image, 3.0, 6, 0.07, guide=guide)
    ref = bilateral(image, sigma_range=0.07, sigma_spatial=3.0, radius=6, pilot=True)
    assert np.abs(fast - ref).max() <= TOLERANCE


def test_constant_image_stays_constant():
    image = np.full((30, 41, 1), 0.37, np.float32)
    out = shiftable_bilateral(image, 5.0, 10, 0.1)
    assert out.shape == image.shape
    np.testing.assert_array_equal(out, image)


def test_one_thread_equals_two():
    image = crop(7, "noisy", (70, 45))
    with threads(1):
        one = shiftable_bilateral(image, 4.0, 8, 0.1)
    with threads(2):
        two = shiftable_bilateral(image, 4.0, 8, 0.1)
    np.testing.assert_array_equal(one, two)


def test_radius_zero_is_the_identity_and_the_input_is_untouched():
    image = crop(8, "noisy", (12, 9))
    before = image.copy()
    np.testing.assert_array_equal(shiftable_bilateral(image, 1.0, 0, 0.1), image)
    shiftable_bilateral(image, 1.0, 3, 0.1)
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize("kwargs, match", [
    (dict(work=np.zeros((9, 9, 3), np.float32)), "gray"),
    (dict(guide=np.zeros((8, 9), np.float32)), "gray"),
    (dict(radius=-1), "radius"),
    (dict(range_sigma=0.0), "range_sigma"),
    (dict(range_sigma=1e-5), "too narrow")])
def test_errors(kwargs, match):
    args = dict(work=crop(0, "noisy", (9, 9)), spatial_sigma=1.0, radius=2,
                range_sigma=0.1)
    args.update(kwargs)
    with pytest.raises(InvalidParameterError, match=match):
        shiftable_bilateral(**args)


def test_auto_rule_is_consistent():
    sigmas = [0.02, 0.05, 0.1, 0.2, 0.3]
    for sigma in sigmas:
        picks = [auto_prefers_fast(r, sigma, 1.0, 1) for r in range(1, 51)]
        first = picks.index(True) if True in picks else len(picks)
        assert not any(picks[:first]) and all(picks[first:]), sigma   # one switch radius
        assert auto_prefers_fast(25, sigma * 255, 255.0, 1) == picks[24]   # units cancel
    switch = [min((r for r in range(1, 51) if auto_prefers_fast(r, s, 1.0, 1)), default=99)
              for s in sigmas]
    assert switch == sorted(switch, reverse=True)     # wider range kernels switch sooner
    assert switch[2] <= 15 and switch[-1] >= 3        # 0.1: by 31x31 (the benchmark)
    assert not auto_prefers_fast(30, 0.1, 1.0, 3)     # color: direct only
    assert not auto_prefers_fast(30, 1e-6, 1.0, 1)    # too narrow for the fast path
