"""The camera-noise pipeline (Brooks et al. 2019): shapes, ranges, seeding, the
inverse steps, the bilinear demosaic and the noise variance."""
import dataclasses

import numpy as np
import pytest

from denoise import InvalidParameterError
from denoise.noise.camera import (
    CameraParams, add_raw_noise, camera_noise, demosaic, inverse_smoothstep, process,
    random_params, smoothstep, unprocess)


def image(shape=(16, 20, 3), seed=0):
    return np.random.default_rng(seed).random(shape)


def constant_params(seed=0, **changes):
    return dataclasses.replace(random_params(np.random.default_rng(seed)), **changes)


@pytest.mark.parametrize("poisson", [False, True])
@pytest.mark.parametrize("tone", [False, True])
def test_shapes_dtype_and_range(poisson, tone):
    noisy, truth, params = camera_noise(image(), np.random.default_rng(1), poisson=poisson,
                                        tone=tone)
    assert isinstance(params, CameraParams)
    for out in (noisy, truth):
        assert out.shape == (16, 20, 3) and out.dtype == np.float64
        assert out.min() >= 0.0 and out.max() <= 1.0
    assert not np.array_equal(noisy, truth)
    raw = unprocess(image(), params)
    assert raw.shape == (8, 10, 4) and raw.dtype == np.float64
    assert raw.min() >= 0.0 and raw.max() <= 1.0


def test_odd_sizes_are_cropped():
    x = image((17, 21, 3))
    noisy, truth, params = camera_noise(x, np.random.default_rng(2))
    assert noisy.shape == truth.shape == (16, 20, 3)
    np.testing.assert_array_equal(truth, process(unprocess(x[:16, :20], params), params))
    with pytest.raises(InvalidParameterError):
        unprocess(x, params)


def test_seeding():
    x = image()
    a = camera_noise(x, np.random.default_rng(5))
    b = camera_noise(x, np.random.default_rng(5))
    c = camera_noise(x, np.random.default_rng(6))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2].shot == b[2].shot and np.array_equal(a[2].rgb2cam, b[2].rgb2cam)
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], c[1])


def test_truth_is_process_of_unprocess():
    x = image(seed=3)
    noisy, truth, params = camera_noise(x, np.random.default_rng(7), tone=True)
    np.testing.assert_array_equal(truth, smoothstep(process(unprocess(x, params), params)))


def test_given_levels_used_as_is():
    _, _, params = camera_noise(image(), np.random.default_rng(0), shot=0.003, read=2e-5)
    assert params.shot == 0.003 and params.read == 2e-5
    same = random_params(np.random.default_rng(0))
    np.testing.assert_array_equal(params.rgb2cam, same.rgb2cam)   # levels don't move the stream


def test_inverse_smoothstep_is_exact():
    grid = np.linspace(0.0, 1.0, 1001)
    np.testing.assert_allclose(inverse_smoothstep(smoothstep(grid)), grid, atol=1e-12)
    np.testing.assert_allclose(smoothstep(inverse_smoothstep(grid)), grid, atol=1e-12)
    assert inverse_smoothstep(np.array([-0.5, 1.5])).tolist() == pytest.approx([0.0, 1.0])


@pytest.mark.parametrize("seed", range(5))
def test_process_undoes_unprocess_except_tone_and_brightness(seed):
    """A constant mosaic demosaics exactly, so only the tone curve (and rgb_gain,
    which process does not re-apply) separate process(unprocess(x)) from x."""
    colour = np.array([0.3, 0.45, 0.35])
    x = np.broadcast_to(colour, (8, 12, 3))
    params = random_params(np.random.default_rng(seed))
    out = process(unprocess(x, params), params)
    expected = inverse_smoothstep(colour) * params.rgb_gain ** (-1 / 2.2)
    np.testing.assert_allclose(out, np.broadcast_to(expected, out.shape), atol=1e-6)
    unit = dataclasses.replace(params, rgb_gain=1.0)
    out = process(unprocess(x, unit), unit)
    np.testing.assert_allclose(out, np.broadcast_to(inverse_smoothstep(colour), out.shape),
                               atol=1e-6)


def test_demosaic_reproduces_a_linear_ramp():
    rows, cols = np.mgrid[0:24, 0:30].astype(float)
    full = np.stack([0.01 * rows + 0.02 * cols, 0.5 - 0.01 * cols + 0.005 * rows,
                     0.2 + 0.015 * rows - 0.003 * cols], axis=-1)
    raw = np.stack([full[0::2, 0::2, 0], full[0::2, 1::2, 1], full[1::2, 0::2, 1],
                    full[1::2, 1::2, 2]], axis=-1)
    out = demosaic(raw)
    assert out.shape == full.shape
    np.testing.assert_allclose(out[1:-1, 1:-1], full[1:-1, 1:-1], atol=1e-12)
    raw_values = {0: out[0::2, 0::2, 0], 1: out[0::2, 1::2, 1], 3: out[1::2, 1::2, 2]}
    for plane, values in raw_values.items():
        np.testing.assert_array_equal(values, raw[..., plane])   # samples are kept


@pytest.mark.parametrize("poisson", [False, True])
def test_noise_variance(poisson):
    params = constant_params(shot=0.01, read=4e-4)
    raw = np.full((256, 256, 4), 0.3)
    noisy = add_raw_noise(raw, params, np.random.default_rng(4), poisson=poisson)
    expected = 0.3 * params.shot + params.read
    assert abs(noisy.var() - expected) < 0.05 * expected
    assert abs(noisy.mean() - 0.3) < 0.01


def test_random_params_ranges():
    rng = np.random.default_rng(8)
    draws = [random_params(rng) for _ in range(200)]
    shots = np.array([p.shot for p in draws])
    assert shots.min() >= 1e-4 and shots.max() <= 1.2e-2
    assert shots.min() < 3e-4 and shots.max() > 5e-3              # spread over the range
    for p in draws:
        np.testing.assert_allclose(p.rgb2cam.sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_allclose(p.cam2rgb @ p.rgb2cam, np.eye(3), atol=1e-10)
        assert 1.9 <= p.red_gain <= 2.4 and 1.5 <= p.blue_gain <= 1.9
        assert p.rgb_gain > 0 and p.read > 0
    offsets = np.log([p.read for p in draws]) - 2.18 * np.log(shots)   # 1.20 + N(0, 0.26^2)
    assert abs(offsets.mean() - 1.20) < 0.06 and abs(offsets.std() - 0.26) < 0.05


def test_bad_input_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidParameterError):
        camera_noise(np.zeros((8, 8)), rng)
    with pytest.raises(InvalidParameterError):
        camera_noise(np.zeros((8, 8, 3), np.uint8), rng)
    with pytest.raises(InvalidParameterError):
        camera_noise(image(), 0)
    assert random_params(rng, read=0).read == 0.0
    for levels in ({"shot": -1.0}, {"shot": 0}, {"read": -1e-5}, {"read": "x"}):
        with pytest.raises(InvalidParameterError):
            random_params(rng, **levels)
