"""Noise estimation: sigma estimators, the noise-level function and estimate_noise."""
import functools
import json
import math
import warnings

import numpy as np
import pytest
from scipy.signal import convolve2d, correlate2d

from denoise import InvalidParameterError
from denoise.noise.estimate import (SIGMA_ESTIMATORS, estimate_noise, fit_nlf, sigma_immerkaer,
                                    sigma_mad, sigma_pca)

SEEDS = [0, 1, 2]
ESTIMATORS = sorted(SIGMA_ESTIMATORS)


def noise(shape, sigma, seed):
    return np.random.default_rng(seed).normal(0.0, sigma, shape)


def smooth_scene(size=256):
    """A ramp, a broad sinusoidal swell and a bright disk: values about 30..210."""
    y, x = np.mgrid[0:size, 0:size].astype(float)
    disk = (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 4) ** 2
    return 60 + 0.4 * x + 40 * np.sin(x / 17.0) * np.cos(y / 23.0) + 50.0 * disk


def fine_texture(size=256):
    """Strong texture at every pixel: periods 5.3 and 7.1 px, amplitude 60, values 68..188."""
    y, x = np.mgrid[0:size, 0:size].astype(float)
    return 128 + 60 * np.sin(2 * np.pi * x / 5.3) * np.sin(2 * np.pi * y / 7.1)


def relative_error(estimate, truth):
    return abs(estimate / truth - 1.0)


# --- 1. white noise on a flat image ---------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("sigma", [0.05, 20.0])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_white_noise_on_flat_image(name, sigma, seed):
    # 256 x 256: the sampling error of each estimator is ~1 %; pca also runs ~3 % low
    # (its documented small-sample bias), so 8 % leaves room for both.
    plane = 0.5 * (255.0 if sigma > 1 else 1.0) + noise((256, 256), sigma, seed)
    ratio = SIGMA_ESTIMATORS[name][0](plane) / sigma
    assert abs(ratio - 1.0) < 0.08
    if name == "pca":
        # The documented bias: the smallest eigenvalue of the sample covariance of n
        # 49-dim white-noise patches sits at the Marchenko-Pastur edge
        # sigma^2 (1 - sqrt(49 / n))^2, so sigma runs 7 / sqrt(n) low (2.8 % for the
        # 250^2 patches here). Measured spread around it: 0.6 % sd over 12 seeds.
        assert abs(ratio - (1.0 - 7.0 / 250)) < 0.025 and ratio < 1.0


@pytest.mark.parametrize("k", [257.0, 1.0 / 255.0, 3.7e-3, 1e6])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_scale_equivariance(name, k):
    plane = smooth_scene(128) + noise((128, 128), 10.0, 0)   # texture: pca's selection acts
    estimator = SIGMA_ESTIMATORS[name][0]
    assert estimator(k * plane) == pytest.approx(k * estimator(plane), rel=1e-9)


# --- 2. textured images -----------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("sigma", [10.0, 25.0])
def test_pca_on_smooth_textured_scene(sigma, seed):
    plane = smooth_scene() + noise((256, 256), sigma, seed)
    assert relative_error(sigma_pca(plane), sigma) < 0.10


@pytest.mark.parametrize("seed", SEEDS)
def test_pca_beats_mad_on_fine_texture(seed):
    # Holds with a wide margin at sigma 10 (pca within 5 %, mad ~35 % high). At sigma 25 it
    # does not hold (pca ~20 % low, mad ~6 % high), so it is not asserted there.
    sigma = 10.0
    plane = fine_texture() + noise((256, 256), sigma, seed)
    assert abs(sigma_pca(plane) - sigma) < abs(sigma_mad(plane) - sigma)


@pytest.mark.parametrize("seed", SEEDS)
def test_pca_does_not_collapse_on_fine_texture(seed):
    """The selection keeps ever fewer patches here (52 in 49 dims at the third pass for
    seed 2, whose smallest eigenvalue is ~0): so small a selection must not be used."""
    sigma = 25.0
    plane = fine_texture() + noise((256, 256), sigma, seed)
    assert sigma_pca(plane) > 0.5 * sigma        # ~20 % low here, but not ~zero


def test_fine_texture_is_flagged():
    image = np.clip(np.round(fine_texture() + noise((256, 256), 25.0, 0)), 0, 255)
    assert estimate_noise(image.astype(np.uint8), warn=False).reliable is False


# --- 3. independent references ----------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_mad_agrees_with_scikit_image(seed):
    pytest.importorskip("pywt")
    from skimage.restoration import estimate_sigma

    # skimage convolves (flipped taps, another phase) with symmetric padding, so its
    # coefficients are other draws of the same noise: the ratio has a 1.2 % sd on 256^2
    # (2.5 % on 128^2, where 3 % would not be robust) and ~+0.3 % bias from the
    # padded border coefficients.
    plane = smooth_scene() + noise((256, 256), 10.0, seed)
    assert relative_error(sigma_mad(plane), estimate_sigma(plane)) < 0.03


