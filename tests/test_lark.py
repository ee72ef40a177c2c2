"""LARK: steering, kernel regression and the iteration against direct formulas."""
import numba
import numpy as np
import pytest

import denoise
from denoise import InvalidParameterError, MissingSigmaError, lark
from denoise._image import ImageInfo
from denoise.filters import lark as L

import naive


def smooth_noisy(shape, sigma, seed=0):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    clean = 0.5 + 0.3 * np.sin(rows / 3.0) * np.cos(cols / 4.0) + 0.2 * (rows > shape[0] // 2)
    if len(shape) == 3:
        clean = np.stack([clean * (0.8 + 0.1 * c) for c in range(shape[2])], axis=2)
    return (clean + rng.normal(0, sigma, clean.shape)).astype(np.float32)


def test_disk_is_the_pixel_area_inside_a_disk():
    k = L.disk(5)
    assert k.shape == (11, 11) and k[5, 5] == 1.0
    np.testing.assert_allclose(k, k.T)
    np.testing.assert_allclose(k, k[::-1])
    assert k[0, 0] == 0.0 and 0.0 < k[0, 5] < 1.0
    assert abs(k.sum() - np.pi * 25) < 0.01 * np.pi * 25


def test_ckr_stencils_reproduce_quadratics_and_their_derivatives():
    s = L.ckr_stencils(0.5, 2)
    di, dj = np.mgrid[-2:3, -2:3].astype(float)
    poly = 3.0 + 2.0 * di - 1.5 * dj + 0.7 * di * di - 0.2 * di * dj + 0.4 * dj * dj
    np.testing.assert_allclose([(s[k] * poly).sum() for k in range(3)], [3.0, 2.0, -1.5],
                               atol=1e-4)


def test_steering_matches_svd_of_the_gradient_window():
    rng = np.random.default_rng(3)
    g1 = (rng.normal(size=(9, 12)) * 20).astype(np.float32)
    g2 = (rng.normal(size=(9, 12)) * 20 + 5).astype(np.float32)
    c = L.steering(g1, g2, analysis_radius=2, lam=1.0, alpha=0.5)
    ref = naive.lark_steering(g1, g2, disk=L.disk(2), lam=1.0, alpha=0.5)
    np.testing.assert_allclose(c[0], ref[..., 0, 0], rtol=1e-4)
    np.testing.assert_allclose(c[1], ref[..., 0, 1], rtol=1e-4, atol=1e-4 * np.abs(c[1]).max())
    np.testing.assert_allclose(c[2], ref[..., 1, 1], rtol=1e-4)
    np.testing.assert_allclose(c[3], np.sqrt(np.linalg.det(ref)), rtol=1e-4)


@pytest.mark.parametrize("edge, long_axis", [("horizontal", "columns"), ("vertical", "rows")])
def test_steering_aligns_the_kernel_along_an_edge(edge, long_axis):
    image = np.zeros((30, 30), np.float32)
    image[15:] = 255.0
    if edge == "vertical":
        image = image.T.copy()
    g1, g2 = L.ckr_gradients(image)
    c = L.steering(g1, g2)
    c11, c12, c22 = c[0, 15, 15], c[1, 15, 15], c[2, 15, 15]
    # exp(-d^T C d): a small coefficient is a long kernel along that axis.
    if long_axis == "columns":
        assert c22 < c11 / 50
    else:
        assert c11 < c22 / 50
    assert abs(c12) < 1e-3 * max(c11, c22)


def test_steering_of_a_diagonal_edge_is_diagonal():
    rows, cols = np.mgrid[0:30, 0:30]
    image = np.where(rows + cols > 29, 255.0, 0.0).astype(np.float32)
    g1, g2 = L.ckr_gradients(image)
    c = L.steering(g1, g2)
    c11, c12, c22 = c[0, 15, 15], c[1, 15, 15], c[2, 15, 15]
    # Across the edge is (1, 1): the long direction is (1, -1), so C12 > 0.
    assert c12 > 0.4 * (c11 + c22) / 2 and abs(c11 - c22) < 1e-3 * c11


def test_order_0_classic_regression_is_a_gaussian_weighted_mean():
    image = smooth_noisy((14, 11), 0.1)
    h, r = 1.3, 3
    out = lark(image, order=0, steering=False, h=h, radius=r, iterations=1)
    pad = np.pad(image.astype(np.float64), r, mode="symmetric")
    di, dj = np.mgrid[-r:r + 1, -r:r + 1]
    w = np.exp(-(di ** 2 + dj ** 2) / (2 * h * h))
    ref = np.array([[(w * pad[i:i + 2 * r + 1, j:j + 2 * r + 1]).sum() / w.sum()
                     for j in range(11)] for i in range(14)])
    np.testing.assert_allclose(out, ref, atol=1e-5)


@pytest.mark.parametrize("order, steer", [(1, False), (1, True), (2, False), (2, True)])
def test_polynomials_of_the_order_are_reproduced(order, steer):
    rows, cols = np.mgrid[0:40, 0:40].astype(np.float64)
    ramp = 0.1 + 0.01 * rows + 0.006 * cols
    if order == 2:
        ramp += 1e-4 * (rows * rows - 0.5 * rows * cols + 0.8 * cols * cols)
    image = ramp.astype(np.float32)
    out = lark(image, order=order, steering=steer, h=2.0, radius=4, iterations=2)
    inner = slice(12, 28)                 # away from the mirrored borders
    np.testing.assert_allclose(out[inner, inner], ramp[inner, inner], atol=2e-5)


@pytest.mark.parametrize("shape, order, steer, iterations", [
    ((11, 9), 2, True, 2),
    ((10, 12), 1, True, 2),
    ((9, 10), 0, True, 2),
    ((8, 9, 3), 2, True, 1),
    ((10, 8), 2, False, 1),
])
def test_matches_direct_formula(shape, order, steer, iterations):
    image = np.clip(smooth_noisy(shape, 0.08), 0, 1)
    out = lark(image, order=order, steering=steer, h=2.0, radius=3, iterations=iterations,
               analysis_radius=2)
    work = image if image.ndim == 3 else image[..., None]
    ref = naive.lark(work, h=2.0, radius=3, order=order, steer=steer, iterations=iterations,
                     disk=L.disk(2))
    np.testing.assert_allclose(out.reshape(ref.shape), ref, atol=1e-4)


def test_automatic_stop_is_a_fixed_count_and_never_past_the_maximum():
    image = smooth_noisy((24, 24), 0.1)
    n_auto = []
    cfg = L.Config(h=2.0, radius=4, order=2, steer=True, analysis_radius=5, lam=1.0,
                   alpha=0.5, iterations=6, max_iterations=6, level=np.inf)
    for n, _, residual in L.iterate(image[..., None], cfg, 6):
        n_auto.append((n, residual))
    level = (n_auto[1][1] + n_auto[2][1]) / 2     # reached by the 3rd iteration, not the 2nd
    sigma255 = np.sqrt(level / L.stop_level(np.sqrt(level)))
    sigma255 = np.sqrt(level / L.stop_level(sigma255))     # fixed point: the level is level
    sigma = sigma255 / 255.0
    kw = dict(h=2.0, radius=4)
    np.testing.assert_array_equal(lark(image, sigma=sigma, **kw),
                                  lark(image, sigma=sigma, iterations=3, **kw))
    # A noise level never reached: the rule stops at max_iterations.
    np.testing.assert_array_equal(lark(image, sigma=10.0, max_iterations=4, **kw),
                                  lark(image, sigma=10.0, iterations=4, **kw))
    assert [r for _, r in n_auto] == sorted(r for _, r in n_auto)   # residual grows


def test_one_thread_equals_two_threads():
    image = smooth_noisy((70, 33, 3), 0.1)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = lark(image, sigma=0.1, iterations=2)
        numba.set_num_threads(2)
        two = lark(image, sigma=0.1, iterations=2)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, two)


