"""scikit-image's denoising calls, computed by this project's kernels.

``from denoise.compat import skimage as ski`` (or ``from denoise.compat.skimage
import denoise_bilateral``) gives functions with scikit-image's names, signatures,
dtype and range rules and return conventions. Each docstring says which estimator
is computed, where it differs from scikit-image's and by how much. Calls our
kernels do not compute run scikit-image's function, after a
:class:`~denoise.compat.CompatFallbackWarning` (once per function and reason).
"""
import warnings
from math import ceil
from numbers import Integral, Real

import numpy as np

from ..filters._nlm_skimage import nlm_skimage_fast, nlm_skimage_slow
from ..noise.estimate import sigma_mad
from ._fallback import fall_back
from ._kernels import NDIMAGE_PAD, bilateral_table, median_nd

_BILATERAL_MODES = ("constant", "edge", "symmetric", "reflect", "wrap")
#: Largest colour-table step (max / bins) our exact range Gaussian stands for, in
#: units of sigma_color: range weights then differ by less than 0.6 %.
TABLE_STEP = 0.01


def _as_float(image):
    """scikit-image's img_as_float for the dtypes computed here (None for others)."""
    if image.dtype in (np.float32, np.float64):
        return image
    if image.dtype in (np.uint8, np.uint16):
        return np.multiply(image, 1.0 / np.iinfo(image.dtype).max, dtype=np.float64)
    return None


def denoise_nl_means(image, patch_size=7, patch_distance=11, h=0.1, fast_mode=True,
                     sigma=0.0, *, preserve_range=False, channel_axis=None):
    """scikit-image's ``skimage.restoration.denoise_nl_means``, computed by our kernels
    for 2-D images (gray, or with channels on `channel_axis`).

    Parameters
    ----------
    image : ndarray
        2-D gray, or 2-D with any number of channels on `channel_axis` (computed
        here); 3-D and 4-D volumes run scikit-image's function.
    patch_size : int, default 7
        Patch side in pixels (made odd by adding 1, as scikit-image); >= 1.
    patch_distance : int, default 11
        Search window half-width in pixels (window side 2 patch_distance + 1); >= 0.
    h : float, default 0.1
        Cut-off distance, in the units of the image after conversion (the [0, 1]
        scale for integer images unless `preserve_range`); > 0.
    fast_mode : bool, default True
        scikit-image's fast (box-patch) or slow (Gaussian-patch) estimator.
    sigma : float, default 0.0
        Noise standard deviation, in the same units as `h`; 2 sigma^2 is taken off
        each squared difference.
    preserve_range : bool, default False
        False: integer images converted by img_as_float (uint8 / 255, uint16 / 65535);
        True: converted to float64 as they are. float16 becomes float32.
    channel_axis : int or None, default None
        The axis of the channels (compared jointly); None for a gray image.

    Returns
    -------
    result : ndarray
        float32 for float32 (or float16) input, else float64; the input's shape
        with length-1 axes squeezed, as scikit-image.

    Raises
    ------
    OriginalNotInstalledError
        A call that falls back (below) when scikit-image is not installed; the
        fallback raises scikit-image's own errors (NotImplementedError for 1-D or
        5-D images, for instance).

    Notes
    -----
    Fast mode (:func:`~denoise.filters._nlm_skimage.nlm_skimage_fast`) computes
    scikit-image's estimator in float64, as it does (s: patch_size made odd, C
    channels): squared differences summed over a box of side s - 1, half a pixel
    off the centre, into D; the scaled distance
    ``max(D - 2 C sigma^2 (s-1)^2, 0) / (C h^2 s^2)`` cut above 5,
    scikit-image's approximate exp, pairs on the search window's centre column
    counted half from each side (the centre weighs exp~(0)), borders mirrored
    without the edge. Its box sums come from our row bands rather than from
    integral images of the whole image, so distances differ in the last bits;
    where that crosses one of the approximate exp's steps (2^-20 of the weight)
    an output moves by at most 1e-6 of the data range: outputs agree within
    1e-6 of it (measured on Set12 at sigma 15-50 and on RGB: at most 1.1e-8;
    float32 outputs were equal in every test). A distance within that rounding
    of the cutoff could drop a weight of 0.0067; never seen. Slow mode
    (:func:`~denoise.filters._nlm_skimage.nlm_skimage_slow`) does scikit-image's
    operations in the same order and precision (float32 for float32 input): its
    output is equal. Cost O(H W (2 d + 1)^2 C) in fast mode, times s^2 in slow
    mode, on row bands in parallel.

    Falling back to scikit-image (a CompatFallbackWarning, once per reason): 3-D
    and 4-D images, a `channel_axis` that is no integer, dtypes other than uint8,
    uint16 and floats (any integer or bool with `preserve_range`), non-finite
    values, patch_size < 1, patch_distance < 0, h <= 0 and parameters that are
    not numbers.
    """
    reason = _nl_means_reason(image, patch_size, patch_distance, h, sigma, preserve_range,
                              channel_axis)
    if reason is None:
        work = _nl_means_float(image if channel_axis is None else
                               np.moveaxis(image, channel_axis, -1), preserve_range)
        if not np.isfinite(work).all():
            reason = "non-finite values"
    if reason is not None:
        return fall_back("denoise.compat.skimage.denoise_nl_means", reason,
                         "skimage.restoration.denoise_nl_means", "scikit-image", image,
                         patch_size, patch_distance, h, fast_mode, sigma,
                         preserve_range=preserve_range, channel_axis=channel_axis)
    work = work[..., np.newaxis] if channel_axis is None else work
    s = int(patch_size) + 1 - int(patch_size) % 2
    if fast_mode:
        out = nlm_skimage_fast(work.astype(np.float64), s, int(patch_distance), float(h),
                               float(sigma) ** 2)
    else:
        out = nlm_skimage_slow(np.ascontiguousarray(work), s, int(patch_distance),
                               float(h), float(sigma) ** 2)
    out = np.squeeze(out.astype(work.dtype, copy=False))
    if channel_axis is not None and channel_axis != -1:      # as scikit-image moves back
        out = np.moveaxis(out, -1, channel_axis)
    return out


