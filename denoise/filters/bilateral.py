"""Bilateral filter: exact Gaussian spatial x Gaussian range weights, joint over channels."""
from typing import NamedTuple

import numpy as np

from .._config import run_bands
from .._validate import (check_at_most, check_bool, check_choice, check_int, check_intensity,
                         check_positive)
from ..errors import InvalidParameterError
from ..registry import Setup, register
from ._bilateral_kernels import BAND, box_planes, color_band, gray_band, pad_planes, rgb_band
from ._bilateral_shiftable import auto_prefers_fast, shiftable_bilateral
from ._weights import LOG2E, reflect_index

#: sigma (8-bit units) above which the box pilot is used by default.
PILOT_ABOVE = 20.0
#: The largest window half-width (radius), in pixels.
MAX_RADIUS = 50
#: The algorithms: the exact direct kernel, the constant-time shiftable one (gray,
#: within 1e-3 of the data range), or the faster of the two for the plan.
ALGORITHMS = ("direct", "fast", "auto")


class Config(NamedTuple):
    """bilateral's plan: the window's taps, the range scale, the pilot, the algorithm."""

    taps: np.ndarray           # (K, 2) int64 offsets (di, dj), the centre left out
    log_weights: np.ndarray    # (K,) float32 log2 of the taps' spatial weights
    centre: np.float32         # the centre tap's spatial weight (1 for the Gaussian)
    radius: int
    gain: np.float32           # sqrt(range exponent per squared difference, base 2)
    pilot: bool
    l1: bool                   # colour distance: sum of |differences| (else Euclidean)
    algorithm: str             # "direct" or "fast" (resolved)
    sigma_spatial: float
    sigma_range: float         # working units


def _bilateral_rule(info, sigma, values):
    """Defaults from the noise level, tuned on Set12 (BENCHMARKS.md).

    With the pilot (sigma above 20 in 8-bit units): sigma_range = 0.7 sigma,
    sigma_spatial = sigma / 12.5 in [1, 4]; without it: 2.5 sigma and 1.5; without
    sigma the pilot is on and sigma_spatial 2.0. radius = ceil(2 sigma_spatial).
    algorithm="fast" turns the pilot off by default.
    """
    out = dict(values)
    sigma255 = None if sigma is None else sigma * 255.0 / info.data_range
    if out["pilot"] is None:      # the constant-time algorithm takes no pilot
        out["pilot"] = out["algorithm"] != "fast" and (sigma255 is None
                                                      or sigma255 > PILOT_ABOVE)
    if out["sigma_spatial"] is None:
        if sigma255 is None:
            out["sigma_spatial"] = 2.0
        elif not out["pilot"]:
            out["sigma_spatial"] = 1.5
        else:
            out["sigma_spatial"] = min(max(sigma255 / 12.5, 1.0), 4.0)
    if out["radius"] is None and isinstance(out["sigma_spatial"], (int, float)):
        check_at_most("sigma_spatial", out["sigma_spatial"], MAX_RADIUS / 2,
                      f"the radius ceil(2 sigma_spatial) is at most {MAX_RADIUS}; "
                      f"or give radius")
        out["radius"] = int(np.ceil(2.0 * out["sigma_spatial"]))
    if out["sigma_range"] is None and sigma is not None:
        out["sigma_range"] = (0.7 if out["pilot"] else 2.5) * sigma
    return out


def spatial_weights(radius, sigma_spatial):
    """(2r+1, 2r+1) float32 Gaussian ``exp(-(di^2 + dj^2) / (2 sigma_spatial^2))``."""
    z = np.arange(-radius, radius + 1, dtype=np.float64) / sigma_spatial
    with np.errstate(over="ignore"):          # a tiny sigma: weight 0 off the centre
        z2 = z[:, None] ** 2 + z[None, :] ** 2
    return np.exp(-0.5 * z2).astype(np.float32)


def table_taps(table):
    """The taps of a (2r+1, 2r+1) table of spatial weights: (K, 2) offsets and their
    log2 weights (the centre and the zero weights left out), and the centre's weight."""
    table = np.asarray(table, dtype=np.float64)
    radius = table.shape[0] // 2
    di, dj = np.nonzero(table > 0)
    keep = (di != radius) | (dj != radius)
    taps = np.stack([di[keep] - radius, dj[keep] - radius], axis=1).astype(np.int64)
    log_weights = np.log2(table[di[keep], dj[keep]]).astype(np.float32)
    return taps.reshape(-1, 2), log_weights, np.float32(table[radius, radius])


def window_table(radius, sigma_spatial, circular):
    """The spatial weights of the square window, or of the disk di^2 + dj^2 <= r^2."""
    table = spatial_weights(radius, sigma_spatial)
    if circular:
        d2 = np.arange(-radius, radius + 1) ** 2
        table[d2[:, None] + d2[None, :] > radius * radius] = 0.0
    return table


