"""What an image file carries besides its pixels, read from a source and written
back with the output: EXIF (orientation included), ICC profile, resolution, and
the JPEG quality it was saved at.

EXIF is held as one block, the TIFF-structured bytes JPEG, PNG and WebP embed.
A TIFF file has no such block: its descriptive tags (orientation, make, model,
software, date, artist, copyright, description) are the block's first directory
(IFD0), so they move between the two forms. TIFF's private EXIF directory
(exposure, lens, GPS) is read into the block for JPEG, PNG and WebP outputs, but
tifffile does not write such directories, so a TIFF output keeps IFD0's tags
only (:func:`tiff_dropped` names what is left out).

The JPEG quality is estimated from the luminance quantization table: the IJG
quality whose scaled table is closest to the file's.
"""
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np

log = logging.getLogger(__name__)

#: The default JPEG quality, where the source's cannot be estimated.
DEFAULT_QUALITY = 95
#: TIFF baseline tags that are EXIF's IFD0 tags: orientation and the descriptive ones.
TIFF_EXIF_TAGS = {274: "H", 270: "s", 271: "s", 272: "s", 305: "s", 306: "s", 315: "s",
                  33432: "s"}
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_ICC_TAG = 34675
#: The IJG (Annex K) luminance quantization table, natural order, at quality 50.
_IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.int64)


@dataclass(frozen=True)
class Metadata:
    """What a file carries besides its pixels (every field optional)."""

    exif: Optional[bytes] = None      # EXIF block, starting "Exif\\0\\0" and a TIFF header
    icc: Optional[bytes] = None       # ICC profile, as embedded
    dpi: Optional[tuple] = None       # (x, y) pixels per inch
    quality: Optional[int] = None     # JPEG quality to write with
    maxval: Optional[int] = None      # a 16-bit PNM's declared maximum

    def stripped(self):
        """No metadata: only the quality and the PNM maximum are kept."""
        return Metadata(quality=self.quality, maxval=self.maxval)


@dataclass(frozen=True)
class Saving:
    """How outputs are saved: the JPEG `quality` (None: the source's, else
    :data:`DEFAULT_QUALITY`) and whether the source's metadata is dropped (`strip`)."""

    quality: Optional[int] = None
    strip: bool = False

    def metadata_for(self, source):
        """The metadata to write with an output of `source` (a path)."""
        found = read_metadata(source)
        if self.strip:
            found = found.stripped()
        if self.quality is not None:
            found = replace(found, quality=self.quality)
        return found


