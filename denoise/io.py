"""Image files: read, write atomically, and find images in folders (through imageio).

Arrays are returned as the file stores them: ``(H, W)`` or ``(H, W, C)`` with C in
1..4 (2 and 4 carry alpha), uint8, uint16 or float. The filters split alpha off
and put it back untouched; this module never changes sample values (planar TIFF
samples are moved last and palettes applied, with their transparency as alpha).
A file of several pages or frames, or of CMYK samples, is refused, named
(:mod:`denoise._readers`).
"""
import logging
import os
import socket
import stat
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from ._image import ImageInfo, check_image
from .errors import DenoiseError, ImageIOError, OutputExistsError

log = logging.getLogger(__name__)

#: extension -> format name
FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG", ".jpeg": "JPEG",
           ".bmp": "BMP", ".pnm": "PNM", ".pgm": "PNM", ".ppm": "PNM", ".pbm": "PNM",
           ".webp": "WEBP"}

_ANY = (1, 2, 3, 4)
#: format -> {dtype name: channel counts it can store without loss}
WRITABLE = {
    "PNG": {"uint8": _ANY, "uint16": _ANY},
    "TIFF": {"uint8": _ANY, "uint16": _ANY, "float32": _ANY, "float64": _ANY},
    "JPEG": {"uint8": (1, 3)},
    "BMP": {"uint8": (1, 3)},
    "PNM": {"uint8": (1, 3), "uint16": (1, 3)},
    "WEBP": {"uint8": (3, 4)},        # lossless; WebP holds no gray and no 16-bit samples
}
#: The channels each PNM extension names (P5 gray, P6 RGB; PBM is 1-bit, which no
#: filtered image is); .pnm takes its kind from the data.
_PNM_CHANNELS = {".pgm": (1,), ".ppm": (3,), ".pbm": ()}
_PNM_KIND = {".pgm": "a .pgm file holds a gray image (P5)",
             ".ppm": "a .ppm file holds an RGB image (P6)",
             ".pbm": "a .pbm file holds a 1-bit image (P4), which would lose the levels"}
#: What a path that is no regular file is, for the reason refusing it
_NOT_REGULAR = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"))
#: imageio plugin per format (no guessing among every installed plugin)
_PLUGINS = {"TIFF": "tifffile"}
#: The default pixel limit: a file declaring more pixels is refused before decoding.
MAX_PIXELS = 1 << 30
#: Temporary outputs are named ``.denoise-tmp.HOST.PID.RANDOM.NAME``, so a later run
#: can tell stale ones (their process is gone) from those of a run still writing.
TEMP_PREFIX = ".denoise-tmp."
#: A temporary file of another host is taken as stale after this many seconds.
_FOREIGN_STALE = 24 * 3600
#: Leading bytes of each format, for data without a file name (stdin).
_MAGIC = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"II*\x00", ".tif"),
          (b"MM\x00*", ".tif"), (b"II+\x00", ".tif"), (b"MM\x00+", ".tif"), (b"BM", ".bmp"),
          (b"P1", ".pbm"), (b"P4", ".pbm"), (b"P2", ".pgm"), (b"P5", ".pgm"), (b"P3", ".ppm"),
          (b"P6", ".ppm"), (b"RIFF", ".webp"))


def format_of(path):
    """Format name for `path`'s extension, or raise ImageIOError listing the supported ones."""
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise ImageIOError(
            f"{path}: unsupported file type {ext or '(none)'!r}; "
            f"use one of {', '.join(sorted(FORMATS))}")
    return FORMATS[ext]


def is_image_path(path):
    """True if `path` has an extension this module reads."""
    return Path(path).suffix.lower() in FORMATS


def read_image(path, *, max_pixels=MAX_PIXELS):
    """Read one image file; raise ImageIOError naming the file and the reason.

    A file whose header declares more than `max_pixels` pixels is refused before
    its pixels are decoded; so is a file holding no single 2-D image (several
    pages or frames) or samples that are no gray or RGB (CMYK).
    """
    path, fmt, _, read = _planned(path, max_pixels)
    try:
        with _pillow_limit():
            image = read()
    except Exception as exc:  # imageio raises many types for a bad file
        raise ImageIOError(f"{path}: cannot read image ({_reason(exc)})") from exc
    image = _normalise(image, fmt)
    try:
        check_image(image)
    except DenoiseError as exc:
        raise ImageIOError(f"{path}: {exc}") from exc
    return image


