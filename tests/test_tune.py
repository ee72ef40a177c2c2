"""denoise.tune and `denoise tune`: the J-invariant loss against direct computations,
the correlation radius, agreement with the clean-chosen best, and the command line."""
import json
import shlex

import imageio.v3 as iio
import numpy as np
import pytest
from scipy import ndimage

from denoise import InvalidParameterError
from denoise._image import ImageInfo
from denoise.auto import NoiseRequest, denoise_image
from denoise.cli import main
from denoise.cli.tune import tune as tune_command
from denoise.metrics import psnr
from denoise.registry import get_filter
from denoise.tune import (JINV, PSNR, correlation_radius, default_grid, jinv_loss,
                          masked_image, tune)


def median3(image):
    """The registered median, radius 1, through the registry's plan and run."""
    spec = get_filter("median")
    return spec.run(image, spec.plan(ImageInfo.of(image), None, radius=1))


def mirror(k, n):
    """scipy's 'mirror' index: -1 -> 1, n -> n - 2."""
    return -k if k < 0 else 2 * (n - 1) - k if k >= n else k


def blanked_by_hand(image, stride, radius):
    """Masked pixels (phase stride // 2) and their radius-squares get the mean of the four
    pixels at distance radius + 1 along the axes (explicit loops)."""
    out = image.astype(np.float64).copy()
    h, w = image.shape
    d = radius + 1
    centres = [(i, j) for i in range(stride // 2, h, stride) for j in range(stride // 2, w, stride)]
    for i, j in centres:
        if radius == 0:
            around = [image[mirror(i - 1, h), j], image[mirror(i + 1, h), j],
                      image[i, mirror(j - 1, w)], image[i, mirror(j + 1, w)]]
        else:
            around = [image[i - d if i - d >= 0 else i + d, j],
                      image[i + d if i + d < h else i - d, j],
                      image[i, j - d if j - d >= 0 else j + d],
                      image[i, j + d if j + d < w else j - d]]
        value = sum(float(v) for v in around) / 4.0
        for a in range(-radius, radius + 1):
            for b in range(-radius, radius + 1):
                if 0 <= i + a < h and 0 <= j + b < w:
                    out[i + a, j + b] = value
    return out, centres


def masked_mse(denoised, image, centres):
    total = 0.0
    for i, j in centres:
        total += (float(denoised[i, j]) - float(image[i, j])) ** 2
    return total / len(centres)


def piecewise(seed, n=96):
    """Rectangles of random levels on a black background (8-bit units, float)."""
    rng = np.random.default_rng(seed)
    image = np.zeros((n, n))
    for _ in range(8):
        y, x = rng.integers(0, n, 2)
        h, w = rng.integers(10, 50, 2)
        image[y:y + h, x:x + w] = rng.uniform(30, 220)
    return image


def to_uint8(x):
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


# --- the loss ---------------------------------------------------------------------------

def test_jinv_loss_equals_a_direct_computation():
    """11 x 12 (the bottom border is mirrored), stride 4, radius 0, the registered median."""
    image = np.random.default_rng(1).random((11, 12))
    blanked, centres = blanked_by_hand(image, 4, 0)
    np.testing.assert_allclose(masked_image(image, 4, 0), blanked, rtol=0, atol=1e-12)
    expected = masked_mse(median3(blanked), image, centres)
    assert jinv_loss(image, median3, 4, 0) == pytest.approx(expected, rel=1e-12)


def test_blanking_a_correlation_radius_hides_the_whole_square():
    image = np.random.default_rng(2).random((13, 14))
    blanked, centres = blanked_by_hand(image, 4, 1)
    np.testing.assert_allclose(masked_image(image, 4, 1), blanked, rtol=0, atol=1e-12)
    assert jinv_loss(image, median3, 4, 1) == pytest.approx(
        masked_mse(median3(blanked), image, centres), rel=1e-12)


def test_the_identity_does_not_score_zero_and_cannot_win():
    """A denoiser that copies its input scores the interpolation error, not 0, and a
    smoothing one beats it on noise."""
    rng = np.random.default_rng(3)
    image = 0.5 + rng.normal(0.0, 0.1, (24, 24))
    blanked, centres = blanked_by_hand(image, 4, 0)
    identity = jinv_loss(image, lambda x: x.copy(), 4, 0)
    assert identity == pytest.approx(masked_mse(blanked, image, centres), rel=1e-12)
    assert identity > 0.01 and jinv_loss(image, median3, 4, 0) < identity


def test_integer_images_are_blanked_with_rounding():
    image = np.random.default_rng(4).integers(0, 256, (12, 12)).astype(np.uint8)
    blanked, _ = blanked_by_hand(image, 4, 0)
    out = masked_image(image, 4, 0)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.clip(np.rint(blanked), 0, 255).astype(np.uint8))


# --- the correlation radius ---------------------------------------------------------------

def test_correlation_radius_of_white_and_blurred_noise():
    rng = np.random.default_rng(5)
    assert correlation_radius(rng.normal(0.0, 1.0, (256, 256))) == 0
    assert correlation_radius(100 + 20 * rng.normal(0.0, 1.0, (128, 128, 3))) == 0
    blurred = ndimage.uniform_filter(rng.normal(0.0, 1.0, (256, 256)), 3)
    assert correlation_radius(blurred) >= 1


# --- the search -----------------------------------------------------------------------------

def test_self_supervised_choice_agrees_with_the_clean_one():
    clean = piecewise(6)
    noisy = to_uint8(clean + np.random.default_rng(106).normal(0.0, 20.0, clean.shape))
    grid = {"radius": ["1", "2", "3"]}
    blind = tune(noisy, "median", grid)
    seen = tune(noisy, "median", grid, clean=to_uint8(clean))
    assert (blind.kind, seen.kind) == (JINV, PSNR) and blind.radius == 0
    true = {t.params["radius"]: t.score for t in seen.ranking}
    assert true[blind.best.params["radius"]] >= seen.best.score - 0.3


def test_clean_scores_are_the_psnr_of_denoise_image():
    clean = to_uint8(piecewise(7, 48))
    noisy = to_uint8(clean + np.random.default_rng(107).normal(0.0, 15.0, clean.shape))
    result = tune(noisy, "median", {"radius": [1, 2]}, clean=clean,
                  request=NoiseRequest(sigma=15.0))
    for trial in result.ranking:
        out = denoise_image(noisy, "median", NoiseRequest(sigma=15.0), trial.params)[0]
        assert trial.score == pytest.approx(psnr(clean, out, data_range=255))
    assert result.ranking[0].score >= result.ranking[1].score


def test_default_grid_is_the_strength_around_what_run_does():
    assert default_grid(get_filter("nlm")) == {"strength": ["0.5", "0.7", "1", "1.4", "2"]}
    with pytest.raises(InvalidParameterError, match="no parameter follows sigma"):
        default_grid(get_filter("adaptive-median"))


def test_strength_multiplies_the_sigma_the_method_gets():
    """strength k at sigma s is the method at sigma k s (direct path), and a strength
    in the grid is what the ranking's PSNR measures."""
    from denoise import denoise

    clean = piecewise(8, 48)
    noisy = to_uint8(clean + np.random.default_rng(109).normal(0, 15, clean.shape))
    np.testing.assert_array_equal(denoise(noisy, "nlm", sigma=15, strength=1.4),
                                  denoise(noisy, "nlm", sigma=21.0))
    result = tune(noisy, "nlm", clean=to_uint8(clean), request=NoiseRequest(sigma=15.0))
    for trial in result.ranking:
        expected = denoise(noisy, "nlm", sigma=15 * trial.params["strength"])
        assert trial.score == pytest.approx(psnr(to_uint8(clean), expected, data_range=255))


def test_max_seconds_zero_tries_one_candidate():
    noisy = to_uint8(piecewise(8, 32) + np.random.default_rng(108).normal(0, 20, (32, 32)))
    result = tune(noisy, "median", {"radius": [1, 2, 3]}, max_seconds=0)
    assert result.stopped_early and result.tried == 1 and len(result.ranking) == 1


# --- the command line -------------------------------------------------------------------------

@pytest.fixture
def noisy_file(tmp_path):
    clean = to_uint8(piecewise(9, 48))
    noisy = to_uint8(clean + np.random.default_rng(109).normal(0.0, 20.0, clean.shape))
    iio.imwrite(tmp_path / "noisy.png", noisy)
    iio.imwrite(tmp_path / "clean.png", clean)
    return tmp_path / "noisy.png"


def test_the_printed_command_runs(runner, noisy_file):
    done = runner.invoke(tune_command, [str(noisy_file), "-m", "median", "--grid",
                                        "radius=1,2", "--grid", "sigma=10,20"])
    assert done.exit_code == 0, done.output
    line = done.stdout.strip().splitlines()[-1]
    args = shlex.split(line)
    assert args[:2] == ["denoise", "run"] and "-p" in args and "--sigma" in args
    ran = runner.invoke(main, args[1:])
    assert ran.exit_code == 0, ran.output
    assert iio.imread(noisy_file.with_name("noisy-denoised.png")).shape == (48, 48)


def test_json_and_clean(runner, noisy_file):
    done = runner.invoke(tune_command, [str(noisy_file), "-m", "median", "--json",
                                        "--clean", str(noisy_file.with_name("clean.png")),
                                        "--grid", "radius=1,2"])
    assert done.exit_code == 0, done.output
    found = json.loads(done.stdout)
    assert found["kind"] == PSNR and len(found["ranking"]) == 2
    assert found["best"] == found["ranking"][0] and found["command"].startswith("denoise run")


def test_max_seconds_zero_says_so(runner, noisy_file):
    done = runner.invoke(tune_command, [str(noisy_file), "-m", "median", "--max-seconds", "0",
                                        "--grid", "radius=1,2,3"])
    assert done.exit_code == 0, done.output
    assert "stopped early" in done.stderr and "tried 1 of 3" in done.stderr
    assert done.stdout.count("radius=") == 2          # one row, and the command line


def test_bad_grid_and_bad_files(runner, noisy_file, tmp_path):
    bad = runner.invoke(tune_command, [str(noisy_file), "-m", "median", "--grid", "size=1,2"])
    assert bad.exit_code == 2
    assert "median has no parameter 'size'; valid parameters: radius" in bad.output
    missing = runner.invoke(tune_command, [str(tmp_path / "nope.png"), "-m", "median"])
    assert missing.exit_code == 1 and "nope.png" in missing.stderr
    iio.imwrite(tmp_path / "small.png", np.zeros((8, 8), np.uint8))
    mismatch = runner.invoke(tune_command, [str(noisy_file), "-m", "median", "--clean",
                                            str(tmp_path / "small.png")])
    assert mismatch.exit_code == 1
    assert "(8, 8)" in mismatch.stderr and "(48, 48)" in mismatch.stderr


def test_noise_correlated_beyond_three_pixels_is_flagged(caplog):
    rng = np.random.default_rng(10)
    noisy = 0.5 + 0.1 * ndimage.uniform_filter(rng.normal(0.0, 1.0, (128, 128)), 7)
    assert correlation_radius(noisy) == 4
    with caplog.at_level("WARNING", logger="denoise.tune"):
        result = tune(noisy, "median", {"radius": [1, 2]})
    assert (result.radius, result.stride) == (3, 8)
    assert any("correlated beyond 3 pixels" in note for note in result.notes)
    assert "correlated beyond 3 pixels" in caplog.text
