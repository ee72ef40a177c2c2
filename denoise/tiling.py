"""Images in tiles: overlapping windows grown by each method's halo, and TIFF files
read and written window by window.

A method declares its ``halo``, the context an output pixel depends on, when it is
planned. :func:`run_tiled` cuts the image into tiles, grows each by the halo (within
the image), filters the grown tile with the plan placed where it lies
(:meth:`~denoise.registry.FilterSpec.place`; :class:`Placed`) and keeps its
interior: for window methods the result equals the untiled one exactly. Methods
with image-level statistics (LARK's stopping rule and clipping range) have them
fitted once first, on the whole image or, past :data:`FIT_PIXELS`, on its central
part (:func:`fit_plan`), then held fixed for every tile; so are the statistics of
the conditioning to unit noise (:class:`Conditioned`), whose other steps are
pointwise.

Sources and sinks are anything sliced like an array: an ndarray, or
:class:`TiffWindows` and :class:`TiffWindowWriter`, which map only the rows a tile
needs from an uncompressed TIFF, so no step holds the whole image.
"""
from dataclasses import dataclass

import numpy as np

from ._image import float_range, image_range, peak_of, to_working
from .errors import ImageIOError
from .noise.condition import Conditioning, NoiseSetting, denoise_under
from .registry import Plan, get_filter

#: Images above this many pixels are tiled when no tile size is given.
AUTO_TILE_PIXELS = 4096 * 4096
#: The tile side used then.
DEFAULT_TILE = 2048
#: Image-level statistics are fitted on at most this many pixels (the central part).
FIT_PIXELS = 2048 * 2048


def tile_boxes(height, width, tile):
    """``(r0, r1, c0, c1)`` of the tiles covering an image, row by row; the last row
    and column of tiles may be smaller."""
    tile = max(1, int(tile))
    return [(r, min(r + tile, height), c, min(c + tile, width))
            for r in range(0, height, tile) for c in range(0, width, tile)]


def grown(box, halo, height, width):
    """`box` grown by `halo` on every side, within the image."""
    r0, r1, c0, c1 = box
    return (max(0, r0 - halo), min(height, r1 + halo), max(0, c0 - halo),
            min(width, c1 + halo))


def tile_size(shape, tile=None):
    """The tile side for an image of `shape`: `tile` if given, else
    :data:`DEFAULT_TILE` above :data:`AUTO_TILE_PIXELS`, else None (untiled)."""
    if tile is not None:
        return int(tile)
    return DEFAULT_TILE if shape[0] * shape[1] > AUTO_TILE_PIXELS else None