def read_info(path, *, max_pixels=MAX_PIXELS):
    """What `path` holds, as an ImageInfo, from its header (no pixels are decoded).

    Agrees with :func:`read_image` on shape and dtype; raises ImageIOError naming
    the file and the reason, or a declared size beyond `max_pixels`. A file whose
    pixels turn out unreadable fails later, in :func:`read_image`.
    """
    return _planned(path, max_pixels)[2]


def _planned(path, max_pixels):
    """``(path, format, ImageInfo, read)`` of `path` from its header: what
    :func:`read_image` returns, and the function decoding it."""
    path = _checked(path)
    fmt = format_of(path)
    try:
        with _pillow_limit():
            shape, dtype, read = _plan(path, fmt)
    except DenoiseError as exc:
        raise ImageIOError(f"{path}: {exc}") from exc
    except Exception as exc:  # imageio and tifffile raise many types for a bad file
        raise ImageIOError(f"{path}: cannot read image ({_reason(exc)})") from exc
    if len(shape) >= 2 and shape[0] * shape[1] > max_pixels:
        raise ImageIOError(
            f"{path}: {shape[1]}x{shape[0]} is {shape[0] * shape[1]:,} pixels, beyond the "
            f"limit of {max_pixels:,} (--max-pixels to raise it)")
    if dtype == bool:                             # 1-bit: read as 0 / 255
        dtype = np.dtype(np.uint8)
    elif fmt == "PNM" and dtype.kind == "i":      # Pillow reads 16-bit PGM as int32
        dtype = np.dtype(np.uint16)
    try:
        return path, fmt, ImageInfo.from_shape(shape, dtype), read
    except DenoiseError as exc:
        raise ImageIOError(f"{path}: {exc}") from exc


def _plan(path, fmt):
    """``(shape, dtype, read)`` of `path` from its header (see :mod:`denoise._readers`)."""
    import imageio.v3 as iio

    from ._readers import pillow_plan, tiff_plan

    if fmt == "TIFF":
        return tiff_plan(path)
    own = _own_codec(path, fmt)
    if own is not None:
        return own[0], np.dtype(np.uint16), own[1]
    planned = pillow_plan(path)
    if planned is not None:
        return planned
    props = iio.improps(path, plugin="pillow")
    return props.shape, np.dtype(props.dtype), \
        lambda: np.asarray(iio.imread(path, plugin="pillow"))


def check_writable(path, image):
    """Raise ImageIOError unless `image`'s dtype and channels can be stored in `path`
    (float16 as the float32 that every filter returns and :func:`write_image` writes)."""
    fmt = format_of(path)
    channels = 1 if image.ndim == 2 else image.shape[2]
    dtype = "float32" if image.dtype == np.float16 else image.dtype.name
    if channels not in WRITABLE[fmt].get(dtype, ()):
        kinds = "; ".join(f"{d} with {'/'.join(map(str, c))} channels"
                          for d, c in WRITABLE[fmt].items())
        other = next((ext for ext, f in FORMATS.items()
                      if channels in WRITABLE[f].get(dtype, ())), None)
        named = "float16 (written as float32)" if dtype != image.dtype.name else dtype
        raise ImageIOError(
            f"{path}: {fmt} cannot store a {named} image with {channels} channel(s) "
            f"without loss ({fmt} stores {kinds})"
            + (f"; choose another extension, e.g. {other}" if other else ""))
    suffix = Path(path).suffix.lower()
    if channels not in _PNM_CHANNELS.get(suffix, (channels,)):
        raise ImageIOError(
            f"{path}: {_PNM_KIND[suffix]}, not a {channels}-channel image; choose "
            f"{'.ppm' if channels == 3 else '.pgm'} (or .pnm, which takes its kind from "
            f"the data)")


