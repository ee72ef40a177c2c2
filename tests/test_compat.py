"""denoise.compat: each drop-in call against the original called directly on the same
input: equal (median, estimate_sigma) or within the tolerance its docstring states,
the same shape, dtype and errors, and the fallback to the original (warned once,
or a clear error when the original is missing)."""
import contextlib
import itertools
import sys
import warnings

import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage import data, filters, restoration
from skimage.metrics import peak_signal_noise_ratio
from skimage.morphology import disk

from denoise.compat import CompatFallbackWarning, OriginalNotInstalledError, _fallback
from denoise._config import get_threads, set_threads
from denoise.compat import skimage as ski

DTYPES = [np.uint8, np.uint16, np.float32, np.float64]


@pytest.fixture(autouse=True)
def fresh_warnings():
    """Each test sees every fallback warning once more."""
    _fallback.reset_warnings()
    yield
    _fallback.reset_warnings()


def noisy(shape, dtype, sigma=0.1, seed=0):
    """A smooth ramp with an edge plus Gaussian noise, in `dtype`'s nominal range."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    clean = 0.2 + 0.5 * cols / shape[1] + 0.2 * (rows > shape[0] // 2)
    if len(shape) == 3:
        clean = clean[..., None] * np.linspace(0.8, 1.0, shape[2])
    image = np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 1)
    if np.dtype(dtype).kind == "u":
        return np.rint(image * np.iinfo(dtype).max).astype(dtype)
    return image.astype(dtype)


@contextlib.contextmanager
def ours_only():
    """A block in which any fallback fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompatFallbackWarning)
        yield


def fallbacks(record):
    return [w for w in record if issubclass(w.category, CompatFallbackWarning)]


# --- skimage.filters.median: exact -----------------------------------------------------

@pytest.mark.parametrize("mode", ["nearest", "reflect", "mirror", "wrap", "constant"])
@pytest.mark.parametrize("footprint", [None, np.ones((5, 5)), np.ones((7, 7), bool)],
                         ids=["default", "5x5", "7x7"])
@pytest.mark.parametrize("dtype", DTYPES + [np.int8, np.int16, np.int32, np.bool_])
def test_median_equals_scikit_image(dtype, footprint, mode):
    image = noisy((24, 31), np.uint8, sigma=0.3)
    image = (image.astype(np.int16) - 128).astype(dtype) if dtype in (np.int8, np.int16) \
        else (image > 128) if dtype == np.bool_ else image.astype(dtype)
    cval = 1 if dtype == np.bool_ else 7
    expected = filters.median(image, footprint, mode=mode, cval=cval)
    with ours_only():
        got = ski.median(image, footprint, mode=mode, cval=cval)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("footprint", [np.ones((5, 5, 1)), np.ones((1, 3, 3))])
def test_median_per_channel_or_slice_and_out(footprint):
    image = noisy((20, 22, 3), np.float32, sigma=0.3)
    expected = filters.median(image, footprint, mode="mirror")
    out = np.empty_like(image)
    with ours_only():
        got = ski.median(image, footprint, out=out, mode="mirror")
    assert got is out
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("args", [dict(footprint=disk(2)), dict(behavior="rank"), dict()],
                         ids=["disk", "rank", "3-D default cube"])
def test_median_falls_back_once(args):
    image = noisy((20, 22, 3), np.uint8, sigma=0.3)
    image = image[..., 0] if args else image
    expected = filters.median(image, **args)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        first, second = ski.median(image, **args), ski.median(image, **args)
    assert len(fallbacks(record)) == 1
    assert "skimage.filters.median" in str(fallbacks(record)[0].message)
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(second, expected)


# --- estimate_sigma: our wavelet estimator, equal within rounding ----------------------

