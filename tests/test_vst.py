"""The generalized Anscombe transform, its unbiased inverse, and denoising through it."""
import numpy as np
import pytest

from denoise import InvalidParameterError, denoise
from denoise.noise.vst import gat, inverse_gat


@pytest.mark.parametrize("gain, offset", [(0.01, 0.0004), (1 / 30, 0.01), (0.001, 0.0001),
                                          (0.01, -0.001)])
def test_transform_stabilises_the_variance(gain, offset):
    """Noise of variance gain*x + offset has unit std after the transform, at every level."""
    rng = np.random.default_rng(5)
    for x in (0.1, 0.3, 0.6, 0.9):
        if gain * x + offset < 0.002:           # (nearly) no noise at this level
            continue
        z = x + np.sqrt(gain * x + offset) * rng.standard_normal(200_000)
        assert gat(z, gain, offset).std() == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("gain, offset", [(0.01, 0.0004), (1 / 30, 0.01)])
def test_inverse_is_unbiased(gain, offset):
    """The inverse of E[f(z)] gives back x (the algebraic inverse would miss by about
    gain/4 at low levels); checked against the mean of a large sample."""
    rng = np.random.default_rng(6)
    for x in (0.05, 0.2, 0.5, 0.9):
        z = x + np.sqrt(gain * x + offset) * rng.standard_normal(400_000)
        assert inverse_gat(gat(z, gain, offset).mean(), gain, offset) == \
            pytest.approx(x, abs=0.05 * np.sqrt(gain * x + offset) + 1e-3)


def test_round_trip_on_noiseless_data_is_close():
    """Without noise, the inverse's bias correction is the only difference: small."""
    x = np.linspace(0.2, 1.0, 50)
    back = inverse_gat(gat(x, 0.001, 0.0), 0.001, 0.0)
    np.testing.assert_allclose(back, x, atol=0.001 / 4 + 1e-4)


def test_gain_must_be_positive():
    with pytest.raises(InvalidParameterError, match="gain > 0"):
        gat(np.zeros(3), 0.0, 0.01)


def test_poisson_gaussian_noise_is_denoised_through_the_transform():
    """A ramp with variance a*x + b: the given noise-level function beats the best
    single sigma it could be mistaken for (the mean std), and auto finds the model."""
    rng = np.random.default_rng(7)
    x = np.tile(np.linspace(0.05, 0.95, 128), (96, 1))
    a, b = 0.02, 0.0001
    z = x + np.sqrt(a * x + b) * rng.standard_normal(x.shape)
    given = denoise(z, "nlm", gain=a, offset=b)
    flat = denoise(z, "nlm", sigma=float(np.sqrt(a * 0.5 + b)))
    auto = denoise(z, "nlm")
    error = [np.mean((out - x) ** 2) for out in (given, flat, auto)]
    assert error[0] < error[1]
    assert error[2] < error[1]          # estimated: still better than one sigma
    assert np.mean((z - x) ** 2) > 3 * error[0]
