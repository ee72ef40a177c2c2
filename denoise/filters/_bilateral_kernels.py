"""bilateral's kernels: the direct (exact) filter, taps outside and a row's pixels inside.

The image is padded once into scaled channel planes ``P = gain * work`` (C, H + 2m,
W + 2m), with ``gain = sqrt(-scale)`` so that a tap's weight is one call of the
shared exp, ``pow2(log2(s_k) - |P(q) - P(p)|^2)`` (base 2; s_k the tap's spatial
weight). For one output row, each tap (di, dj) reads contiguous slices of the
planes, its spatial weight a constant; the loop over the row's pixels has no
branch and no libm call, so it vectorises. The centre tap is left out of the tap
list and added with its own weight at the end. Two taps share each pass over the
row (half the loads and stores of the accumulators). Rows of a band, bands of
rows: every pixel is computed alone, in the same order, whatever the band.
"""
import numpy as np
from numba import njit

from .._config import FASTMATH
from ._weights import pow2

#: Rows per band (each output pixel is computed alone, so the split never matters).
BAND = 16


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def pad_planes(band, work, rows, cols, gain, out):
    """Rows of band `band` of `out` (C, H + 2m, W + 2m) = gain * `work` (H, W, C) padded
    by the index maps `rows`, `cols` (:func:`reflect_index` of margin m). No validation."""
    n_channels, n_rows, n_cols = out.shape
    width = work.shape[1]
    margin = (n_cols - width) // 2
    for i in range(band * BAND, min(n_rows, (band + 1) * BAND)):
        src = work[rows[i]]
        for c in range(n_channels):
            dst = out[c, i]
            for j in range(width):
                dst[margin + j] = gain * src[j, c]
            for j in range(margin):
                dst[j] = gain * src[cols[j], c]
                dst[margin + width + j] = gain * src[cols[margin + width + j], c]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def box_planes(band, padded, out):
    """Rows of band `band` of `out` (C, R, S): the 3x3 box mean of `padded`
    (C, R + 2, S + 2), the range pilot. No validation."""
    n_channels, n_rows, n_cols = out.shape
    ninth = np.float32(1.0 / 9.0)
    for i in range(band * BAND, min(n_rows, (band + 1) * BAND)):
        for c in range(n_channels):
            a, b, e = padded[c, i], padded[c, i + 1], padded[c, i + 2]
            dst = out[c, i]
            for j in range(n_cols):
                dst[j] = ((a[j] + a[j + 1] + a[j + 2]) + (b[j] + b[j + 1] + b[j + 2])
                          + (e[j] + e[j + 1] + e[j + 2])) * ninth


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _one_tap(g, v, centre, lw, num, den):
    """Add the weights of one tap (guide row `g`, value row `v`) to a gray row."""
    for j in range(num.shape[0]):
        d = g[j] - centre[j]
        w = pow2(lw - d * d)
        num[j] += w * v[j]
        den[j] += w


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def gray_band(band, values, guide, out, taps, log_weights, centre_weight, inv_gain, sums):
    """Rows of band `band` of `out` (H, W, 1) from the scaled planes `values`
    (1, H + 2r + 2e, W + 2r + 2e) and `guide` (1, H + 2r, W + 2r), e = the values'
    extra margin (1 with the pilot); `taps` (K, 2) offsets, `log_weights` (K,)
    their log2 spatial weights; `sums` (2, W) scratch. No validation."""
    height, width, _ = out.shape
    r = (guide.shape[2] - width) // 2
    e = (values.shape[2] - guide.shape[2]) // 2
    num, den = sums[0, :width], sums[1, :width]
    n_taps = taps.shape[0]
    for i in range(band * BAND, min(height, (band + 1) * BAND)):
        num[:] = 0.0
        den[:] = 0.0
        centre = guide[0, i + r, r:r + width]
        k = 0
        while k + 2 <= n_taps:
            ra, ca, rb, cb = i + r + taps[k, 0], r + taps[k, 1], i + r + taps[k + 1, 0], \
                r + taps[k + 1, 1]
            ga, gb = guide[0, ra, ca:ca + width], guide[0, rb, cb:cb + width]
            va = values[0, ra + e, ca + e:ca + e + width]
            vb = values[0, rb + e, cb + e:cb + e + width]
            la, lb = log_weights[k], log_weights[k + 1]
            for j in range(width):
                da = ga[j] - centre[j]
                db = gb[j] - centre[j]
                wa = pow2(la - da * da)
                wb = pow2(lb - db * db)
                num[j] += wa * va[j] + wb * vb[j]
                den[j] += wa + wb
            k += 2
        if k < n_taps:
            rk, ck = i + r + taps[k, 0] + e, r + taps[k, 1] + e
            _one_tap(guide[0, rk - e, ck - e:ck - e + width], values[0, rk, ck:ck + width],
                     centre, log_weights[k], num, den)
        own = values[0, i + r + e, r + e:r + e + width]
        for j in range(width):
            out[i, j, 0] = (num[j] + centre_weight * own[j]) / (den[j] + centre_weight) \
                * inv_gain


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _distances(guide, row, col, centre_row, r, l1, dist):
    """dist[j] = the squared colour distance between guide pixels (row, col + j) and
    (centre_row, r + j): Euclidean, or the sum of absolute differences squared."""
    width = dist.shape[0]
    dist[:] = 0.0
    for c in range(guide.shape[0]):
        g = guide[c, row, col:col + width]
        centre = guide[c, centre_row, r:r + width]
        if l1:
            for j in range(width):
                dist[j] += abs(g[j] - centre[j])
        else:
            for j in range(width):
                dist[j] += (g[j] - centre[j]) * (g[j] - centre[j])
    if l1:
        for j in range(width):
            dist[j] = dist[j] * dist[j]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def color_band(band, values, guide, out, taps, log_weights, centre_weight, inv_gain, l1,
               sums):
    """Rows of band `band` of `out` (H, W, C) from the scaled planes as in
    :func:`gray_band`; the colour distance is Euclidean, or with `l1` the sum of
    absolute channel differences, squared. `sums` (C + 2, W) scratch. No validation."""
    height, width, n_channels = out.shape
    r = (guide.shape[2] - width) // 2
    e = (values.shape[2] - guide.shape[2]) // 2
    num, den, w = sums[:n_channels, :width], sums[n_channels, :width], \
        sums[n_channels + 1, :width]
    for i in range(band * BAND, min(height, (band + 1) * BAND)):
        num[:] = 0.0
        den[:] = 0.0
        for k in range(taps.shape[0]):
            row, col = i + r + taps[k, 0], r + taps[k, 1]
            _distances(guide, row, col, i + r, r, l1, w)
            lw = log_weights[k]
            for j in range(width):
                w[j] = pow2(lw - w[j])
                den[j] += w[j]
            for c in range(n_channels):
                v = values[c, row + e, col + e:col + e + width]
                acc = sums[c, :width]
                for j in range(width):
                    acc[j] += w[j] * v[j]
        for c in range(n_channels):
            own = values[c, i + r + e, r + e:r + e + width]
            acc = sums[c, :width]
            for j in range(width):
                out[i, j, c] = (acc[j] + centre_weight * own[j]) / (den[j] + centre_weight) \
                    * inv_gain


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _rgb_tap(guide, values, row, col, e, centre, r, lw, l1, num):
    """Add one tap's weights to the RGB row sums `num` (5, W: three channels, weights,
    and scratch); `centre` the guide's row r. Three passes over the row, each with
    few enough arrays for the compiler to check their overlap and vectorise."""
    width = num.shape[1]
    g0, g1, g2 = guide[0, row, col:col + width], guide[1, row, col:col + width], \
        guide[2, row, col:col + width]
    c0, c1, c2 = guide[0, centre, r:r + width], guide[1, centre, r:r + width], \
        guide[2, centre, r:r + width]
    w = num[4, :width]
    if l1:
        for j in range(width):
            t = abs(g0[j] - c0[j]) + abs(g1[j] - c1[j]) + abs(g2[j] - c2[j])
            w[j] = pow2(lw - t * t)
    else:
        for j in range(width):
            d0, d1, d2 = g0[j] - c0[j], g1[j] - c1[j], g2[j] - c2[j]
            w[j] = pow2(lw - (d0 * d0 + d1 * d1 + d2 * d2))
    v0, v1, v2 = values[0, row + e, col + e:col + e + width], \
        values[1, row + e, col + e:col + e + width], values[2, row + e, col + e:col + e + width]
    n0, n1, n2, den = num[0, :width], num[1, :width], num[2, :width], num[3, :width]
    for j in range(width):
        n0[j] += w[j] * v0[j]
        n1[j] += w[j] * v1[j]
    for j in range(width):
        n2[j] += w[j] * v2[j]
        den[j] += w[j]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def rgb_band(band, values, guide, out, taps, log_weights, centre_weight, inv_gain, l1, sums):
    """:func:`color_band` for C = 3, fewer passes over the row per tap; `sums` (5, W)
    scratch. No validation."""
    height, width, _ = out.shape
    r = (guide.shape[2] - width) // 2
    e = (values.shape[2] - guide.shape[2]) // 2
    num = sums[:, :width]
    den = sums[3, :width]
    for i in range(band * BAND, min(height, (band + 1) * BAND)):
        num[:] = 0.0
        for k in range(taps.shape[0]):
            _rgb_tap(guide, values, i + r + taps[k, 0], r + taps[k, 1], e, i + r, r,
                     log_weights[k], l1, sums)
        for c in range(3):
            own = values[c, i + r + e, r + e:r + e + width]
            acc = sums[c, :width]
            for j in range(width):
                out[i, j, c] = (acc[j] + centre_weight * own[j]) / (den[j] + centre_weight) \
                    * inv_gain