def read_metadata(path):
    """The :class:`Metadata` of the image file `path`; a file whose metadata cannot
    be parsed gives what could be read (the pixels are read elsewhere)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".tif", ".tiff"):
            return _tiff_metadata(path)
        if suffix in (".pgm", ".ppm", ".pnm"):
            return _pnm_metadata(path)
        return _pillow_metadata(path)
    except Exception as exc:         # metadata is best effort: the pixels still count
        log.debug("%s: metadata not read (%s)", path, exc)
        return Metadata()


def jpeg_quality(tables):
    """The IJG quality (1..100) whose luminance table is closest to ``tables[0]``
    (Pillow's ``quantization``, natural order), or None if none is close."""
    if not tables or 0 not in tables or len(tables[0]) != 64:
        return None
    table = np.asarray(tables[0], dtype=np.int64)
    best, best_error = None, None
    for quality in range(1, 101):
        error = np.abs(_ijg_table(quality) - table).sum()
        if best_error is None or error < best_error:
            best, best_error = quality, error
    return best if best_error <= 64 else None


def _ijg_table(quality):
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((_IJG_LUMA * scale + 50) // 100, 1, 255)


def _pillow_metadata(path):
    from PIL import Image

    with Image.open(path) as im:
        info = im.info
        exif = info.get("exif")
        if exif is not None and not exif.startswith(b"Exif\x00\x00"):
            exif = b"Exif\x00\x00" + exif
        dpi = info.get("dpi")
        quality = jpeg_quality(getattr(im, "quantization", None)) \
            if im.format == "JPEG" else None
        return Metadata(exif=exif or None, icc=info.get("icc_profile") or None,
                        dpi=tuple(float(d) for d in dpi) if dpi else None, quality=quality)


def _tiff_metadata(path):
    import tifffile
    from PIL import Image

    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        exif = Image.Exif()
        for code in TIFF_EXIF_TAGS:
            if code in tags and not _written_by_tifffile(code, tags[code].value):
                exif[code] = tags[code].value
        for code in (_EXIF_IFD, _GPS_IFD):
            if code in tags and isinstance(tags[code].value, dict):
                exif.get_ifd(code).update(_exif_codes(tags[code].value, code))
        icc = tags[_ICC_TAG].value if _ICC_TAG in tags else None
        dpi = _tiff_dpi(tags)
    block = exif.tobytes() if len(exif) or exif.get_ifd(_EXIF_IFD) else None
    return Metadata(exif=block, icc=bytes(icc) if icc is not None else None, dpi=dpi)


def _written_by_tifffile(code, value):
    """tifffile's own shape record (ImageDescription) and name (Software) are not the
    user's metadata."""
    return (code == 270 and isinstance(value, str) and value.startswith('{"shape":')) or \
        (code == 305 and value == "tifffile.py")


def _exif_codes(values, ifd):
    """tifffile's named EXIF (or GPS) directory as {code: value} for Pillow."""
    import tifffile

    names = tifffile.TIFF.EXIF_TAGS if ifd == _EXIF_IFD else tifffile.TIFF.GPS_TAGS
    codes = {name: code for code, name in names.items()}
    return {codes[name]: value for name, value in values.items()
            if name in codes and not isinstance(value, dict)}


def _tiff_dpi(tags):
    if "XResolution" not in tags or "YResolution" not in tags:
        return None
    unit = tags["ResolutionUnit"].value if "ResolutionUnit" in tags else 2
    per_inch = {2: 1.0, 3: 2.54}.get(int(unit))
    if per_inch is None:
        return None
    x, y = (tags[name].value for name in ("XResolution", "YResolution"))
    return tuple(per_inch * num / den for num, den in (x, y) if den)


def _pnm_metadata(path):
    from ._codecs import pnm_header

    with open(path, "rb") as fh:
        header = pnm_header(fh.read(512))
    return Metadata(maxval=header[3] if header and header[3] > 255 else None)


# --- writing ------------------------------------------------------------------------

def pillow_options(fmt, metadata):
    """Keyword arguments for Pillow's save in format `fmt` carrying `metadata`."""
    metadata = metadata or Metadata()
    options = {}
    if fmt == "JPEG":
        options["quality"] = metadata.quality or DEFAULT_QUALITY
    if fmt == "WEBP":
        options.update(lossless=True, exact=True)   # exact: RGB kept under alpha 0
    if fmt in ("JPEG", "PNG", "WEBP"):
        if metadata.exif:
            options["exif"] = metadata.exif
        if metadata.icc:
            options["icc_profile"] = metadata.icc
    if fmt in ("JPEG", "PNG", "BMP") and metadata.dpi:
        options["dpi"] = metadata.dpi
    return options


def tiff_options(metadata):
    """Keyword arguments for tifffile's write carrying `metadata`: resolution, ICC
    profile and the EXIF block's IFD0 tags."""
    from PIL import Image

    if metadata is None:
        return {}
    tags = []
    if metadata.icc:
        tags.append((_ICC_TAG, 7, len(metadata.icc), metadata.icc, True))
    options = {}
    if metadata.exif:
        exif = Image.Exif()
        exif.load(metadata.exif)
        for code, dtype in TIFF_EXIF_TAGS.items():
            value = exif.get(code)
            if value is None:
                continue
            if code == 270:
                options["description"] = str(value)
                options["metadata"] = None
            elif code == 305:
                options["software"] = str(value)
            elif dtype == "s":
                tags.append((code, "s", 0, str(value), True))
            else:
                tags.append((code, dtype, 1, int(value), True))
    if metadata.dpi:
        options["resolution"] = tuple(float(d) for d in metadata.dpi)
        options["resolutionunit"] = "INCH"
    if tags:
        options["extratags"] = tags
    return options


def tiff_dropped(metadata):
    """What a TIFF output cannot keep of `metadata`: its private EXIF directories."""
    from PIL import Image

    if metadata is None or not metadata.exif:
        return ()
    exif = Image.Exif()
    exif.load(metadata.exif)
    return tuple(name for code, name in ((_EXIF_IFD, "EXIF camera settings"),
                                         (_GPS_IFD, "GPS position"))
                 if exif.get_ifd(code))
