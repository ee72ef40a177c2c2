"""adaptive-median and weighted-median: analytic cases, brute-force references, errors."""
import numpy as np
import pytest

from denoise import InvalidParameterError, MissingSigmaError, adaptive_median, median, \
    weighted_median
from denoise._image import ImageInfo
from denoise.filters._sortnet import column_network
from denoise.filters._wmedian_kernels import select_band, select_scratch
from denoise.registry import REGISTRY

from conftest import random_image, threads


def brute_adaptive(image, min_radius, max_radius):
    """Gonzalez-Woods levels A and B, pixel by pixel on the mirrored image."""
    padded = np.pad(image.astype(np.float64), max_radius, mode="symmetric")
    out = np.empty(image.shape)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            z = padded[i + max_radius, j + max_radius]
            for r in range(min_radius, max_radius + 1):
                w = padded[i + max_radius - r:i + max_radius + r + 1,
                           j + max_radius - r:j + max_radius + r + 1]
                low, med, high = w.min(), np.median(w), w.max()
                out[i, j] = med
                if low < med < high:
                    out[i, j] = z if low < z < high else med
                    break
    return out.astype(image.dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("radii", [(1, 1), (1, 3), (2, 4)])
def test_adaptive_equals_brute_force(dtype, radii):
    image = random_image((23, 19), dtype, seed=sum(radii))
    top = image.max()
    rng = np.random.default_rng(1)
    u = rng.random(image.shape)                  # salt and pepper on top of the texture
    image[u < 0.15] = 0
    image[u > 0.85] = top
    np.testing.assert_array_equal(adaptive_median(image, min_radius=radii[0],
                                                  max_radius=radii[1]),
                                  brute_adaptive(image, *radii))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_adaptive_leaves_an_impulse_free_image_unchanged(dtype):
    """Flat areas, straight edges and block corners are not impulses: nothing changes.

    (A pixel that is the strict extreme of its window, such as the corner of a
    ramp, does look like an impulse to the filter; that is the algorithm.)
    """
    y, x = np.mgrid[0:40, 0:48]
    for image in (np.full((20, 20), 100), np.where(x < 17, 30, 220),
                  np.where((x // 8 + y // 8) % 2, 10, 200), 40 + 20 * (y // 5)):
        image = image.astype(dtype)
        np.testing.assert_array_equal(adaptive_median(image), image)


def test_adaptive_removes_an_isolated_impulse_exactly():
    x = np.arange(30)[None, :] * np.ones((30, 1), int)
    image = np.where(x < 13, 60, 180).astype(np.uint8)        # two flat halves
    noisy = image.copy()
    noisy[14, 15] = 255                                       # next to the edge
    noisy[3, 5] = 0
    noisy[0, 29] = 0                                          # in a corner
    np.testing.assert_array_equal(adaptive_median(noisy), image)


def test_adaptive_beats_median_on_dense_impulses():
    y, x = np.mgrid[0:64, 0:64]
    clean = (128 + 60 * np.sin(x / 6.0) * np.cos(y / 9.0)).astype(np.uint8)
    noisy = clean.copy()
    u = np.random.default_rng(0).random(clean.shape)
    noisy[u < 0.2] = 0
    noisy[u > 0.8] = 255
    err_adaptive = np.abs(adaptive_median(noisy, max_radius=5).astype(int) - clean).mean()
    err_median = np.abs(median(noisy, radius=2).astype(int) - clean).mean()
    assert err_adaptive < 0.5 * err_median


@pytest.mark.parametrize("kwargs, match", [
    ({"max_radius": 0}, "max_radius must be an integer >= 1"),
    ({"max_radius": 16}, "max_radius must be an integer <= 15"),
    ({"min_radius": 4, "max_radius": 3}, "min_radius must be an integer <= 3"),
    ({"min_radius": 1.5}, "min_radius must be an integer"),
])
def test_adaptive_parameter_errors(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        adaptive_median(np.zeros((8, 8), np.uint8), **kwargs)


# --- weighted median ----------------------------------------------------------------

def brute_weighted_median(values, weights):
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order].astype(np.float64))
    return values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])]


