"""Non-local means: exact pixelwise and blockwise NLM, cost independent of the patch size.

The weight of a pair of pixels (i, j) compares their patches (side 2f + 1, all
channels jointly, mirrored at the borders)::

    d2(i, j) = sum over patch offsets k and channels c of (u_c(i+k) - u_c(j+k))^2
    w(i, j)  = exp(-max(d2 / (C (2f+1)^2) - 2 sigma^2, 0) / h^2)   (0 if the exponent is >= 30)

and the centre weight is the largest weight of the other pixels (IPOL rule).
Pixelwise: ``out(i) = sum_j w(i, j) u(j) / sum_j w(i, j)``. Blockwise (IPOL):
every patch is estimated as the weighted mean of the patches in its search
window, and each pixel averages the estimates of the patches that cover it.

Algorithm (Darbon et al. 2008, Froment 2014): for each search offset t, the
weights w(p, p + t) of every p of a band of rows come at once from box sums of
the squared-difference image (:func:`~denoise.filters._weights.weight_field`);
p collects ``w u(p + t)`` and p + t collects ``w u(p)``, so each pair is
computed once (w is symmetric). Bands of BAND rows run in parallel; their
buffers stay small and in cache, and no band writes where another reads.
"""
from typing import NamedTuple

import numpy as np
from numba import njit

from .._config import run_bands
from .._validate import check_choice, check_int, check_positive
from ..registry import Setup, register
from ._weights import (EXACT, centre_weight, field_scratch, half_offsets, pad_band,
                       patch_weights, reflect_index, weight_field)

#: Rows per band (fixed, so results do not depend on the number of threads).
BAND = 64
AGGREGATES = ("pixel", "block")

# Defaults by sigma (8-bit units): (sigma_max, patch radius, k), h = k sigma.
# Measured with blockwise aggregation and search radius 7 (make bench; tuned on
# Set12 and BSD68 at sigma 15/25/50, color on CBSD68 at 25): larger patches and a
# smaller search window than the IPOL table, which scored 28.85 dB on Set12 at
# sigma 25 against 29.17 here.
GRAY_TABLE = ((20.0, 2, 0.55), (35.0, 3, 0.50), (np.inf, 4, 0.40))
COLOR_TABLE = ((30.0, 1, 0.55), (55.0, 2, 0.45), (np.inf, 3, 0.40))


class Config(NamedTuple):
    """nlm's plan: the patch weights and the aggregation."""

    weights: tuple             # _weights.PatchWeights
    block: bool


class Buffers(NamedTuple):
    """One thread's scratch arrays, sized for a full band (kernels allocate nothing)."""

    pb: np.ndarray             # (C, BAND + 2f + 2m, W + 2m) the band's rows, padded
    wt: np.ndarray             # (BAND + 2f + 2d, W + 2d) weights of one offset
    field: np.ndarray          # weight_field's rows
    sums: np.ndarray           # (C + 3, BAND + 2f, W) sums per pixel
    line: np.ndarray           # (4, W + 2f) one row's box sums
    dist: np.ndarray           # (0, 0): patch distances are not kept


def _buffers(shape, pw):
    _, width, n_channels = shape
    f, m, rows = pw.f, pw.f + pw.d, BAND + 2 * pw.f
    return Buffers(np.empty((n_channels, rows + 2 * m, width + 2 * m), np.float32),
                   np.empty((rows + 2 * pw.d, width + 2 * pw.d), np.float32),
                   field_scratch(pw, width),
                   np.empty((n_channels + 3, rows, width), np.float32),
                   np.empty((4, width + 2 * f), np.float32),
                   np.zeros((0, 0), np.float32))


# --- kernels --------------------------------------------------------------------------