def write_image(path, image, *, overwrite=False, metadata=None):
    """Write `image` to `path` atomically (temporary file in the same folder, then rename).

    Without `overwrite` an existing file is never replaced, not even one another
    process creates while this one writes (the temporary file is linked, not
    renamed, into place). An interrupted or failed write leaves no partial file.
    `metadata` (:class:`~denoise.metadata.Metadata`) is written where the format
    holds it: EXIF, ICC profile, resolution, JPEG quality (default 95).
    """
    path = Path(path)
    format_of(path)
    check_writable(path, image)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: output exists (pass --overwrite to replace it)")
    commit_atomic(path, lambda tmp: _encode(tmp, path, image, metadata), replace=overwrite)


def _encode(tmp, path, image, metadata):
    """Write `image` into the temporary file `tmp` in the format of `path`."""
    import imageio.v3 as iio

    from ._codecs import write_png16, write_pnm16
    from .metadata import Metadata, pillow_options, tiff_dropped, tiff_options

    fmt = format_of(path)
    metadata = metadata or Metadata()
    if image.dtype == np.float16:                 # as every filter returns it
        image = image.astype(np.float32)
    if image.dtype == np.uint16 and (fmt == "PNM" or (fmt == "PNG" and image.ndim == 3)):
        with open(tmp, "wb") as fh:
            if fmt == "PNM":
                write_pnm16(fh, image, maxval=metadata.maxval or 65535)
            else:
                write_png16(fh, image, icc=metadata.icc, exif=metadata.exif, dpi=metadata.dpi)
        return
    if fmt == "TIFF":
        _note_dropped(path, tiff_dropped(metadata))
        options = tiff_options(metadata)
        if image.ndim == 3 and image.shape[2] == 2:   # gray + alpha, not a page stack
            options.update(photometric="minisblack", planarconfig="contig",
                           extrasamples=("unassalpha",))
    else:
        options = pillow_options(fmt, metadata)
    iio.imwrite(tmp, image, extension=path.suffix.lower(), plugin=_PLUGINS.get(fmt, "pillow"),
                **options)


_NOTED = set()


def _note_dropped(path, dropped):
    """Say once per process what a TIFF output leaves out of its source's metadata."""
    if dropped and dropped not in _NOTED:
        _NOTED.add(dropped)
        log.warning("warning: %s: TIFF output without the source's %s (tifffile writes no EXIF "
                    "sub-directories; later files alike are not named)", path,
                    " and ".join(dropped))


def temp_path(path):
    """A new, empty temporary file beside `path`, named so stale ones can be found
    (:func:`remove_stale_temps`); raises ImageIOError if the folder is not writable."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f"{TEMP_PREFIX}{_host()}.{os.getpid()}.",
            suffix=f".{path.name}")
        os.close(fd)
    except OSError as exc:
        raise ImageIOError(f"{path}: cannot write ({_reason(exc)})") from exc
    return Path(tmp)


def commit_atomic(path, write, *, replace=False, tmp=None):
    """Create `path` by ``write(temporary path)``, then move the result into place.

    With `replace` false, an existing `path` is never replaced (ImageIOError). An
    interrupted or failed write removes the temporary file. `tmp` is a temporary
    file from :func:`temp_path` already written to, if the caller made one.
    """
    path = Path(path)
    tmp = temp_path(path) if tmp is None else Path(tmp)
    try:
        if write is not None:
            write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        if replace:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    except BaseException as exc:        # interrupted too: never leave a partial file
        tmp.unlink(missing_ok=True)
        if not isinstance(exc, Exception) or isinstance(exc, ImageIOError):
            raise
        raise ImageIOError(f"{path}: cannot write ({_reason(exc)})") from exc


def _link_new(tmp, path):
    """Move `tmp` to `path` unless `path` exists (no-replace, even against a race)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputExistsError(f"{path}: output exists (written meanwhile by another "
                                f"process?); pass --overwrite to replace it") from None
    except OSError:                      # no hard links on this file system
        if path.exists():
            raise OutputExistsError(f"{path}: output exists (pass --overwrite to replace "
                                    f"it)") from None
        os.rename(tmp, path)
        return
    tmp.unlink()


