"""Bilateral filter: exact Gaussian spatial x Gaussian range weights, joint over channels."""
from typing import NamedTuple

import numpy as np
from numba import njit

from .._config import FASTMATH, run_bands
from .._validate import check_bool, check_int, check_positive
from ..registry import Setup, register
from ._weights import LOG2E, pad_reflect, pow2

#: sigma (8-bit units) above which the box pilot is used by default.
PILOT_ABOVE = 20.0
#: Rows per band (each output pixel is computed alone, so the split never matters).
BAND = 16


class Config(NamedTuple):
    """bilateral's plan: spatial weights, range scale, pilot."""

    spatial: np.ndarray        # (2r+1, 2r+1) float32
    scale: np.float32          # range exponent per squared difference (base 2, <= 0)
    pilot: bool


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _bilateral_kernel(band, padded, guide, out, spatial, scale, acc):
    """Rows of band `band` of `out` (H, W, C) from `padded` and `guide` (H+2r, W+2r, C)
    and the (2r+1, 2r+1) spatial weights; range distances are taken on `guide`
    (joint over channels); `acc` (C,) float64 scratch. No validation."""
    height, width, n_channels = out.shape
    size = spatial.shape[0]
    radius = size // 2
    for i in range(band * BAND, min(height, (band + 1) * BAND)):
        for j in range(width):
            acc[:] = 0.0
            wsum = 0.0
            for di in range(size):
                for dj in range(size):
                    d2 = np.float32(0.0)
                    for c in range(n_channels):
                        diff = guide[i + di, j + dj, c] - guide[i + radius, j + radius, c]
                        d2 += diff * diff
                    w = spatial[di, dj] * pow2(d2 * scale)
                    wsum += w
                    for c in range(n_channels):
                        acc[c] += w * padded[i + di, j + dj, c]
            for c in range(n_channels):
                out[i, j, c] = acc[c] / wsum


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _bilateral_gray_kernel(band, padded, guide, out, spatial, scale, sums):
    """Same as `_bilateral_kernel` for C = 1, looping taps outside pixels so the
    loop over a row vectorises (about 2x faster); `sums` (2, W) scratch."""
    height, width, _ = out.shape
    size = spatial.shape[0]
    radius = size // 2
    acc, wsum = sums[0], sums[1]
    for i in range(band * BAND, min(height, (band + 1) * BAND)):
        acc[:] = 0.0
        wsum[:] = 0.0
        centre = guide[i + radius, radius:radius + width, 0]
        for di in range(size):
            for dj in range(size):
                ws = spatial[di, dj]
                g = guide[i + di, dj:dj + width, 0]
                v = padded[i + di, dj:dj + width, 0]
                for j in range(width):
                    diff = g[j] - centre[j]
                    w = ws * pow2(diff * diff * scale)
                    wsum[j] += w
                    acc[j] += w * v[j]
        for j in range(width):
            out[i, j, 0] = acc[j] / wsum[j]


def _bilateral_rule(info, sigma, values):
    """Defaults from the noise level, tuned on Set12 (BENCHMARKS.md).

    With the pilot (sigma above 20 in 8-bit units): sigma_range = 0.7 sigma,
    sigma_spatial = sigma / 12.5 in [1, 4]; without it: 2.5 sigma and 1.5; without
    sigma the pilot is on and sigma_spatial 2.0. radius = ceil(2 sigma_spatial).
    """
    out = dict(values)
    sigma255 = None if sigma is None else sigma * 255.0 / info.data_range
    if out["pilot"] is None:
        out["pilot"] = sigma255 is None or sigma255 > PILOT_ABOVE
    if out["sigma_spatial"] is None:
        if sigma255 is None:
            out["sigma_spatial"] = 2.0
        elif not out["pilot"]:
            out["sigma_spatial"] = 1.5
        else:
            out["sigma_spatial"] = min(max(sigma255 / 12.5, 1.0), 4.0)
    if out["radius"] is None and isinstance(out["sigma_spatial"], (int, float)):
        out["radius"] = int(np.ceil(2.0 * out["sigma_spatial"]))
    if out["sigma_range"] is None and sigma is not None:
        out["sigma_range"] = (0.7 if out["pilot"] else 2.5) * sigma
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


def _prepare(info, sigma, p):
    pilot = check_bool("pilot", p["pilot"])
    sigma_spatial = check_positive("sigma_spatial", p["sigma_spatial"])
    sigma_range = check_positive("sigma_range", p["sigma_range"]) / info.data_range
    radius = check_int("radius", p["radius"], minimum=0, maximum=50)
    scale = np.float32(-0.5 / max(sigma_range, 1e-15) ** 2 * LOG2E)   # finite: never 0 * inf
    return Setup(Config(spatial_weights(radius, sigma_spatial), scale, pilot),
                 halo=radius + 1 if pilot else radius)


def _apply(work, plan):
    spatial, scale, pilot = plan.config
    radius = spatial.shape[0] // 2
    height, width, n_channels = work.shape
    padded = pad_reflect(work, radius)
    guide = pad_reflect(box3(work), radius) if pilot else padded
    out = np.empty_like(work)
    if n_channels == 1:
        run_bands(_bilateral_gray_kernel, -(-height // BAND), padded, guide, out, spatial,
                  scale, buffers=lambda: np.empty((2, width), np.float32))
    else:
        run_bands(_bilateral_kernel, -(-height // BAND), padded, guide, out, spatial, scale,
                  buffers=lambda: np.empty(n_channels, np.float64))
    return out


@register(rule=_bilateral_rule, prepare=_prepare, apply=_apply)
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
        Std of the spatial Gaussian in pixels; > 0. Grows with sigma with the
        pilot, 1.5 without it, 2.0 without sigma (`denoise methods bilateral`).
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
    and ``g`` the guide (the box pilot, or the image itself); range weights below
    exp(-30) are 0. Exact brute force, O(H W (2r+1)^2 C); borders mirror with the
    edge pixel repeated. An output pixel depends on the pixels within radius
    (+1 with the pilot) of it. The pilot's
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
