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
NO_PLACE = np.zeros((16, 2), np.float32)


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
@pytest.mark.parametrize("value", ["wiener", "ridge", "identity"])
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


@pytest.mark.parametrize("shape, params", [
    ((23, 19), dict(stages=2, weights="softmax", pca_dims=6, pca_dims2=4, position="adaptive",
                    width=3.0)),
    ((17, 21, 3), dict(stages=2, value="wiener", pca_dims2=4, position="steer", width=2.0)),
    ((21, 20), dict(stages=1, weights="softmax", position="gauss", width=2.0, h=0.3)),
], ids=["softmax-pca-adaptive", "color-wiener-pca2-steer", "softmax-gauss"])
def test_features_and_positions_equal_brute_force(shape, params):
    """PCA features (the fitted basis) and positional forms (ours, of each stage's
    pilot) used by the brute force directly: projected patch distances plus pen P(t)
    in the matching, and in softmax weights."""
    from denoise.filters._features import position_form

    rng = np.random.default_rng(len(shape))
    image = rng.random(shape).astype(np.float32)
    spec = REGISTRY["attention"]
    plan = spec.plan(ImageInfo.of(image), 0.2, **{**SMALL, **params})
    plan = spec.fit(image if image.ndim == 3 else image[..., None], plan)
    out = spec.run(image, plan)
    work = image.astype(np.float64) if image.ndim == 3 else image[..., None]
    if work.shape[2] == 3:
        work = work @ YUV.T
    expected = None
    for (stage, kind), basis in zip(plan.config.stages, plan.config.bases):
        guide = (work if expected is None else expected)[..., 0].astype(np.float32)
        form = position_form(guide, params["position"], params["width"], 0.2)
        expected = naive.attention_stage(work, expected, stage, kind, basis=basis, form=form)
    if work.shape[2] == 3:
        expected = expected @ YUV
    np.testing.assert_allclose(out.reshape(work.shape), expected, atol=3e-4)


@pytest.mark.parametrize("shape, value", [((22, 20), "wiener"), ((17, 19, 3), "ridge")])
def test_lichi_stages_equal_brute_force(shape, value):
    """Four stages: the later three filter the progressive image Z with its own noise
    level per group and re-inject 0.5, then 0.25 of the noise into the next Z."""
    rng = np.random.default_rng(len(shape))
    image = rng.random(shape).astype(np.float32)
    spec = REGISTRY["attention"]
    plan = spec.plan(ImageInfo.of(image), 0.2, **{**SMALL, "stages": 4, "value": value})
    assert [stage.tau for stage, _ in plan.config.stages] == [0.0, 0.5, 0.25, 0.0]
    out = spec.run(image, plan)
    work = image.astype(np.float64) if image.ndim == 3 else image[..., None]
    if work.shape[2] == 3:
        work = work @ YUV.T
    expected = naive.attention_stage(work, None, plan.config.stages[0][0], "ridge")
    values = work
    for stage, kind in plan.config.stages[1:]:
        expected, after = naive.attention_stage(work, expected, stage, kind, values=values)
        values = values if after is None else after
    if work.shape[2] == 3:
        expected = expected @ YUV
    np.testing.assert_allclose(out.reshape(work.shape), expected, atol=3e-4)


@pytest.mark.parametrize("params", [dict(value="wiener"), dict(value="ridge"),
                                    dict(value="identity"), dict(value="identity", weights="softmax"),
                                    dict(stages=3), dict(stages=1)],
                         ids=["wiener", "ridge", "identity", "identity-softmax", "lichi", "one"])
def test_every_flow_removes_noise(params):
    """On a smooth image with noise of sigma 0.1, every value map and flow leaves
    less than half the noise (a degenerate system would amplify it)."""
    rows, cols = np.mgrid[0:64, 0:64]
    clean = (0.5 + 0.3 * np.sin(rows / 9.0) * np.cos(cols / 7.0)).astype(np.float32)
    noisy = clean + 0.1 * np.random.default_rng(1).standard_normal(clean.shape).astype(np.float32)
    out = attention(noisy, sigma=0.1, **params)
    assert np.sqrt(np.mean((out - clean) ** 2)) < 0.05


def test_a_tiny_positional_width_leaves_softmax_the_identity():
    """Every other member's weight vanishes, so each patch keeps itself."""
    image = np.random.default_rng(3).random((24, 26)).astype(np.float32)
    out = attention(image, sigma=0.1, weights="softmax", stages=1, position="gauss",
                    width=0.05, **SMALL)
    np.testing.assert_allclose(out, image, atol=1e-6)
    wide = attention(image, sigma=0.1, weights="softmax", stages=1, **SMALL)
    assert np.abs(wide - image).max() > 0.05


