"""scikit-image's NL-means estimators (``skimage.restoration.denoise_nl_means`` on 2-D
images, gray or with channels), on row bands as the other kernels. Used by
:func:`denoise.compat.skimage.denoise_nl_means`.

Fast mode (:func:`nlm_skimage_fast`), all in float64 as scikit-image: for each
offset t = (tr, tc) of half the search window (tc >= 0, the centre included),
the pair (p, p + t) weighs

    w = alpha exp~(-D / (C h^2 s^2)),   0 when that scaled distance exceeds CUTOFF,

where D = max(sum over the box rows p_r - o + 1 .. p_r + o, columns
p_c - o + 1 .. p_c + o of (sum_c (u_c(q) - u_c(q + t))^2 - 2 C sigma^2), 0): a box
of side s - 1 = 2o, half a pixel off the centre (s = patch_size, made odd, o = s // 2);
alpha = 1/2 for tc = 0 (those pairs are met twice), so the centre weighs exp~(0).
Both p and p + t collect the pair. exp~ is scikit-image's approximate exp
(:func:`skimage_exp`, a few per cent from exp: it is the estimator, so it is kept).
The image is padded by o + d + 1, mirrored without repeating the edge.

Slow mode (:func:`nlm_skimage_slow`), in the image's float dtype: the search window
is cut at the image's borders, patches (side s, centred, mirrored without the edge)
are compared with Gaussian weights, summed row by row in scikit-image's order,
and a pair weighs 0 as soon as the sum after a patch row exceeds CUTOFF.
"""
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .._config import kernel_cache, run_bands
from ._weights import EXACT, _squared_differences

#: Rows per band (fixed, so results do not depend on the number of threads).
BAND = 32
#: Scaled patch distances above this weigh 0 (scikit-image's DISTANCE_CUTOFF).
CUTOFF = 5.0
#: scikit-image's exp~(y): the double whose high 32 bits are int(EXP_A y) + EXP_BC.
EXP_A = 1512775.3951951856938
EXP_BC = 1072632447


class FastBuffers(NamedTuple):
    """One thread's scratch arrays for the fast mode (kernels allocate nothing)."""

    ring: np.ndarray           # (2o + 1, W + d + 2o) rows of squared differences
    v: np.ndarray              # (W + d + 2o) their vertical box sums
    wt: np.ndarray             # (BAND + 2d, W + 2d) weights of one offset
    acc: np.ndarray            # (C + 1, BAND, W) weighted sums per channel, weight sums


def _fast_buffers(n_channels, width, o, d):
    n_d = width + d + 2 * o
    return FastBuffers(np.empty((2 * o + 1, n_d)), np.empty(n_d),
                       np.empty((BAND + 2 * d, width + 2 * d)),
                       np.empty((n_channels + 1, BAND, width)))


