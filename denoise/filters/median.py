"""Median filter: exact per-pixel selection over a square window."""
import numpy as np
from numba import njit, prange

from .._config import FASTMATH
from .._image import from_working, to_working
from .._validate import check_int
from ..registry import fill_from_sigma, register
from ._common import pad_reflect


@njit(cache=True, fastmath=FASTMATH)
def _select(buf, n, kth):
    """Return the `kth` smallest of ``buf[:n]`` (Wirth's selection; reorders buf)."""
    lo, hi = 0, n - 1
    while lo < hi:
        pivot = buf[kth]
        i, j = lo, hi
        while i <= j:
            while buf[i] < pivot:
                i += 1
            while pivot < buf[j]:
                j -= 1
            if i <= j:
                buf[i], buf[j] = buf[j], buf[i]
                i += 1
                j -= 1
        if j < kth:
            lo = i
        if kth < i:
            hi = j
    return buf[kth]


@njit(parallel=True, cache=True, fastmath=FASTMATH)
def _median_kernel(padded, out, radius):
    """Fill `out` (H, W, C) from `padded` (H+2r, W+2r, C), float32. No validation."""
    height, width, n_channels = out.shape
    size = 2 * radius + 1
    n = size * size
    for i in prange(height):
        buf = np.empty(n, dtype=np.float32)
        for j in range(width):
            for c in range(n_channels):
                m = 0
                for di in range(size):
                    for dj in range(size):
                        buf[m] = padded[i + di, j + dj, c]
                        m += 1
                out[i, j, c] = _select(buf, n, n // 2)


def _median_rule(sigma, data_range, values):
    """Window radius from the noise level (sigma in image units)."""
    if sigma is None:
        return {"radius": 1}
    sigma255 = sigma * 255.0 / data_range
    return {"radius": 1 if sigma255 <= 30 else 2 if sigma255 <= 60 else 3}


@register(rule=_median_rule)
def median(image, *, sigma: float | None = None, radius: int | None = None):
    """Median over a square window, per channel; exact for every dtype.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16, float16, float32 or float64; C = 2 or 4 carries alpha,
        which is returned untouched.
    sigma : float, optional
        Noise standard deviation in the image's units (0-255 for uint8, 0-65535
        for uint16, data units for float); used only to choose `radius`.
    radius : int, default from sigma
        Window half-width in pixels: the window is (2 radius + 1) squared.
        Integer 0..50. From sigma (8-bit units): 1 up to 30, 2 up to 60,
        else 3; 1 without sigma.

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    Raises
    ------
    InvalidParameterError, ImageFormatError

    Notes
    -----
    Borders mirror with the edge pixel repeated (scipy.ndimage ``mode='reflect'``),
    so the result equals ``scipy.ndimage.median_filter(image, size=2 radius + 1,
    mode='reflect')`` per channel. Cost O(H W (2r+1)^2) by per-pixel selection;
    no quantisation of 16-bit or float data.

    References
    ----------
    Huang, Yang & Tang, "A fast two-dimensional median filtering algorithm",
    IEEE TASSP 27(1):13-18, 1979. DOI 10.1109/TASSP.1979.1163188

    Examples
    --------
    >>> import numpy as np
    >>> median(np.array([[0, 0, 0], [0, 255, 0], [0, 0, 0]], dtype=np.uint8)).tolist()
    [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
    """
    work, layout = to_working(image)
    p = fill_from_sigma(_median_rule, sigma, layout.data_range, radius=radius)
    r = check_int("radius", p["radius"], minimum=0, maximum=50)
    out = np.empty_like(work)
    _median_kernel(pad_reflect(work, r), out, r)
    return from_working(out, layout)