def test_mad_is_the_db2_diagonal_detail_of_pywt():
    pywt = pytest.importorskip("pywt")
    high = np.array(pywt.Wavelet("db2").dec_hi)
    plane = smooth_scene(64)[:37, :50] + noise((37, 50), 10.0, 0)
    detail = correlate2d(plane, np.outer(high, high), mode="valid")[::2, ::2]
    expected = np.median(np.abs(detail)) / 0.6744897501960817       # Phi^-1(0.75)
    assert sigma_mad(plane) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("shape", [(37, 50), (3, 3), (64, 5)])
def test_immerkaer_matches_direct_convolution(shape):
    plane = smooth_scene(64)[:shape[0], :shape[1]] + noise(shape, 10.0, 0)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], float)
    response = convolve2d(plane, kernel, mode="valid")
    expected = math.sqrt(math.pi / 2) / 6 * np.mean(np.abs(response))
    assert sigma_immerkaer(plane) == pytest.approx(expected, rel=1e-12)


# --- 4. estimate_noise ------------------------------------------------------------------------

SIGMAS_RGB = np.array([5.0, 10.0, 20.0])


def rgb_uint8(size=256, seed=0):
    """Mid-gray with a different sigma per channel, rounded to uint8 (never clipped)."""
    values = 128.0 + noise((size, size, 3), 1.0, seed) * SIGMAS_RGB
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=None)
def rgb_estimate():
    """estimate_noise of the 256^2 RGB image, and every warning the call issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = estimate_noise(rgb_uint8())
    return result, tuple(str(w.message) for w in caught)


def test_rgb_sigma_per_channel():
    result = rgb_estimate()[0]
    # pca runs ~3 % low on 256^2 noise; rounding adds a variance of 1/12 (0.2 % at sigma 5).
    np.testing.assert_array_less(np.abs(np.array(result.sigma) / SIGMAS_RGB - 1), 0.10)
    assert result.mean_sigma == pytest.approx(np.mean(result.sigma))
    assert result.data_range == 255.0 and result.model == "gaussian"


def test_clean_image_raises_no_warning():
    result, caught = rgb_estimate()
    assert caught == () and result.warnings == () and result.reliable is True


def test_gray_gives_one_sigma():
    result = estimate_noise(rgb_uint8()[..., 1])
    assert len(result.sigma) == 1 and result.data_range == 255.0
    assert relative_error(result.sigma[0], 10.0) < 0.10


def test_units_follow_the_dtype():
    image = rgb_uint8(64)
    as8 = estimate_noise(image)
    as16 = estimate_noise(image.astype(np.uint16) * 257)      # the same noise, 257 x larger
    asfloat = estimate_noise(image / 255.0)
    assert (as8.data_range, as16.data_range, asfloat.data_range) == (255.0, 65535.0, 1.0)
    np.testing.assert_allclose(as16.sigma, 257 * np.array(as8.sigma), rtol=1e-9)
    np.testing.assert_allclose(asfloat.sigma, np.array(as8.sigma) / 255, rtol=1e-9)
    # The noise-level function is in [0, 1] units whatever the dtype.
    np.testing.assert_allclose(as16.gain, as8.gain, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(asfloat.offset, as8.offset, rtol=1e-6, atol=1e-12)


def test_alpha_is_ignored():
    image = rgb_uint8(64)
    alpha = np.random.default_rng(9).integers(0, 256, image.shape[:2] + (1,), dtype=np.uint8)
    rgba = estimate_noise(np.concatenate([image, alpha], axis=2))
    assert len(rgba.sigma) == 3 and rgba.sigma == estimate_noise(image).sigma
    gray_alpha = estimate_noise(np.concatenate([image[..., :1], alpha], axis=2))
    assert gray_alpha.sigma == estimate_noise(image[..., 0]).sigma


def test_as_dict_is_json():
    result = estimate_noise(rgb_uint8(64), estimator="mad")
    back = json.loads(json.dumps(result.as_dict()))
    assert back["sigma"] == list(result.sigma) and len(back["gain"]) == 3
    assert back["estimator"] == "mad" and back["model"] == result.model
    assert back["data_range"] == 255.0 and back["reliable"] == result.reliable


def test_unknown_estimator():
    with pytest.raises(InvalidParameterError, match="estimator"):
        estimate_noise(rgb_uint8(64), estimator="wavelet")


# --- 5. Poisson-Gaussian noise-level function --------------------------------------------

def noisy_ramp(a, b, seed):
    """Horizontal ramp 0.05..0.95 (256 x 512) plus sqrt(a x + b) N(0, 1), not clipped."""
    x = np.tile(np.linspace(0.05, 0.95, 512), (256, 1))
    return x + np.sqrt(a * x + b) * np.random.default_rng(seed).standard_normal(x.shape)


POISSON_GAUSSIAN = [(0.01, 0.0004), (1 / 30, 0.01)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("a, b", POISSON_GAUSSIAN)
def test_fit_nlf_recovers_poisson_gaussian(a, b, seed):
    nlf = fit_nlf(noisy_ramp(a, b, seed))
    # Measured: a within 2 %, b within 11 %, the std curve within 1.5 %.
    assert relative_error(nlf.gain, a) < 0.15
    assert relative_error(nlf.offset, b) < 0.25
    levels = np.linspace(0.1, 0.9, 81)
    np.testing.assert_array_less(np.abs(nlf.std(levels) / np.sqrt(a * levels + b) - 1), 0.05)
    assert nlf.signal_dependent is True


@pytest.mark.parametrize("a, b", POISSON_GAUSSIAN)
def test_estimate_noise_calls_it_poisson_gaussian(a, b):
    # warn=False: the noise carries 2 % and 9 % of the samples past 0 or 1 ("clipped").
    result = estimate_noise(noisy_ramp(a, b, 0), warn=False)
    assert result.model == "poisson-gaussian" and result.signal_dependent == (True,)
    assert relative_error(result.gain[0], a) < 0.15


@pytest.mark.parametrize("seed", SEEDS)
def test_pure_gaussian_is_not_signal_dependent(seed):
    result = estimate_noise(noisy_ramp(0.0, 0.0004, seed))     # < 1 % of samples leave [0, 1]
    assert result.signal_dependent == (False,) and result.model == "gaussian"
    levels = np.linspace(0.1, 0.9, 81)
    std = np.sqrt(np.maximum(result.gain[0] * levels + result.offset[0], 0.0))
    np.testing.assert_array_less(np.abs(std / 0.02 - 1), 0.05)


# --- 6. warnings --------------------------------------------------------------------------

def clipped_uint8(blocks=False):
    """Mid-gray + noise sigma 10 with half the pixels at 0 or 255: scattered, or as two
    solid bands of columns."""
    rng = np.random.default_rng(4)
    image = np.clip(np.round(128 + rng.normal(0, 10, (128, 128))), 0, 255).astype(np.uint8)
    if blocks:
        image[:, :32], image[:, 96:] = 0, 255
    else:
        draw = rng.random(image.shape)
        image[draw < 0.25], image[draw > 0.75] = 0, 255
    return image


def test_clipping_warns():
    with pytest.warns(UserWarning) as caught:      # also "heavy texture": scattered 0 / 255
        result = estimate_noise(clipped_uint8())
    assert any("clipped" in str(w.message) for w in caught)
    assert result.reliable is False
    assert any("clipped" in note for note in result.warnings)


def test_warn_false_is_silent_but_keeps_the_notes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = estimate_noise(clipped_uint8(), warn=False)
    assert result.reliable is False
    assert any("clipped" in note for note in result.warnings)


def test_warn_false_is_silent_on_clipped_bands():
    """Bins mostly inside a flat clipped band have a robust std of 0; the line fit used to
    divide by their floored variance squared (1e-300 ** 2 == 0.0) and numpy warned."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = estimate_noise(clipped_uint8(blocks=True), warn=False)
    assert result.reliable is False


