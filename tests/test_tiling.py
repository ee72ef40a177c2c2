"""Tiles: overlapping tiles grown by the halo give the untiled result; image-level
statistics fitted once; TIFF read and written window by window."""
import numpy as np
import pytest
import tifffile

from denoise import tiling
from denoise._image import ImageInfo
from denoise.batch import Job
from denoise.cli import main
from denoise.io import read_image, write_image
from denoise.metrics import psnr
from denoise.registry import REGISTRY
from denoise.runfile import DenoiseStep
from denoise.auto import NoiseRequest

from conftest import SAMPLES, data_range

WINDOW_METHODS = ["median", "adaptive-median", "weighted-median", "bilateral", "nlm",
                  "attention"]


def noisy(shape, dtype, seed=0):
    """A smooth pattern with noise, in `dtype`'s range."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    clean = 0.5 + 0.3 * np.sin(x / 7.0) * np.cos(y / 11.0)
    if len(shape) == 3:
        clean = clean[..., None] * np.linspace(0.7, 1.0, shape[2])
    image = np.clip(clean + rng.normal(0, 0.08, shape), 0, 1) * data_range(dtype)
    return (np.rint(image) if np.dtype(dtype).kind == "u" else image).astype(dtype)


def test_tiles_cover_the_image_once():
    cover = np.zeros((97, 131), int)
    for r0, r1, c0, c1 in tiling.tile_boxes(97, 131, 40):
        cover[r0:r1, c0:c1] += 1
    assert (cover == 1).all()
    assert tiling.grown((40, 80, 0, 40), 10, 97, 131) == (30, 90, 0, 50)


@pytest.mark.parametrize("shape, dtype", [((97, 131), np.uint8), ((83, 101, 3), np.float32)])
@pytest.mark.parametrize("name", WINDOW_METHODS)
def test_tiled_equals_untiled_for_window_methods(name, shape, dtype):
    """Sizes that are not multiples of the tile; attention's grid placed per tile."""
    spec = REGISTRY[name]
    image = noisy(shape, dtype, seed=len(name))
    plan = spec.plan(ImageInfo.of(image), 0.1 * data_range(dtype))
    assert not plan.statistics
    calls = []
    tiled = tiling.run_tiled(image, 40, tiling.Placed(name, plan), progress=calls.append)
    np.testing.assert_array_equal(tiled, spec.run(image, plan))
    assert len(calls) == len(tiling.tile_boxes(*shape[:2], 40))


@pytest.mark.parametrize("name, params", [("lark", {}), ("attention", {"pca_dims": 8})])
def test_statistics_fitted_on_the_whole_image_give_the_untiled_result(name, params):
    spec = REGISTRY[name]
    image = read_image(SAMPLES / "noisy" / "camera.png")[:160, :150]
    plan = spec.plan(ImageInfo.of(image), 25.0, **params)
    assert plan.statistics
    placed = tiling.Placed(name, tiling.fit_plan(spec, plan, image))
    np.testing.assert_array_equal(tiling.run_tiled(image, 64, placed), spec.run(image, plan))


@pytest.mark.parametrize("name, params, mean_diff, db", [
    ("attention", {"pca_dims": 8}, 0.5, 0.05),   # the PCA basis of the central part
    ("lark", {}, 1.0, 0.5),                      # its iteration count can differ by one
])
def test_statistics_fitted_on_the_central_part_are_within_tolerance(monkeypatch, name, params,
                                                                    mean_diff, db):
    """The stated tolerance when an image is too large to fit the statistics on all of
    it: a central part of a quarter of the image here (the default part is 4 Mpx)."""
    monkeypatch.setattr(tiling, "FIT_PIXELS", 128 * 128)
    spec = REGISTRY[name]
    image = read_image(SAMPLES / "noisy" / "camera.png")
    clean = read_image(SAMPLES / "clean" / "camera.png")
    plan = spec.plan(ImageInfo.of(image), 25.0, **params)
    placed = tiling.Placed(name, tiling.fit_plan(spec, plan, image))
    full, tiled = spec.run(image, plan), tiling.run_tiled(image, 100, placed)
    assert np.abs(full.astype(float) - tiled).mean() <= mean_diff
    assert abs(psnr(clean, full, data_range=255) - psnr(clean, tiled, data_range=255)) <= db


@pytest.mark.parametrize("shape, dtype", [((150, 170), np.uint16), ((90, 110, 3), np.uint8)])
@pytest.mark.parametrize("name", ["median", "nlm", "lark"])
def test_tiff_is_streamed_window_by_window(monkeypatch, tmp_path, shape, dtype, name):
    """TIFF to TIFF in tiles never reads the whole image, and gives the untiled result."""
    image = noisy(shape, dtype, seed=3)
    write_image(tmp_path / "in.tif", image)
    spec = REGISTRY[name]
    expected = spec.run(image, spec.plan(ImageInfo.of(image), 0.08 * data_range(dtype)))

    def never(*args, **kwargs):
        raise AssertionError("the whole image was read")

    monkeypatch.setattr("denoise.runfile.read_image", never)
    step = DenoiseStep(name, NoiseRequest(sigma=0.08 * data_range(dtype)), tile=64)
    ticks = []
    step(Job(tmp_path / "in.tif", tmp_path / "out.tif"), False,
         lambda n: (lambda k: ticks.append(k)))
    np.testing.assert_array_equal(read_image(tmp_path / "out.tif"), expected)
    assert len(ticks) == len(tiling.tile_boxes(*shape[:2], 64))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "out.tif"]


