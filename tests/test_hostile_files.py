"""Files read wrongly before: each is read exactly, or refused naming the file and the
reason, by read_info and read_image alike (planar and stacked TIFF, CMYK, palettes,
animations, special files)."""
import os
import socket

import numpy as np
import pytest
import tifffile
from PIL import Image

from denoise import io
from denoise.cli import main
from denoise.errors import ImageIOError

RNG = np.random.default_rng(18)


def u8(*shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def read_both(path):
    """read_image's array, after checking read_info agrees on shape and dtype."""
    info = io.read_info(path)
    image = io.read_image(path)
    assert (info.height, info.width) == image.shape[:2]
    assert info.channels + info.alpha == (1 if image.ndim == 2 else image.shape[2])
    assert info.dtype == image.dtype
    return image


def refused(path, reason):
    """Both readers refuse `path` with ImageIOError naming it and `reason`."""
    for read in (io.read_info, io.read_image):
        with pytest.raises(ImageIOError, match=reason) as info:
            read(path)
        assert str(info.value).startswith(f"{path}: ")
        assert len(str(info.value).splitlines()) == 1


# --- TIFF -----------------------------------------------------------------------------

@pytest.mark.parametrize("samples, photometric", [(2, "minisblack"), (3, "rgb"), (4, "rgb")])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_planar_tiff_read_samples_last(tmp_path, samples, photometric, dtype):
    data = (u8(samples, 17, 23) * 3).astype(dtype)
    path = tmp_path / "planar.tif"
    tifffile.imwrite(path, data, planarconfig="separate", photometric=photometric)
    image = read_both(path)
    expected = np.moveaxis(data, 0, -1)
    np.testing.assert_array_equal(image, expected)


def test_planar_tiff_compressed(tmp_path):
    data = u8(3, 20, 30)
    path = tmp_path / "planar_zlib.tif"
    tifffile.imwrite(path, data, planarconfig="separate", photometric="rgb",
                     compression="zlib")
    np.testing.assert_array_equal(read_both(path), np.moveaxis(data, 0, -1))


def test_contiguous_rgb_with_few_rows_is_rgb(tmp_path):
    """(5, 32, 3) written as RGB is one image of 5 rows: the file says so (YXS)."""
    data = u8(5, 32, 3)
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, data, photometric="rgb")
    np.testing.assert_array_equal(read_both(path), data)


@pytest.mark.parametrize("shape", [(5, 32, 3), (5, 16, 20), (3, 16, 20), (2, 4, 16, 20, 3)])
def test_page_stack_refused(tmp_path, shape):
    path = tmp_path / "stack.tif"
    kind = "rgb" if len(shape) == 5 else "minisblack"
    tifffile.imwrite(path, u8(*shape), photometric=kind)
    pages = int(np.prod(shape[:-2 if kind == "minisblack" else -3]))
    refused(path, f"{pages} pages; this tool filters single images: split them first")


def test_two_page_tiff_refused(tmp_path):
    path = tmp_path / "two.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(u8(16, 20))
        tif.write(u8(16, 20, 3), photometric="rgb")
    refused(path, "2 pages")


def test_single_page_with_unit_axes_is_one_image(tmp_path):
    data = u8(1, 16, 20)
    path = tmp_path / "one.tif"
    tifffile.imwrite(path, data, photometric="minisblack")
    np.testing.assert_array_equal(read_both(path), data[0])


def test_cmyk_tiff_refused(tmp_path):
    path = tmp_path / "cmyk.tif"
    tifffile.imwrite(path, u8(16, 20, 4), photometric="separated")
    refused(path, "CMYK: convert to RGB first")


def test_palette_tiff_refused_not_read_as_indices(tmp_path):
    path = tmp_path / "pal.tif"
    colormap = np.tile(np.arange(256, dtype=np.uint16) * 257, (3, 1))
    tifffile.imwrite(path, u8(16, 20), photometric="palette", colormap=colormap)
    refused(path, "palette TIFF: convert to RGB first")


# --- Pillow formats -------------------------------------------------------------------

def palette_image(gray, size=(9, 7)):
    im = Image.new("P", size)
    entries = [(v, v, v) if gray else (v, 255 - v, (3 * v) % 256) for v in (0, 90, 180, 255)]
    im.putpalette([c for entry in entries for c in entry])
    indices = RNG.integers(0, 4, size[::-1], dtype=np.uint8)
    im.putdata(indices.ravel().tolist())
    return im, np.array(entries, dtype=np.uint8)[indices]


