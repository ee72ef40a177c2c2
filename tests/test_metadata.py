"""Metadata kept (EXIF, ICC, resolution, JPEG quality) and the formats Pillow alone
reads with less depth (16-bit color PNG, 16-bit PNM), compressed TIFF and WebP,
each checked with another reader than ours: Pillow, tifffile or imagecodecs."""
import imagecodecs
import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image, ImageCms

from denoise import io
from denoise.cli import main
from denoise.errors import ImageIOError
from denoise.metadata import Metadata, jpeg_quality, read_metadata

from conftest import random_image

ORIENTATION, MAKE, EXIF_IFD, EXPOSURE = 274, 271, 0x8769, 33434


@pytest.fixture(scope="module")
def icc():
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_block(orientation=6):
    exif = Image.Exif()
    exif[ORIENTATION], exif[MAKE] = orientation, "Phone"
    exif.get_ifd(EXIF_IFD)[EXPOSURE] = (1, 125)
    return exif.tobytes()


def photo(shape=(48, 64, 3)):
    """A smooth color image (JPEG keeps it close)."""
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    base = (rows * 3 + cols * 2) % 256
    return np.stack([base, 255 - base, (base * 2) % 256], axis=-1).astype(np.uint8)


def pillow_exif(path):
    with Image.open(path) as im:
        exif = im.getexif()
        return dict(exif), dict(exif.get_ifd(EXIF_IFD)), im.info


@pytest.mark.parametrize("name, dtype", [("a.jpg", np.uint8), ("a.png", np.uint8),
                                         ("a.png", np.uint16), ("a.webp", np.uint8)])
def test_exif_icc_and_resolution_round_trip_through_pillow(tmp_path, icc, name, dtype):
    image = photo().astype(dtype) * (257 if dtype == np.uint16 else 1)
    meta = Metadata(exif=exif_block(), icc=icc, dpi=(300.0, 300.0))
    io.write_image(tmp_path / name, image, metadata=meta)
    tags, exif_ifd, info = pillow_exif(tmp_path / name)
    assert tags[ORIENTATION] == 6 and tags[MAKE] == "Phone"
    assert exif_ifd[EXPOSURE] == (1, 125)
    assert info["icc_profile"] == icc
    if name != "a.webp":                        # WebP holds no resolution
        assert info["dpi"] == pytest.approx((300, 300), abs=1e-3)
    assert read_metadata(tmp_path / name).icc == icc


def test_png_metadata_chunks_identical_after_a_second_round_trip(tmp_path, icc):
    """16-bit PNG chunks are written here, 8-bit ones by Pillow: the same chunks."""
    meta = Metadata(exif=exif_block(), icc=icc, dpi=(300.0, 300.0))
    io.write_image(tmp_path / "8.png", photo(), metadata=meta)
    io.write_image(tmp_path / "16.png", photo().astype(np.uint16), metadata=meta)
    io.write_image(tmp_path / "again.png", photo(), metadata=read_metadata(tmp_path / "8.png"))
    chunks = [_chunks(tmp_path / n) for n in ("8.png", "16.png", "again.png")]
    for kind in (b"pHYs", b"eXIf"):
        assert chunks[0][kind] == chunks[1][kind] == chunks[2][kind]
    assert imagecodecs.png_decode((tmp_path / "16.png").read_bytes()).dtype == np.uint16