@intrinsic
def _bits_to_double(typingctx, bits):
    """The float64 whose IEEE bits are the int64 `bits` (a register bitcast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


with kernel_cache():
    @njit(cache=True, nogil=True, fastmath=False, inline="always")
    def skimage_exp(y):
        """scikit-image's approximate exp(y), y <= 0 (Schraudolph's: the high word of a
        double set to int(EXP_A y) + EXP_BC, truncated; int32 overflow saturates)."""
        t = max(EXP_A * y, -2147483648.0)
        high = np.int64(np.int32(t)) + np.int64(EXP_BC)
        return _bits_to_double((high & np.int64(0xFFFFFFFF)) << np.int64(32))

    @njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
    def _difference_row(planes, row, tr, tc, col0, var_c, out):
        """out[j] = sum_c (u_c(row, col0 + j) - u_c(row + tr, col0 + tc + j))^2 - var_c,
        padded coordinates."""
        n = out.shape[0]
        _squared_differences(planes, row, col0, tr, tc, out)
        for j in range(n):
            out[j] -= var_c

    @njit(cache=True, nogil=True, fastmath=EXACT)
    def _offset_weights(planes, tr, tc, r0, n, o, d, inv, alpha, buf):
        """buf.wt[p_r - r0 + d, p_c + d] = the fast mode's weight of the pair (p, p + t)
        for the p with p or p + t among image rows r0 .. r0 + n - 1 (every column)."""
        width = buf.acc.shape[2]
        pad = o + d + 1
        plo, phi = min(0, -tr), max(n, n - tr)           # p rows, relative to r0
        n_p = width + tc                                 # p columns -tc .. width - 1
        n_d = n_p + 2 * o - 1                            # D columns -tc - o + 1 ..
        col0 = pad - tc - o + 1
        k = 2 * o + 1
        v = buf.v[:max(n_d, 0)]
        cutoff, zero = CUTOFF, 0.0
        if o > 0:
            v[:] = 0.0
            for q in range(plo - o + 1, plo + o + 1):
                row = buf.ring[(q - plo + o) % k, :n_d]
                _difference_row(planes, r0 + q + pad, tr, tc, col0, inv[1], row)
                for j in range(n_d):
                    v[j] += row[j]
        for p in range(plo, phi):
            if o > 0 and p > plo:
                new = buf.ring[(p + 2 * o - plo) % k, :n_d]
                old = buf.ring[(p - plo) % k, :n_d]
                _difference_row(planes, r0 + p + o + pad, tr, tc, col0, inv[1], new)
                for j in range(n_d):
                    v[j] += new[j] - old[j]
            w = buf.wt[p + d, d - tc:d - tc + n_p]
            for q in range(n_p):
                w[q] = zero
            for m in range(2 * o):
                vm = v[m:m + n_p]
                for q in range(n_p):
                    w[q] += vm[q]
            for q in range(n_p):
                dist = max(w[q], zero) / inv[0]
                w[q] = zero if dist > cutoff else alpha * skimage_exp(-dist)

    @njit(cache=True, nogil=True, fastmath=EXACT)
    def _fast_band(band, planes, out, offsets, o, d, inv, buf):
        """scikit-image's fast NL-means of rows band * BAND .. into `out` (H, W, C)
        from `planes` (C, H + 2P, W + 2P), padded by P = o + d + 1; inv = (C h^2 s^2,
        2 C sigma^2). No validation."""
        height, width, n_channels = out.shape
        pad = o + d + 1
        r0 = band * BAND
        n = min(height, r0 + BAND) - r0
        acc, wt = buf.acc, buf.wt
        acc[:] = 0.0
        for k in range(offsets.shape[0]):
            tr, tc = offsets[k, 0], offsets[k, 1]
            _offset_weights(planes, tr, tc, r0, n, o, d, inv, 0.5 if tc == 0 else 1.0, buf)
            for x in range(n):
                w1 = wt[x + d, d:d + width]                  # pairs (x, x + t)
                w2 = wt[x - tr + d, d - tc:d - tc + width]   # pairs (x - t, x)
                ws = acc[n_channels, x]
                for j in range(width):
                    ws[j] += w1[j] + w2[j]
                for c in range(n_channels):
                    a = acc[c, x]
                    fwd = planes[c, r0 + x + tr + pad, pad + tc:pad + tc + width]
                    bwd = planes[c, r0 + x - tr + pad, pad - tc:pad - tc + width]
                    for j in range(width):
                        a[j] += w1[j] * fwd[j] + w2[j] * bwd[j]
        for x in range(n):
            for j in range(width):
                for c in range(n_channels):
                    out[r0 + x, j, c] = acc[c, x, j] / acc[n_channels, x, j]

    @njit(cache=True, nogil=True, fastmath=False)
    def _slow_band(band, planes, out, w, d, var, buf):
        """scikit-image's slow NL-means of rows band * BAND .. into `out` (H, W, C), in
        out's dtype, from `planes` (C, H + 2o, W + 2o) padded by o = len(w) // 2;
        `buf` = (dist (2, W), acc (C + 1, W)) scratch. Same operations in the same
        order as scikit-image, so the same rounding. No validation."""
        height, width, n_channels = out.shape
        dist, acc = buf
        o = w.shape[0] // 2
        r0 = band * BAND
        for x in range(r0, min(height, r0 + BAND)):
            acc[:] = 0.0
            for tr in range(max(-d, -x), min(d + 1, height - x)):
                for tc in range(-d, d + 1):
                    lo, hi = max(0, -tc), min(width, width - tc)
                    if lo >= hi:
                        continue
                    _slow_pairs(planes, w, x, tr, tc, lo, hi, var, dist)
                    ws, total = acc[n_channels, lo:hi], dist[0, :hi - lo]
                    for j in range(hi - lo):
                        ws[j] += total[j]
                    for c in range(n_channels):
                        a, u = acc[c, lo:hi], planes[c, x + tr + o, lo + tc + o:hi + tc + o]
                        for j in range(hi - lo):
                            a[j] += total[j] * u[j]
            for j in range(width):
                for c in range(n_channels):
                    out[x, j, c] = acc[c, j] / acc[n_channels, j]

    @njit(cache=True, nogil=True, fastmath=False, inline="always")
    def _slow_pairs(planes, w, x, tr, tc, lo, hi, var, dist):
        """dist[0, j] = the slow mode's weight of the pair (x, lo + j), (x + tr,
        lo + j + tc); dist[1] scratch (1 once a row-by-row sum exceeded the cutoff)."""
        s, n = w.shape[0], hi - lo
        total, dead = dist[0, :n], dist[1, :n]
        total[:] = 0.0
        dead[:] = 0.0
        for i in range(s):
            if i > 0:
                for j in range(n):
                    if total[j] > CUTOFF:
                        dead[j] = 1.0
            for m in range(s):
                wim = w[i, m]
                for c in range(planes.shape[0]):
                    a = planes[c, x + i, lo + m:hi + m]
                    b = planes[c, x + tr + i, lo + tc + m:hi + tc + m]
                    for j in range(n):
                        diff = a[j] - b[j]
                        total[j] += wim * (diff * diff - var)
        for j in range(n):         # exp~ in float64, stored in the dtype (rounded)
            weight = skimage_exp(-max(0.0, np.float64(total[j])))
            total[j] = 0.0 if dead[j] > 0.0 else weight


def nlm_skimage_fast(work, s, d, h, var):
    """scikit-image's fast-mode NL-means of float64 `work` (H, W, C): patch size `s`
    (odd), search distance `d`, `h` and the noise variance `var` in work's units.
    Returns float64 (H, W, C)."""
    height, width, n_channels = work.shape
    o = s // 2
    pad = o + d + 1
    planes = np.ascontiguousarray(np.moveaxis(
        np.pad(work, ((pad, pad), (pad, pad), (0, 0)), mode="reflect"), -1, 0))
    offsets = np.array([(tr, tc) for tr in range(-d, d + 1) for tc in range(d + 1)],
                       dtype=np.int64).reshape(-1, 2)
    inv = np.array([n_channels * h * h * s * s, 2.0 * n_channels * var])
    out = np.empty((height, width, n_channels))
    run_bands(_fast_band, -(-height // BAND), planes, out, offsets, o, d, inv,
              buffers=lambda: _fast_buffers(n_channels, width, o, d))
    return out


def nlm_skimage_slow(work, s, d, h, var):
    """scikit-image's slow-mode NL-means of float32 or float64 `work` (H, W, C), computed
    in its dtype: patch size `s` (odd), search distance `d`, `h` and the noise
    variance `var` in work's units. Returns (H, W, C) of work's dtype."""
    height, width, n_channels = work.shape
    dtype = work.dtype
    o = s // 2
    planes = np.ascontiguousarray(np.moveaxis(
        np.pad(work, ((o, o), (o, o), (0, 0)), mode="reflect"), -1, 0))
    out = np.empty_like(work)
    run_bands(_slow_band, -(-height // BAND), planes, out, gaussian_weights(s, h, n_channels,
                                                                            dtype),
              d, dtype.type(2.0 * var),
              buffers=lambda: (np.empty((2, width), dtype),
                               np.empty((n_channels + 1, width), dtype)))
    return out


def gaussian_weights(s, h, n_channels, dtype):
    """The slow mode's patch weights, as scikit-image computes them in `dtype`: a
    Gaussian of std (s - 1) / 4 over the s x s patch, summing to 1 / (C h^2)."""
    o = s // 2
    a = dtype.type((s - 1.0) / 4.0)
    grid = np.arange(-o, o + 1, dtype=dtype)
    rows, cols = np.meshgrid(grid, grid, indexing="ij")
    w = np.ascontiguousarray(np.exp(-(rows * rows + cols * cols) / float(2 * a * a)))
    w *= 1.0 / (n_channels * np.sum(w) * h * h)
    return w


__all__ = ["BAND", "CUTOFF", "gaussian_weights", "nlm_skimage_fast", "nlm_skimage_slow",
           "skimage_exp"]
