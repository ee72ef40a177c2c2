"""Invariants every registered method must keep, over dtypes and layouts."""
import functools
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
    doc = inspect.getdoc(spec.func)
    assert "sigma :" in doc
    assert doc.index("data_range : float, optional") < doc.index("Returns")


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


# --- scale and offset equivariance (STYLE lesson 14, issue 18) ---------------------------
#
# On float images f(a x + c, sigma=a s, data_range=a r) == a f(x, sigma=s, data_range=r)
# + c for any a > 0: intensity parameters and the data range (documented "in the image's
# units") scale with the data, and nothing inside a method (floors, clips, regularisers,
# lark's steering) may assume a scale of its own. With the data range left to the
# method, float data in 8-bit or 16-bit units (x times 255 or 65535) are read as such
# (image_range), so every default, the sigma rules' choices included, scales too.
EQ_SIGMA = 0.1
SCALES = (1.0, 0.5, 2.0, 255.0, 1e-3, 1e30)
OFFSETS = (0.0, 0.3)
UNIT_SCALES = (255.0, 65535.0)
# Tolerances, relative to a times the data's span: median and adaptive-median select
# float64 samples natively, so a x_k + c is the same number either way (exact). The
# others work in float32: a x + c is rounded to 2^-24 of itself, the exp exponents then
# move by about 1e-6 relative, which measured at most 2e-6 of the span; 1e-4 keeps a
# margin while a scale slip anywhere is 1e-2 or more. weighted-median returns a window
# sample: where a cumulative weight lies within rounding of half the total the next
# sample is picked, so up to 1 % of the values may jump (measured: none here, 1 of
# 5760 on a 40 x 48 RGB image at a = 255).
EQ_RTOL = 1e-4
EXACT = {"median", "adaptive-median"}
SELECTS = {"weighted-median"}


def smooth_noisy_float(layout, seed=0):
    """float64 (24, 21) or (24, 21, 3): a smooth pattern with a step, plus noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    clean = 0.5 + 0.3 * np.sin(cols / 5.0) * np.cos(rows / 7.0) + 0.15 * (cols > 10)
    if layout == "rgb":
        clean = np.stack([clean, 0.8 * clean + 0.1, 1.0 - clean], axis=2)
    return clean + EQ_SIGMA * rng.standard_normal(clean.shape)


@functools.lru_cache(maxsize=None)
def equivariance_reference(name, layout):
    image = smooth_noisy_float(layout)
    return image, REGISTRY[name].func(image, sigma=EQ_SIGMA)


def assert_scaled(name, out, expected, atol, context):
    if name in EXACT and atol < 1e20:
        np.testing.assert_array_equal(out, expected, err_msg=context)
    elif name in SELECTS:
        off = np.abs(out - expected) > atol
        assert off.mean() <= 0.01, f"{off.sum()} of {off.size} values moved ({context})"
    else:
        np.testing.assert_allclose(out, expected, rtol=0, atol=atol, err_msg=context)


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("a", SCALES)
@pytest.mark.parametrize("layout", ["gray", "rgb"])
def test_scale_and_offset_equivariance(name, a, layout):
    spec = REGISTRY[name]
    image, reference = equivariance_reference(name, layout)
    assert denoise.image_range(image) == 1.0
    atol = EQ_RTOL * a * np.ptp(image)
    for c in OFFSETS:
        c = c * a
        out = spec.func(a * image + c, sigma=a * EQ_SIGMA, data_range=a)
        assert_scaled(name, out, a * reference + c, atol, f"a={a}, c={c}")


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("a", UNIT_SCALES)
@pytest.mark.parametrize("layout", ["gray", "rgb"])
def test_float_data_in_8_and_16_bit_units_get_the_same_defaults(name, a, layout):
    """Issue 18: the same data as float on [0, 1] and in 8-bit or 16-bit units, every
    parameter at its default (the range read from the values): the same result, scaled."""
    spec = REGISTRY[name]
    image, reference = equivariance_reference(name, layout)
    assert denoise.image_range(a * image) == a
    out = spec.func(a * image, sigma=a * EQ_SIGMA)
    assert_scaled(name, out, a * reference, EQ_RTOL * a * np.ptp(image), f"a={a}")


@pytest.mark.parametrize("a", UNIT_SCALES)
@pytest.mark.parametrize("model", ["gaussian", "poisson-gaussian"])
def test_estimated_noise_scales_with_float_units(a, model):
    """denoise() with the noise estimated (and conditioned, for Poisson-Gaussian): the
    estimate, the model's choice and the result follow the units."""
    rng = np.random.default_rng(3)
    clean = np.clip(0.5 + 0.3 * np.sin(np.arange(64) / 6.0)[None, :] + np.zeros((64, 1)), 0, 1)
    noisy = clean + 0.05 * rng.standard_normal(clean.shape)
    expected = denoise.denoise(noisy, "nlm", noise_model=model)
    out = denoise.denoise(a * noisy, "nlm", noise_model=model)
    np.testing.assert_allclose(out, a * expected, rtol=0, atol=1e-4 * a)
    found = denoise.estimate_noise(a * noisy, warn=False)
    np.testing.assert_allclose(found.sigma, a * np.asarray(
        denoise.estimate_noise(noisy, warn=False).sigma), rtol=1e-6)


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("dtype, top", [(np.float32, 3.4e38), (np.float64, 1e300),
                                        (np.float32, -3.4e38)])
