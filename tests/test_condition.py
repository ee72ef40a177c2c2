"""Conditioning an image's noise to unit white noise, and back (denoise.noise.condition)."""
import numpy as np
import pytest

from denoise import InvalidParameterError, denoise
from denoise.noise.condition import NoiseSetting, denoise_under, direct_sigma, resolve_noise


def rgb(seed, sigmas, size=96):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    clean = np.stack([0.3 + 0.4 * xx, 0.5 + 0.2 * yy, 0.6 - 0.3 * xx * yy], axis=2)
    return clean, clean + rng.normal(0.0, 1.0, clean.shape) * np.asarray(sigmas)


@pytest.mark.parametrize("setting", [
    NoiseSetting("gaussian", sigma=(0.05, 0.1, 0.2)),
    NoiseSetting("gaussian", sigma=(0.05, 0.1, 0.2), chroma=2.0),
    NoiseSetting("gaussian", sigma=(0.05, 0.1, 0.2), estimated=True)])
def test_conditioning_is_undone_exactly(setting):
    """With a denoiser that changes nothing, every step (scaling, opponent transform,
    per-component scale, chroma strength, the signal's range to [0, 1]) is inverted:
    the image comes back; the method sees the signal (its 5 x 5 mean) span [0, 1]."""
    _, noisy = rgb(0, (0.05, 0.1, 0.2))
    seen = []
    back = denoise_under(noisy, setting, lambda work, sigma: seen.append(work) or work)
    np.testing.assert_allclose(back, noisy, atol=1e-12)
    from scipy.ndimage import uniform_filter

    smooth = uniform_filter(seen[0], size=(5, 5, 1), mode="reflect")
    assert smooth.min() == pytest.approx(0.0, abs=1e-12)
    assert smooth.max() == pytest.approx(1.0)


def test_each_component_reaches_unit_noise():
    """The method is told the noise it gets: in luma and (before the chroma strength) in
    chroma, the std of what it sees equals the sigma it is given."""
    _, noisy = rgb(1, (0.05, 0.1, 0.2), size=192)
    flat = noisy - rgb(1, (0, 0, 0), size=192)[0]
    setting = NoiseSetting("gaussian", sigma=(0.05, 0.1, 0.2), estimated=True)
    ratios = []
    denoise_under(flat, setting,
                  lambda work, sigma: ratios.append(work.std(axis=(0, 1)) / sigma) or work)
    np.testing.assert_allclose(ratios[0], 1.0, rtol=0.1)


def test_plain_white_noise_runs_directly():
    """Equal sigma in every channel: no conditioning, the method at that sigma."""
    _, noisy = rgb(2, (0.08, 0.08, 0.08), size=128)
    setting = resolve_noise(noisy)
    assert direct_sigma(noisy, setting) == pytest.approx(0.08, rel=0.1)
    _, unequal = rgb(2, (0.04, 0.08, 0.16), size=128)
    assert direct_sigma(unequal, resolve_noise(unequal)) is None


def test_unequal_channels_are_denoised_each_at_its_own_level():
    """Channel sigmas 0.02, 0.05, 0.15: conditioned, the quiet channel keeps its detail
    and the loud one is smoothed, better than one sigma for all."""
    clean, noisy = rgb(3, (0.02, 0.05, 0.15), size=128)
    mean = float(np.mean([0.02, 0.05, 0.15]))
    conditioned = denoise(noisy, "bilateral")
    single = denoise(noisy, "bilateral", sigma=mean)
    error = [np.mean((out - clean) ** 2) for out in (conditioned, single)]
    assert error[0] < error[1]


def test_bad_requests():
    image = np.zeros((16, 16))
    with pytest.raises(InvalidParameterError, match="unknown noise model"):
        resolve_noise(image, model="laplace")
    with pytest.raises(InvalidParameterError, match="chroma strength"):
        resolve_noise(image, sigma=0.1, chroma=0)
