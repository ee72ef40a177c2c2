"""Detail-preserving weighted median: NLM patch-similarity weights, median instead of mean.

For each pixel, the weights of its (2 search + 1)^2 window come from patch
distances on a guide (the 3x3 median of the channels' mean, by default), exactly
as in NLM (:mod:`~denoise.filters._weights`); each channel then takes the
weighted median of its window. Bands of rows run in parallel.
"""
from typing import NamedTuple

import numpy as np
from numba import njit

from .._config import run_bands
from .._validate import check_bool, check_int, check_positive
from ..registry import Setup, register
from ._weights import (EXACT, box_sums, centre_weight, field_scratch, half_offsets, pad_band,
                       pad_reflect, patch_weights, reflect_index, weight_field)
from ._sortnet import column_network
from ._wmedian_kernels import select_band, select_scratch
from .median import median_plane

# noise left in the 3x3 median of gaussian noise, relative to sigma (the 2 sigma^2
# subtracted from patch distances on the prefiltered guide); h and it tuned on Set12
GUIDE_NOISE = 0.45
BAND_FLOATS = 1 << 21       # weights a band holds at once (8 MB): bounds its rows


class Config(NamedTuple):
    """weighted-median's plan."""

    weights: tuple             # _weights.PatchWeights on the guide
    correlation: bool
    s2: np.float32             # guide noise variance, added to the correlation variances
    prefilter: bool
    colops: np.ndarray         # sorting network of a window column (_sortnet)


@njit(cache=True, nogil=True, fastmath=EXACT)
def _band(band, rows_per_band, padded, guide, out, cfg, offsets, maps, buf):
    """Weighted median of the rows of band `band` into `out` (H, W, C), weights from
    patch similarity. `padded`: the working image mirrored by `search`; `guide`
    (H, W, 1); `maps`: the guide's mirror index maps (rows, cols) with margin f + d;
    `buf`: this thread's scratch."""
    r0 = band * rows_per_band
    n_rows = min(out.shape[0], r0 + rows_per_band) - r0
    _pad_guide(guide, r0, n_rows, cfg, maps, buf)
    for k in range(offsets.shape[0]):
        tr, tc = offsets[k, 0], offsets[k, 1]
        weight_field(buf.gb, cfg.weights, tr, tc, n_rows, buf.wt, buf.field, buf.dist)
        _scatter(buf.weights, buf.wt, tr, tc, cfg.weights.d, n_rows, buf.best, k == 0)
    _centre(buf.weights, buf.best, n_rows)
    select_band(padded, out, r0, n_rows, buf.weights, cfg.colops, buf.select)


