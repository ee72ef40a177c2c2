"""The codecs Pillow lacks: 16-bit color PNG (through imagecodecs) and 16-bit PNM.

Pillow reads a 16-bit RGB, RGBA or gray+alpha PNG and a 16-bit PPM as 8-bit, and
cannot write them; imagecodecs decodes and encodes such PNGs exactly, and a
16-bit PNM is a short text header followed by big-endian samples. The metadata
chunks of a PNG written here (ICC profile, EXIF, resolution) are added to the
encoded stream, as Pillow adds them to the PNGs it writes.
"""
import re
import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG color types with more than one sample per pixel, and their channel counts
_PNG_CHANNELS = {2: 3, 4: 2, 6: 4}
#: PNM magic -> channels, for the binary kinds
_PNM_CHANNELS = {b"P5": 1, b"P6": 3}
_PNM_TOKEN = re.compile(rb"\s*(?:#[^\n]*\n\s*)*(\S+)")


# --- PNG ----------------------------------------------------------------------------

def png16_plan(path, head):
    """``((height, width, channels), read)`` if the PNG at `path`, starting with `head`
    (at least 26 bytes), is 16-bit with several samples per pixel, or 16-bit gray or
    RGB with a transparent color (tRNS), which Pillow would reduce to 8 bits or read
    without its transparency; else None. A color key becomes an alpha channel
    (0 where a pixel is the key, 65535 elsewhere), as Pillow does for 8 bits."""
    if len(head) < 26 or not head.startswith(PNG_SIGNATURE) or head[24] != 16:
        return None
    width, height = struct.unpack(">II", head[16:24])
    kind = head[25]
    key = _png_key(path, kind) if kind in (0, 2) else None
    if kind not in _PNG_CHANNELS and key is None:
        return None
    channels = _PNG_CHANNELS.get(kind, 1 if kind == 0 else 3) + (key is not None)
    return (height, width, channels), lambda: _expect(read_png16(path), channels)


def read_png16(path):
    """The samples of a 16-bit PNG read by :func:`png16_plan`, as uint16 (H, W, C):
    libpng (imagecodecs) turns a tRNS color key into alpha."""
    import imagecodecs

    with open(path, "rb") as fh:
        return np.asarray(imagecodecs.png_decode(fh.read()))


def _expect(image, channels):
    """`image` as (H, W, `channels`), or ValueError if the decoder disagreed with the
    header (the file is then refused rather than read differently)."""
    image = image.reshape(image.shape[:2] + (-1,))
    if image.shape[2] != channels:
        raise ValueError(f"decoded {image.shape[2]} channels where the header declares "
                         f"{channels}")
    return image


def _png_key(path, kind):
    """The transparent color of a gray (`kind` 0) or RGB (2) PNG: its tRNS chunk's
    values, or None. Chunks are skipped by their length up to the first IDAT."""
    with open(path, "rb") as fh:
        fh.seek(len(PNG_SIGNATURE))
        while len(header := fh.read(8)) == 8:
            length, name = struct.unpack(">I4s", header)
            if name == b"IDAT":
                return None
            if name == b"tRNS":
                body = fh.read(length)
                count = 1 if kind == 0 else 3
                return struct.unpack(f">{count}H", body[:2 * count]) \
                    if len(body) >= 2 * count else None
            fh.seek(length + 4, 1)
    return None


def write_png16(file, image, *, icc=None, exif=None, dpi=None):
    """Write uint16 `image` (H, W, C) as a 16-bit PNG to the open binary `file`,
    with the ICC profile, EXIF block and resolution (pixels per inch) given."""
    import imagecodecs

    data = imagecodecs.png_encode(np.ascontiguousarray(image, dtype=np.uint16))
    end = len(PNG_SIGNATURE) + 8 + 13 + 4          # past the IHDR chunk
    chunks = _without_color_chunks(data[end:], drop=icc is not None)
    extra = b""
    if icc is not None:
        extra += _chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if dpi is not None:
        extra += _chunk(b"pHYs", struct.pack(">IIB", *(int(d / 0.0254 + 0.5) for d in dpi),
                                             1))
    if exif is not None:
        extra += _chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    file.write(data[:end] + extra + chunks)


def _chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + \
        struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _without_color_chunks(data, *, drop):
    """The chunks in `data`, less sRGB and gAMA if `drop` (an ICC profile replaces them)."""
    if not drop:
        return data
    kept, at = [], 0
    while at + 8 <= len(data):
        length = struct.unpack(">I", data[at:at + 4])[0]
        end = at + 12 + length
        if data[at + 4:at + 8] not in (b"sRGB", b"gAMA", b"cHRM"):
            kept.append(data[at:end])
        at = end
    return b"".join(kept)


# --- PNM ----------------------------------------------------------------------------

def pnm_header(head):
    """``(channels, width, height, maxval, data offset)`` of a binary PGM (P5) or PPM
    (P6) starting with `head` (its first few hundred bytes), or None for other kinds."""
    if head[:2] not in _PNM_CHANNELS:
        return None
    values, at = [], 2
    for _ in range(3):
        match = _PNM_TOKEN.match(head, at)
        if match is None or not match.group(1).isdigit():
            return None
        values.append(int(match.group(1)))
        at = match.end()
    if at >= len(head) or not head[at:at + 1].isspace():
        return None
    width, height, maxval = values
    return _PNM_CHANNELS[head[:2]], width, height, maxval, at + 1


def read_pnm16(path, header):
    """The samples of a 16-bit binary PNM with `header` (:func:`pnm_header`), as uint16
    (H, W) or (H, W, 3), unscaled (values up to the file's maxval)."""
    channels, width, height, _, offset = header
    count = width * height * channels
    data = np.fromfile(path, dtype=">u2", count=count, offset=offset)
    if data.size != count:
        raise ValueError(f"truncated: {data.size} of {count} samples")
    shape = (height, width) if channels == 1 else (height, width, channels)
    return data.reshape(shape).astype(np.uint16)


def write_pnm16(file, image, *, maxval=65535):
    """Write uint16 `image`, gray (H, W) or RGB (H, W, 3), as a binary 16-bit PNM to the
    open binary `file`; `maxval` is the file's declared maximum (at least the data's)."""
    magic = b"P5" if image.ndim == 2 else b"P6"
    maxval = max(int(maxval), int(image.max(initial=0)), 256)
    file.write(b"%s\n%d %d\n%d\n" % (magic, image.shape[1], image.shape[0], maxval))
    file.write(np.ascontiguousarray(image, dtype=">u2").tobytes())
