"""One file through a method: read it (whole, or window by window), resolve its
noise, plan, filter (in tiles when large), write it atomically.

:class:`DenoiseStep` is what ``denoise run`` does to each file, the same in this
process, in worker processes and on Dask workers (it pickles: a method name and
plain values). Images above :data:`~denoise.tiling.AUTO_TILE_PIXELS` pixels, or any
with ``tile`` given, run in tiles. A TIFF to TIFF run in tiles streams: the input
is read and the output written window by window, and the noise, the conditioning's
statistics and the method's are fitted on the central part of the image, so no
step holds the whole image.
"""
import logging
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ._image import ImageInfo
from .auto import NoiseRequest, denoise_image
from .io import MAX_PIXELS, check_writable, commit_atomic, format_of, read_image, read_info, \
    temp_path, write_image
from .metadata import Saving, tiff_options
from .noise.condition import denoise_under, direct_sigma, fit_conditioning, resolve_noise
from .registry import get_filter
from .tiling import (Conditioned, Placed, TiffWindows, TiffWindowWriter, central, fit_plan,
                     run_tiled, source_range, tile_boxes, tile_size)

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
    saving: Saving = Saving()

    def __call__(self, job, replace, tiles=None):
        """Process `job`; returns its record (the noise found or given). `tiles(n)`
        makes a progress callback for a file of n tiles."""
        spec = get_filter(self.method)
        info = read_info(job.source, max_pixels=self.max_pixels)
        side = tile_size((info.height, info.width), self.tile)
        windows = self._windows(job, info) if side else None
        source = windows if windows is not None else \
            read_image(job.source, max_pixels=self.max_pixels)
        dtype = np.float32 if info.dtype == np.float16 else info.dtype
        check_writable(job.target, np.empty((1, 1) + tuple(source.shape[2:]), dtype))
        metadata = self.saving.metadata_for(job.source)
        if side is None:
            out, setting = denoise_image(source, spec, self.request, self.given)
            write_image(job.target, out, overwrite=replace, metadata=metadata)
            return _record(setting)
        tile_filter, setting = self._tile_filter(spec, source, windows is None)
        count = len(tile_boxes(info.height, info.width, side))
        progress = tiles(count) if tiles is not None and count > 1 else None
        run = self.tiles_with or run_tiled
        if windows is None:
            write_image(job.target, run(source, side, tile_filter, progress=progress),
                        overwrite=replace, metadata=metadata)
            return _record(setting)
        tmp = temp_path(job.target)
        try:
            sink = TiffWindowWriter.create(tmp, windows.shape, dtype,
                                           **tiff_options(metadata))
            run(windows, side, tile_filter, sink=sink, progress=progress)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        commit_atomic(job.target, None, replace=replace, tmp=tmp)
        return _record(setting)

    @staticmethod
    def _windows(job, info):
        """The input's windows if both ends are TIFF and the input can be read so."""
        if format_of(job.source) != "TIFF" or format_of(job.target) != "TIFF" \
                or info.channels + info.alpha not in (1, 3):
            return None
        return TiffWindows.open(job.source)

    def _tile_filter(self, spec, source, in_memory):
        """``(tile filter, NoiseSetting)``: the noise resolved, the method planned and
        every image-level statistic fitted, on the whole image in memory, else on its
        central part (:data:`NOISE_SAMPLE_PIXELS`)."""
        request = self.request
        if in_memory:
            sample = source
        else:
            r0, r1, c0, c1 = central(source.shape, NOISE_SAMPLE_PIXELS)
            sample = source[r0:r1, c0:c1]
        info = ImageInfo.of(sample, source_range(source, request.data_range))
        setting = request.fixed or resolve_noise(
            sample, sigma=request.sigma_for(info.data_range), model=request.model,
            gain=request.gain, offset=request.offset, chroma=request.chroma,
            data_range=info.data_range)
        sigma = direct_sigma(sample, setting)
        if sigma is not None:
            plan = spec.plan(info, sigma * request.strength, **self.given)
            return Placed(spec.name, fit_plan(spec, plan, source)), setting
        conditioning = fit_conditioning(sample, setting)
        work = ImageInfo.from_shape(source.shape[:2] + (info.channels,), np.float64)
        plan = spec.plan(work, conditioning.unit_sigma(setting) * request.strength,
                         **self.given)
        if plan.statistics and spec.fit is not None:
            r0, r1, c0, c1 = central(sample.shape)
            fitted = []
            denoise_under(sample[r0:r1, c0:c1], setting,
                          lambda unit, _: fitted.append(fit_plan(spec, plan, unit)) or unit,
                          conditioning)
            plan = fitted[0]
        return Conditioned(spec.name, plan, setting, conditioning), setting


def _record(setting):
    """What a batch records of a file: its NoiseSetting, and a line for the log."""
    return {**setting.as_dict(), "summary": setting.describe()}