def _algorithm(name, radius, pilot, compat, sigma_range, channels):
    """The algorithm a plan runs: "auto" takes the constant-time one where it computes
    the same filter (gray, no pilot, Euclidean, square window) and is faster
    (:func:`~denoise.filters._bilateral_shiftable.auto_prefers_fast`)."""
    if name == "fast":
        if pilot or compat or channels != 1:
            raise InvalidParameterError(
                "algorithm 'fast' is for gray images, with neither pilot nor opencv_compat; "
                "set them false or use algorithm=direct")
        return "fast"
    if name == "auto" and not (pilot or compat) and \
            auto_prefers_fast(radius, sigma_range, 1.0, channels):
        return "fast"
    return "direct"


def _prepare(info, sigma, p):
    pilot = check_bool("pilot", p["pilot"])
    compat = check_bool("opencv_compat", p["opencv_compat"])
    sigma_spatial = check_positive("sigma_spatial", p["sigma_spatial"])
    sigma_range = check_intensity("sigma_range", p["sigma_range"], info.data_range) \
        / info.data_range
    radius = check_int("radius", p["radius"], minimum=0, maximum=MAX_RADIUS)
    name = check_choice("algorithm", p["algorithm"], ALGORITHMS)
    algorithm = _algorithm(name, radius, pilot, compat, sigma_range, info.channels)
    # 2^(gain^2 d^2) = exp(-d^2 / (2 sigma_range^2)); finite gain: never 0 * inf
    gain = np.float32(np.sqrt(0.5 * LOG2E) / max(sigma_range, 1e-15))
    taps, log_weights, centre = table_taps(window_table(radius, sigma_spatial, compat))
    config = Config(taps, log_weights, centre, radius, gain, pilot, compat, algorithm,
                    float(sigma_spatial), float(sigma_range))
    return Setup(config, halo=radius + 1 if pilot else radius)


def _apply(work, plan):
    config = plan.config
    if config.algorithm == "fast":
        return shiftable_bilateral(work, config.sigma_spatial, config.radius,
                                   config.sigma_range)
    height, width, n_channels = work.shape
    r, extra = config.radius, int(config.pilot)
    margin = r + extra
    padded = np.empty((n_channels, height + 2 * margin, width + 2 * margin), np.float32)
    run_bands(pad_planes, -(-padded.shape[1] // BAND), work,
              reflect_index(height, margin), reflect_index(width, margin), config.gain, padded)
    guide = padded
    if config.pilot:
        guide = np.empty((n_channels, height + 2 * r, width + 2 * r), np.float32)
        run_bands(box_planes, -(-guide.shape[1] // BAND), padded, guide)
    out = np.empty_like(work)
    inv_gain = np.float32(1.0) / config.gain
    args = (padded, guide, out, config.taps, config.log_weights, config.centre, inv_gain)
    if n_channels == 1:
        run_bands(gray_band, -(-height // BAND), *args,
                  buffers=lambda: np.empty((2, width), np.float32))
    elif n_channels == 3:
        run_bands(rgb_band, -(-height // BAND), *args, config.l1,
                  buffers=lambda: np.empty((5, width), np.float32))
    else:
        run_bands(color_band, -(-height // BAND), *args, config.l1,
                  buffers=lambda: np.empty((n_channels + 2, width), np.float32))
    return out


@register(rule=_bilateral_rule, prepare=_prepare, apply=_apply)
def bilateral(image, *, sigma: float | None = None, sigma_range: float | None = None,
              sigma_spatial: float | None = None, radius: int | None = None,
              pilot: bool | None = None, opencv_compat: bool = False,
              algorithm: str = "direct"):
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
        squared (the disk of that radius with `opencv_compat`). 0 makes the
        filter the identity.
    pilot : bool, default from sigma
        Take range distances on a 3x3 box mean of the image (a cross bilateral
        with a pilot) instead of on the noisy pixels; the values averaged are
        still the noisy ones. On when sigma is above 20 (8-bit units) or unknown
        (off with algorithm "fast").
    opencv_compat : bool, default False
        Compute OpenCV's bilateralFilter estimator, for like-for-like comparisons:
        the window is the disk di^2 + dj^2 <= radius^2, and the colour distance the
        sum of the absolute channel differences (squared in the Gaussian) instead
        of the Euclidean one. Borders stay mirrored with the edge repeated
        (OpenCV's BORDER_REFLECT).
    algorithm : str, default "direct"
        "direct": the exact windowed sum. "fast": a shiftable Fourier expansion of
        the range Gaussian (Chaudhury's constant-time bilateral; the same
        truncated spatial Gaussian, separable), within 1e-3 of the data range,
        for gray images without pilot or opencv_compat; it pays for wide windows
        only (about 23x23 and up at sigma_range 0.15, 35x35 at 0.07). "auto":
        "fast" where it applies and is modelled faster, else "direct".

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
    and ``g`` the guide (the box pilot, or the image itself); weights below
    exp(-30) are 0. Exact brute force, O(H W (2r+1)^2 C); borders mirror with the
    edge pixel repeated. The loop runs over the window's taps outside and a row's
    pixels inside, with a polynomial exp: it vectorises (BENCHMARKS.md, bilateral
    speed). An output pixel depends on the pixels within radius
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