def test_values_near_the_float_limits_give_finite_output(name, dtype, top):
    """Issue 18: values that would overflow float32 arithmetic are scaled into range
    (their data range is their largest magnitude), never returned as NaN or Inf."""
    image, _ = equivariance_reference(name, "gray")
    image = (np.clip(image, 0, 1) * top).astype(dtype)
    out = REGISTRY[name].func(image, sigma=abs(top) * EQ_SIGMA)
    assert out.dtype == dtype and np.isfinite(out).all()
    if name in CONVEX:
        assert out.min() >= image.min() and out.max() <= image.max()


def test_lark_on_values_of_1e18_is_finite_and_scaled():
    """The issue's case: lark(x * 1e18, sigma=1e17) was all NaN; with the range given it
    is 1e18 times lark(x, sigma=0.1), and with the range read from the values finite."""
    image, reference = equivariance_reference("lark", "gray")
    out = denoise.lark(image * 1e18, sigma=1e17, data_range=1e18)
    np.testing.assert_allclose(out, 1e18 * reference, rtol=0, atol=1e18 * EQ_RTOL)
    assert np.isfinite(denoise.lark(image * 1e18, sigma=1e17)).all()


@pytest.mark.parametrize("values, expected", [
    ([0.0, 1.0], 1.0), ([-0.3, 1.4], 1.0), ([0.0, 4.0], 1.0), ([0.0, 4.5], 255.0),
    ([0.0, 255.0], 255.0), ([-20.0, 300.0], 255.0), ([0.0, 1020.0], 255.0),
    ([0.0, 1021.0], 65535.0), ([0.0, 65535.0], 65535.0), ([0.0, 262140.0], 65535.0),
    ([0.0, 5e5], 5e5), ([-7e5, 1.0], 7e5), ([0.0, 0.0], 1.0)])
def test_float_data_range_is_read_from_the_values(values, expected):
    image = np.array([values], np.float64)
    assert denoise.image_range(image) == expected
    assert denoise.image_range(image.astype(np.float32)) == pytest.approx(expected)


def test_data_range_given_is_checked():
    image = np.full((4, 4), 5e7)
    with pytest.raises(denoise.InvalidParameterError, match="data range 1 is too small"):
        denoise.nlm(image, sigma=1.0, data_range=1.0)
    for bad in (0.0, -1.0, float("nan"), float("inf"), "255", True):
        with pytest.raises(denoise.InvalidParameterError, match="data range"):
            denoise.median(image, data_range=bad)
    assert denoise.image_range(np.zeros((2, 2), np.uint8)) == 255.0
    assert denoise.image_range(np.zeros((2, 2), np.uint8), data_range=100) == 100.0