def _nl_means_reason(image, patch_size, patch_distance, h, sigma, preserve_range,
                     channel_axis):
    """Why our kernels do not compute this denoise_nl_means call, or None."""
    if not isinstance(image, np.ndarray):
        return "an image that is no numpy array"
    if channel_axis is not None and not isinstance(channel_axis, Integral):
        return "a channel_axis that is no integer"
    if image.ndim != (2 if channel_axis is None else 3):
        return f"a {image.ndim - (channel_axis is not None)}-D image"
    if image.size == 0:
        return "an empty image"
    kind = image.dtype.kind
    if not (image.dtype in (np.float16, np.float32, np.float64, np.uint8, np.uint16)
            or (preserve_range and kind in "biu")):
        return f"dtype {image.dtype}"
    if not all(isinstance(v, Integral) for v in (patch_size, patch_distance)) \
            or not all(isinstance(v, Real) for v in (h, sigma)):
        return "a parameter that is not a number of the expected kind"
    if patch_size < 1 or patch_distance < 0:
        return "patch_size < 1 or patch_distance < 0"
    if not (0 < h < np.inf and abs(sigma) < np.inf):
        return "h <= 0 or a non-finite h or sigma"
    return None


def _nl_means_float(image, preserve_range):
    """scikit-image's convert_to_float for the dtypes computed here."""
    if image.dtype == np.float16:
        return image.astype(np.float32)
    if image.dtype.kind == "f":
        return image
    if preserve_range:
        return image.astype(np.float64)
    return _as_float(image)


