"""Adaptive median filter (Hwang & Haddad) for impulse (salt-and-pepper) noise."""
import numpy as np
from numba import njit

from .._config import run_bands
from .._validate import check_int
from ..registry import Setup, register
from ._weights import reflect_index

#: Rows per band (the result never depends on it: each pixel is computed alone).
BAND = 32


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _adaptive_kernel(band, src, out, rows, cols, min_radius, buf):
    """Hwang-Haddad levels A and B for the rows of band `band`; `rows`/`cols` pad by
    the largest radius; `buf` holds the largest window."""
    height, width = out.shape
    max_radius = (rows.shape[0] - height) // 2
    for i in range(band * BAND, min(height, (band + 1) * BAND)):
        for j in range(width):
            centre = src[i, j]
            result = centre
            for r in range(min_radius, max_radius + 1):
                n = 0
                low = centre
                high = centre
                for d in range(-r, r + 1):
                    row = src[rows[i + max_radius + d]]
                    for e in range(-r, r + 1):
                        v = row[cols[j + max_radius + e]]
                        buf[n] = v
                        n += 1
                        low = min(low, v)
                        high = max(high, v)
                med = _select(buf, n, n // 2)
                result = med
                if low < med < high:                  # level A: the median is no impulse
                    if low < centre < high:           # level B: nor is the pixel
                        result = centre
                    break
            out[i, j] = result


def _prepare(info, sigma, p):
    max_radius = check_int("max_radius", p["max_radius"], minimum=1, maximum=15)
    min_radius = check_int("min_radius", p["min_radius"], minimum=1, maximum=max_radius)
    return Setup((min_radius, max_radius), halo=max_radius)


def _apply(plane, plan):
    min_radius, max_radius = plan.config
    height, width = plane.shape
    out = np.empty_like(plane)
    size = 2 * max_radius + 1
    run_bands(_adaptive_kernel, -(-height // BAND), plane, out,
              reflect_index(height, max_radius), reflect_index(width, max_radius), min_radius,
              buffers=lambda: np.empty(size * size, plane.dtype))
    return out


@register("adaptive-median", prepare=_prepare, apply=_apply, native=True)
def adaptive_median(image, *, sigma: float | None = None, max_radius: int = 3,
                    min_radius: int = 1):
    """Adaptive median for impulse noise: replaces only the pixels judged impulses.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16, float16, float32 or float64; C = 2 or 4 carries alpha,
        which is returned untouched. Channels are filtered one by one.
    sigma : float, optional
        Not used: impulses are found from the window's own minimum and maximum.
    max_radius : int, default 3
        Largest window half-width the window may grow to (7 x 7 by default);
        raise it to 5-7 for impulse densities above 50 %. Integer 1..15.
    min_radius : int, default 1
        Starting window half-width (3 x 3). Integer 1..max_radius.

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    Raises
    ------
    InvalidParameterError, ImageFormatError

    Notes
    -----
    Per pixel, with z_min, z_med, z_max of the window (borders mirrored as in
    ``median``): if z_min < z_med < z_max the median is no impulse, and the pixel
    is kept when z_min < z < z_max (not an impulse itself) and replaced by z_med
    otherwise; else the window grows by one pixel on each side. A pixel whose
    largest window still fails the test gets that window's median. Pixels that
    are kept pass through unchanged, so detail survives; Gaussian noise is left
    almost untouched, since few pixels equal their window's extremes.

    References
    ----------
    Hwang & Haddad, "Adaptive median filters: new algorithms and results",
    IEEE TIP 4(4):499-502, 1995. DOI 10.1109/83.370679

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((5, 5), 90, dtype=np.uint8); image[2, 2] = 255
    >>> int(adaptive_median(image)[2, 2])
    90
    """
