"""Bilateral filter: exact Gaussian spatial x Gaussian range weights, joint over channels."""
import math

import numpy as np
from numba import njit, prange

from .._config import FASTMATH
from .._image import from_working, intensity_to_working, to_working
from .._validate import check_bool, check_int, check_positive
from ..registry import fill_from_sigma, register, require_sigma
from ._common import pad_reflect

#: sigma (8-bit units) above which the box pilot is used by default.
PILOT_ABOVE = 20.0


@njit(parallel=True, cache=True, fastmath=FASTMATH)
def _bilateral_kernel(padded, guide, out, spatial, inv_two_sr2):
    """Fill `out` (H, W, C) from `padded` and `guide` (H+2r, W+2r, C) and the
    (2r+1, 2r+1) spatial weights; range distances are taken on `guide`. No validation."""
    height, width, n_channels = out.shape
    size = spatial.shape[0]
    radius = size // 2
    for i in prange(height):
        acc = np.empty(n_channels, dtype=np.float64)
        for j in range(width):
            for c in range(n_channels):
                acc[c] = 0.0
            wsum = 0.0
            for di in range(size):
                for dj in range(size):
                    d2 = np.float32(0.0)
                    for c in range(n_channels):
                        diff = guide[i + di, j + dj, c] - guide[i + radius, j + radius, c]
                        d2 += diff * diff
                    w = spatial[di, dj] * math.exp(-d2 * inv_two_sr2)
                    wsum += w
                    for c in range(n_channels):
                        acc[c] += w * padded[i + di, j + dj, c]
            for c in range(n_channels):
                out[i, j, c] = acc[c] / wsum


@njit(parallel=True, cache=True, fastmath=FASTMATH)
def _bilateral_gray_kernel(padded, guide, out, spatial, inv_two_sr2):
    """Same as `_bilateral_kernel` for C = 1, looping taps outside pixels so the
    loop over a row vectorises (about 2x faster). No validation."""
    height, width, _ = out.shape
    size = spatial.shape[0]
    radius = size // 2
    for i in prange(height):
        acc = np.zeros(width, dtype=np.float32)
        wsum = np.zeros(width, dtype=np.float32)
        for di in range(size):
            for dj in range(size):
                ws = spatial[di, dj]
                for j in range(width):
                    diff = guide[i + di, j + dj, 0] - guide[i + radius, j + radius, 0]
                    w = ws * math.exp(-diff * diff * inv_two_sr2)
                    wsum[j] += w
                    acc[j] += w * padded[i + di, j + dj, 0]
        for j in range(width):
            out[i, j, 0] = acc[j] / wsum[j]


def _bilateral_rule(sigma, data_range, values):
    """Defaults from the noise level, tuned on Set12 (BENCHMARKS.md).

    With the pilot (sigma above 20 in 8-bit units): sigma_range = 0.7 sigma,
    sigma_spatial = sigma / 12.5 in [1, 4]; without it: 2.5 sigma and 1.5.
    """
    out = dict(values)
    sigma255 = None if sigma is None else sigma * 255.0 / data_range
    if out["pilot"] is None:
        out["pilot"] = sigma255 is None or sigma255 > PILOT_ABOVE
    if out["sigma_spatial"] is None:
        if sigma255 is None or not out["pilot"]:
            out["sigma_spatial"] = 1.5 if sigma255 is not None else 2.0
        else:
            out["sigma_spatial"] = min(max(sigma255 / 12.5, 1.0), 4.0)
    if out["radius"] is None and isinstance(out["sigma_spatial"], (int, float)):
        out["radius"] = math.ceil(2.0 * out["sigma_spatial"])
    if out["sigma_range"] is None:
        factor = 0.7 if out["pilot"] else 2.5
        out["sigma_range"] = factor * require_sigma("bilateral", sigma, "sigma_range")
    return out


def box3(work):
    """3x3 box mean of an (H, W, C) array with mirrored borders (the range pilot)."""
    padded = pad_reflect(work, 1)
    height, width = work.shape[:2]
    out = np.zeros_like(work)
    for di in range(3):
        for dj in range(3):
            out += padded[di:di + height, dj:dj + width]
    out /= np.float32(9.0)
    return out