@njit(cache=True, nogil=True, fastmath=EXACT)
def _pixel_band(band, work, out, pw, offsets, rows, cols, buf):
    """Pixelwise NLM of rows band * BAND .. of `work` (H, W, C) into `out`."""
    height, width, n_channels = work.shape
    m, d = pw.f + pw.d, pw.d
    r0 = band * BAND
    n_rows = min(height, r0 + BAND) - r0
    pad_band(work, r0, n_rows, m, rows, cols, buf.pb)
    sums = buf.sums                                   # acc per channel, wsum, wmax
    sums[:] = 0.0
    for k in range(offsets.shape[0]):
        tr, tc = offsets[k, 0], offsets[k, 1]
        weight_field(buf.pb, pw, tr, tc, n_rows, buf.wt, buf.field, buf.dist)
        for x in range(n_rows):
            _accumulate(buf.pb, buf.wt, x, tr, tc, m, d, sums)
    for x in range(n_rows):
        for xc in range(width):
            total = sums[n_channels, x, xc] + centre_weight(sums[n_channels + 1, x, xc])
            for c in range(n_channels):
                out[r0 + x, xc, c] = buf.pb[c, x + m, xc + m] + sums[c, x, xc] / total


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _accumulate(pb, wt, x, tr, tc, m, d, sums):
    """Add the pairs (x, x + t) and (x - t, x) of centre row x to the weight sum and
    maximum (sums[C], sums[C + 1]) and to sums[c], the weighted sum of differences
    to the centre pixel (exact on flat regions)."""
    n_channels, width = pb.shape[0], sums.shape[2]
    w1 = wt[x + d, d:d + width]                      # pairs (x, x + t)
    w2 = wt[x - tr + d, d - tc:d - tc + width]       # pairs (x - t, x)
    ws, wm = sums[n_channels, x], sums[n_channels + 1, x]
    for xc in range(width):
        ws[xc] += w1[xc] + w2[xc]
        wm[xc] = max(wm[xc], max(w1[xc], w2[xc]))
    for c in range(n_channels):
        a = sums[c, x]
        own = pb[c, x + m, m:m + width]
        fwd = pb[c, x + tr + m, m + tc:m + tc + width]
        bwd = pb[c, x - tr + m, m - tc:m - tc + width]
        for xc in range(width):
            a[xc] += w1[xc] * (fwd[xc] - own[xc]) + w2[xc] * (bwd[xc] - own[xc])


