"""Readers for the files whose layout imageio would take wrongly: TIFF series (planar
samples, page stacks, CMYK) and Pillow's palette, color-keyed, CMYK and animated images.

Each ``*_plan`` function reads a file's header only and returns ``(shape, dtype,
read)``: the shape and dtype :func:`denoise.io.read_image` returns, and a function
decoding the pixels in that layout. A file that holds no single 2-D image, or one
whose samples cannot be taken as they are, raises ImageFormatError with the reason.
"""
import numpy as np

from .errors import ImageFormatError

#: The TIFF photometric interpretations read as they are (tifffile decodes JPEG-
#: compressed YCbCr to RGB); the others are refused, named.
_TIFF_PHOTOMETRIC = {1: "MINISBLACK", 2: "RGB"}
_TIFF_REASON = {5: "CMYK: convert to RGB first",
                0: "photometric MINISWHITE (0 is white): convert to MINISBLACK first",
                3: "palette TIFF: convert to RGB first",
                8: "CIELAB: convert to RGB first"}
_SPLIT = "this tool filters single images: split them first"


# --- TIFF ---------------------------------------------------------------------------

def tiff_plan(path):
    """``(shape, dtype, read)`` of the first series of the TIFF `path`: samples last,
    axes of length 1 dropped; ImageFormatError unless it is one 2-D image."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        _check_single(tif)
        series = tif.series[0]
        axes, shape, dtype = series.axes, tuple(series.shape), np.dtype(series.dtype)
        page = series.keyframe
        photometric = int(page.photometric)
        jpeg_ycbcr = photometric == 6 and int(page.compression) in (6, 7)
    if photometric not in _TIFF_PHOTOMETRIC and not jpeg_ycbcr:
        raise ImageFormatError(_TIFF_REASON.get(
            photometric, f"photometric {photometric} ({_photometric_name(photometric)}): "
                         f"convert to RGB or gray first"))
    kept = [(a, n) for a, n in zip(axes, shape) if n != 1 or a in "YX"]
    kept_axes = "".join(a for a, _ in kept)
    if kept_axes not in ("YX", "YXS", "SYX"):
        raise ImageFormatError(f"a {'x'.join(map(str, shape))} {axes} series, not one 2-D "
                               f"image; {_SPLIT}, e.g. tifffile")
    squeezed = tuple(n for _, n in kept)
    planar = kept_axes == "SYX"
    out_shape = squeezed[1:] + squeezed[:1] if planar else squeezed

    def read():
        with tifffile.TiffFile(path) as tif:
            image = tif.series[0].asarray().reshape(squeezed)
        return np.ascontiguousarray(np.moveaxis(image, 0, -1)) if planar else image

    return out_shape, dtype, read


def _check_single(tif):
    """Refuse a TIFF of several images (pages or series; reduced-resolution copies,
    such as thumbnails, do not count)."""
    count = len(tif.pages)
    if count > 1:
        count = sum(1 for page in tif.pages if not getattr(page, "is_reduced", False))
    if count > 1:
        raise ImageFormatError(f"{count} pages; {_SPLIT}, e.g. tifffile")


def _photometric_name(value):
    import tifffile

    try:
        return tifffile.PHOTOMETRIC(value).name
    except ValueError:
        return "unknown"


# --- Pillow -------------------------------------------------------------------------

def pillow_plan(path):
    """``(shape, dtype, read)`` for a palette or color-keyed (tRNS) image, read with
    its colors and transparency (gray+alpha or RGBA; gray or RGB without
    transparency); None for the other images, which imageio reads as they are.
    Raises ImageFormatError for CMYK and for several frames."""
    from PIL import Image

    with Image.open(path) as im:
        frames = getattr(im, "n_frames", 1)
        if frames > 1:
            raise ImageFormatError(f"{frames} frames; {_SPLIT}, e.g. with Pillow's "
                                   f"ImageSequence")
        if im.mode == "CMYK":
            raise ImageFormatError("CMYK: convert to RGB first")
        keyed = im.mode in ("P", "L", "RGB") and im.info.get("transparency") is not None
        alpha = keyed or im.mode == "PA"
        if im.mode not in ("P", "PA") and not keyed:
            return None
        gray = im.mode == "L" or (im.mode in ("P", "PA") and _gray_palette(im))
        width, height = im.size
    channels = (2 if alpha else 1) if gray else (4 if alpha else 3)
    shape = (height, width) if channels == 1 else (height, width, channels)

    def read():
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGBA" if alpha else "RGB"))
        if gray:
            return np.ascontiguousarray(rgb[..., [0, 3]] if alpha else rgb[..., 0])
        return rgb

    return shape, np.dtype(np.uint8), read


def _gray_palette(im):
    """True if every entry of `im`'s palette is a gray (R = G = B)."""
    palette = np.asarray(im.getpalette("RGB") or [], dtype=np.uint8).reshape(-1, 3)
    return bool((palette == palette[:, :1]).all())