def _chunks(path):
    import struct

    data, at, found = path.read_bytes(), 8, {}
    while at < len(data):
        length = struct.unpack(">I", data[at:at + 4])[0]
        found[data[at + 4:at + 8]] = data[at + 8:at + 8 + length]
        at += 12 + length
    return found


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_tiff_keeps_icc_resolution_and_orientation(tmp_path, icc, dtype):
    meta = Metadata(exif=exif_block(orientation=8), icc=icc, dpi=(300.0, 150.0))
    io.write_image(tmp_path / "a.tif", photo().astype(dtype), metadata=meta)
    with tifffile.TiffFile(tmp_path / "a.tif") as tif:
        tags = tif.pages[0].tags
        assert bytes(tags["InterColorProfile"].value) == icc
        assert tags["Orientation"].value == 8 and tags["Make"].value == "Phone"
        assert tags["XResolution"].value == (300, 1) and tags["YResolution"].value == (150, 1)
        assert tags["ResolutionUnit"].value == 2
    back = read_metadata(tmp_path / "a.tif")
    assert back.icc == icc and back.dpi == (300.0, 150.0)
    np.testing.assert_array_equal(io.read_image(tmp_path / "a.tif"), photo().astype(dtype))


def test_tiff_source_metadata_reaches_a_jpeg(tmp_path, icc):
    tifffile.imwrite(tmp_path / "s.tif", photo(), photometric="rgb", resolution=(72, 72),
                     resolutionunit="INCH",
                     extratags=[(34675, 7, len(icc), icc, True), (274, "H", 1, 3, True)])
    io.write_image(tmp_path / "o.jpg", photo(), metadata=read_metadata(tmp_path / "s.tif"))
    tags, _, info = pillow_exif(tmp_path / "o.jpg")
    assert tags[ORIENTATION] == 3 and info["icc_profile"] == icc and info["dpi"] == (72, 72)


@pytest.mark.parametrize("quality", [10, 50, 75, 90, 95, 100])
def test_jpeg_quality_estimated_from_tables_pillow_wrote(tmp_path, quality):
    Image.fromarray(photo()).save(tmp_path / "q.jpg", quality=quality)
    assert read_metadata(tmp_path / "q.jpg").quality == quality


def test_jpeg_quality_unknown_for_tables_not_ijg():
    assert jpeg_quality({0: [7] * 64}) is None and jpeg_quality(None) is None


def _quantization(path):
    with Image.open(path) as im:
        return {k: list(v) for k, v in im.quantization.items()}


def _run(*args):
    result = CliRunner().invoke(main, ["run", *map(str, args), "-m", "median", "-p",
                                       "radius=1", "--sigma", "10"])
    assert result.exit_code == 0, result.output
    return result


def test_run_keeps_a_phone_jpeg_displayed_upright_and_its_quality(tmp_path, icc):
    Image.fromarray(photo()).save(tmp_path / "phone.jpg", quality=70, exif=exif_block(),
                                  icc_profile=icc, dpi=(240, 240))
    _run(tmp_path / "phone.jpg", "-o", tmp_path / "out.jpg")
    tags, exif_ifd, info = pillow_exif(tmp_path / "out.jpg")
    assert tags[ORIENTATION] == 6 and exif_ifd[EXPOSURE] == (1, 125)
    assert info["icc_profile"] == icc and info["dpi"] == (240, 240)
    assert _quantization(tmp_path / "out.jpg") == _quantization(tmp_path / "phone.jpg")
    _run(tmp_path / "phone.jpg", "-o", tmp_path / "q50.jpg", "--quality", 50)
    Image.fromarray(photo()).save(tmp_path / "ref50.jpg", quality=50)
    assert _quantization(tmp_path / "q50.jpg") == _quantization(tmp_path / "ref50.jpg")
    _run(tmp_path / "phone.jpg", "-o", tmp_path / "bare.png", "--strip-metadata")
    tags, _, info = pillow_exif(tmp_path / "bare.png")
    assert ORIENTATION not in tags and "icc_profile" not in info and "dpi" not in info


def test_streamed_tiff_keeps_its_metadata(tmp_path, icc):
    image = random_image((150, 170), np.uint16, seed=3)
    tifffile.imwrite(tmp_path / "big.tif", image, resolution=(600, 600), resolutionunit="INCH",
                     extratags=[(34675, 7, len(icc), icc, True), (274, "H", 1, 6, True)])
    _run(tmp_path / "big.tif", "-o", tmp_path / "out.tif", "--tile", 64)
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        tags = tif.pages[0].tags
        assert bytes(tags["InterColorProfile"].value) == icc
        assert tags["Orientation"].value == 6 and tags["XResolution"].value == (600, 1)