@njit(cache=True, nogil=True, fastmath=EXACT)
def _block_band(band, work, out, pw, offsets, rows, cols, buf):
    """Blockwise NLM of rows band * BAND .. of `work` (H, W, C) into `out`.

    The band's patch centres reach f rows beyond its output rows. Pass 1 sums each
    centre's weights; pass 2 spreads each patch estimate, normalised, over the
    pixels it covers (:func:`_spread`). Both passes walk the offsets through one
    call of weight_field, so its code is compiled into the kernel once.
    """
    height, width, n_channels = work.shape
    f, d, m = pw.f, pw.d, pw.f + pw.d
    r0 = band * BAND
    r1 = min(height, r0 + BAND)
    e0, e1 = max(0, r0 - f), min(height, r1 + f)
    n_rows, n_out, shift = e1 - e0, r1 - r0, r0 - e0
    pad_band(work, e0, n_rows, m, rows, cols, buf.pb)
    pb, wt, total = buf.pb, buf.wt, buf.sums            # total: the first C planes
    inv, fa, fb = buf.sums[n_channels], buf.sums[n_channels + 1], buf.sums[n_channels + 2]
    fa[:] = 0.0                                         # pass 1: weight sums and maxima
    fb[:] = 0.0
    n_offsets = offsets.shape[0]
    for step in range(2 * n_offsets):
        tr, tc = offsets[step % n_offsets, 0], offsets[step % n_offsets, 1]
        weight_field(pb, pw, tr, tc, n_rows, wt, buf.field, buf.dist)
        if step < n_offsets:
            for x in range(n_rows):
                _add_weights(wt, x, tr, tc, d, fa[x], fb[x])
            continue
        if step == n_offsets:
            for x in range(n_rows):
                for xc in range(width):
                    inv[x, xc] = np.float32(1.0) / (fa[x, xc] + centre_weight(fb[x, xc]))
            for c in range(n_channels):
                total[c] = 0.0
        _spread(buf, pw, tr, tc, n_rows, n_out, shift)
    for x in range(n_out):
        # patches covering the pixel: the centres within f rows and columns of it
        across = min(n_rows, x + shift + f + 1) - max(0, x + shift - f)
        for xc in range(width):
            count = np.float32(across * (min(width, xc + f + 1) - max(0, xc - f)))
            for c in range(n_channels):
                out[r0 + x, xc, c] = pb[c, x + shift + m, xc + m] + total[c, x, xc] / count


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _add_weights(wt, x, tr, tc, d, wsum, wmax):
    """Add the weights of the pairs (x, x + t) and (x - t, x) of centre row x to the
    row's sums and maxima."""
    width = wsum.shape[0]
    w1 = wt[x + d, d:d + width]
    w2 = wt[x - tr + d, d - tc:d - tc + width]
    for xc in range(width):
        wsum[xc] += w1[xc] + w2[xc]
        wmax[xc] = max(wmax[xc], max(w1[xc], w2[xc]))


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _spread(buf, pw, tr, tc, n_rows, n_out, shift):
    """Pass 2 for one offset: each output pixel adds, over the patches covering it,
    the normalised weight times the difference between the pixel at the same place
    in the other patch and itself (the centre term is 0). Output rows are centre
    rows `shift` .. `shift` + n_out - 1."""
    pb, wt, line = buf.pb, buf.wt, buf.line
    n_channels, width = pb.shape[0], buf.sums.shape[2]
    total = buf.sums                                    # the first C planes
    inv, fa, fb = buf.sums[n_channels], buf.sums[n_channels + 1], buf.sums[n_channels + 2]
    f, d = pw.f, pw.d
    m = f + d
    for x in range(n_rows):
        w1 = wt[x + d, d:d + width]
        w2 = wt[x - tr + d, d - tc:d - tc + width]
        for xc in range(width):
            fa[x, xc] = w1[xc] * inv[x, xc]
            fb[x, xc] = w2[xc] * inv[x, xc]
    for x in range(n_out):
        _box_rows(fa, fb, x + shift, f, n_rows, line)
        row = x + shift + m
        for c in range(n_channels):
            t = total[c, x]
            own = pb[c, row, m:m + width]
            fwd = pb[c, row + tr, m + tc:m + tc + width]
            bwd = pb[c, row - tr, m - tc:m - tc + width]
            for xc in range(width):
                t[xc] += line[2, xc] * (fwd[xc] - own[xc]) + line[3, xc] * (bwd[xc] - own[xc])


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _box_rows(fa, fb, x, f, n_rows, line):
    """line[2][c], line[3][c] = sums of fa and fb [x + a, c + b] over |a|, |b| <= f
    within rows 0 .. n_rows - 1 and the columns (line[0], line[1]: their columns'
    sums, zero-padded by f)."""
    width = fa.shape[1]
    line[0] = 0.0
    line[1] = 0.0
    va, vb = line[0, f:f + width], line[1, f:f + width]
    for a in range(max(0, x - f), min(n_rows, x + f + 1)):
        sa, sb = fa[a], fb[a]
        for c in range(width):
            va[c] += sa[c]
            vb[c] += sb[c]
    oa, ob = line[2, :width], line[3, :width]
    for b in range(2 * f + 1):
        ia, ib = line[0, b:b + width], line[1, b:b + width]
        if b == 0:
            for c in range(width):
                oa[c] = ia[c]
                ob[c] = ib[c]
        else:
            for c in range(width):
                oa[c] += ia[c]
                ob[c] += ib[c]


# --- the method -----------------------------------------------------------------------