def denoise_bilateral(image, win_size=None, sigma_color=None, sigma_spatial=1, bins=10000,
                      mode="constant", cval=0, *, channel_axis=None):
    """scikit-image's ``skimage.restoration.denoise_bilateral``, computed by our
    bilateral kernel.

    Parameters
    ----------
    image, win_size, sigma_color, sigma_spatial, bins, mode, cval, channel_axis
        As scikit-image: 2-D gray, or 2-D with channels on `channel_axis`; integer
        images converted by img_as_float; `sigma_color` None (or 0) is the image's
        std; `win_size` default ``max(5, 2 ceil(3 sigma_spatial) + 1)``; `mode` one
        of 'constant', 'edge', 'symmetric', 'reflect', 'wrap' (numpy.pad).

    Returns
    -------
    denoised : ndarray
        float64 (float32 for float32 input), length-1 axes squeezed, as scikit-image.
        A constant image is returned as given (a copy).

    Notes
    -----
    Computes scikit-image's estimator: its spatial table (scikit-image builds it on
    a grid one point wider than the window and reads it row by row with the
    window's width, so the weights are not the Gaussian of each offset; we use the
    same table), the range Gaussian of the Euclidean colour distance divided by the
    number of channels, and its border modes (the image padded as scikit-image
    reads it). An image with negative values is filtered as scikit-image does it:
    shifted by its minimum (the constant `cval` is not), with the range Gaussian
    widened by (max - min) / max, as its table is indexed. Range weights are the exact Gaussian, where
    scikit-image reads a table of `bins` steps over [0, max]: outputs agree within
    1e-4 (float input on [0, 1], bins 10000). Calls whose table step,
    max / bins, exceeds sigma_color / 100 fall back to scikit-image: integer
    images always do at the default bins, because scikit-image takes their
    maximum in raw units (255, 65535) while filtering on [0, 1] (convert with
    img_as_float first to compute them here). Also falling back: dtypes other
    than uint8, uint16, float32, float64, and windows wider than 101.
    """
    label = "denoise.compat.skimage.denoise_bilateral"
    raw, moved = image, channel_axis is not None and channel_axis != -1
    if moved:                             # as scikit-image's channel_as_last_axis
        image = np.moveaxis(image, channel_axis, -1)
    _bilateral_checks(image, channel_axis, mode)
    if win_size is None:
        win_size = max(5, 2 * int(ceil(3 * sigma_spatial)) + 1)
    min_value, max_value = image.min(), image.max()
    if min_value == max_value:
        return raw.copy()
    work = _as_float(image)
    reason = None
    if work is None:
        reason = f"dtype {image.dtype}"
    elif (win_size - 1) // 2 > 50:
        reason = "a window wider than 101 pixels"
    else:
        work = np.atleast_3d(work)
        sigma_color = sigma_color or work.std()
        if (max_value - min(min_value, 0)) / bins > TABLE_STEP * sigma_color:
            reason = "a colour table coarser than sigma_color / 100 (max / bins)"
        elif max_value <= 0:
            reason = "an image with no positive value"
    if reason is not None:
        return fall_back(label, reason, "skimage.restoration.denoise_bilateral",
                         "scikit-image", raw, win_size, sigma_color, sigma_spatial, bins,
                         mode, cval, channel_axis=channel_axis)
    ext = (win_size - 1) // 2
    pad = dict(constant_values=cval + min(min_value, 0)) if mode == "constant" else {}
    padded = np.pad(work, ((ext, ext), (ext, ext), (0, 0)), mode=mode, **pad)
    # scikit-image spans its colour table over [0, max] but indexes it by the distance
    # over [0, max - min]: with negative values the range Gaussian widens by that ratio
    stretch = (max_value - min(min_value, 0)) / max_value
    out = bilateral_table(padded.astype(np.float32), _skimage_spatial(win_size, sigma_spatial),
                          work.shape[2] * sigma_color * stretch)
    out = np.squeeze(out[ext:ext + work.shape[0], ext:ext + work.shape[1]].astype(work.dtype))
    return np.moveaxis(out, -1, channel_axis) if moved else out


def _bilateral_checks(image, channel_axis, mode):
    """scikit-image's errors and warnings for the image's layout and the mode."""
    if channel_axis is not None:
        if image.ndim == 2:
            raise ValueError("Use ``channel_axis=None`` for 2D grayscale images. The last "
                             "axis of the input image must be multiple color channels not "
                             "another spatial dimension.")
        if image.ndim != 3:
            raise ValueError(f"Bilateral filter is only implemented for 2D grayscale images "
                             f"(image.ndim == 2) and 2D multichannel (image.ndim == 3) "
                             f"images, but the input image has {image.ndim} dimensions.")
        if image.shape[2] > 4:
            warnings.warn(f"The last axis of the input image is interpreted as channels. "
                          f"Input image with shape {image.shape} has {image.shape[2]} "
                          f"channels in last axis. ``denoise_bilateral``is implemented for "
                          f"2D grayscale and color images only.", stacklevel=3)
        elif image.shape[2] not in (3, 4):
            warnings.warn(f"Input image must be grayscale, RGB, or RGBA; but has shape "
                          f"{image.shape}.", stacklevel=3)
    elif image.ndim > 2:
        raise ValueError(f"Bilateral filter is not implemented for grayscale images of 3 or "
                         f"more dimensions, but input image has {image.shape} shape. Use "
                         f"``channel_axis=-1`` for 2D RGB images.")
    if mode not in _BILATERAL_MODES:
        raise ValueError("Invalid mode specified.  Please use `constant`, `edge`, `wrap`, "
                         "`symmetric` or `reflect`.")


