"""Noise synthesis: levels in image units, seeding, dtype and alpha."""
import numpy as np
import pytest

from denoise import InvalidParameterError
from denoise.noise import NOISE, NoiseModel, add_noise


@pytest.mark.parametrize("dtype, sigma", [(np.uint16, 25 * 257.0), (np.float64, 0.1)])
def test_gaussian_sigma_in_image_units(dtype, sigma):
    top = 65535 if dtype == np.uint16 else 1.0
    image = np.full((300, 300), 0.5 * top).astype(dtype)
    noisy = add_noise(image, "gaussian", sigma, seed=1)
    assert noisy.dtype == image.dtype
    std = (noisy.astype(float) - image.astype(float)).std()
    assert abs(std - sigma) < 0.03 * sigma


def test_seeded():
    image = np.full((32, 32, 3), 128, np.uint8)
    a = add_noise(image, "gaussian", 20, seed=3)
    np.testing.assert_array_equal(a, add_noise(image, "gaussian", 20, seed=3))
    assert (a != add_noise(image, "gaussian", 20, seed=4)).any()


def test_integer_output_clipped_float_not():
    assert add_noise(np.full((50, 50), 250, np.uint8), "gaussian", 30, seed=0).max() == 255
    assert add_noise(np.full((50, 50), 0.98), "gaussian", 0.1, seed=0).max() > 1.0
    assert add_noise(np.full((50, 50), 0.98), "gaussian", 0.1, seed=0, clip=True).max() == 1.0


def test_salt_pepper_fraction_and_values():
    image = np.full((200, 200), 100, np.uint8)
    noisy = add_noise(image, "salt-pepper", 0.2, seed=0)
    changed = noisy != image
    assert abs(changed.mean() - 0.2) < 0.01
    assert set(np.unique(noisy[changed])) == {0, 255}


def test_poisson_mean_and_variance():
    image = np.full((300, 300), 0.5)
    noisy = add_noise(image, "poisson", 100.0, seed=0)     # 50 photons per pixel
    assert abs(noisy.mean() - 0.5) < 0.005
    assert abs(noisy.var() - 50 / 100 ** 2) < 0.1 * 50 / 100 ** 2


def test_speckle_is_multiplicative():
    image = np.zeros((40, 40), np.float32)
    np.testing.assert_array_equal(add_noise(image, "speckle", 0.3, seed=0), image)


def test_alpha_untouched():
    image = np.random.default_rng(0).integers(0, 256, (20, 20, 4), dtype=np.uint8)
    np.testing.assert_array_equal(add_noise(image, "gaussian", 30, seed=0)[..., 3],
                                  image[..., 3])


@pytest.mark.parametrize("kind, level, match", [
    ("gaussian", 0, "level"), ("gaussian", -1, "level"), ("salt-pepper", 1.5, "fraction"),
    ("pink", 1.0, "unknown noise kind")])
def test_errors(kind, level, match):
    with pytest.raises(InvalidParameterError, match=match):
        add_noise(np.zeros((4, 4), np.uint8), kind, level)


def test_mixed_is_gaussian_then_impulses():
    image = np.full((300, 300), 0.5)
    noisy = add_noise(image, "mixed", 0.05, seed=3, density=0.2)
    impulse = (noisy == 0.0) | (noisy == 1.0)
    assert abs(impulse.mean() - 0.2) < 0.01
    assert abs((noisy == 1.0).mean() - 0.1) < 0.01
    rest = noisy[~impulse]
    assert abs(rest.std() - 0.05) < 0.002 and abs(rest.mean() - 0.5) < 0.002
    gaussian = add_noise(image, "gaussian", 0.05, seed=3)     # same draws, then impulses
    np.testing.assert_array_equal(noisy[~impulse], gaussian[~impulse])


def test_mixed_density_is_checked():
    with pytest.raises(InvalidParameterError, match="density is a fraction"):
        add_noise(np.zeros((4, 4)), "mixed", 10.0, density=1.5)
    with pytest.raises(InvalidParameterError, match="density applies to mixed noise"):
        add_noise(np.zeros((4, 4)), "gaussian", 10.0, density=0.1)


def test_every_kind_has_a_sensible_default_level():
    """No level given: each kind's own default, scaled to the range for intensities."""
    image = np.full((200, 200, 3), 128, np.uint8)       # camera noise needs RGB
    for kind, model in NOISE.items():
        noisy = add_noise(image, kind, seed=1)
        saturated = np.isin(noisy, (0, 255)).mean()
        assert saturated <= model.options.get("density", model.default) + 0.01, kind
        assert (noisy != image).any(), kind
    gaussian = add_noise(np.full((200, 200), 0.5 * 65535, np.uint16), seed=0).astype(float)
    assert abs(gaussian.std() - 25 * 257) < 0.05 * 25 * 257        # 25 in 8-bit units
    assert abs((add_noise(image, "salt-pepper", seed=0) != image).mean() - 0.1) < 0.01


def test_registered_kind_is_used_by_add_noise_the_cli_and_bench(tmp_path, monkeypatch, runner):
    """A new kind needs nothing but its registry entry."""
    from denoise.cli import main
    from denoise.io import read_image, write_image

    offset = NoiseModel("offset", "adds a constant", "the constant, in image units", "c",
                        "offset", 10.0, True, lambda x, level, rng, top: x + level,
                        lambda level: float(level), lambda level: level)
    monkeypatch.setitem(NOISE, "offset", offset)
    image = np.full((40, 36), 100, np.uint8)
    np.testing.assert_array_equal(add_noise(image, "offset", 7), image + 7)
    write_image(tmp_path / "clean" / "a.png", image)
    result = runner.invoke(main, ["noise", str(tmp_path / "clean"), "-o", str(tmp_path / "n"),
                                  "--kind", "offset"])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(read_image(tmp_path / "n" / "a.png"), image + 10)
    assert "offset" in runner.invoke(main, ["noise", "--help"]).output
    result = runner.invoke(main, ["-q", "bench", "--dataset", str(tmp_path / "clean"),
                                  "--noise", "offset", "--sigma", "5", "-m", "median",
                                  "--against", "none"])
    assert result.exit_code == 0, result.output
    assert "offset noise, offset 5 (image units)" in result.stdout