@pytest.mark.parametrize("search, channels", [(1, 1), (2, 3), (5, 1)])
def test_weighted_selection_equals_sorting(search, channels):
    """The weighted median of every window of a band, from the sorted lists that slide
    along the rows, equals sorting the window: ties (few distinct values), zero
    weights, negative values, rows past the first tile of weights."""
    rng = np.random.default_rng(search)
    size, r0, n_rows, width = 2 * search + 1, 2, 3, 41
    out = np.zeros((r0 + n_rows + 1, width, channels), np.float32)
    for trial in range(6):
        high = 3 if trial % 2 else 1000
        padded = rng.integers(-2, high, (out.shape[0] + 2 * search, width + 2 * search,
                                         channels)).astype(np.float32)
        weights = rng.random((n_rows, size * size, width)).astype(np.float32)
        weights *= rng.random(weights.shape) < (0.2 if trial > 3 else 0.7)
        weights[:, size * size // 2] += 0.1
        select_band(padded, out, r0, n_rows, weights, column_network(size),
                    select_scratch(search, width))
        for x, j, c in np.ndindex(n_rows, width, channels):
            window = padded[r0 + x:r0 + x + size, j:j + size, c].ravel()
            assert out[r0 + x, j, c] == brute_weighted_median(window, weights[x, :, j])


@pytest.mark.parametrize("search", [1, 2, 4])
@pytest.mark.parametrize("shape", [(17, 23), (12, 15, 3)])
def test_uniform_weights_give_the_plain_median(search, shape):
    """With h huge every weight is exactly 1: the plain median of the search window."""
    image = random_image(shape, np.float32, seed=search)
    out = weighted_median(image, h=1e30, search=search, prefilter=False)
    np.testing.assert_array_equal(out, median(image, radius=search))


@pytest.mark.parametrize("prefilter", [True, False])
@pytest.mark.parametrize("correlation", [True, False])
def test_constant_image_stays_constant(prefilter, correlation):
    image = np.full((20, 18, 3), 173, np.uint8)
    out = weighted_median(image, sigma=20, prefilter=prefilter, correlation=correlation)
    np.testing.assert_array_equal(out, image)


def test_weights_follow_patch_similarity():
    """Two flat halves with noise: the weighted median keeps the step; the mean would blur."""
    rng = np.random.default_rng(0)
    clean = np.where(np.arange(40)[None, :] < 20, 0.2, 0.8) * np.ones((40, 1))
    noisy = (clean + rng.normal(0, 0.05, clean.shape)).astype(np.float32)
    out = weighted_median(noisy, sigma=0.05, search=5)
    assert np.abs(out - clean).mean() < 0.5 * np.abs(noisy - clean).mean()
    assert np.abs(out[:, 17:23] - clean[:, 17:23]).max() < 0.2


def test_one_thread_equals_two_threads():
    image = random_image((31, 27, 3), np.float32, seed=9)
    for kwargs in ({"sigma": 0.1}, {"sigma": 0.1, "correlation": True}):
        with threads(1):
            one = weighted_median(image, **kwargs)
        with threads(2):
            two = weighted_median(image, **kwargs)
        np.testing.assert_array_equal(one, two)
    with threads(1):
        one = adaptive_median(image)
    with threads(2):
        two = adaptive_median(image)
    np.testing.assert_array_equal(one, two)


def test_bands_do_not_change_the_result(monkeypatch):
    import denoise.filters.weighted_median as module

    image = random_image((29, 16), np.float32, seed=4)
    whole = weighted_median(image, sigma=0.1)
    monkeypatch.setattr(module, "BAND_FLOATS", 121 * 16 * 3)     # bands of 3 rows
    assert module.band_rows(5, 29, 16) == 3
    np.testing.assert_array_equal(weighted_median(image, sigma=0.1), whole)


def test_weighted_median_needs_sigma_or_h():
    with pytest.raises(MissingSigmaError, match="h"):
        weighted_median(np.zeros((8, 8), np.uint8))


@pytest.mark.parametrize("kwargs, match", [
    ({"patch": 6}, "patch must be an integer <= 5"),
    ({"search": 0}, "search must be an integer >= 1"),
    ({"h": -1.0}, "h must be a finite number > 0"),
    ({"prefilter": "yes"}, "prefilter must be true or false"),
])
def test_weighted_median_parameter_errors(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        weighted_median(np.zeros((8, 8), np.uint8), sigma=10.0, **kwargs)


@pytest.mark.parametrize("correlation", [False, True])
@pytest.mark.parametrize("patch, search", [(0, 1), (1, 2), (2, 3)])
def test_weights_equal_a_direct_computation(patch, search, correlation):
    """Every weight from its definition: patch means, variances and covariance
    pixel by pixel on the mirrored guide, IPOL distance offset, centre rule."""
    from denoise.filters.weighted_median import window_weights

    rng = np.random.default_rng(patch + search)
    n_rows, band, sigma, h = 4, 1, 0.1, 0.07
    row0 = band * n_rows
    guide = rng.random((11, 9)).astype(np.float32)
    plan = REGISTRY["weighted-median"].plan(ImageInfo.of(guide), sigma, h=h, patch=patch,
                                            search=search, prefilter=False,
                                            correlation=correlation)
    out = window_weights(guide, plan, band, n_rows)
    size, m = 2 * search + 1, patch + search
    g = np.pad(guide.astype(np.float64), m, mode="symmetric")
    for a in range(n_rows):
        for b in range(guide.shape[1]):
            i, j = row0 + a + m, b + m                  # the pixel in padded coordinates
            pc = g[i - patch:i + patch + 1, j - patch:j + patch + 1]
            expected = np.empty(size * size)
            for o in range(size * size):
                y, x = i + o // size - search, j + o % size - search
                po = g[y - patch:y + patch + 1, x - patch:x + patch + 1]
                d2 = np.mean((pc - po) ** 2)
                w = np.exp(-max(d2 - 2 * sigma ** 2, 0.0) / h ** 2)
                if correlation:
                    cov = np.mean(pc * po) - pc.mean() * po.mean()
                    rho = cov / np.sqrt((pc.var() + sigma ** 2) * (po.var() + sigma ** 2))
                    w *= max(rho, 0.0)
                expected[o] = w
            middle = search * size + search
            others = np.delete(expected, middle)
            expected[middle] = others.max() if others.max() > 0 else 1.0
            # float32 weights (the shared exp, relative 1e-5; float32 patch sums)
            tol = dict(rtol=1e-3, atol=2e-5) if correlation else dict(rtol=2e-4, atol=1e-6)
            np.testing.assert_allclose(out[:, a, b], expected, **tol)