def _skimage_spatial(win_size, sigma_spatial):
    """scikit-image's spatial weights: a Gaussian of the distance on the grid
    -win_size // 2 .. win_size // 2, flattened and read back win_size per row."""
    grid = np.arange(-win_size // 2, win_size // 2 + 1)
    rows, cols = np.meshgrid(grid, grid, indexing="ij")
    table = np.exp(-0.5 * (np.hypot(rows, cols) ** 2 / sigma_spatial ** 2)).ravel()
    side = 2 * ((win_size - 1) // 2) + 1
    index = np.arange(side)[:, None] * win_size + np.arange(side)[None, :]
    return table[index]


def estimate_sigma(image, average_sigmas=False, *, channel_axis=None):
    """scikit-image's ``skimage.restoration.estimate_sigma``, computed by our
    wavelet estimator (no PyWavelets needed for 2-D images).

    Parameters
    ----------
    image : ndarray
        2-D gray, or 2-D with channels on `channel_axis`; sigma in the image's own
        units (no range conversion), as scikit-image.
    average_sigmas : bool, default False
        With `channel_axis`: return the mean of the channels' estimates.
    channel_axis : int or None

    Returns
    -------
    sigma : float64, or a list of float64 (one per channel)

    Notes
    -----
    Our :func:`~denoise.noise.estimate.sigma_mad` (median absolute db2 diagonal
    detail / 0.6745, zero coefficients left out) on the plane mirrored as
    PyWavelets' 'symmetric' mode does and reversed (its correlation is then the
    wavelet transform's convolution), so the coefficients are PyWavelets': equal to
    scikit-image's within rounding (relative 1e-12; 1e-6 for float32 input, which
    both compute in float32). Falls back to scikit-image (which needs PyWavelets)
    for other numbers of dimensions, planes under 4 pixels and complex or other
    non-numeric dtypes. Warns, as scikit-image, when the last axis is short and
    `channel_axis` is None.
    """
    if channel_axis is not None:
        axis = channel_axis % image.ndim
        sigmas = [estimate_sigma(np.take(image, c, axis=axis), channel_axis=None)
                  for c in range(image.shape[axis])]
        return np.mean(sigmas) if average_sigmas else sigmas
    if image.shape[-1] <= 4:
        warnings.warn(f"image is size {image.shape[-1]} on the last axis, but channel_axis "
                      f"is None. If this is a color image, please set channel_axis=-1 for "
                      f"proper noise estimation.", stacklevel=2)
    reason = None
    if image.ndim != 2:
        reason = f"a {image.ndim}-D image (the db2 detail over {image.ndim} axes)"
    elif image.dtype.kind not in "uif":
        reason = f"dtype {image.dtype}"
    elif min(image.shape) < 4:
        reason = "a plane under 4 pixels wide"
    if reason is not None:
        return fall_back("denoise.compat.skimage.estimate_sigma", reason,
                         "skimage.restoration.estimate_sigma", "scikit-image PyWavelets",
                         image, average_sigmas, channel_axis=None)
    plane = image.astype(np.float32 if image.dtype.kind == "f" and image.itemsize <= 4
                         else np.float64)
    pads = [(2, 2 + n % 2) for n in plane.shape]
    return np.float64(sigma_mad(np.pad(plane, pads, mode="symmetric")[::-1, ::-1]))


def median(image, footprint=None, out=None, mode="nearest", cval=0.0, behavior="ndimage"):
    """scikit-image's ``skimage.filters.median``, computed by our exact median.

    Parameters and returns are scikit-image's (scipy.ndimage.median_filter with
    `footprint`, default a 3 x ... x 3 cube; `out` filled and returned).

    Notes
    -----
    Exact: equal to scikit-image's output for every footprint we compute, an odd
    square of ones over two axes (k x k on a 2-D image; k x k x 1 for per-channel
    medians of a 3-D array, or 1 x k x k per slice), with every border mode
    ('reflect', 'nearest', 'mirror', 'wrap', 'constant' and their 'grid-' forms:
    the image is padded as scipy reads it). dtypes uint8, uint16, float32, float64
    natively; bool, int8, int16 and integers up to 2^53 through an
    order-preserving exact map. Falls back to scikit-image for other footprints
    (disks, 3-D cubes such as the default on a 3-D array), ``behavior='rank'``,
    NaN in the image, a constant `cval` the dtype cannot hold, and an `out` that
    is no array of the image's shape and dtype.
    """
    arr = np.asarray(image)
    kind = _median_kind(arr, footprint, out, mode, cval, behavior)
    if isinstance(kind, str):
        return fall_back("denoise.compat.skimage.median", kind, "skimage.filters.median",
                         "scikit-image", image, footprint, out, mode, cval, behavior)
    axes, radius, (to_native, from_native) = kind
    pad_mode = NDIMAGE_PAD[mode]
    if pad_mode == "edge" and radius == 1:
        pad_mode = "symmetric"          # the same padding at radius 1: none needed
    fill = to_native(np.array(cval, dtype=arr.dtype)) if pad_mode == "constant" else 0
    result = from_native(median_nd(to_native(arr), axes, radius, pad_mode, fill))
    if out is None:
        return result
    out[...] = result
    return out


def _median_kind(arr, footprint, out, mode, cval, behavior):
    """(axes, radius, (to native, back)) when our median computes the call, else
    the reason it falls back."""
    if behavior == "rank":
        return "behavior='rank' (skimage.filters.rank.median)"
    fp = np.ones((3,) * arr.ndim, bool) if footprint is None else np.asarray(footprint, bool)
    axes = tuple(k for k, n in enumerate(fp.shape) if n != 1)
    if fp.ndim != arr.ndim or len(axes) != 2 or fp.shape[axes[0]] != fp.shape[axes[1]] \
            or fp.shape[axes[0]] % 2 == 0 or not fp.all():
        return "a footprint other than an odd square of ones over two axes"
    if mode not in NDIMAGE_PAD:
        return f"mode {mode!r}"
    maps = _exact_maps(arr)
    if maps is None:
        return f"dtype {arr.dtype} (or NaN values)"
    if NDIMAGE_PAD[mode] == "constant" and np.array(cval, dtype=arr.dtype) != cval \
            and arr.dtype.kind != "f":
        return "a constant cval the dtype cannot hold"
    if out is not None and not (isinstance(out, np.ndarray) and out.shape == arr.shape
                                and out.dtype == arr.dtype):
        return "an out that is no array of the image's shape and dtype"
    return axes, fp.shape[axes[0]] // 2, maps


def _exact_maps(arr):
    """(to, back): an order-preserving exact map of `arr`'s dtype to one our median
    takes, and its inverse; None when there is none (or the image holds NaN)."""
    same = (lambda a: a, lambda a: a)
    dtype = arr.dtype
    if dtype in (np.uint8, np.uint16, np.float64, np.float32):
        return None if dtype.kind == "f" and np.isnan(arr).any() else same
    if dtype == np.bool_:
        return (lambda a: a.view(np.uint8), lambda a: a.view(np.bool_))
    if dtype in (np.int8, np.int16):
        unsigned, flip = (np.uint8, 0x80) if dtype == np.int8 else (np.uint16, 0x8000)
        return (lambda a: a.view(unsigned) ^ unsigned(flip),
                lambda a: (a ^ unsigned(flip)).view(dtype))
    if dtype.kind in "iu" and (arr.size == 0 or max(abs(int(arr.min())),
                                                    abs(int(arr.max()))) < 2 ** 53):
        return (lambda a: a.astype(np.float64), lambda a: a.astype(dtype))
    return None


__all__ = ["denoise_bilateral", "denoise_nl_means", "estimate_sigma", "median"]