@njit(cache=True, nogil=True, fastmath=EXACT)
def _correlated_band(band, rows_per_band, padded, guide, out, cfg, offsets, maps, buf):
    """:func:`_band` with each weight also multiplied by the patches' correlation."""
    r0 = band * rows_per_band
    n_rows = min(out.shape[0], r0 + rows_per_band) - r0
    _pad_guide(guide, r0, n_rows, cfg, maps, buf)
    pw = cfg.weights
    _patch_stats(buf.gb[0], pw.f, buf.stats, buf.line)
    for k in range(offsets.shape[0]):
        tr, tc = offsets[k, 0], offsets[k, 1]
        weight_field(buf.gb, pw, tr, tc, n_rows, buf.wt, buf.field, buf.dist)
        _correlate(buf, cfg, tr, tc, n_rows)
        _scatter(buf.weights, buf.wt, tr, tc, pw.d, n_rows, buf.best, k == 0)
    _centre(buf.weights, buf.best, n_rows)
    select_band(padded, out, r0, n_rows, buf.weights, cfg.colops, buf.select)


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _pad_guide(guide, r0, n_rows, cfg, maps, buf):
    pad_band(guide, r0, n_rows, cfg.weights.f + cfg.weights.d, maps[0], maps[1], buf.gb)


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _scatter(weights, wt, tr, tc, d, n_rows, best, first):
    """weights[x, o, j] for the window offsets t and -t of pixel (x, j), from the
    weight field of offset t: w(p, p + t) = w(p + t, p); best[x, j]: the largest
    weight so far of other pixels (these two its first when `first`)."""
    size, width = 2 * d + 1, weights.shape[2]
    for x in range(n_rows):
        fwd = weights[x, (tr + d) * size + tc + d]
        bwd = weights[x, (d - tr) * size + d - tc]
        w1 = wt[x + d, d:d + width]
        w2 = wt[x - tr + d, d - tc:d - tc + width]
        top = best[x]
        for j in range(width):
            fwd[j] = w1[j]
            bwd[j] = w2[j]
            top[j] = max(w1[j], w2[j]) if first else max(top[j], max(w1[j], w2[j]))


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _centre(weights, best, n_rows):
    """The centre rule: each pixel's weight for itself, from the largest of the others."""
    for x in range(n_rows):
        centre = weights[x, weights.shape[1] // 2]
        for j in range(weights.shape[2]):
            centre[j] = centre_weight(best[x, j])


@njit(cache=True, nogil=True, fastmath=EXACT)
def _patch_stats(g, f, stats, line):
    """stats[0]: sums of g over the patch around each position of the padded band `g`
    (positions start d rows and columns before the band); stats[1]: the sums of squared
    deviations from that patch's own mean. Two passes, not sum g^2 - n mean^2: that
    difference cancels in float32 once the values sit far from 0 (an offset added to
    the image changed the weights), and it depends only on the patch, so a crop gives
    the same bits."""
    n_rows, n_cols = stats.shape[1] - 2 * f, stats.shape[2] - 2 * f
    box_sums(g, f, stats[0, :n_rows, :n_cols], line[0], line[1])
    p = 2 * f + 1
    inv_n = np.float32(1.0 / (p * p))
    for i in range(n_rows):
        for j in range(n_cols):
            mean = stats[0, i, j] * inv_n
            total = np.float32(0.0)
            for a in range(p):
                for b in range(p):
                    dev = g[i + a, j + b] - mean
                    total += dev * dev
            stats[1, i, j] = total


@njit(cache=True, nogil=True, fastmath=False)    # no FMA: var and cov are differences
def _correlate(buf, cfg, tr, tc, n_rows):
    """Multiply each weight w(p, p + t) by max(0, rho): the correlation of the two
    patches with s2 added to each variance. The covariance comes from the patch
    distance, cov(p, q) = (var p + var q - var (p - q)) / 2, which is exactly 0
    for single pixels (f = 0)."""
    wt, dist, stats, s2 = buf.wt, buf.dist, buf.stats, cfg.s2
    d, f = cfg.weights.d, cfg.weights.f
    width = wt.shape[1] - 2 * d
    inv_n = np.float32(1.0 / (2 * f + 1) ** 2)
    zero = np.float32(0.0)
    for pr in range(min(0, -tr), max(n_rows, n_rows - tr)):
        for pc in range(-tc, width):
            a, b = pr + d, pc + d                      # p in wt, dist and stats
            qa, qb = a + tr, b + tc                    # p + t
            mean_p, mean_q = stats[0, a, b] * inv_n, stats[0, qa, qb] * inv_n
            var_p = stats[1, a, b] * inv_n
            var_q = stats[1, qa, qb] * inv_n
            var_d = dist[a, b] * inv_n - (mean_p - mean_q) * (mean_p - mean_q)
            cov = np.float32(0.5) * (var_p + var_q - var_d)
            # no absolute floor: at any scale, both spreads 0 means two flat patches
            spread = np.sqrt(var_p + s2) * np.sqrt(var_q + s2)
            rho = cov / spread if spread > zero else zero
            wt[a, b] *= max(rho, zero)


class Buffers(NamedTuple):
    """One thread's scratch arrays (kernels allocate nothing)."""

    gb: np.ndarray             # (1, R + 2m, W + 2m) the guide band, padded
    wt: np.ndarray             # (R + 2d, W + 2d) weights of one offset
    dist: np.ndarray           # like wt (correlation) or (0, 0)
    stats: np.ndarray          # (2, R + 2m, W + 2m) patch sums of g, squared deviations
    field: np.ndarray          # weight_field's rows
    line: np.ndarray           # (2, W + 2m)
    weights: np.ndarray        # (R, S^2, W) the band's weights per row and window offset
    best: np.ndarray           # (R, W) the largest weight of each pixel's other pixels
    select: tuple              # _wmedian_kernels.select_scratch


def _buffers(cfg, rows, width):
    pw = cfg.weights
    m, d, size = pw.f + pw.d, pw.d, 2 * pw.d + 1
    plane = (rows + 2 * d, width + 2 * d)
    return Buffers(
        np.empty((1, rows + 2 * m, width + 2 * m), np.float32), np.empty(plane, np.float32),
        np.empty(plane if cfg.correlation else (0, 0), np.float32),
        np.empty((2, rows + 2 * m, width + 2 * m) if cfg.correlation else (2, 0, 0), np.float32),
        field_scratch(pw, width), np.empty((2, width + 2 * m), np.float32),
        np.empty((rows, size * size, width), np.float32), np.empty((rows, width), np.float32),
        select_scratch(d, width))


def _weighted_median_rule(info, sigma, values):
    """h = 0.6 sigma (tuned on Set12)."""
    return {} if sigma is None else {"h": 0.6 * sigma}


def _prepare(info, sigma, p):
    patch = check_int("patch", p["patch"], minimum=0, maximum=5)
    search = check_int("search", p["search"], minimum=1, maximum=10)
    h = check_positive("h", p["h"]) / info.data_range
    prefilter = check_bool("prefilter", p["prefilter"])
    correlation = check_bool("correlation", p["correlation"])
    s = 0.0 if sigma is None else sigma / info.data_range
    guide_sigma = s * GUIDE_NOISE if prefilter else s
    cfg = Config(patch_weights(patch, search, (2 * patch + 1) ** 2, guide_sigma, h),
                 correlation, np.float32(guide_sigma ** 2), prefilter,
                 column_network(2 * search + 1))
    return Setup(cfg, halo=search + patch + (1 if prefilter else 0))


def _apply(work, plan):
    cfg = plan.config
    pw = cfg.weights
    height, width = work.shape[:2]
    guide = work.mean(axis=2)
    if cfg.prefilter:
        guide = median_plane(np.ascontiguousarray(guide), 1)
    guide = np.ascontiguousarray(guide[..., None], dtype=np.float32)
    rows = band_rows(pw.d, height, width)
    out = np.empty_like(work)
    run_bands(_correlated_band if cfg.correlation else _band, -(-height // rows), rows,
              pad_reflect(work, pw.d), guide, out, cfg, half_offsets(pw.d), _maps(guide, pw),
              buffers=lambda: _buffers(cfg, rows, width))
    return out


def band_rows(search, height, width):
    """Rows per band: as many as keep the band's window weights within BAND_FLOATS."""
    size = 2 * search + 1
    return max(1, min(height, 64, BAND_FLOATS // (size * size * width)))


def window_weights(guide, plan, band, rows):
    """(S^2, rows, W) weights of the window offsets for the rows band * rows .. of
    `guide` (H, W): what the median of those rows is weighted with (for tests)."""
    cfg = plan.config
    guide = np.ascontiguousarray(guide[..., None], dtype=np.float32)
    buf = _buffers(cfg, rows, guide.shape[1])
    image = np.zeros_like(guide)                     # the medians are not looked at
    kernel = _correlated_band if cfg.correlation else _band
    kernel(band, rows, pad_reflect(image, cfg.weights.d), guide, image, cfg,
           half_offsets(cfg.weights.d), _maps(guide, cfg.weights), buf)
    return buf.weights.transpose(1, 0, 2).copy()


def _maps(guide, pw):
    m = pw.f + pw.d
    return reflect_index(guide.shape[0], m), reflect_index(guide.shape[1], m)


@register("weighted-median", rule=_weighted_median_rule, prepare=_prepare, apply=_apply)
def weighted_median(image, *, sigma: float | None = None, h: float | None = None,
                    patch: int = 2, search: int = 5, prefilter: bool = True,
                    correlation: bool = False):
    """Weighted median of the search window, weighted by patch similarity (NLM weights).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16, float16, float32 or float64; C = 2 or 4 carries alpha,
        which is returned untouched. Color shares one set of weights (from the
        mean of the channels); each channel takes its own weighted median.
    sigma : float, optional
        Noise standard deviation in the image's units; sets `h` and the expected
        patch distance 2 sigma^2 that is subtracted. Required unless `h` is given
        (sigma is then 0 in the weights).
    h : float, default 0.6 sigma
        Filtering strength in the image's units: w = exp(-max(d2 - 2 sigma^2, 0) / h^2)
        with d2 the mean squared patch difference.
    patch : int, default 2
        Patch radius (5 x 5 patches). Integer 0..5.
    search : int, default 5
        Search radius: the weighted median runs over (2 search + 1)^2 pixels. 1..10.
    prefilter : bool, default true
        Compare patches of the 3 x 3 median of the image instead of the image:
        impulses then do not break the similarity of their neighbourhood. The
        distance offset then uses 0.45 sigma, the noise the median leaves.
    correlation : bool, default false
        Also weight by max(0, rho), the Pearson correlation of the two patches
        with sigma^2 added to each variance: the well-defined form of the
        "canonical correlation enhanced" median (correlation alone would treat
        flat patches as unrelated, hence sigma^2).

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    Raises
    ------
    InvalidParameterError, ImageFormatError, MissingSigmaError

    Notes
    -----
    The output is argmin_v sum_j w_j |v - y_j|: the smallest window value whose
    cumulative weight, in value order, reaches half the total. The centre pixel
    gets the largest weight of the others (IPOL rule). With equal weights it is
    the plain median of the search window; unlike the NLM mean, an impulse or an
    edge pixel on the far side cannot pull the estimate. Each row's windows are
    kept sorted as they slide (S new values and an O(S^2) merge per pixel, S =
    2 search + 1), then walked in value order up to half the total weight. The
    weights are NLM's (the shared weight machinery, float32). An output pixel
    depends on the pixels within search + patch (+1 with the prefilter) of it.

    References
    ----------
    Chaudhury & Singer, "Non-local Euclidean medians", IEEE SPL 19(11), 2012.
    DOI 10.1109/LSP.2012.2217329. Buades, Coll & Morel, IPOL 1 (2011).

    Examples
    --------
    >>> import numpy as np
    >>> flat = np.full((12, 12), 0.25, dtype=np.float32)
    >>> bool((weighted_median(flat, sigma=0.1) == flat).all())
    True
    """
