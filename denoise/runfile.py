"""One file through a method: read it (whole, or window by window), resolve its
noise, plan, filter (in tiles when large), write it atomically.

:class:`DenoiseStep` is what ``denoise run`` does to each file, the same in this
process, in worker processes and on Dask workers (it pickles: a method name and
plain values). Images above :data:`~denoise.tiling.AUTO_TILE_PIXELS` pixels, or any
with ``tile`` given, run in tiles. A TIFF to TIFF run in tiles streams: the input
is read and the output written window by window, and the noise is estimated on the
central part of the image, so no step holds the whole image.
"""
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Optional

import numpy as np

from ._image import ImageInfo
from .auto import NoiseRequest, denoise_image
from .io import MAX_PIXELS, check_writable, commit_atomic, format_of, read_image, read_info, \
    temp_path, write_image
from .noise.condition import direct_sigma, resolve_noise
from .registry import get_filter
from .tiling import TiffWindows, TiffWindowWriter, central, run_tiled, tile_boxes, tile_size

log = logging.getLogger(__name__)

#: The noise of a streamed image is estimated on its central part, this many pixels.
NOISE_SAMPLE_PIXELS = 2048 * 2048


@dataclass(frozen=True)
class DenoiseStep:
    """Denoise one file into its target with `method`, the noise `request` and the
    `given` parameters; a batch step (see :func:`denoise.batch.execute`).

    `tile` forces tiles of that side; `tiles_with` replaces
    :func:`~denoise.tiling.run_tiled` (the Dask executor's ``map_overlap``).
    """

    method: str
    request: NoiseRequest = NoiseRequest()
    given: dict = field(default_factory=dict)
    tile: Optional[int] = None
    max_pixels: int = MAX_PIXELS
    tiles_with: Optional[Callable] = None

    def __call__(self, job, replace, tiles=None):
        """Process `job`; returns its record (the noise found or given). `tiles(n)`
        makes a progress callback for a file of n tiles."""
        spec = get_filter(self.method)
        info = read_info(job.source, max_pixels=self.max_pixels)
        side = tile_size((info.height, info.width), self.tile)
        windows = self._windows(job, info) if side else None
        if windows is not None:
            setting = self._streamed(job, spec, windows, side, replace, tiles)
            if setting is not None:
                return _record(setting)
        image = read_image(job.source, max_pixels=self.max_pixels)
        check_writable(job.target, image)
        runner = None if side is None else partial(self._tiled, side=side, tiles=tiles)
        out, setting = denoise_image(image, spec, self.request, self.given, runner=runner)
        write_image(job.target, out, overwrite=replace)
        return _record(setting)

    def _tiled(self, spec, image, plan, side, tiles):
        count = len(tile_boxes(image.shape[0], image.shape[1], side))
        progress = tiles(count) if tiles is not None and count > 1 else None
        return (self.tiles_with or run_tiled)(spec, image, plan, side, progress=progress)

    @staticmethod
    def _windows(job, info):
        """The input's windows if both ends are TIFF and the input can be read so."""
        if format_of(job.source) != "TIFF" or format_of(job.target) != "TIFF" \
                or info.channels + info.alpha not in (1, 3):
            return None
        return TiffWindows.open(job.source)

    def _streamed(self, job, spec, windows, side, replace, tiles):
        """Denoise window by window; the NoiseSetting, or None when the noise needs
        the whole image conditioned (then the caller reads it whole)."""
        request = self.request
        info = ImageInfo.from_shape(windows.shape, windows.dtype.newbyteorder("="))
        top = info.data_range
        estimate = request.fixed is None and request.sigma_for(top) is None \
            and request.gain is None
        r0, r1, c0, c1 = central(windows.shape, NOISE_SAMPLE_PIXELS) if estimate \
            else (0, 1, 0, 1)           # the noise is given: no pixels needed
        sample = windows[r0:r1, c0:c1]
        setting = request.fixed or resolve_noise(
            sample, sigma=request.sigma_for(top), model=request.model, gain=request.gain,
            offset=request.offset, chroma=request.chroma)
        sigma = direct_sigma(sample, setting)
        if sigma is None:
            log.info("%s: %s needs the whole image conditioned; reading it whole",
                     job.source, setting.describe())
            return None
        plan = spec.plan(info, sigma * request.strength, **self.given)
        dtype = np.float32 if info.dtype == np.float16 else info.dtype
        check_writable(job.target, np.empty((1, 1) + windows.shape[2:], dtype))
        tmp = temp_path(job.target)
        try:
            sink = TiffWindowWriter.create(tmp, windows.shape, dtype)
            count = len(tile_boxes(windows.shape[0], windows.shape[1], side))
            progress = tiles(count) if tiles is not None and count > 1 else None
            (self.tiles_with or run_tiled)(spec, windows, plan, side, sink=sink,
                                           progress=progress)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        commit_atomic(job.target, None, replace=replace, tmp=tmp)
        return setting


def _record(setting):
    """What a batch records of a file: its NoiseSetting, and a line for the log."""
    return {**setting.as_dict(), "summary": setting.describe()}
