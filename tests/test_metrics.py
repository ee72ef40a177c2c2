"""PSNR/SSIM: hand values, the data range from the dtype, file pairing."""
import math

import numpy as np
import pytest

from denoise import ImageFormatError
from denoise.io import write_image
from denoise.metrics import pair_files, psnr, score_files, score_images, ssim


def test_psnr_hand_value():
    clean = np.full((16, 16), 100, np.uint8)
    assert psnr(clean, clean + 5, data_range=255) == pytest.approx(10 * math.log10(255 ** 2 / 25))


def test_identical_images():
    image = np.random.default_rng(0).random((16, 16))
    assert psnr(image, image, data_range=1.0) == math.inf
    assert ssim(image, image, data_range=1.0) == pytest.approx(1.0)


def test_score_uses_dtype_range_and_ignores_alpha():
    clean = np.full((16, 16, 4), 1000, np.uint16)
    noisy = clean.copy()
    noisy[..., :3] += 100
    noisy[..., 3] = 0        # alpha differs: must not count
    score = score_images(clean, noisy)
    assert score.psnr == pytest.approx(10 * math.log10(65535 ** 2 / 100 ** 2))


def test_shape_mismatch_and_tiny_images():
    with pytest.raises(ImageFormatError, match="shapes differ"):
        psnr(np.zeros((8, 8)), np.zeros((8, 9)), data_range=1.0)
    with pytest.raises(ImageFormatError, match="7x7"):
        ssim(np.zeros((5, 8)), np.zeros((5, 8)), data_range=1.0)


def test_pairing_by_name_then_stem(tmp_path):
    image = np.zeros((8, 8), np.uint8)
    for name in ["clean/a.png", "clean/b.png", "den/a.png", "den/b.tif", "den/c.png"]:
        write_image(tmp_path / name, image)
    pairs, unmatched = pair_files(tmp_path / "clean", tmp_path / "den")
    assert [(n, r.name) for n, r, _ in pairs] == [("a.png", "a.png"), ("b.tif", "b.png")]
    assert [p.name for p in unmatched] == ["c.png"]
    assert score_files(pairs[0][1], pairs[0][2], "a.png").psnr == math.inf