@pytest.mark.parametrize("gray", [False, True])
@pytest.mark.parametrize("trns", [None, bytes([0, 128, 255, 255])])
def test_palette_png_keeps_colors_and_transparency(tmp_path, gray, trns):
    im, colors = palette_image(gray)
    path = tmp_path / "pal.png"
    im.save(path, **({} if trns is None else {"transparency": trns}))
    image = read_both(path)
    expected = colors[..., :1] if gray else colors
    if trns is not None:
        indices = np.asarray(Image.open(path))
        expected = np.concatenate([expected, np.frombuffer(trns, np.uint8)[indices][..., None]],
                                  axis=2)
    np.testing.assert_array_equal(image, expected[..., 0] if expected.shape[2] == 1 else expected)


def test_color_keyed_rgb_png_gets_alpha(tmp_path):
    data = u8(8, 10, 3)
    data[0, 0] = (1, 2, 3)
    path = tmp_path / "key.png"
    Image.fromarray(data).save(path, transparency=(1, 2, 3))
    image = read_both(path)
    np.testing.assert_array_equal(image[..., :3], data)
    alpha = np.where((data == (1, 2, 3)).all(axis=2), 0, 255)
    np.testing.assert_array_equal(image[..., 3], alpha)


def test_cmyk_jpeg_refused(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(u8(16, 20, 4), "CMYK").save(path)
    refused(path, "CMYK: convert to RGB first")


@pytest.mark.parametrize("ext", [".png", ".webp"])
def test_animation_refused(tmp_path, ext):
    path = tmp_path / f"anim{ext}"
    frames = [Image.fromarray(u8(16, 20, 3)) for _ in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], lossless=True)
    refused(path, "3 frames; this tool filters single images")


# --- special files and float16 output --------------------------------------------------

def test_fifo_refused_without_blocking(tmp_path, runner):
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    refused(path, r"not a regular file \(a FIFO\)")
    out = tmp_path / "out.png"                 # one input to one output file, as usual
    result = runner.invoke(main, ["run", str(path), "-o", str(out), "-m", "median",
                                  "--sigma", "10"])
    assert result.exit_code == 1 and "not a regular file (a FIFO)" in result.stderr
    assert not out.exists()


def test_directory_and_socket_named(tmp_path):
    folder = tmp_path / "folder.png"
    folder.mkdir()
    refused(folder, r"not a regular file \(a directory\)")
    sock_path = tmp_path / "s.png"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        refused(sock_path, r"not a regular file \(a socket\)")


def test_float16_written_as_float32_tiff(tmp_path):
    image = RNG.random((6, 7)).astype(np.float16)
    io.check_writable(tmp_path / "f.tif", image)
    io.write_image(tmp_path / "f.tif", image)
    back = io.read_image(tmp_path / "f.tif")
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, image.astype(np.float32))
    with pytest.raises(ImageIOError, match=r"float16 \(written as float32\).*e\.g\. \.tif$"):
        io.check_writable(tmp_path / "f.png", image)


def test_cli_refused_input_exit_1_no_output(tmp_path, runner):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, u8(5, 16, 20), photometric="minisblack")
    out = tmp_path / "out.png"
    result = runner.invoke(main, ["run", str(path), "-o", str(out), "-m", "median",
                                  "--sigma", "10"])
    assert result.exit_code == 1, result.output
    assert f"{path}: 5 pages; this tool filters single images" in result.stderr
    assert not out.exists()


def test_gray_alpha_tiff_written_as_one_page(tmp_path):
    image = u8(21, 34, 2)
    io.write_image(tmp_path / "ga.tif", image)
    with tifffile.TiffFile(tmp_path / "ga.tif") as tif:
        assert len(tif.pages) == 1 and tif.series[0].axes == "YXS"
    np.testing.assert_array_equal(read_both(tmp_path / "ga.tif"), image)


def test_color_keyed_gray_png_gets_alpha(tmp_path):
    data = np.arange(48, dtype=np.uint8).reshape(6, 8)
    Image.fromarray(data).save(tmp_path / "key.png", transparency=5)
    image = read_both(tmp_path / "key.png")
    np.testing.assert_array_equal(image[..., 0], data)
    np.testing.assert_array_equal(image[..., 1], np.where(data == 5, 0, 255))