def test_denoises():
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:64, 0:64]
    clean = (0.5 + 0.3 * np.sin(rows / 6.0) + 0.2 * (cols > 30)).astype(np.float32)
    noisy = clean + rng.normal(0, 0.1, clean.shape).astype(np.float32)
    out = lark(noisy, sigma=0.1)
    assert np.mean((out - clean) ** 2) < 0.3 * np.mean((noisy - clean) ** 2)


@pytest.mark.parametrize("params", [dict(order=3), dict(radius=0), dict(h=-1.0),
                                    dict(iterations=0), dict(alpha=3.0), dict(lam=0.0),
                                    dict(max_iterations=0), dict(analysis_radius=0)])
def test_bad_parameters(params):
    with pytest.raises(InvalidParameterError):
        lark(np.zeros((8, 8), np.float32), sigma=0.1, **params)


def test_needs_sigma_unless_h_and_iterations_given():
    image = np.zeros((8, 8), np.float32)
    with pytest.raises(MissingSigmaError, match="h, radius, iterations"):
        lark(image)
    with pytest.raises(MissingSigmaError, match="to set iterations:"):
        lark(image, h=2.0)                       # radius follows h
    assert lark(image, h=2.0, iterations=1).shape == (8, 8)


def test_fit_fixes_the_statistics_and_reproduces_the_result():
    image = smooth_noisy((40, 36), 0.1)
    spec = denoise.REGISTRY["lark"]
    plan = spec.plan(ImageInfo.of(image), 0.1)
    assert plan.statistics == ("iterations", "value range")
    assert plan.halo == L.halo(plan.config, plan.config.max_iterations)
    fitted = spec.fit(image[..., None], plan)
    assert fitted.statistics == () and fitted.config.iterations >= 1
    assert fitted.halo == 2 + fitted.config.iterations * (plan.config.radius + 5)
    np.testing.assert_array_equal(spec.run(image, fitted), spec.run(image, plan))


@pytest.mark.parametrize("shape, radius", [((3, 9, 12), 4), ((2, 5, 7), 6)])
def test_pad_mirrors_like_pad_reflect(shape, radius):
    from denoise.filters._weights import pad_reflect

    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    np.testing.assert_array_equal(L._pad(a, radius), pad_reflect(a, radius, axes=(1, 2)))


@pytest.mark.parametrize("shape, spot", [((5, 6), (0, 1)), ((7, 7), (3, 3)), ((9, 4), (8, 0)),
                                         ((6, 11), (2, 10))])
@pytest.mark.parametrize("sigma", [1 / 255, 2 / 255])
def test_one_dark_pixel_on_a_flat_image_stays_finite(shape, spot, sigma):
    """Found by `make fuzz`: a flat image with one dark pixel at sigma 1 (8-bit units)
    steers the kernels into a line by the 4th iteration, where the order-2 normal
    equations are singular up to the float32 weights' rounding; the division by that
    noise gave Inf and NaN. The undetermined basis functions are now dropped."""
    image = np.ones(shape, np.float32)
    image[spot] = 0.0
    for order in (1, 2):
        out = lark(image, sigma=sigma, order=order)
        assert np.isfinite(out).all()
        assert out.min() >= 0.0 and out.max() <= 1.0
