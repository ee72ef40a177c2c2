"""attention: the group kernels against numpy solves, the whole method against a
brute-force version, and its behaviour on hostile images."""
import numpy as np
import pytest

import naive
from denoise import attention
from denoise._image import ImageInfo
from denoise.filters import _groups
from denoise.registry import REGISTRY

YUV = np.array([[1 / np.sqrt(3)] * 3, [1 / np.sqrt(2), 0, -1 / np.sqrt(2)],
                [1 / np.sqrt(6), -2 / np.sqrt(6), 1 / np.sqrt(6)]])
SMALL = dict(search=4, patch=5, group=6, stride=3, patch2=3, group2=14, stride2=2)


def test_heap_keeps_the_k_smallest():
    rng = np.random.default_rng(0)
    values = rng.random(200).astype(np.float32)
    dist, index = np.empty(9, np.float32), np.empty(9, np.int64)
    count = 0
    for i, v in enumerate(values):
        count = _groups.heap_push(dist, index, count, 9, v, i)
    assert count == 9
    assert sorted(index) == sorted(np.argsort(values)[:9])
    np.testing.assert_array_equal(np.sort(dist), np.sort(values)[:9])


def scratch(k, n):
    side = max(k, n)
    return (np.empty((side, side)), np.empty((side, side)), np.empty((k, n), np.float32),
            np.empty(k))