@pytest.mark.parametrize("shape", [(48, 64), (47, 63), (6, 9)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_estimate_sigma_equals_scikit_image(dtype, shape):
    image = noisy(shape, dtype, sigma=0.05, seed=3)
    expected = restoration.estimate_sigma(image)
    with ours_only():
        got = ski.estimate_sigma(image)
    assert isinstance(got, np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("average", [False, True])
def test_estimate_sigma_channels_and_clipping(axis, average):
    image = np.moveaxis(noisy((40, 45, 3), np.uint8, sigma=0.4, seed=5), -1, axis)
    expected = restoration.estimate_sigma(image, average, channel_axis=axis)
    with ours_only():
        got = ski.estimate_sigma(image, average, channel_axis=axis)
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert type(got) is type(expected) and np.shape(got) == np.shape(expected)


def test_estimate_sigma_warns_as_scikit_image_on_a_short_last_axis():
    image = noisy((30, 4), np.float64, seed=2)
    with pytest.warns(UserWarning, match="channel_axis=-1") as theirs:
        expected = restoration.estimate_sigma(image)
    with pytest.warns(UserWarning, match="channel_axis=-1") as ours:
        got = ski.estimate_sigma(image)
    assert str(ours[0].message) == str(theirs[0].message)
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_estimate_sigma_volume_falls_back_once():
    volume = noisy((8, 20, 24), np.float64, seed=4)
    expected = restoration.estimate_sigma(volume)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = [ski.estimate_sigma(volume) for _ in range(2)]
    assert len(fallbacks(record)) == 1 and "3-D" in str(fallbacks(record)[0].message)
    assert got == [expected, expected]


def test_not_installed_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage.restoration", None)
    with pytest.raises(OriginalNotInstalledError, match="pip install scikit-image") as info:
        ski.estimate_sigma(np.zeros((6, 8, 8)))
    assert isinstance(info.value, ImportError)
    assert "3-D" in str(info.value)


# --- denoise_bilateral: our kernel, scikit-image's weights -----------------------------

BILATERAL_PARAMS = [dict(), dict(sigma_color=0.1, sigma_spatial=2), dict(win_size=4, sigma_color=0.3)]


@pytest.mark.parametrize("mode", ["constant", "edge", "symmetric", "reflect", "wrap"])
@pytest.mark.parametrize("params", BILATERAL_PARAMS, ids=["default", "wide", "even"])
@pytest.mark.parametrize("axis", [None, -1, 0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bilateral_within_1e3_of_scikit_image(dtype, axis, params, mode):
    image = noisy((24, 30) if axis is None else (24, 30, 3), dtype)
    image = image if axis in (None, -1) else np.moveaxis(image, -1, axis)
    expected = restoration.denoise_bilateral(image, mode=mode, cval=0.2, channel_axis=axis,
                                             **params)
    with ours_only():
        got = ski.denoise_bilateral(image, mode=mode, cval=0.2, channel_axis=axis, **params)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-3, rtol=0)


def test_bilateral_negative_values_and_constant_image():
    image = noisy((24, 30), np.float64) - 0.4
    expected = restoration.denoise_bilateral(image, sigma_color=0.2)
    with ours_only():
        np.testing.assert_allclose(ski.denoise_bilateral(image, sigma_color=0.2), expected,
                                   atol=1e-3)
        flat = np.full((8, 9), 7, np.uint8)
        got = ski.denoise_bilateral(flat)
    expected = restoration.denoise_bilateral(flat)
    assert got is not flat and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_bilateral_integer_images_fall_back_once(dtype):
    image = noisy((20, 24), dtype)
    expected = restoration.denoise_bilateral(image, sigma_color=0.1)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = [ski.denoise_bilateral(image, sigma_color=0.1) for _ in range(2)]
    assert len(fallbacks(record)) == 1 and "bins" in str(fallbacks(record)[0].message)
    for out in got:
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("image, kwargs", [
    (np.zeros((8, 8)), dict(channel_axis=-1)),
    (np.zeros((4, 8, 8, 3)), dict(channel_axis=-1)),
    (np.zeros((8, 8, 3)), dict()),
    (np.arange(64.0).reshape(8, 8), dict(mode="nearest")),
])
def test_bilateral_errors_as_scikit_image(image, kwargs):
    with pytest.raises(ValueError) as theirs:
        restoration.denoise_bilateral(image, **kwargs)
    with pytest.raises(ValueError) as ours:
        ski.denoise_bilateral(image, **kwargs)
    assert str(ours.value) == str(theirs.value)


# --- denoise_nl_means: scikit-image's own estimator ------------------------------------

#: (patch_size, patch_distance, h, sigma), h and sigma on the [0, 1] scale.
NL_MEANS_PARAMS = [(5, 6, 0.08, 0.1), (7, 11, 0.1, 0.0), (4, 3, 0.3, 0.05)]


def nl_means_both(image, *args, **kwargs):
    """scikit-image's result and ours (which must not fall back), same shape and dtype."""
    expected = restoration.denoise_nl_means(image, *args, **kwargs)
    with ours_only():
        got = ski.denoise_nl_means(image, *args, **kwargs)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    return got, expected


def nl_means_atol(fast_mode, data_range=1.0):
    """The stated agreement: fast mode within 1e-6 of the data range, slow mode equal."""
    return 1e-6 * data_range if fast_mode else 0.0


@pytest.mark.parametrize("fast_mode", [True, False], ids=["fast", "slow"])
@pytest.mark.parametrize("axis", [None, -1, 0])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_nl_means_equals_scikit_image(dtype, axis, fast_mode):
    image = noisy((40, 52) if axis is None else (40, 52, 3), dtype, seed=3)
    image = image if axis in (None, -1) else np.moveaxis(image, -1, axis)
    for (size, distance, h, sigma), keep in itertools.product(NL_MEANS_PARAMS, [False, True]):
        scale = 255.0 if keep and dtype == np.uint8 else 1.0
        got, expected = nl_means_both(image, size, distance, h * scale, fast_mode,
                                      sigma * scale, preserve_range=keep, channel_axis=axis)
        np.testing.assert_allclose(got, expected, rtol=0,
                                   atol=nl_means_atol(fast_mode, scale))


@pytest.mark.parametrize("fast_mode", [True, False], ids=["fast", "slow"])
def test_nl_means_natural_images_at_the_defaults(fast_mode):
    rng = np.random.default_rng(4)
    for clean, axis in [(data.camera()[200:248, 100:160], None),
                        (data.astronaut()[100:140, 200:252], -1)]:
        image = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
        for h in [0.08, 0.1]:
            got, expected = nl_means_both(image, h=h, fast_mode=fast_mode, sigma=0.1,
                                          channel_axis=axis)
            np.testing.assert_allclose(got, expected, rtol=0, atol=nl_means_atol(fast_mode))


@pytest.mark.parametrize("fast_mode", [True, False], ids=["fast", "slow"])
@pytest.mark.parametrize("image, args, kwargs", [
    (noisy((12, 14), np.float64), (1, 3, 0.1), {}),                # no patch: window means
    (noisy((12, 14), np.float64), (2, 0, 0.1), {}),                # no search: the image
    (noisy((12, 14), np.float64), (3, 30, 0.2), {}),               # window over the image
    (noisy((1, 30), np.float64), (3, 2, 0.1), {}),                 # squeezed to 1-D
    (noisy((12, 14, 1), np.float32), (5, 3, 0.1), dict(channel_axis=-1)),
    (noisy((1, 12, 14), np.float32), (5, 3, 0.1), dict(channel_axis=0)),
    (noisy((12, 14, 2), np.float16), (3, 2, 0.1), dict(channel_axis=-1)),
    (noisy((12, 14), np.uint16), (3, 4, 0.1), {}),
    (noisy((12, 14), np.uint8) > 120, (3, 2, 0.5), dict(preserve_range=True)),
], ids=["size1", "distance0", "wide", "one-row", "one-channel", "axis0-one", "float16",
        "uint16", "bool"])
def test_nl_means_edge_cases_as_scikit_image(image, args, kwargs, fast_mode):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # patch_size 1: 0 / 0 weights
        got, expected = nl_means_both(image, *args, fast_mode, **kwargs)
    np.testing.assert_allclose(got, expected, rtol=0, atol=nl_means_atol(fast_mode))


def test_nl_means_bands_do_not_depend_on_threads():
    image = noisy((70, 40, 3), np.float32, seed=5)
    before = get_threads()
    try:
        set_threads(1)
        one = [ski.denoise_nl_means(image, 5, 4, 0.1, fast, channel_axis=-1)
               for fast in (True, False)]
        set_threads(2)
        two = [ski.denoise_nl_means(image, 5, 4, 0.1, fast, channel_axis=-1)
               for fast in (True, False)]
    finally:
        set_threads(before)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("image, kwargs", [
    (noisy((6, 16, 20), np.float64), dict(h=0.1)),                        # 3-D volume
    (np.stack([noisy((6, 16, 20), np.float32, seed=k) for k in range(3)], -1),
     dict(h=0.1, channel_axis=-1)),                                       # 3-D, channels
    (noisy((12, 14), np.uint8), dict(h=0.0)),                             # h = 0
])
def test_nl_means_falls_back_once_with_the_original_result(image, kwargs):
    expected = restoration.denoise_nl_means(image, 3, 2, **kwargs)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = [ski.denoise_nl_means(image, 3, 2, **kwargs) for _ in range(2)]
    assert len(fallbacks(record)) == 1
    for out in got:
        assert out.dtype == expected.dtype
        np.testing.assert_array_equal(out, expected)


# --- OpenCV ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cv2():
    return pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def ours():
    pytest.importorskip("cv2")
    from denoise.compat import cv2 as module
    return module


def outcome(func, *args):
    """The result, or the type of the error raised."""
    try:
        return func(*args)
    except Exception as exc:            # noqa: BLE001 (the type is compared)
        return type(exc)


@pytest.mark.parametrize("ksize", [1, 3, 5, 7, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
@pytest.mark.parametrize("channels", [None, 1, 2, 3])
def test_median_blur_equals_opencv(cv2, ours, ksize, dtype, channels):
    plane = noisy((24, 30), np.uint8, sigma=0.3).astype(dtype)
    image = plane if channels is None else np.dstack([plane] * channels)
    expected = outcome(cv2.medianBlur, image, ksize)
    with ours_only():
        got = outcome(ours.medianBlur, image, ksize)
    if isinstance(expected, type):
        assert got is ours.error and issubclass(got, cv2.error)
        return
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("border", [4, 2, 1, 0, 3])
@pytest.mark.parametrize("d, sigma_color, sigma_space", [(5, 20, 2), (9, 50, 3), (0, 30, 2)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("shape", [(24, 30), (24, 30, 3)], ids=["gray", "colour"])
def test_bilateral_filter_within_a_level_of_opencv(cv2, ours, shape, dtype, d, sigma_color,
                                                   sigma_space, border):
    image = noisy(shape, dtype)
    scale = 1.0 if dtype == np.uint8 else 1 / 255
    expected = cv2.bilateralFilter(image, d, sigma_color * scale, sigma_space, borderType=border)
    with ours_only():
        got = ours.bilateralFilter(image, d, sigma_color * scale, sigma_space, borderType=border)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got.astype(float), expected, rtol=0,
                               atol=1 if dtype == np.uint8 else 2e-4)


def test_bilateral_filter_wide_window_falls_back_once_and_dst(cv2, ours):
    image = noisy((20, 24, 3), np.uint8)
    expected = cv2.bilateralFilter(image, 103, 30, 20)
    dst = np.empty_like(image)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        first = ours.bilateralFilter(image, 103, 30, 20)
        second = ours.bilateralFilter(image, 103, 30, 20, dst)
    assert len(fallbacks(record)) == 1 and "above 50" in str(fallbacks(record)[0].message)
    np.testing.assert_array_equal(first, expected)
    assert second is dst
    np.testing.assert_array_equal(dst, expected)


@pytest.mark.parametrize("h", [3, 12, 30])
@pytest.mark.parametrize("channels", [None, 1, 2])
def test_nl_means_within_a_level_of_opencv(cv2, ours, h, channels):
    plane = noisy((48, 64), np.uint8, sigma=0.1, seed=7)
    image = plane if channels is None else np.dstack([plane, plane[::-1]][:channels])
    expected = cv2.fastNlMeansDenoising(image, None, h, 5, 13)
    with ours_only():
        got = ours.fastNlMeansDenoising(image, None, h, 5, 13)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    diff = np.abs(got.astype(int) - expected)
    assert diff.max() <= 1 and (diff > 0).mean() <= 0.01


def test_nl_means_dst_and_errors(cv2, ours):
    image = noisy((20, 24), np.uint8)
    dst = np.zeros_like(image)
    assert ours.fastNlMeansDenoising(image, dst, 10) is dst
    np.testing.assert_allclose(dst, cv2.fastNlMeansDenoising(image, None, 10), atol=1)
    wrong = np.zeros((3, 3), np.uint8)
    assert ours.fastNlMeansDenoising(image, wrong, 10).shape == image.shape
    assert not wrong.any()
    for func, args in [(ours.fastNlMeansDenoising, (image.astype(np.float32), None, 10)),
                       (ours.fastNlMeansDenoisingColored, (image, None, 10, 10))]:
        with pytest.raises(cv2.error):
            getattr(cv2, func.__name__)(*args)
        with pytest.raises(cv2.error):
            func(*args)


@pytest.mark.parametrize("channels", [3, 4])
def test_colored_nl_means_close_to_opencv(cv2, ours, channels):
    image = noisy((48, 64, channels), np.uint8, sigma=0.1, seed=8)
    image[..., 0] = image[..., 0] // 2                       # not gray: distinct channels
    expected = cv2.fastNlMeansDenoisingColored(image, None, 15, 15, 5, 15)
    with ours_only():
        got = ours.fastNlMeansDenoisingColored(image, None, 15, 15, 5, 15)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert peak_signal_noise_ratio(expected, got, data_range=255) >= 40
    assert np.abs(got.astype(int) - expected).max() <= 8


def test_lab_conversions_within_a_level_of_opencv(cv2, ours):
    bgr = np.random.default_rng(9).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    lab = cv2.cvtColor(bgr, cv2.COLOR_LBGR2Lab)
    assert np.abs(ours.bgr_to_lab(bgr).astype(int) - lab).max() <= 1
    assert np.abs(ours.lab_to_bgr(lab).astype(int) - cv2.cvtColor(lab, cv2.COLOR_Lab2LBGR)).max() <= 1


def test_cv2_not_installed_is_a_clear_error(ours, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(OriginalNotInstalledError, match="opencv-python-headless"):
        ours.bilateralFilter(np.zeros((8, 8, 3), np.uint8), 103, 10, 2)
    with ours_only():                                  # ours needs no OpenCV
        np.testing.assert_array_equal(ours.medianBlur(np.eye(8, dtype=np.uint8), 3),
                                      ndi.median_filter(np.eye(8, dtype=np.uint8), 3,
                                                        mode="nearest"))