def remove_stale_temps(folder):
    """Remove the temporary files that interrupted runs left in `folder`: those of a
    process of this host that no longer runs, or of another host and over a day old.
    Returns the paths removed."""
    removed = []
    for tmp in Path(folder).glob(f"{TEMP_PREFIX}*"):
        host, _, rest = tmp.name[len(TEMP_PREFIX):].partition(".")
        pid = rest.partition(".")[0]
        try:
            stale = not _alive(int(pid)) if host == _host() else \
                time.time() - tmp.stat().st_mtime > _FOREIGN_STALE
            if stale:
                tmp.unlink()
                removed.append(tmp)
        except (OSError, ValueError):
            continue
    return removed


def exit_on_sigterm():
    """SIGTERM exits as an exception would (exit code 143), so a file being written
    removes its temporary file first (main thread only; elsewhere a no-op)."""
    import signal
    import threading

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _host():
    return socket.gethostname().replace(".", "-")


def write_atomic(path, write):
    """Create `path` by ``write(binary_file)`` on a temporary file, then a rename.

    Replaces an existing file; an interrupted or failed write leaves no partial
    file behind (used for reports, tables and baselines).
    """
    def to_file(tmp):
        with open(tmp, "wb") as f:
            write(f)

    commit_atomic(path, to_file, replace=True)


def write_text(path, text):
    """Write `text` (UTF-8) to `path` atomically (see :func:`write_atomic`)."""
    write_atomic(path, lambda f: f.write(text.encode("utf-8")))


def suffix_of_bytes(data):
    """The file extension of image `data` from its leading bytes, or None."""
    if data.startswith(b"RIFF") and data[8:12] != b"WEBP":
        return None
    return next((ext for magic, ext in _MAGIC if data.startswith(magic)), None)


def iter_images(folder, *, recursive=False):
    """Image files in `folder` (sorted; hidden files skipped), optionally recursing."""
    folder = Path(folder)
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern)
                  if p.is_file() and is_image_path(p) and not p.name.startswith("."))


def _checked(path):
    """`path` as a Path if it is a file of a supported type that can be read without loss."""
    path = Path(path)
    format_of(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ImageIOError(f"{path}: no such file") from None
    except OSError as exc:
        raise ImageIOError(f"{path}: cannot read ({_reason(exc)})") from exc
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _NOT_REGULAR if test(mode)), "a special file")
        raise ImageIOError(f"{path}: not a regular file ({kind})")
    return path


def _own_codec(path, fmt):
    """``(shape, read)`` for the files Pillow would read with less depth (16-bit color
    PNG, 16-bit PNM), read here by :mod:`denoise._codecs`; None for the others."""
    from ._codecs import png16_plan, pnm_header, read_pnm16

    if fmt not in ("PNG", "PNM"):
        return None
    with open(path, "rb") as fh:
        head = fh.read(512)
    if fmt == "PNG":
        return png16_plan(path, head)
    header = pnm_header(head)
    if header is None or header[3] <= 255:
        return None
    channels, width, height = header[:3]
    shape = (height, width) if channels == 1 else (height, width, channels)
    return shape, lambda: read_pnm16(path, header)


def _normalise(image, fmt):
    """Map what imageio returns for some formats to the supported dtypes."""
    if image.dtype == bool:                       # 1-bit PBM/PNG/TIFF
        return image.astype(np.uint8) * np.uint8(255)
    if fmt == "PNM" and image.dtype.kind == "i" and image.size and image.min() >= 0 \
            and image.max() <= 65535:             # Pillow reads 16-bit PGM as int32
        return image.astype(np.uint16)
    return image


class _pillow_limit:
    """Pillow's own decompression-bomb warning and error off: this module checks the
    declared size against its pixel limit from the header, before decoding."""

    def __enter__(self):
        from PIL import Image

        self.before = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)

    def __exit__(self, *exc):
        from PIL import Image

        self.warnings.__exit__(*exc)
        Image.MAX_IMAGE_PIXELS = self.before


def _reason(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
