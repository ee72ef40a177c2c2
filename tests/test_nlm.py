"""Non-local means: the fast kernel against the direct formula, and its edge cases."""
import numba
import numpy as np
import pytest

import denoise
from denoise import nlm
from denoise._image import ImageInfo
from denoise.filters._weights import neg_exp
from denoise.filters.nlm import BAND

import naive
from conftest import random_image


def smooth_noisy(shape, sigma, seed=0):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    clean = 0.5 + 0.3 * np.sin(rows / 3.0) * np.cos(cols / 4.0)
    if len(shape) == 3:
        clean = np.stack([clean * (0.8 + 0.1 * c) for c in range(shape[2])], axis=2)
    return (clean + rng.normal(0, sigma, clean.shape)).astype(np.float32)


@pytest.mark.parametrize("aggregate", ["pixel", "block"])
@pytest.mark.parametrize("shape, f, d", [
    ((13, 11), 1, 2),
    ((9, 14, 3), 2, 3),
    ((17, 10), 0, 4),
    ((6, 5), 3, 5),                        # patch and window larger than the image
    ((12, 15), 4, 2),
    ((10, 9, 3), 5, 1),
    ((BAND + 9, 7), 2, 3),                 # two bands; pairs across the band border
    ((2 * BAND + 3, 6, 3), 1, 2),
])
@pytest.mark.parametrize("h, sigma", [(0.2, 0.05), (0.06, 0.1)])
def test_matches_direct_formula(shape, f, d, aggregate, h, sigma):
    image = smooth_noisy(shape, 0.1)
    out = nlm(image, sigma=sigma, patch_radius=f, search_radius=d, h=h, aggregate=aggregate)
    work = image if image.ndim == 3 else image[..., None]
    ref = naive.nlm(work, patch_radius=f, search_radius=d, h=h, sigma=sigma,
                    block=aggregate == "block")
    np.testing.assert_allclose(out.reshape(ref.shape), ref, atol=1e-4)


def test_fast_exp():
    y = np.linspace(0, 40, 4001, dtype=np.float32)
    fast = np.array([neg_exp(v) for v in y])
    exact = np.where(y < 30, np.exp(-y.astype(np.float64)), 0.0)
    assert np.all(np.abs(fast - exact) <= 1e-5 * exact + 1e-30)


@pytest.mark.parametrize("aggregate", ["pixel", "block"])
def test_tiny_h_is_identity(aggregate):
    image = random_image((20, 17, 3), np.float32, seed=1)
    out = nlm(image, sigma=0.01, h=1e-6, aggregate=aggregate)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, image, atol=1e-6)


@pytest.mark.parametrize("aggregate", ["pixel", "block"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_constant_image_unchanged(aggregate, dtype):
    image = np.full((30, 26), 0.4 * (255 if dtype == np.uint8 else 65535 if dtype == np.uint16
                                     else 1.0)).astype(dtype)
    out = nlm(image, sigma=0.05 * (255 if dtype == np.uint8 else 1), aggregate=aggregate)
    np.testing.assert_array_equal(out, image) if dtype != np.float32 else \
        np.testing.assert_allclose(out, image, rtol=1e-6)


def test_uint16_and_float_not_quantized_to_8_bits():
    image = smooth_noisy((40, 40), 0.05)
    out = nlm(image, sigma=0.05)
    levels = np.unique(np.round(out.astype(np.float64) * 255, 6))
    assert len(levels) > 1000 and not np.allclose(levels, np.round(levels))
    wide = (np.clip(image, 0, 1) * 65535).astype(np.uint16)
    out16 = nlm(wide, sigma=0.05 * 65535)
    assert np.any(out16 % 257 != 0)                       # not 8-bit values scaled up
    assert len(np.unique(out16)) > 1000


def test_one_thread_equals_two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 threads")
    image = smooth_noisy((2 * BAND + 20, 33, 3), 0.1)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = nlm(image, sigma=0.1)
        numba.set_num_threads(2)
        two = nlm(image, sigma=0.1)
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_array_equal(one, two)


def test_denoises_and_block_beats_pixel():
    clean = smooth_noisy((64, 64), 0.0)
    noisy = smooth_noisy((64, 64), 0.1, seed=3)
    err = {a: np.mean((nlm(noisy, sigma=0.1, aggregate=a) - clean) ** 2)
           for a in ("pixel", "block")}
    assert err["block"] < err["pixel"] < 0.25 * np.mean((noisy - clean) ** 2)


def test_defaults_follow_sigma_and_color():
    spec = denoise.REGISTRY["nlm"]
    gray = spec.resolve(ImageInfo.typical("uint8", 1), 25.0)
    assert (gray["patch_radius"], gray["search_radius"]) == (3, 7)
    assert gray["h"] == pytest.approx(0.5 * 25)
    assert spec.resolve(ImageInfo.typical("uint16", 1), 50 * 257.0)["patch_radius"] == 4
    color = spec.resolve(ImageInfo.typical("uint8", 3), 25.0)
    assert color["patch_radius"] == 1 and color["h"] == pytest.approx(0.55 * 25)


@pytest.mark.parametrize("kwargs, match", [
    (dict(patch_radius=11), "patch_radius"),
    (dict(search_radius=0), "search_radius"),
    (dict(h=-1.0), "h"),
    (dict(aggregate="mean"), "aggregate"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(denoise.InvalidParameterError, match=match):
        nlm(np.zeros((8, 8), np.uint8), sigma=10, **kwargs)


def test_needs_sigma_unless_all_given():
    with pytest.raises(denoise.MissingSigmaError, match="patch_radius, h"):
        nlm(np.zeros((8, 8), np.uint8))
    with pytest.raises(denoise.MissingSigmaError, match="to set h:"):
        nlm(np.zeros((8, 8), np.uint8), patch_radius=1)
    out = nlm(np.zeros((8, 8), np.uint8), patch_radius=1, h=10.0)   # search_radius: 7
    assert out.shape == (8, 8)
