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
squared-difference image of u and u shifted by t is box-summed over the patch
with running column sums (float32: a band restarts them), which gives
w(p, p + t) for every p at once; p collects ``w u(p + t)`` and p + t collects
``w u(p)``, so each pair is computed once (w is symmetric). The image is processed in bands of rows, one band per
task, so the buffers stay small and in cache, the threads never write to shared
memory, and the result does not depend on the thread count.
"""
import numpy as np
from numba import njit, prange

from .._config import FASTMATH
from .._image import from_working, intensity_to_working, to_working
from .._validate import check_int, check_positive
from ..errors import InvalidParameterError
from ..registry import fill_from_sigma, register, require_sigma
from ._fastexp import LOG2E, pow2

#: Rows per band (fixed, so results do not depend on the number of threads).
BAND = 64
AGGREGATES = ("pixel", "block")

# Defaults by sigma (8-bit units): (sigma_max, patch radius, search radius, k), h = k sigma.
# Measured with blockwise aggregation (make bench; tuned on Set12 and BSD68 at sigma
# 15/25/50, color on CBSD68 at 25): larger patches and a smaller search window than
# the IPOL table, which scored 28.85 dB on Set12 at sigma 25 against 29.17 here.
_GRAY_TABLE = ((20.0, 2, 7, 0.55), (35.0, 3, 7, 0.50), (np.inf, 4, 7, 0.40))
_COLOR_TABLE = ((30.0, 1, 7, 0.55), (55.0, 2, 7, 0.45), (np.inf, 3, 7, 0.40))


@njit(cache=True)
def _reflect(k, n):
    """Index into [0, n) mirroring with the edge repeated (numpy 'symmetric')."""
    period = 2 * n
    k = k % period
    return k if k < n else period - 1 - k


@njit(cache=True)
def _pad_band(work, row0, rows, margin):
    """Rows [row0 - margin, row0 + rows + margin) of `work`, columns padded by
    `margin`, both mirrored, as channel planes: (C, rows + 2 margin, W + 2 margin)."""
    height, width, n_channels = work.shape
    out = np.empty((n_channels, rows + 2 * margin, width + 2 * margin), dtype=np.float32)
    for i in range(rows + 2 * margin):
        src_i = _reflect(row0 - margin + i, height)
        for j in range(width + 2 * margin):
            src_j = _reflect(j - margin, width)
            for c in range(n_channels):
                out[c, i, j] = work[src_i, src_j, c]
    return out


@njit(cache=True, fastmath=FASTMATH)
def _column_update(pb, cs, r_add, r_sub, tr, tc, c0, n, subtract):
    """cs[j] += D(r_add, c0 + j) (- D(r_sub, c0 + j) if `subtract`), with
    D(r, c) = sum_ch (pb[ch, r, c] - pb[ch, r + tr, c + tc])^2 (padded coordinates).

    float32 running sums are exact enough: a band restarts them, so each column
    adds and removes at most BAND + 2 (d + f) terms."""
    for ch in range(pb.shape[0]):
        a0 = pb[ch, r_add, c0:c0 + n]
        a1 = pb[ch, r_add + tr, c0 + tc:c0 + tc + n]
        if not subtract:
            for j in range(n):
                a = a0[j] - a1[j]
                cs[j] += a * a
            continue
        s0 = pb[ch, r_sub, c0:c0 + n]
        s1 = pb[ch, r_sub + tr, c0 + tc:c0 + tc + n]
        for j in range(n):
            a = a0[j] - a1[j]
            b = s0[j] - s1[j]
            cs[j] += a * a - b * b


@njit(cache=True, fastmath=FASTMATH)
def _weights(pb, wt, cs, hs, tr, tc, n_rows, width, f, d, inv_cp, two_s2, inv_h2,
             acc, wsum, wmax, mode):
    """Weight field of offset (tr, tc): wt[p_r + d, p_c + d] = w(p, p + t) for every p
    with p or p + t among the centre rows [0, n_rows) (and in the width).

    mode 0 only fills wt; mode 1 also adds each centre row's weights to wsum and
    wmax, and mode 2 its values to acc as well, as soon as both of the row's
    weight rows exist (while they are still in cache)."""
    m = f + d
    rlo = min(0, -tr)
    rhi = max(n_rows, n_rows - tr)
    clo = -tc
    n_p = width + tc                      # p columns [clo, width)
    n_cs = n_p + 2 * f                    # D columns [clo - f, width + f)
    c0 = clo - f + m
    # Exponent base 2: w = 2^min(box * scale + offset, 0).
    scale = np.float32(-inv_cp * inv_h2 * LOG2E)
    offset = np.float32(two_s2 * inv_h2 * LOG2E)
    c32 = cs[:n_cs]
    c32[:] = 0.0
    for r in range(rlo - f, rlo + f + 1):
        _column_update(pb, c32, r + m, r + m, tr, tc, c0, n_cs, False)
    lag = max(0, -tr)                     # rows x and x - t are ready at pr = x + lag
    for pr in range(rlo, rhi):
        if pr > rlo:
            _column_update(pb, c32, pr + f + m, pr - f - 1 + m, tr, tc, c0, n_cs, True)
        _weight_row(c32, hs, wt[pr + d, clo + d:clo + d + n_p], n_p, f, scale, offset)
        x = pr - lag
        if mode and x >= 0:
            _accumulate_row(pb, wt, x, tr, tc, width, d, m, acc, wsum, wmax, mode == 2)


@njit(cache=True, fastmath=FASTMATH)
def _weight_row(c32, hs, row, n_p, f, scale, offset):
    """row[q] = weight from the horizontal box of 2f + 1 column sums c32[q:q + 2f + 1]."""
    # Horizontal box of 2f + 1 columns from sums of adjacent pairs of columns: at
    # most f passes over the row, not 2f + 1.
    last = c32[2 * f:2 * f + n_p]
    if f == 0:
        for q in range(n_p):
            row[q] = pow2(min(last[q] * scale + offset, np.float32(0.0)))
        return
    pairs = hs[hs.shape[0] // 2:][:n_p + 2 * f - 1]      # second half of the scratch
    for q in range(n_p + 2 * f - 1):
        pairs[q] = c32[q] + c32[q + 1]
    # box = pairs[q] + pairs[q + 2] + ... + pairs[q + 2f - 2] + last[q]: the weight
    # loop adds the last terms, earlier passes (f > 3 only) the others.
    p1 = pairs[:n_p]
    if f == 1:
        for q in range(n_p):
            row[q] = pow2(min((p1[q] + last[q]) * scale + offset, np.float32(0.0)))
        return
    p2 = pairs[2:2 + n_p]
    if f == 2:
        for q in range(n_p):
            row[q] = pow2(min((p1[q] + p2[q] + last[q]) * scale + offset, np.float32(0.0)))
        return
    h = p1
    if f > 3:
        h = hs[:n_p]
        for q in range(n_p):
            h[q] = p1[q] + p2[q]
        for i in range(2, f - 2):
            pi = pairs[2 * i:2 * i + n_p]
            for q in range(n_p):
                h[q] += pi[q]
    u = pairs[2 * f - 4:2 * f - 4 + n_p]
    v = pairs[2 * f - 2:2 * f - 2 + n_p]
    for q in range(n_p):
        row[q] = pow2(min((h[q] + u[q] + v[q] + last[q]) * scale + offset, np.float32(0.0)))


@njit(cache=True, fastmath=FASTMATH)
def _offsets(d):
    """Half of the search window (each pair once): t_c > 0, or t_c = 0 and t_r > 0."""
    n = ((2 * d + 1) ** 2 - 1) // 2
    out = np.empty((n, 2), dtype=np.int64)
    k = 0
    for tr in range(-d, d + 1):
        for tc in range(0, d + 1):
            if tc == 0 and tr <= 0:
                continue
            out[k, 0] = tr
            out[k, 1] = tc
            k += 1
    return out


@njit(cache=True, fastmath=FASTMATH)
def _accumulate_row(pb, wt, x, tr, tc, width, d, m, acc, wsum, wmax, with_values):
    """Add the pairs (x, x + t) and (x - t, x) of centre row x to wsum and wmax and,
    if `with_values`, to acc, the weighted sum of differences to the centre pixel
    (exact on flat regions)."""
    w1 = wt[x + d, d:d + width]                      # pairs (x, x + t)
    w2 = wt[x - tr + d, d - tc:d - tc + width]       # pairs (x - t, x)
    ws = wsum[x]
    wm = wmax[x]
    if with_values and pb.shape[0] == 1:        # gray: one fused pass
        a = acc[0, x]
        own = pb[0, x + m, m:m + width]
        fwd = pb[0, x + tr + m, m + tc:m + tc + width]
        bwd = pb[0, x - tr + m, m - tc:m - tc + width]
        for xc in range(width):
            ws[xc] += w1[xc] + w2[xc]
            wm[xc] = max(wm[xc], max(w1[xc], w2[xc]))
            a[xc] += w1[xc] * (fwd[xc] - own[xc]) + w2[xc] * (bwd[xc] - own[xc])
        return
    for xc in range(width):
        ws[xc] += w1[xc] + w2[xc]
        wm[xc] = max(wm[xc], max(w1[xc], w2[xc]))
    if with_values:
        for c in range(pb.shape[0]):
            a = acc[c, x]
            own = pb[c, x + m, m:m + width]
            fwd = pb[c, x + tr + m, m + tc:m + tc + width]
            bwd = pb[c, x - tr + m, m - tc:m - tc + width]
            for xc in range(width):
                a[xc] += w1[xc] * (fwd[xc] - own[xc]) + w2[xc] * (bwd[xc] - own[xc])


@njit(cache=True, fastmath=FASTMATH)
def _box_row(field, x, f, n_rows, width, vbuf, out_row):
    """out_row[c] = sum of field[x + a, c + b] over |a|, |b| <= f inside the array."""
    vbuf[:] = 0.0
    v = vbuf[f:f + width]
    for a in range(max(0, x - f), min(n_rows, x + f + 1)):
        src = field[a]
        for c in range(width):
            v[c] += src[c]
    out_row[:] = vbuf[:width]
    for b in range(1, 2 * f + 1):
        vb = vbuf[b:b + width]
        for c in range(width):
            out_row[c] += vb[c]


@njit(cache=True, fastmath=FASTMATH)
def _band(work, out, r0, r1, e0, e1, f, d, inv_cp, two_s2, inv_h2, block, offsets):
    """Denoise output rows [r0, r1) using centre rows [e0, e1) (blockwise: patch
    centres whose patches reach the output rows; pixelwise: the output rows)."""
    width = work.shape[1]
    n_channels = work.shape[2]
    m = f + d
    n_rows = e1 - e0
    pb = _pad_band(work, e0, n_rows, m)
    wt = np.zeros((n_rows + 2 * d, width + 2 * d), dtype=np.float32)
    cs = np.empty(width + d + 2 * f, dtype=np.float32)
    hs = np.empty(2 * (width + d + 2 * f + 1), dtype=np.float32)
    acc = np.zeros((n_channels, n_rows, width), dtype=np.float32)
    wsum = np.zeros((n_rows, width), dtype=np.float32)
    wmax = np.zeros((n_rows, width), dtype=np.float32)
    for k in range(offsets.shape[0]):
        _weights(pb, wt, cs, hs, offsets[k, 0], offsets[k, 1], n_rows, width, f, d,
                 inv_cp, two_s2, inv_h2, acc, wsum, wmax, 1 if block else 2)
    for x in range(n_rows):
        for xc in range(width):
            if wmax[x, xc] == 0.0:         # no similar patch at all: keep the pixel
                wmax[x, xc] = 1.0
    if not block:
        for x in range(r1 - r0):
            for xc in range(width):
                total = wsum[x, xc] + wmax[x, xc]
                for c in range(n_channels):
                    out[r0 + x, xc, c] = pb[c, x + m, xc + m] + acc[c, x, xc] / total
        return
    # Blockwise: each centre's patch estimate is normalised by its total weight;
    # a pixel sums, over the patches covering it, the normalised weights times the
    # difference between the pixel at the same place in the other patch and itself
    # (the centre term is 0), divides by the number of patches, adds itself.
    inv = np.empty((n_rows, width), dtype=np.float32)
    for x in range(n_rows):
        for xc in range(width):
            inv[x, xc] = 1.0 / (wsum[x, xc] + wmax[x, xc])
    ones = np.ones((n_rows, width), dtype=np.float32)
    fa = np.zeros((n_rows, width), dtype=np.float32)
    fb = np.zeros((n_rows, width), dtype=np.float32)
    vbuf = np.empty(width + 2 * f, dtype=np.float32)
    ba = np.empty(width, dtype=np.float32)
    bb = np.empty(width, dtype=np.float32)
    n_out = r1 - r0
    shift = r0 - e0                              # output row x is centre row x + shift
    total = np.zeros((n_channels, n_out, width), dtype=np.float32)
    count = np.empty((n_out, width), dtype=np.float32)     # patches covering the pixel
    for x in range(n_out):
        _box_row(ones, x + shift, f, n_rows, width, vbuf, count[x])
    for k in range(offsets.shape[0]):
        tr, tc = offsets[k, 0], offsets[k, 1]
        _weights(pb, wt, cs, hs, tr, tc, n_rows, width, f, d, inv_cp, two_s2, inv_h2,
                 acc, wsum, wmax, 0)
        for x in range(n_rows):
            w1 = wt[x + d, d:d + width]
            w2 = wt[x - tr + d, d - tc:d - tc + width]
            iv = inv[x]
            a = fa[x]
            b = fb[x]
            for xc in range(width):
                a[xc] = w1[xc] * iv[xc]
                b[xc] = w2[xc] * iv[xc]
        for x in range(n_out):
            _box_row(fa, x + shift, f, n_rows, width, vbuf, ba)
            _box_row(fb, x + shift, f, n_rows, width, vbuf, bb)
            row = x + shift + m
            for c in range(n_channels):
                t = total[c, x]
                own = pb[c, row, m:m + width]
                fwd = pb[c, row + tr, m + tc:m + tc + width]
                bwd = pb[c, row - tr, m - tc:m - tc + width]
                for xc in range(width):
                    t[xc] += ba[xc] * (fwd[xc] - own[xc]) + bb[xc] * (bwd[xc] - own[xc])
    for x in range(n_out):
        for xc in range(width):
            for c in range(n_channels):
                out[r0 + x, xc, c] = (pb[c, x + shift + m, xc + m]
                                      + total[c, x, xc] / count[x, xc])


@njit(parallel=True, cache=True, fastmath=FASTMATH)
def _nlm_kernel(work, out, f, d, inv_cp, two_s2, inv_h2, block):
    """Fill `out` (H, W, C) float32 from `work`; bands of BAND rows in parallel."""
    height = work.shape[0]
    offsets = _offsets(d)
    n_bands = (height + BAND - 1) // BAND
    for b in prange(n_bands):
        r0 = b * BAND
        r1 = min(height, r0 + BAND)
        e0 = max(0, r0 - f) if block else r0
        e1 = min(height, r1 + f) if block else r1
        _band(work, out, r0, r1, e0, e1, f, d, inv_cp, two_s2, inv_h2, block, offsets)


def _nlm_rule(sigma, data_range, values):
    """Radii and h = k sigma from the table for sigma (8-bit units), gray or color."""
    missing = [k for k in ("patch_radius", "search_radius", "h") if values.get(k) is None]
    if not missing:
        return {}
    require_sigma("nlm", sigma, " and ".join(missing))
    sigma255 = sigma * 255.0 / data_range
    table = _COLOR_TABLE if values.get("_color") else _GRAY_TABLE
    for limit, patch, search, k in table:
        if sigma255 <= limit:
            return {"patch_radius": patch, "search_radius": search, "h": k * sigma}
    raise AssertionError("unreachable")


@register(rule=_nlm_rule)
def nlm(image, *, sigma: float | None = None, patch_radius: int | None = None,
        search_radius: int | None = None, h: float | None = None,
        aggregate: str = "block"):
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
    patch_radius : int, default from sigma
        Patch half-size f (patch side 2 f + 1), 0..10. Gray: 2, 3, 4 up to
        sigma 20, 35, above (8-bit units); color: 1, 2, 3 up to 30, 55, above.
    search_radius : int, default 7
        Search window half-size d (window side 2 d + 1), 1..50. Larger windows
        cost (2 d + 1)^2 and, at these patch sizes, scored lower.
    h : float, default k sigma
        Filtering strength in the image's units: weights are
        exp(-max(d2 - 2 sigma^2, 0) / h^2) with d2 the mean squared patch
        difference. k: gray 0.55, 0.50, 0.40 and color 0.55, 0.45, 0.40 over
        the sigma ranges of `patch_radius` (measured on Set12, BSD68, CBSD68).
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
    Cost O(H W (2 d + 1)^2 C) for any patch size, memory O(H W).

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
    work, layout = to_working(image)
    color = work.shape[2] > 1
    p = fill_from_sigma(_nlm_rule, sigma, layout.data_range, patch_radius=patch_radius,
                        search_radius=search_radius, h=h, _color=color)
    f = check_int("patch_radius", p["patch_radius"], minimum=0, maximum=10)
    d = check_int("search_radius", p["search_radius"], minimum=1, maximum=50)
    h = check_positive("h", p["h"])
    if aggregate not in AGGREGATES:
        raise InvalidParameterError(
            f"aggregate must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")
    s = 0.0 if sigma is None else intensity_to_working(sigma, layout)
    hw = intensity_to_working(h, layout)
    out = np.empty_like(work)
    n = work.shape[2] * (2 * f + 1) ** 2
    _nlm_kernel(work, out, f, d, 1.0 / n, 2.0 * s * s, 1.0 / max(hw * hw, 1e-30),
                aggregate == "block")
    return from_working(out, layout)