@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("k, n", [(7, 12), (12, 7), (1, 5)])
def test_ridge_weights_equal_a_direct_solve(k, n, affine):
    rng = np.random.default_rng(k * n)
    m = rng.normal(0.5, 0.2, (k, n)).astype(np.float32)
    y = rng.normal(0.5, 0.2, (k, n)).astype(np.float32)
    lam, c = 0.05 * n * 0.01, 1.05 * n * 0.01
    sq, low, est, weights = scratch(k, n)
    _groups.ridge_group(m, y, k, n, lam, c, affine, sq, low, est, weights, np.empty(n))
    inverse = np.linalg.solve(m.astype(np.float64) @ m.T + lam * np.eye(k), np.eye(k))
    if affine:
        r = inverse @ np.ones(k)
        inverse -= np.outer(r, r) / r.sum()
    theta = np.eye(k) - c * inverse
    np.testing.assert_allclose(est, theta @ y, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(weights, 1 / np.clip((theta ** 2).sum(1), 1 / k, 1),
                               rtol=1e-6)
    if affine:
        np.testing.assert_allclose(theta.sum(axis=1), 1.0, atol=1e-9)


def test_wiener_map_equals_its_formula():
    rng = np.random.default_rng(3)
    k, n = 20, 9
    x = rng.normal(0.5, 0.2, (k, n)).astype(np.float32)
    y = (x + rng.normal(0, 0.1, (k, n))).astype(np.float32)
    b = 0.01
    sq, low, est, weights = scratch(k, n)
    _groups.wiener_group(x, y, k, n, b, sq, low, np.empty(n), est, weights)
    xd, yd = x.astype(np.float64), y.astype(np.float64)
    cov = np.cov(xd.T, bias=True)
    mu = yd.mean(axis=0)
    expected = mu + (yd - mu) @ cov @ np.linalg.inv(cov + b * np.eye(n))
    np.testing.assert_allclose(est, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(weights, 1.0)


def test_a_singular_system_falls_back_to_the_group_mean():
    k, n = 4, 3
    y = np.full((k, n), 0.5, np.float32)
    sq, low, est, weights = scratch(k, n)
    _groups.ridge_group(y, y, k, n, 0.0, 1.0, False, sq, low, est, weights, np.empty(n))
    np.testing.assert_array_equal(est, y)
    np.testing.assert_array_equal(weights, 1.0)


@pytest.mark.parametrize("weights", ["ridge", "softmax"])
@pytest.mark.parametrize("value", ["wiener", "ridge"])
@pytest.mark.parametrize("stages", [1, 2])
@pytest.mark.parametrize("shape", [(23, 19), (17, 21, 3)])
def test_attention_equals_brute_force(shape, stages, value, weights):
    rng = np.random.default_rng(len(shape) + stages)
    image = rng.random(shape).astype(np.float32)
    spec = REGISTRY["attention"]
    plan = spec.plan(ImageInfo.of(image), 0.2, stages=stages, value=value, weights=weights,
                     **SMALL)
    out = spec.run(image, plan)
    work = image.astype(np.float64) if image.ndim == 3 else image[..., None]
    if work.shape[2] == 3:                       # orthonormal luma / chroma (NL-Bayes)
        work = work @ YUV.T
    expected = None
    for stage, kind in plan.config.stages:
        expected = naive.attention_stage(work, expected, stage, kind)
    if work.shape[2] == 3:
        expected = expected @ YUV
    np.testing.assert_allclose(out.reshape(work.shape), expected, atol=2e-4)


def test_a_located_crop_meets_the_same_grid():
    """A crop told where it lies gets the full image's references; told nothing, it
    gets its own grid (and a different result)."""
    rng = np.random.default_rng(5)
    image = rng.random((40, 40)).astype(np.float32)
    spec = REGISTRY["attention"]
    plan = spec.plan(ImageInfo.of(image), 0.2, stages=1, **SMALL)
    full = spec.run(image, plan)
    halo, r0 = plan.halo, 19                  # r0 - halo is off the grid (stride 3)
    crop = image[r0 - halo:, r0 - halo:]
    located = spec.run(crop, spec.place(plan, r0 - halo, r0 - halo))
    np.testing.assert_array_equal(located[halo:, halo:], full[r0:, r0:])
    assert not np.array_equal(spec.run(crop, plan)[halo:, halo:], full[r0:, r0:])


@pytest.mark.parametrize("image", [
    np.zeros((30, 30), np.uint8), np.full((30, 30), 255, np.uint8),
    np.full((30, 30, 3), 65535, np.uint16),
    np.where(np.arange(900).reshape(30, 30) % 7 == 0, 1e30, -1e30).astype(np.float32),
    np.full((30, 30), 1e-30, np.float32),
], ids=["black", "white", "white16", "huge", "tiny"])
@pytest.mark.parametrize("sigma_scale", [1e-6, 0.1, 10.0])
def test_never_nan_or_inf(image, sigma_scale):
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(image.dtype, 1.0)
    out = attention(image, sigma=sigma_scale * scale, **SMALL)
    assert np.isfinite(out.astype(np.float64)).all()
    if image.min() == image.max():
        np.testing.assert_allclose(out.astype(np.float64), image.astype(np.float64),
                                   rtol=1e-5)


def test_images_smaller_than_a_patch():
    for shape in [(1, 1), (2, 7), (5, 3, 3)]:
        image = np.random.default_rng(0).random(shape).astype(np.float32)
        out = attention(image, sigma=0.1)
        assert out.shape == image.shape and np.isfinite(out).all()


def test_sigma_is_required():
    from denoise import MissingSigmaError
    with pytest.raises(MissingSigmaError, match="noise level, whatever its parameters"):
        attention(np.zeros((8, 8), np.uint8), patch=5, group=8)


def test_patch_distances_are_the_direct_sums_and_do_not_depend_on_the_band():
    """The distances at the references equal the direct patch sums, and the same
    centre gives the same bits from two bands that start at different rows."""
    from denoise.filters._weights import distance_scratch, pad_band, patch_distances
    from denoise.filters._weights import reflect_index

    rng = np.random.default_rng(11)
    guide = rng.random((40, 33, 1)).astype(np.float32)
    f, d = 2, 4
    m = f + d
    maps = (reflect_index(40, m), reflect_index(33, m))
    cols = np.array([2, 7, 11, 30])
    padded = np.pad(guide[..., 0].astype(np.float64), m, mode="symmetric")

    def distances(r0, rows, tr, tc):
        pb = np.empty((1, rows[-1] + 1 + 2 * m, 33 + 2 * m), np.float32)
        pad_band(guide, r0, rows[-1] + 1, m, maps[0], maps[1], pb)
        out = np.empty((len(rows), len(cols)), np.float32)
        patch_distances(pb, f, m, tr, tc, np.array(rows), cols, distance_scratch(f, 33), out)
        return out

    for tr, tc in [(1, 0), (-3, 2), (4, -4)]:
        a = distances(10, [0, 3, 6, 9], tr, tc)           # centres 10, 13, 16, 19
        b = distances(13, [0, 3, 6], tr, tc)              # centres 13, 16, 19
        np.testing.assert_array_equal(a[1:], b)
        for i, x in enumerate([10, 13, 16, 19]):
            for j, c in enumerate(cols):
                p = padded[x + m - f:x + m + f + 1, c + m - f:c + m + f + 1]
                q = padded[x + m + tr - f:x + m + tr + f + 1, c + m + tc - f:c + m + tc + f + 1]
                assert a[i, j] == pytest.approx(((p - q) ** 2).sum(), rel=1e-5)


def test_softmax_weights_equal_their_formula():
    """Each member attends to the group with weights exp(-max(d / n - floor, 0) / h^2)
    (0 past the cutoff of 30), the largest of the others on its own diagonal (centre
    rule), rows normalised; inv_h2 is chosen so that some weights are cut."""
    rng = np.random.default_rng(4)
    k, n, floor, inv_h2 = 9, 16, 0.02, 400.0
    m = rng.normal(0.5, 0.2, (k, n)).astype(np.float32)
    y = rng.normal(0.5, 0.2, (k, n)).astype(np.float32)
    sq, low, est, weights = scratch(k, n)
    _groups.softmax_group(m, y, k, n, floor, inv_h2, sq, low, est, weights)
    md = m.astype(np.float64)
    dist = ((md[:, None, :] - md[None, :, :]) ** 2).sum(axis=2) / n
    scaled = np.maximum(dist - floor, 0.0) * inv_h2
    theta = np.where(scaled < 30, np.exp(-scaled), 0.0)
    np.fill_diagonal(theta, 0.0)
    top = theta.max(axis=1)
    np.fill_diagonal(theta, np.where(top > 0, top, 1.0))
    theta /= theta.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(est, theta @ y, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(weights, 1 / np.clip((theta ** 2).sum(1), 1 / k, 1), rtol=1e-4)


def test_softmax_with_a_huge_h_is_the_group_mean_and_a_tiny_h_the_identity():
    rng = np.random.default_rng(6)
    k, n = 7, 9
    m = rng.normal(0.5, 0.2, (k, n)).astype(np.float32)
    sq, low, est, weights = scratch(k, n)
    _groups.softmax_group(m, m, k, n, 0.0, 1e-12, sq, low, est, weights)
    np.testing.assert_allclose(est, np.broadcast_to(m.mean(axis=0), (k, n)), atol=1e-6)
    _groups.softmax_group(m, m, k, n, 0.0, 1e12, sq, low, est, weights)
    np.testing.assert_allclose(est, m, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_softmax_attention_over_the_whole_window_is_pixelwise_nlm(dtype):
    """weights=softmax, one stage, no positional term, full patches, pixel values
    (every pixel a reference keeping its own centre) and the whole window as the
    group: nlm's pixelwise result, on the pixels whose window and patches lie
    inside the image (nlm mirrors the others, attention never matches them)."""
    from denoise import nlm

    rng = np.random.default_rng(8)
    scale = 255 if dtype == np.uint8 else 1.0
    image = (np.clip(0.5 + 0.2 * rng.standard_normal((30, 33)), 0, 1) * scale).astype(dtype)
    f, d, sigma, h = 2, 4, 0.1 * scale, 0.08 * scale
    ours = attention(image, sigma=sigma, weights="softmax", stages=1, stride=1, patch=2 * f + 1,
                     search=d, group=(2 * d + 1) ** 2, h=h, aggregate="pixel")
    theirs = nlm(image, sigma=sigma, patch_radius=f, search_radius=d, h=h, aggregate="pixel")
    m = f + d
    tolerance = 1 if dtype == np.uint8 else 1e-4
    np.testing.assert_allclose(ours[m:-m, m:-m].astype(np.float64),
                               theirs[m:-m, m:-m].astype(np.float64), atol=tolerance)
    assert not np.array_equal(ours[m:-m, m:-m], image[m:-m, m:-m])
    assert np.isfinite(ours.astype(np.float64)).all()       # the border too
