"""The data range of float images (issue 18): read from the values (1, 255, 65535 or
the largest magnitude) or given with --data-range / data_range=, and the same one
for a whole image whether it runs whole, in tiles, streamed or planned from its
header, so float data in 8-bit or 16-bit units get the defaults of [0, 1] data."""
import numpy as np
import pytest

from denoise import image_range
from denoise.auto import NoiseRequest, denoise_image
from denoise.batch import Job
from denoise.cli import main
from denoise.io import read_image, write_image
from denoise.runfile import DenoiseStep

UNITS = (255.0, 65535.0)


def noisy_unit(shape=(90, 110), seed=0, sigma=0.06):
    """float64 on [0, 1] plus Gaussian noise (so beyond [0, 1] in places)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    clean = 0.5 + 0.35 * np.sin(x / 7.0) * np.cos(y / 11.0)
    if len(shape) == 3:
        clean = clean[..., None] * np.linspace(0.7, 1.0, shape[2])
    return clean + rng.normal(0.0, sigma, clean.shape)


def run(runner, *args):
    result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result


@pytest.mark.parametrize("a", UNITS)
@pytest.mark.parametrize("shape", [(90, 110), (70, 80, 3)])
def test_float_tiff_in_8_and_16_bit_units_gives_the_unit_result_scaled(runner, tmp_path,
                                                                       a, shape):
    """`denoise run` with everything automatic (noise estimated, attention) on the
    same float32 data on [0, 1] and in 8-bit / 16-bit units."""
    image = noisy_unit(shape).astype(np.float32)
    write_image(tmp_path / "unit.tif", image)
    write_image(tmp_path / "scaled.tif", (image * np.float32(a)).astype(np.float32))
    for name in ("unit", "scaled"):
        result = run(runner, "run", tmp_path / f"{name}.tif", "-o", tmp_path / f"{name}-out.tif",
                     "-q")
        assert result.exit_code == 0, result.output
    unit = read_image(tmp_path / "unit-out.tif").astype(np.float64)
    scaled = read_image(tmp_path / "scaled-out.tif").astype(np.float64)
    np.testing.assert_allclose(scaled, a * unit, rtol=0, atol=1e-4 * a)


def test_given_data_range_is_used_and_checked(runner, tmp_path):
    """--data-range 255 on float data that read as [0, 1] (a dim 8-bit scan): the
    result is the scan's as 8-bit data; 0 or a non-number is a usage error."""
    dim = (noisy_unit() * 3.0).astype(np.float32)          # peak below 4: read as [0, 1]
    assert image_range(dim) == 1.0
    write_image(tmp_path / "dim.tif", dim)
    result = run(runner, "run", tmp_path / "dim.tif", "-o", tmp_path / "out.tif", "-m",
                 "median", "--sigma", "0.18", "--data-range", "255", "-q")
    assert result.exit_code == 0, result.output
    expected, _ = denoise_image(dim, "median", NoiseRequest(0.18, data_range=255.0))
    np.testing.assert_array_equal(read_image(tmp_path / "out.tif"), expected)
    # the sigma rule reads 0.18 on the range: radius 1 at 255, radius 2 on [0, 1]
    assert not np.array_equal(expected, denoise_image(dim, "median", NoiseRequest(0.18))[0])
    for bad in ("0", "-3", "nan", "inf", "x"):
        result = run(runner, "run", tmp_path / "dim.tif", "-o", tmp_path / "bad.tif",
                     "--data-range", bad)
        assert result.exit_code == 2 and "data-range" in result.output
    assert not (tmp_path / "bad.tif").exists()


def test_an_absolute_sigma_on_float_files_of_different_ranges_is_refused(runner, tmp_path):
    """The files' ranges come from their values before any work, so a sigma in image
    units on a [0, 1] file and an 8-bit-unit file is refused naming both."""
    (tmp_path / "in").mkdir()
    write_image(tmp_path / "in" / "a.tif", noisy_unit().astype(np.float32))
    write_image(tmp_path / "in" / "b.tif", (noisy_unit() * 255).astype(np.float32))
    result = run(runner, "run", tmp_path / "in", "-o", tmp_path / "out", "--sigma", "0.05")
    assert result.exit_code == 2
    assert "a.tif ranges over 0-1" in result.output and "b.tif over 0-255" in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("name", ["nlm", "lark"])
@pytest.mark.parametrize("request_", [NoiseRequest(), NoiseRequest(sigma=0.06 * 65535)])
def test_streamed_and_in_memory_tiles_use_the_whole_images_range(tmp_path, name, request_):
    """A float TIFF in 16-bit units in tiles, streamed window by window (TIFF to
    TIFF): the range is the whole image's, not a tile's, so the result is the
    untiled one."""
    image = (noisy_unit((130, 150)) * 65535.0).astype(np.float32)
    image[:20, :20] *= 0.01                  # a corner alone would read as 8-bit units
    assert image_range(image) == 65535.0 and image_range(image[:20, :20]) == 255.0
    write_image(tmp_path / "in.tif", image)
    DenoiseStep(name, request_, tile=48)(Job(tmp_path / "in.tif", tmp_path / "out.tif"), False)
    expected, _ = denoise_image(image, name, request_)
    np.testing.assert_array_equal(read_image(tmp_path / "out.tif"), expected)


def test_tune_suggests_the_data_range_it_was_given(runner, tmp_path):
    write_image(tmp_path / "in.tif", (noisy_unit((64, 64)) * 3.0).astype(np.float32))
    result = run(runner, "tune", tmp_path / "in.tif", "-m", "median", "--grid",
                 "radius=1,2", "--data-range", "255")
    assert result.exit_code == 0, result.output
    assert "--data-range 255" in result.output.splitlines()[-1]


@pytest.mark.parametrize("a", UNITS)
def test_estimate_and_noise_commands_follow_the_units(runner, tmp_path, a):
    """`denoise estimate` reports sigma in the image's units, and `denoise noise`'s
    default level is 25 in 8-bit units of the image's range, for float data too."""
    import json

    clean = np.clip(noisy_unit(sigma=0.0), 0, 1)
    write_image(tmp_path / "unit.tif", clean.astype(np.float32))
    write_image(tmp_path / "scaled.tif", (clean * a).astype(np.float32))
    sigmas = {}
    for name in ("unit", "scaled"):
        assert run(runner, "noise", tmp_path / f"{name}.tif", "-o",
                   tmp_path / f"{name}-noisy.tif").exit_code == 0
        result = run(runner, "estimate", tmp_path / f"{name}-noisy.tif", "--format", "json")
        sigmas[name] = json.loads(result.stdout)["images"][0]["sigma"][0]
    assert sigmas["unit"] == pytest.approx(25 / 255, rel=0.15)
    assert sigmas["scaled"] == pytest.approx(a * sigmas["unit"], rel=1e-4)