# --- formats ------------------------------------------------------------------------

@pytest.mark.parametrize("channels", [2, 3, 4])
def test_16bit_png_with_several_channels_both_ways(tmp_path, channels):
    image = random_image((23, 31, channels), np.uint16, seed=channels)
    (tmp_path / "in.png").write_bytes(imagecodecs.png_encode(image))
    np.testing.assert_array_equal(io.read_image(tmp_path / "in.png"), image)
    info = io.read_info(tmp_path / "in.png")
    assert info.dtype == np.uint16 and info.channels + info.alpha == channels
    io.write_image(tmp_path / "out.png", image)
    np.testing.assert_array_equal(
        imagecodecs.png_decode((tmp_path / "out.png").read_bytes()), image)


@pytest.mark.parametrize("channels, magic", [(1, b"P5"), (3, b"P6")])
def test_16bit_pnm_matches_the_format_byte_for_byte(tmp_path, channels, magic):
    shape = (5, 7) if channels == 1 else (5, 7, 3)
    image = random_image(shape, np.uint16, seed=9)
    data = magic + b"\n7 5\n65535\n" + image.astype(">u2").tobytes()
    (tmp_path / "in.pnm").write_bytes(data)
    np.testing.assert_array_equal(io.read_image(tmp_path / "in.pnm"), image)
    io.write_image(tmp_path / "out.pnm", image)
    assert (tmp_path / "out.pnm").read_bytes() == data


def test_16bit_pnm_keeps_its_declared_maximum(tmp_path):
    image = (random_image((6, 4, 3), np.uint16, seed=2) // 16).astype(np.uint16)
    data = b"P6\n# 12-bit scan\n4 6\n4095\n" + image.astype(">u2").tobytes()
    (tmp_path / "in.ppm").write_bytes(data)
    np.testing.assert_array_equal(io.read_image(tmp_path / "in.ppm"), image)
    io.write_image(tmp_path / "out.ppm", image, metadata=read_metadata(tmp_path / "in.ppm"))
    assert (tmp_path / "out.ppm").read_bytes().startswith(b"P6\n4 6\n4095\n")


@pytest.mark.parametrize("compression", ["lzw", "zlib", "zstd", "jpeg", "packbits"])
def test_compressed_tiff_reads_as_tifffile_does(tmp_path, compression):
    image = photo()
    tifffile.imwrite(tmp_path / "c.tif", image, photometric="rgb", compression=compression)
    np.testing.assert_array_equal(io.read_image(tmp_path / "c.tif"),
                                  tifffile.imread(tmp_path / "c.tif"))


def test_webp_is_lossless_and_refuses_what_it_cannot_hold(tmp_path):
    image = random_image((20, 30, 4), np.uint8, seed=5)
    io.write_image(tmp_path / "a.webp", image)
    with Image.open(tmp_path / "a.webp") as im:
        np.testing.assert_array_equal(np.asarray(im), image)
    with pytest.raises(ImageIOError, match="WEBP cannot store a uint8 image with 1"):
        io.write_image(tmp_path / "g.webp", image[..., 0])
    with pytest.raises(ImageIOError, match="WEBP cannot store a uint16"):
        io.write_image(tmp_path / "d.webp", image.astype(np.uint16))
    assert io.suffix_of_bytes((tmp_path / "a.webp").read_bytes()) == ".webp"
    assert io.suffix_of_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None


def test_bmp_keeps_the_resolution(tmp_path):
    io.write_image(tmp_path / "a.bmp", photo(), metadata=Metadata(dpi=(200.0, 200.0)))
    with Image.open(tmp_path / "a.bmp") as im:
        assert im.info["dpi"] == pytest.approx((200, 200), abs=0.01)
