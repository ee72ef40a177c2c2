"""This project's kernels, run for the estimators of the originals.

* :func:`nlm_fixed_centre` (from :mod:`denoise.filters._nlm_fixed`): pixelwise
  NL-means with the centre pixel weighed by a constant and weights below a floor
  dropped (OpenCV's rule) instead of nlm's largest-other-weight rule;
* :func:`bilateral_table`: our bilateral kernel with a given spatial table;
* :func:`median_nd`: our exact median over two axes of an array, any border.

Borders are the originals': the index maps or the padding given here replace our
mirrored ones, and the kernels' own mirroring only touches padding that is cut off.
"""
import dataclasses

import numpy as np

from .._image import ImageInfo
from ..filters.bilateral import table_taps
from ..filters._nlm_fixed import nlm_fixed_centre, reflect101_index
from ..filters.median import median_plane
from ..registry import get_filter

#: numpy.pad mode of each scipy.ndimage border mode.
NDIMAGE_PAD = {"reflect": "symmetric", "grid-mirror": "symmetric", "nearest": "edge",
               "mirror": "reflect", "wrap": "wrap", "grid-wrap": "wrap",
               "constant": "constant", "grid-constant": "constant"}

def bilateral_table(work, table, sigma_range, l1=False):
    """Our bilateral of float32 `work` (H, W, C) with the (2r+1, 2r+1) spatial weights
    `table` (zeros are left out of the window) and a range Gaussian of std
    `sigma_range` (units of `work`) on the Euclidean distance over channels, or with
    `l1` on the sum of absolute channel differences; borders mirrored with the edge
    repeated."""
    spec = get_filter("bilateral")
    info = ImageInfo(work.shape[0], work.shape[1], work.shape[2], np.dtype(np.float32))
    plan = spec.plan(info, None, sigma_range=float(sigma_range), sigma_spatial=1.0,
                     radius=table.shape[0] // 2, pilot=False, opencv_compat=bool(l1))
    taps, log_weights, centre = table_taps(table)
    return spec.apply(work, dataclasses.replace(plan, config=plan.config._replace(
        taps=taps, log_weights=log_weights, centre=centre)))


def median_nd(image, axes, radius, pad_mode, cval=0):
    """Exact median over a (2 radius + 1) square of the two `axes` of `image`, per
    position of the other axes, with the numpy.pad border `pad_mode` ("symmetric",
    our own, pads nothing). `image`'s dtype is one median_plane takes."""
    moved = np.moveaxis(image, axes, (-2, -1))
    planes = moved.reshape((-1,) + moved.shape[-2:])
    out = np.empty_like(planes)
    for k, plane in enumerate(planes):
        if pad_mode == "symmetric" or radius == 0:
            out[k] = median_plane(np.ascontiguousarray(plane), radius)
            continue
        extra = {"constant_values": cval} if pad_mode == "constant" else {}
        padded = np.pad(plane, radius, mode=pad_mode, **extra)
        out[k] = median_plane(padded, radius)[radius:-radius, radius:-radius]
    return np.moveaxis(out.reshape(moved.shape), (-2, -1), axes)


__all__ = ["NDIMAGE_PAD", "bilateral_table", "median_nd", "nlm_fixed_centre",
           "reflect101_index"]