def png_by_hand(path, samples, kind, trns=None):
    """A 16-bit PNG built from the format's chunks (big-endian samples, filter 0)."""
    import struct
    import zlib

    def chunk(name, body):
        return struct.pack(">I", len(body)) + name + body + \
            struct.pack(">I", zlib.crc32(name + body) & 0xFFFFFFFF)

    height, width = samples.shape[:2]
    rows = b"".join(b"\x00" + samples[r].astype(">u2").tobytes() for r in range(height))
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                               16, kind, 0, 0, 0))
    if trns is not None:
        data += chunk(b"tEXt", b"Comment\x00" + b"x" * 600)     # tRNS beyond the first 512 B
        data += chunk(b"tRNS", struct.pack(f">{len(trns)}H", *trns))
    path.write_bytes(data + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("kind, channels, key", [(0, 1, (700,)), (2, 3, (700, 1, 65535))])
def test_color_keyed_16_bit_png_gets_alpha(tmp_path, kind, channels, key):
    """Issue 18: a 16-bit gray or RGB PNG with a transparent color kept its 16 bits but
    lost the transparency (or, RGB, was read without it): now alpha 0 at the key."""
    data = np.random.default_rng(5).integers(0, 65536, (7, 9, channels)).astype(np.uint16)
    data[2, 3] = key
    data[4, 4, 0] = key[0]                   # one channel alone matching is not the key
    png_by_hand(tmp_path / "key.png", data[..., 0] if channels == 1 else data, kind, key)
    image = read_both(tmp_path / "key.png")
    assert image.dtype == np.uint16 and image.shape == (7, 9, channels + 1)
    np.testing.assert_array_equal(image[..., :channels], data)
    expected = np.full((7, 9), 65535, np.uint16)
    expected[2, 3] = 0
    if channels == 1:
        expected[4, 4] = 0
    np.testing.assert_array_equal(image[..., channels], expected)
    plain = tmp_path / "plain.png"
    png_by_hand(plain, data[..., 0] if channels == 1 else data, kind)
    assert read_both(plain).shape == ((7, 9) if channels == 1 else (7, 9, 3))


# --- decompression bombs: refused from the header, whatever the format ----------------

def _bomb_png(path, depth=8, kind=0):
    import struct
    import zlib

    def chunk(name, body):
        return struct.pack(">I", len(body)) + name + body + \
            struct.pack(">I", zlib.crc32(name + body) & 0xFFFFFFFF)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(
        ">IIBBBBB", 100000, 100000, depth, kind, 0, 0, 0)) +
        chunk(b"IDAT", zlib.compress(bytes(1000))) + chunk(b"IEND", b""))


def _bomb_pnm(path, magic=b"P5", maxval=255):
    path.write_bytes(magic + b"\n100000 100000\n" + str(maxval).encode() + b"\n" + bytes(64))


def _bomb_bmp(path):
    import struct

    header = struct.pack("<IiiHHIIiiII", 40, 100000, 100000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    path.write_bytes(b"BM" + struct.pack("<IHHI", 14 + 40 + 64, 0, 0, 54) + header + bytes(64))


def _bomb_tiff(path):
    """A real 16 x 16 TIFF whose ImageWidth and ImageLength then say 100000."""
    tifffile.imwrite(path, u8(16, 16))
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        spots = [(tags[name].valueoffset, tags[name].dtype) for name in
                 ("ImageWidth", "ImageLength")]
    for offset, dtype in spots:
        size = 2 if int(dtype) == 3 else 4
        data[offset:offset + size] = (100000 if size == 4 else 65535).to_bytes(size, "little")
    path.write_bytes(bytes(data))


def _bomb_jpeg(path):
    """A real JPEG whose start-of-frame then says 65535 x 65535."""
    Image.fromarray(u8(16, 16)).save(path, quality=90)
    data = bytearray(path.read_bytes())
    at = data.index(b"\xff\xc0") + 5                       # SOF0: length, precision, H, W
    data[at:at + 4] = (65535).to_bytes(2, "big") * 2
    path.write_bytes(bytes(data))


BOMBS = {"png": _bomb_png, "png16": lambda p: _bomb_png(p, 16, 2), "pgm": _bomb_pnm,
         "ppm16": lambda p: _bomb_pnm(p, b"P6", 65535), "bmp": _bomb_bmp,
         "tif": _bomb_tiff, "jpg": _bomb_jpeg}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_header_declaring_billions_of_pixels_is_refused_before_decoding(
        tmp_path, runner, kind, recwarn):
    """Issue 18: PNG, PGM and BMP bombs gave "An unknown error occurred while
    initializing plugin pillow" and leaked DecompressionBombWarning lines."""
    ext = {"png16": "png", "ppm16": "ppm"}.get(kind, kind)
    path = tmp_path / f"bomb.{ext}"
    BOMBS[kind](path)
    with pytest.raises(ImageIOError, match=r"bomb\.\w+: \d+x\d+ is [\d,]+ pixels, beyond"):
        io.read_info(path)
    with pytest.raises(ImageIOError, match="beyond the limit"):
        io.read_image(path)
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]
    result = runner.invoke(main, ["run", str(path), "-o", str(tmp_path / f"out.{ext}"),
                                  "-m", "median", "--sigma", "10"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "beyond the limit" in result.stderr and "DecompressionBomb" not in result.stderr
    assert not (tmp_path / f"out.{ext}").exists()
