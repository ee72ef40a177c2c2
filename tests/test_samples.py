"""Every method of ours at its sigma-derived defaults improves every noisy sample image."""
import numpy as np
import pytest

from denoise.io import iter_images, read_image
from denoise.metrics import score_images
from denoise.registry import REGISTRY, our_methods

from conftest import SAMPLES

NOISY = iter_images(SAMPLES / "noisy")


def test_samples_exist():
    names = [p.name for p in NOISY]
    assert len(names) >= 4
    assert names == [p.name for p in iter_images(SAMPLES / "clean")]


@pytest.mark.parametrize("name", our_methods())
@pytest.mark.parametrize("path", NOISY, ids=lambda p: p.name)
def test_denoising_beats_noisy_input(name, path):
    clean, noisy = read_image(SAMPLES / "clean" / path.name), read_image(path)
    sigma = 25.0 * np.iinfo(noisy.dtype).max / 255.0     # how sample_images/ was made
    out = REGISTRY[name].func(noisy, sigma=sigma)
    gain = score_images(clean, out).psnr - score_images(clean, noisy).psnr
    assert gain > 1.0, f"{name} on {path.name}: {gain:+.2f} dB"