def test_position_forms():
    """gauss: |t|^2 / (2 w^2); adaptive on a flat image: the widest; steer at a
    vertical edge: narrow across it (columns), long along it (rows)."""
    from denoise.filters._features import RHO_MIN, position_form

    flat = np.full((20, 24), 0.4, np.float32)
    for kind in ("gauss", "adaptive"):
        form = position_form(flat, kind, 5.0, 0.1)
        np.testing.assert_allclose(form[[0, 2]], 1 / 50.0, rtol=1e-5)
        np.testing.assert_array_equal(form[1], 0.0)
    edge = np.where(np.arange(24) < 12, 0.2, 0.8).astype(np.float32)[None].repeat(20, 0)
    adaptive = position_form(edge, "adaptive", 5.0, 0.02)
    assert adaptive[0, 10, 11] == pytest.approx(1 / (2 * RHO_MIN ** 2), rel=1e-3)
    assert adaptive[0, 10, 2] == pytest.approx(1 / 50.0, rel=1e-5)
    steer = position_form(edge, "steer", 5.0, 0.02)
    assert steer[2, 10, 11] > 10 * steer[0, 10, 11] > 0


def test_features_are_patch_projections_on_the_principal_axes():
    """The basis spans the sample's leading principal axes (numpy's SVD of the same
    sample), and each feature is the direct projection of its patch."""
    from denoise.filters import _features

    rng = np.random.default_rng(2)
    plane = (np.add.outer(np.sin(np.arange(40) / 3), np.cos(np.arange(36) / 5))
             + 0.1 * rng.standard_normal((40, 36))).astype(np.float32)
    f, dims = 2, 5
    basis = _features.fit_basis(plane, f, dims, seed=4)
    windows = np.lib.stride_tricks.sliding_window_view(plane, (5, 5))
    pick = np.random.default_rng(4)
    rows = pick.integers(0, windows.shape[0], _features.SAMPLES)
    cols = pick.integers(0, windows.shape[1], _features.SAMPLES)
    sample = windows[rows, cols].reshape(len(rows), -1).astype(np.float64)
    _, _, vt = np.linalg.svd(sample - sample.mean(axis=0), full_matrices=False)
    for i in range(dims):                      # the same axes, up to sign
        assert abs(vt[i] @ basis[:, i]) == pytest.approx(1.0, abs=1e-4)
    feats = _features.features(plane, basis, f)
    for r, c in [(2, 2), (17, 30), (37, 33)]:
        direct = plane[r - f:r + f + 1, c - f:c + f + 1].ravel() @ basis
        np.testing.assert_allclose(feats[r, c], direct, rtol=1e-4, atol=1e-5)


def test_same_seed_same_output_on_one_and_two_threads():
    from denoise._config import get_threads, set_threads

    image = np.random.default_rng(9).random((60, 50, 3)).astype(np.float32)
    params = dict(SMALL, pca_dims=8, pca_dims2=6, position="steer", seed=3)
    before = get_threads()
    try:
        set_threads(1)
        one = attention(image, sigma=0.1, **params)
        set_threads(2)
        two = attention(image, sigma=0.1, **params)
    finally:
        set_threads(before)
    np.testing.assert_array_equal(one, two)
    other = attention(image, sigma=0.1, **dict(params, seed=4))
    assert not np.array_equal(one, other)


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
    _groups.softmax_group(m, n, y, k, n, floor, inv_h2, NO_PLACE, np.zeros(3, np.float32),
                          sq, low, est, weights)
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
    none = np.zeros(3, np.float32)
    _groups.softmax_group(m, n, m, k, n, 0.0, 1e-12, NO_PLACE, none, sq, low, est, weights)
    np.testing.assert_allclose(est, np.broadcast_to(m.mean(axis=0), (k, n)), atol=1e-6)
    _groups.softmax_group(m, n, m, k, n, 0.0, 1e12, NO_PLACE, none, sq, low, est, weights)
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


def test_extreme_values_never_divide_by_an_empty_aggregation():
    """Found by `make fuzz`: float images of values like +-1e30, +-1 and +-1e-30 at a
    sigma near 1 (so about 1e-30 of the range) leave pixels no aggregation weight
    in a stage; 0/0 made them NaN there (the next stage hid it, with a warning). They
    keep their value instead: no warning, finite output."""
    import warnings

    from denoise.errors import DenoiseError

    rng = np.random.default_rng(0)
    values = [0.0, 1.0, -1.0, 1e-30, -1e-30, 1e30, -1e30]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(150):
            height, width = rng.integers(1, 17, 2)
            shape = (height, width) if rng.random() < 0.5 else \
                (height, width, int(rng.integers(1, 5)))
            image = rng.choice(values, size=shape).astype(rng.choice([np.float32, np.float64]))
            sigma = float(rng.uniform(1e-4, 2))
            try:
                out = attention(image, sigma=sigma)
            except DenoiseError:
                continue
            assert np.isfinite(out).all()