# --- spatially correlated noise (demosaiced, resampled) ---------------------------------

def correlated_noise(shape, sigma, seed, width):
    """White noise smoothed by a `width` x `width` box, rescaled to per-pixel std `sigma`:
    correlated over width - 1 pixels and white beyond."""
    from scipy.ndimage import uniform_filter

    white = np.random.default_rng(seed).normal(0.0, 1.0, shape)
    smooth = uniform_filter(white, width, mode="wrap")
    return smooth * sigma / smooth.std()


@pytest.mark.parametrize("width, seed", [(2, 0), (3, 1), (3, 2)])
def test_correlated_noise_is_measured_per_pixel(width, seed):
    """The smallest eigenvalue alone sees a fraction of correlated noise; the estimate
    comes from sub-images where it is white: the per-pixel std within 12 %, and the
    radius found is the box's reach (width - 1, or one more)."""
    plane = smooth_scene() + correlated_noise((256, 256), 12.0, seed, width)
    found = estimate_noise(plane, warn=False)
    assert relative_error(found.sigma[0], 12.0) < 0.12
    assert width - 1 <= found.correlation[0] <= width


def test_white_noise_has_radius_zero():
    plane = smooth_scene() + noise((256, 256), 12.0, 3)
    found = estimate_noise(plane, warn=False)
    assert found.correlation == (0,)
    assert json.loads(json.dumps(found.as_dict()))["correlation_radius"] == [0]


def test_constant_image_has_no_noise_and_no_warning():
    found = estimate_noise(np.full((40, 40), 128, np.uint8))
    assert found.sigma == (0.0,) and found.reliable


def test_float_values_beyond_the_unit_range_are_not_clipping():
    """Float images keep their range: values below 0 or above 1 are data, not clipping;
    only samples exactly at 0 or the top count."""
    plane = 0.5 + np.random.default_rng(11).normal(0.0, 0.6, (64, 64))
    assert not any("clipped" in w for w in estimate_noise(plane, warn=False).warnings)
    clipped = np.clip(plane, 0.0, 1.0)
    assert any("clipped" in w for w in estimate_noise(clipped, warn=False).warnings)