def test_streamed_noise_estimate_gives_the_in_memory_result(tmp_path):
    """With sigma auto, a streamed image's noise comes from its central part: here
    all of it, so the result is the in-memory one."""
    from denoise.auto import denoise_image

    image = noisy((130, 150), np.uint16, seed=5)
    write_image(tmp_path / "in.tif", image)
    record = DenoiseStep("nlm", NoiseRequest(), tile=64)(
        Job(tmp_path / "in.tif", tmp_path / "out.tif"), False)
    expected, setting = denoise_image(image, "nlm", NoiseRequest())
    assert record["sigma"] == list(setting.sigma) and record["estimated"]
    np.testing.assert_array_equal(read_image(tmp_path / "out.tif"), expected)


@pytest.mark.parametrize("ext", [".png", ".tif"])
@pytest.mark.parametrize("shape, dtype, request_", [
    ((120, 140), np.uint16, NoiseRequest(gain=0.002, offset=1e-5)),      # Poisson-Gaussian
    ((100, 130, 3), np.uint8, NoiseRequest(sigma=20.0, chroma=2.0)),     # opponent space
])
@pytest.mark.parametrize("name", ["nlm", "lark"])
def test_conditioned_noise_in_tiles_gives_the_untiled_result(tmp_path, ext, shape, dtype,
                                                            request_, name):
    """Noise conditioned to unit noise (the GAT, the opponent space) in tiles: the
    statistics of the conditioning are the whole image's, its other steps pointwise;
    in memory (PNG) or streamed (TIFF)."""
    from denoise.auto import denoise_image

    image = noisy(shape, dtype, seed=7)
    write_image(tmp_path / f"in{ext}", image)
    record = DenoiseStep(name, request_, tile=48)(
        Job(tmp_path / f"in{ext}", tmp_path / f"out{ext}"), False)
    expected, setting = denoise_image(image, name, request_)
    assert record["model"] == setting.model
    np.testing.assert_array_equal(read_image(tmp_path / f"out{ext}"), expected)


def test_a_compressed_tiff_is_read_whole_with_the_same_result(tmp_path):
    image = noisy((100, 120), np.uint16)
    tifffile.imwrite(tmp_path / "in.tif", image, compression="zlib")
    assert tiling.TiffWindows.open(tmp_path / "in.tif") is None
    write_image(tmp_path / "plain.tif", image)
    assert tiling.TiffWindows.open(tmp_path / "plain.tif") is not None
    request = NoiseRequest(sigma=3000.0)
    for name in ("in", "plain"):
        DenoiseStep("median", request, tile=48)(
            Job(tmp_path / f"{name}.tif", tmp_path / f"{name}-out.tif"), False)
    np.testing.assert_array_equal(read_image(tmp_path / "in-out.tif"),
                                  read_image(tmp_path / "plain-out.tif"))


def test_windows_read_and_write_what_the_slices_say(tmp_path):
    image = noisy((70, 90, 3), np.uint16)
    write_image(tmp_path / "a.tif", image)
    windows = tiling.TiffWindows.open(tmp_path / "a.tif")
    np.testing.assert_array_equal(windows[10:33, 5:61], image[10:33, 5:61])
    writer = tiling.TiffWindowWriter.create(tmp_path / "b.tif", image.shape, image.dtype)
    for r0, r1, c0, c1 in tiling.tile_boxes(70, 90, 32):
        writer[r0:r1, c0:c1] = image[r0:r1, c0:c1]
    np.testing.assert_array_equal(read_image(tmp_path / "b.tif"), image)


def test_large_images_are_tiled_automatically(monkeypatch, runner, tmp_path):
    monkeypatch.setattr(tiling, "AUTO_TILE_PIXELS", 5000)
    monkeypatch.setattr(tiling, "DEFAULT_TILE", 40)
    image = noisy((100, 90), np.uint8)
    write_image(tmp_path / "a.png", image)
    result = runner.invoke(main, ["run", str(tmp_path / "a.png"), "-o", str(tmp_path / "b.png"),
                                  "-m", "nlm", "--sigma", "20"])
    assert result.exit_code == 0, result.stderr
    assert "tiles 9/9" in result.stderr
    spec = REGISTRY["nlm"]
    np.testing.assert_array_equal(read_image(tmp_path / "b.png"),
                                  spec.run(image, spec.plan(ImageInfo.of(image), 20.0)))
