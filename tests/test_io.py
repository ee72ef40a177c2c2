"""Image files: exact round trips per format x dtype x channels, refusals, atomic writes."""
import os

import numpy as np
import pytest

from denoise import io
from denoise.errors import ImageIOError

from conftest import random_image

EXTENSIONS = {"PNG": ".png", "TIFF": ".tif", "JPEG": ".jpg", "BMP": ".bmp", "PNM": ".pnm",
              "WEBP": ".webp"}
CASES = [(fmt, dtype, channels) for fmt, kinds in io.WRITABLE.items()
         for dtype, counts in kinds.items() for channels in counts]


def make(dtype, channels, shape=(21, 34)):
    return random_image(shape + (() if channels == 1 else (channels,)), dtype, seed=channels)


@pytest.mark.parametrize("fmt, dtype, channels", CASES)
def test_round_trip(tmp_path, fmt, dtype, channels):
    image = make(dtype, channels)
    if fmt == "JPEG":   # lossy: use a smooth image and check it comes back close
        ramp = np.add.outer(np.arange(21), np.arange(34)) * 4
        image = np.broadcast_to(ramp[..., None], image.shape[:2] + (channels,))
        image = image.reshape(make(dtype, channels).shape).astype(dtype)
    path = tmp_path / f"img{EXTENSIONS[fmt]}"
    io.write_image(path, image)
    back = io.read_image(path)
    assert back.shape == image.shape and back.dtype == image.dtype
    if fmt == "JPEG":
        assert np.abs(back.astype(float) - image.astype(float)).mean() < 2
    else:
        np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("ext", [".tiff", ".jpeg", ".pgm", ".ppm"])
def test_extension_aliases(tmp_path, ext):
    image = make("uint8", 3 if ext == ".ppm" else 1)
    io.write_image(tmp_path / f"a{ext}", image)
    assert io.read_image(tmp_path / f"a{ext}").shape == image.shape


@pytest.mark.parametrize("ext, dtype, channels", [
    (".png", "float32", 1), (".webp", "uint16", 3), (".jpg", "uint8", 4),
    (".jpg", "uint16", 1), (".bmp", "uint8", 2), (".pnm", "uint8", 4), (".webp", "uint8", 1)])
def test_lossy_combinations_refused_before_writing(tmp_path, ext, dtype, channels):
    path = tmp_path / f"x{ext}"
    with pytest.raises(ImageIOError, match="cannot store"):
        io.write_image(path, make(dtype, channels))
    assert list(tmp_path.iterdir()) == []


def test_existing_output_not_overwritten(tmp_path):
    path = tmp_path / "a.png"
    first, second = make("uint8", 1), make("uint8", 3)
    io.write_image(path, first)
    with pytest.raises(ImageIOError, match="exists"):
        io.write_image(path, second)
    np.testing.assert_array_equal(io.read_image(path), first)
    io.write_image(path, second, overwrite=True)
    np.testing.assert_array_equal(io.read_image(path), second)


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    import imageio.v3 as iio

    def broken(path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(iio, "imwrite", broken)
    with pytest.raises(ImageIOError, match="disk full"):
        io.write_image(tmp_path / "a.png", make("uint8", 1))
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    import imageio.v3 as iio

    def interrupted(path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(iio, "imwrite", interrupted)
    with pytest.raises(KeyboardInterrupt):
        io.write_image(tmp_path / "a.png", make("uint8", 1))
    assert list(tmp_path.iterdir()) == []


def test_written_file_is_readable_by_others(tmp_path):
    io.write_image(tmp_path / "a.png", make("uint8", 1))
    assert os.stat(tmp_path / "a.png").st_mode & 0o044   # not left at mkstemp's 0600


@pytest.mark.parametrize("content, match", [
    (b"", "cannot read"), (b"not an image at all", "cannot read"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, "cannot read")])
def test_corrupt_file_named(tmp_path, content, match):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageIOError, match=match) as info:
        io.read_image(path)
    assert "bad.png" in str(info.value)


def test_truncated_file(tmp_path):
    path = tmp_path / "t.png"
    io.write_image(path, make("uint8", 3, shape=(64, 64)))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ImageIOError, match="t.png"):
        io.read_image(path)


def test_missing_and_unsupported(tmp_path):
    with pytest.raises(ImageIOError, match="no such file"):
        io.read_image(tmp_path / "nope.png")
    (tmp_path / "a.gif").write_bytes(b"GIF89a")
    with pytest.raises(ImageIOError, match="unsupported file type"):
        io.read_image(tmp_path / "a.gif")


def test_truncated_16bit_color_png_is_an_error_not_a_smaller_image(tmp_path):
    header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x00\x00\x00\x04" * 2
    path = tmp_path / "deep.png"
    path.write_bytes(header + bytes([16, 2]) + b"\x00" * 20)
    assert io.read_info(path).dtype == np.uint16
    with pytest.raises(ImageIOError, match="deep.png: cannot read image"):
        io.read_image(path)


def test_float_tiff_keeps_values_outside_unit_range(tmp_path):
    image = (random_image((9, 8), np.float32) * 1000 - 300).astype(np.float32)
    io.write_image(tmp_path / "f.tif", image)
    np.testing.assert_array_equal(io.read_image(tmp_path / "f.tif"), image)


def test_iter_images_sorted_and_filtered(tmp_path):
    for name in ["b.png", "a.tif", "c.txt", ".hidden.png", "sub/d.png"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in io.iter_images(tmp_path)] == ["a.tif", "b.png"]
    assert [p.name for p in io.iter_images(tmp_path, recursive=True)] == \
        ["a.tif", "b.png", "d.png"]


@pytest.mark.parametrize("fmt, dtype, channels", CASES)
def test_header_info_agrees_with_the_pixels(tmp_path, fmt, dtype, channels):
    """read_info (header only) says what read_image returns."""
    from denoise._image import ImageInfo

    path = tmp_path / f"img{EXTENSIONS[fmt]}"
    io.write_image(path, make(dtype, channels))
    assert io.read_info(path) == ImageInfo.of(io.read_image(path))


def test_header_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ImageIOError, match="bad.png: cannot read"):
        io.read_info(bad)
    with pytest.raises(ImageIOError, match="no such file"):
        io.read_info(tmp_path / "missing.png")


@pytest.mark.parametrize("ext, channels", [(".pgm", 3), (".ppm", 1), (".pbm", 1)])
def test_a_pnm_extension_must_match_the_data(tmp_path, ext, channels):
    """.pgm is gray (P5), .ppm RGB (P6), .pbm 1-bit: a mismatch is refused, never
    written under the wrong name; .pnm takes its kind from the data."""
    with pytest.raises(ImageIOError, match="choose"):
        io.write_image(tmp_path / f"a{ext}", make("uint8", channels))
    assert not list(tmp_path.iterdir())
    io.write_image(tmp_path / "a.pnm", make("uint8", channels))
    assert (tmp_path / "a.pnm").read_bytes()[:2] == (b"P6" if channels == 3 else b"P5")