def central(shape, pixels=None):
    """The box of the central part of an image of `shape` with at most `pixels` pixels
    (default :data:`FIT_PIXELS`; the whole image when it is smaller)."""
    pixels = FIT_PIXELS if pixels is None else pixels
    height, width = shape[:2]
    if height * width <= pixels:
        return 0, height, 0, width
    side_h = min(height, max(1, int(np.sqrt(pixels * height / width))))
    side_w = min(width, pixels // side_h)
    r0, c0 = (height - side_h) // 2, (width - side_w) // 2
    return r0, r0 + side_h, c0, c0 + side_w


def fit_plan(spec, plan, source):
    """`plan` with its image-level statistics fitted on `source` (the whole image up to
    :data:`FIT_PIXELS` pixels, else its central part) and fixed; unchanged if none."""
    if not plan.statistics or spec.fit is None:
        return plan
    r0, r1, c0, c1 = central(source.shape)
    work, _ = to_working(np.asarray(source[r0:r1, c0:c1]), plan.info.data_range)
    return spec.fit(work, plan)


@dataclass(frozen=True)
class Placed:
    """What filters a tile: the method's plan (statistics fixed), placed at the tile's
    corner. Picklable (the method by name), for Dask workers."""

    method: str
    plan: Plan

    @property
    def halo(self):
        return self.plan.halo

    def __call__(self, crop, row, col):
        spec = get_filter(self.method)
        return spec.run(crop, spec.place(self.plan, row, col))


@dataclass(frozen=True)
class Conditioned(Placed):
    """What filters a tile whose noise needs conditioning (Poisson-Gaussian, unequal
    channels): the tile is conditioned to unit noise with the whole image's statistics
    (:func:`~denoise.noise.condition.denoise_under`), filtered, and brought back."""

    setting: NoiseSetting = None
    conditioning: Conditioning = None

    def __call__(self, crop, row, col):
        spec = get_filter(self.method)
        plan = spec.place(self.plan, row, col)
        return denoise_under(crop, self.setting, lambda work, sigma: spec.run(work, plan),
                             self.conditioning)


def run_tiled(source, tile, tile_filter, *, sink=None, progress=None):
    """Filter `source` tile by tile into `sink` (a new array if None).

    Each tile is grown by ``tile_filter.halo``, filtered by ``tile_filter(crop, row,
    col)`` (row, col: the grown tile's corner) and its interior written.
    `progress(n)` is called after each tile. Returns `sink`.
    """
    height, width = source.shape[:2]
    halo = tile_filter.halo
    if halo is None:
        raise ImageIOError(f"{tile_filter.method} needs the whole image at once: it cannot "
                           f"run in tiles")
    if sink is None:
        dtype = np.float32 if source.dtype == np.float16 else source.dtype
        sink = np.empty(source.shape, dtype)
    for box in tile_boxes(height, width, tile):
        a0, a1, b0, b1 = grown(box, halo, height, width)
        r0, r1, c0, c1 = box
        out = tile_filter(np.ascontiguousarray(source[a0:a1, b0:b1]), a0, b0)
        sink[r0:r1, c0:c1] = out[r0 - a0:r1 - a0, c0 - b0:c1 - b0]
        if progress is not None:
            progress(1)
    return sink


def source_range(source, data_range=None, band=256):
    """The data range of `source` (an array or :class:`TiffWindows`): `data_range` if
    given, the dtype's for integers, else read from the values of the whole image
    (:func:`~denoise._image.float_range`), `band` rows at a time."""
    if data_range is not None or np.dtype(source.dtype).kind != "f":
        return image_range(np.empty((1, 1) + tuple(source.shape[2:]), source.dtype),
                           data_range)
    if isinstance(source, np.ndarray):
        return image_range(source)
    height = source.shape[0]
    peak = max(peak_of(source[r:min(r + band, height), :]) for r in range(0, height, band))
    return float_range(peak)


# --- TIFF window by window ------------------------------------------------------------

class TiffWindows:
    """An uncompressed single-image TIFF, sliced like an array ``[rows, cols]``; each
    slice maps only the rows it needs and copies them out."""

    def __init__(self, path, offset, shape, dtype):
        self.path, self.offset = str(path), int(offset)
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)

    @classmethod
    def open(cls, path):
        """The windows of `path`, or None if it is not a TIFF that can be read so (one
        image, uncompressed, contiguous, pixel-interleaved)."""
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                page, series = tif.pages[0], tif.series[0]
                if len(tif.pages) != 1 or not page.is_contiguous or page.compression != 1 \
                        or tuple(series.shape) != tuple(page.shape) or \
                        (len(page.shape) == 3 and page.planarconfig != 1):
                    return None
                dtype = np.dtype(page.dtype).newbyteorder(tif.byteorder)
                return cls(path, page.dataoffsets[0], page.shape, dtype)
        except Exception:  # not readable so: the caller reads it whole instead
            return None

    def _rows(self, r0, r1, mode="r"):
        row = int(np.prod(self.shape[1:])) * self.dtype.itemsize
        return np.memmap(self.path, self.dtype, mode, offset=self.offset + r0 * row,
                         shape=(r1 - r0,) + self.shape[1:])

    def __getitem__(self, key):
        rows, *rest = key
        r0, r1, _ = rows.indices(self.shape[0])
        view = self._rows(r0, r1)
        try:
            return np.array(view[(slice(None), *rest)], dtype=self.dtype.newbyteorder("="))
        finally:
            del view


class TiffWindowWriter(TiffWindows):
    """A new uncompressed TIFF of a given shape and dtype, written window by window
    (``writer[rows, cols] = block``); picklable, so Dask workers write their tiles
    into the same file."""

    @classmethod
    def create(cls, path, shape, dtype, **options):
        """Lay out an uncompressed TIFF at `path` (its pixels not yet written); `options`
        go to tifffile (metadata: :func:`denoise.metadata.tiff_options`)."""
        import tifffile

        photometric = "rgb" if len(shape) == 3 and shape[2] in (3, 4) else "minisblack"
        extra = {"extrasamples": ["unassalpha"]} if len(shape) == 3 and shape[2] in (2, 4) \
            else {}
        mapped = tifffile.memmap(str(path), shape=tuple(shape), dtype=dtype,
                                 photometric=photometric, **extra, **options)
        del mapped
        windows = TiffWindows.open(path)
        return cls(path, windows.offset, windows.shape, windows.dtype)

    def __setitem__(self, key, block):
        rows, *rest = key
        r0, r1, _ = rows.indices(self.shape[0])
        view = self._rows(r0, r1, "r+")
        try:
            view[(slice(None), *rest)] = block
            view.flush()
        finally:
            del view


__all__ = ["AUTO_TILE_PIXELS", "DEFAULT_TILE", "FIT_PIXELS", "Conditioned", "Placed",
           "TiffWindowWriter", "TiffWindows", "central", "fit_plan", "grown", "run_tiled",
           "source_range",
           "tile_boxes", "tile_size"]