def spatial_weights(radius, sigma_spatial):
    """(2r+1, 2r+1) float32 Gaussian ``exp(-(di^2 + dj^2) / (2 sigma_spatial^2))``."""
    d = np.arange(-radius, radius + 1, dtype=np.float64)
    d2 = d[:, None] ** 2 + d[None, :] ** 2
    return np.exp(-d2 / (2.0 * sigma_spatial ** 2)).astype(np.float32)


@register(rule=_bilateral_rule)
def bilateral(image, *, sigma: float | None = None, sigma_range: float | None = None,
              sigma_spatial: float | None = None, radius: int | None = None,
              pilot: bool | None = None):
    """Edge-preserving bilateral filter (Gaussian in space x Gaussian in value).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16, float16, float32 or float64; C = 2 or 4 carries alpha,
        which is returned untouched.
    sigma : float, optional
        Noise standard deviation in the image's units (0-255 for uint8, 0-65535
        for uint16, data units for float); sets `sigma_range` when that is unset.
    sigma_range : float, default from sigma
        Std of the range Gaussian, in the image's units; > 0. The distance is
        Euclidean over the color channels jointly (not divided by their count).
        0.7 sigma with the pilot, 2.5 sigma without.
    sigma_spatial : float, default from sigma
        Std of the spatial Gaussian in pixels; > 0. With the pilot sigma / 12.5
        (8-bit units) within [1, 4], without it 1.5; 2.0 without sigma.
    radius : int, default ceil(2 sigma_spatial)
        Window half-width in pixels, integer 0..50; the window is (2 radius + 1)
        squared. 0 makes the filter the identity.
    pilot : bool, default from sigma
        Take range distances on a 3x3 box mean of the image (a cross bilateral
        with a pilot) instead of on the noisy pixels; the values averaged are
        still the noisy ones. On when sigma is above 20 (8-bit units) or unknown.

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    Raises
    ------
    InvalidParameterError, MissingSigmaError, ImageFormatError

    Notes
    -----
    ``out(p) = sum_q w(p, q) y(q) / sum_q w(p, q)`` with
    ``w = exp(-|p - q|^2 / (2 sigma_spatial^2)) exp(-|g(p) - g(q)|^2 / (2 sigma_range^2))``
    and ``g`` the guide (the box pilot, or the image itself). Exact brute force,
    O(H W (2r+1)^2 C); borders mirror with the edge pixel repeated. The pilot's
    noise is a third of the image's, so a smaller range width removes more
    noise without blurring edges (Kollipara & Chaudhury 2015).

    References
    ----------
    Tomasi & Manduchi, "Bilateral filtering for gray and color images",
    ICCV 1998. DOI 10.1109/ICCV.1998.710815

    Examples
    --------
    >>> import numpy as np
    >>> flat = np.full((8, 8), 100, dtype=np.uint8)
    >>> bool((bilateral(flat, sigma=10) == flat).all())
    True
    """
    work, layout = to_working(image)
    p = fill_from_sigma(_bilateral_rule, sigma, layout.data_range, sigma_range=sigma_range,
                        sigma_spatial=sigma_spatial, radius=radius, pilot=pilot)
    pilot = check_bool("pilot", p["pilot"])
    sigma_spatial = check_positive("sigma_spatial", p["sigma_spatial"])
    sigma_range = check_positive("sigma_range", p["sigma_range"])
    radius = check_int("radius", p["radius"], minimum=0, maximum=50)
    sr = intensity_to_working(sigma_range, layout)
    inv_two_sr2 = np.float32(0.5 / max(sr, 1e-15) ** 2)    # finite, so never 0 * inf
    padded = pad_reflect(work, radius)
    guide = pad_reflect(box3(work), radius) if pilot else padded
    out = np.empty_like(work)
    kernel = _bilateral_gray_kernel if work.shape[2] == 1 else _bilateral_kernel
    kernel(padded, guide, out, spatial_weights(radius, sigma_spatial), inv_two_sr2)
    return from_working(out, layout)