def _nlm_rule(info, sigma, values):
    """Patch radius and h = k sigma from the table for sigma (8-bit units), gray or color."""
    if sigma is None:
        return {}
    sigma255 = sigma * 255.0 / info.data_range
    table = COLOR_TABLE if info.color else GRAY_TABLE
    patch, k = next((p, k) for limit, p, k in table if sigma255 <= limit)
    return {"patch_radius": patch, "h": k * sigma}


def _prepare(info, sigma, p):
    f = check_int("patch_radius", p["patch_radius"], minimum=0, maximum=10)
    d = check_int("search_radius", p["search_radius"], minimum=1, maximum=50)
    h = check_positive("h", p["h"])
    block = check_choice("aggregate", p["aggregate"], AGGREGATES) == "block"
    s = 0.0 if sigma is None else sigma / info.data_range
    weights = patch_weights(f, d, info.channels * (2 * f + 1) ** 2, s, h / info.data_range)
    return Setup(Config(weights, block), halo=2 * f + d if block else f + d)


def _apply(work, plan):
    pw, block = plan.config
    height, width = work.shape[:2]
    m = pw.f + pw.d
    out = np.empty_like(work)
    run_bands(_block_band if block else _pixel_band, -(-height // BAND), work, out, pw,
              half_offsets(pw.d), reflect_index(height, m), reflect_index(width, m),
              buffers=lambda: _buffers(work.shape, pw))
    return out


@register(rule=_nlm_rule, prepare=_prepare, apply=_apply)
def nlm(image, *, sigma: float | None = None, patch_radius: int | None = None,
        search_radius: int = 7, h: float | None = None, aggregate: str = "block"):
    """Non-local means: average of pixels whose surrounding patches look alike.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16, float16, float32 or float64; C = 2 or 4 carries alpha,
        which is returned untouched. Color patches are compared jointly.
    sigma : float
        Noise standard deviation in the image's units (0-255 for uint8, 0-65535
        for uint16, data units for float). Subtracted from patch distances
        (2 sigma^2) and used to choose the defaults below.
    patch_radius : int, default from sigma and channels
        Patch half-size f (patch side 2 f + 1), 0..10. Larger at higher noise,
        smaller for color (`denoise methods nlm` shows the table).
    search_radius : int, default 7
        Search window half-size d (window side 2 d + 1), 1..50. Larger windows
        cost (2 d + 1)^2 and, at these patch sizes, scored lower.
    h : float, default k sigma
        Filtering strength in the image's units: weights are
        exp(-max(d2 - 2 sigma^2, 0) / h^2) with d2 the mean squared patch
        difference. k from 0.55 down to 0.40 as the noise grows (measured on
        Set12, BSD68, CBSD68; `denoise methods nlm` shows the table).
    aggregate : str, default "block"
        "block": whole patches are averaged and every pixel averages the
        estimates of all patches covering it (IPOL; with the IPOL parameters
        +0.65 dB on Set12 at sigma 25, about 3x slower). "pixel": each pixel is
        the weighted mean of the centre pixels of similar patches.

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    Raises
    ------
    InvalidParameterError, MissingSigmaError, ImageFormatError

    Notes
    -----
    The centre pixel's own weight is the largest weight of the others (IPOL);
    pairs whose scaled distance exceeds 30 get weight 0; a pixel with no
    similar patch keeps its value. Borders mirror with the edge pixel repeated.
    An output pixel depends on the pixels within f + d (pixelwise) or 2 f + d
    (blockwise) of it. Cost O(H W (2 d + 1)^2 C) for any patch size, memory O(H W).

    References
    ----------
    Buades, Coll & Morel, "Non-Local Means Denoising", Image Processing On Line
    1 (2011), DOI 10.5201/ipol.2011.bcm_nlm. Froment, "Parameter-Free Fast
    Pixelwise Non-Local Means Denoising", IPOL 4 (2014), DOI 10.5201/ipol.2014.120.

    Examples
    --------
    >>> import numpy as np
    >>> flat = np.full((12, 12), 100, dtype=np.uint8)
    >>> bool((nlm(flat, sigma=10) == flat).all())
    True
    """
