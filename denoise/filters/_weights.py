"""The shared weight machinery of the kernel-weighted averages.

Every method here estimates a pixel as ``sum_j w_j y_j / sum_j w_j`` (or the
weighted median of the ``y_j``); this module holds what computes the weights,
once, for all of them:

* :func:`pow2` / :func:`neg_exp`: exp for weights, vectorisable (no libm call);
* mirrored borders in one convention, the edge pixel repeated
  (``d c b a | a b c d | d c b a``, scipy.ndimage's ``mode='reflect'``): the
  index maps :func:`reflect_index`, whole-array :func:`pad_reflect` and the
  kernels' :func:`pad_band`;
* patch-similarity weights per search offset, :func:`weight_field`: for an
  offset t, ``w(p, p + t) = 2^min(scale * |P(p) - P(p + t)|^2 + offset, 0)`` for
  every p of a band at once, with P(p) the patch around p;
* the centre rule, :func:`centre_weight`: a pixel's weight for itself is the
  largest weight of the others (IPOL), 1 when all are 0.

The patch distance is a box sum of squared differences. It is summed in a fixed
order relative to p (pairs of rows, then pairs of columns) rather than by
running sums, so a weight does not depend on where a band, a crop or a tile
starts: a crop padded by the method's halo gives exactly the full image's result.
"""
import functools
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .._config import FASTMATH

#: fastmath without reassociation: sums keep their written order, so a weight is the
#: same bit for bit wherever its pixel falls in a band, a vector or a tile.
EXACT = FASTMATH - {"reassoc"}

#: Weights exp(-y) with y >= CUTOFF are 0 (w < 1e-13).
CUTOFF = 30.0
#: log2(e): exp(-y) = 2^(-y LOG2E).
LOG2E = 1.4426950408889634


# --- exp ------------------------------------------------------------------------------

@intrinsic
def _bits_to_float(typingctx, bits):
    """The float32 whose IEEE bits are the int32 `bits` (a free register bitcast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@intrinsic
def _float_to_bits(typingctx, value):
    """The IEEE bits of the float32 `value` as an int32."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def pow2(x):
    """2^x for -CUTOFF log2(e) < x <= 0 (float32), else 0; relative error < 1e-5.

    x = n + r with n the nearest integer: a degree-4 minimax polynomial gives 2^r
    on [-1/2, 1/2] (relative error 2.7e-6) and n is added to its exponent bits.
    No libm call, no branch, few multiplies: loops over a row vectorise.
    """
    floor = np.float32(-CUTOFF * LOG2E)
    xc = max(x, floor)
    # Adding 1.5 * 2^23 rounds xc (|xc| < 2^22) to an integer n held in the low
    # mantissa bits of the sum (cheaper than float -> int -> float).
    n = np.int32(_float_to_bits(xc + np.float32(12582912.0)) - np.int32(0x4B400000))
    r = xc - np.float32(n)
    p = np.float32(0.99999926) + r * (np.float32(0.69312182) + r * (np.float32(0.24024745) + r * (
        np.float32(0.05591784) + r * np.float32(0.00957008))))
    p = _bits_to_float(np.int32(_float_to_bits(p) + np.int32(n << np.int32(23))))
    return p if x > floor else np.float32(0.0)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def neg_exp(y):
    """exp(-y) for 0 <= y (float32), 0 for y >= CUTOFF; relative error < 1e-5."""
    return pow2(y * np.float32(-LOG2E))


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def centre_weight(wmax):
    """A pixel's weight for itself: the largest weight of the others, or 1 if all are 0
    (then nothing is similar and the pixel keeps its value)."""
    return wmax if wmax > np.float32(0.0) else np.float32(1.0)


# --- mirrored borders -----------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def reflect_index(n, radius):
    """Source index of each padded index -radius .. n + radius - 1 (edge repeated).

    Any radius, also larger than n. Cached (images of one size come in batches):
    callers must not modify it.
    """
    folded = np.arange(-radius, n + radius, dtype=np.int64) % (2 * n)
    return np.where(folded >= n, 2 * n - 1 - folded, folded)


def pad_reflect(array, radius, axes=(0, 1)):
    """`array` padded by `radius` on both sides of the two image `axes`, mirrored."""
    rows, cols = axes
    out = np.take(array, reflect_index(array.shape[rows], radius), axis=rows)
    return np.ascontiguousarray(np.take(out, reflect_index(array.shape[cols], radius),
                                        axis=cols))


@njit(cache=True, nogil=True, inline="always")
def pad_band(work, row0, n_rows, margin, rows, cols, out):
    """Fill `out` (C, n_rows + 2 margin, W + 2 margin) with rows row0 - margin ..
    row0 + n_rows + margin - 1 of `work` (H, W, C) and its columns padded by `margin`,
    as channel planes. `rows` / `cols`: :func:`reflect_index` maps of the image with
    a margin of at least `margin` (their own margin is read from their length)."""
    height, width, n_channels = work.shape
    row_shift = (rows.shape[0] - height) // 2 - margin
    col_shift = (cols.shape[0] - width) // 2 - margin
    for i in range(n_rows + 2 * margin):
        src = work[rows[row0 + i + row_shift]]
        for j in range(width + 2 * margin):
            source = src[cols[j + col_shift]]
            for c in range(n_channels):
                out[c, i, j] = source[c]


# --- patch weights ----------------------------------------------------------------------

class PatchWeights(NamedTuple):
    """Settings of :func:`weight_field`: patch radius f, search radius d, and the
    exponent ``scale * d2 + offset`` (base 2) with d2 the patch's sum of squares."""

    f: int
    d: int
    scale: np.float32
    offset: np.float32


def patch_weights(f, d, n_values, sigma, h):
    """Weights ``exp(-max(d2 / n_values - 2 sigma^2, 0) / h^2)`` (working units), with
    d2 summed over the n_values samples of a patch (all channels)."""
    inv_h2 = 1.0 / max(h * h, 1e-30)
    return PatchWeights(int(f), int(d), np.float32(-inv_h2 * LOG2E / n_values),
                        np.float32(2.0 * sigma * sigma * inv_h2 * LOG2E))


@functools.lru_cache(maxsize=32)
def half_offsets(d):
    """(n, 2) offsets (t_r, t_c) of half the search window, each pair once:
    t_c > 0, or t_c = 0 and t_r > 0; row-major order."""
    return np.array([(tr, tc) for tr in range(-d, d + 1) for tc in range(0, d + 1)
                     if tc > 0 or tr > 0], dtype=np.int64).reshape(-1, 2)


def field_scratch(pw, width):
    """Scratch rows for :func:`weight_field` on a band of `width` columns."""
    return np.empty((2 * pw.f + 3, width + pw.d + 2 * pw.f), np.float32)


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _squared_differences(pb, row, col, tr, tc, out):
    """out[c] = sum over channels of (pb[ch, row, col + c] - pb[ch, row + tr, col + tc + c])^2
    for c < len(out): one row of the squared-difference image of offset t."""
    n = out.shape[0]
    for ch in range(pb.shape[0]):
        a = pb[ch, row, col:col + n]
        b = pb[ch, row + tr, col + tc:col + tc + n]
        if ch == 0:
            for c in range(n):
                out[c] = (a[c] - b[c]) * (a[c] - b[c])
        else:
            for c in range(n):
                out[c] += (a[c] - b[c]) * (a[c] - b[c])


@njit(cache=True, nogil=True, fastmath=EXACT)
def weight_field(pb, pw, tr, tc, n_rows, wt, scratch, dist):
    """wt[p_r + d, p_c + d] = w(p, p + t), t = (tr, tc) with tc >= 0, for every p with
    p or p + t among the centre rows 0 .. n_rows - 1 and the columns of the band.

    `pb` (C, >= n_rows + 2m, W + 2m), m = f + d: :func:`pad_band` of the band; `wt`
    (>= n_rows + 2d, W + 2d); `scratch` from :func:`field_scratch`: a ring of the
    last 2f + 1 rows of squared differences D, and two rows. `dist`, shaped like
    `wt`, receives the patch distances (sums) themselves; (0, 0) to skip them.
    """
    f, d = pw.f, pw.d
    m = f + d
    width = pb.shape[2] - 2 * m
    rlo, rhi = min(0, -tr), max(n_rows, n_rows - tr)
    n_p = width + tc                          # p columns -tc .. width - 1
    n_cs = n_p + 2 * f                        # D columns -tc - f .. width + f - 1
    c0 = m - tc - f                           # padded column of D column 0
    k = 2 * f + 1
    v, h = scratch[k, :n_cs], scratch[k + 1, :n_p]
    scale, offset, zero = pw.scale, pw.offset, np.float32(0.0)
    for r in range(rlo - f, rhi + f):
        dr = scratch[(r - rlo + f) % k, :n_cs]
        _squared_differences(pb, r + m, c0, tr, tc, dr)
        pr = r - f
        if pr < rlo:
            continue
        if f > 0:
            _pair_sum_rows(scratch, k, (pr - rlo) % k, f, v)
        vs = dr if f == 0 else v
        _pairs_of_row(vs, h, f)
        last = vs[2 * f:2 * f + n_p]          # the box: (pairs of h) + last, as box_sums
        row = wt[pr + d, d - tc:d - tc + n_p]
        for q in range(n_p):
            row[q] = pow2(min((h[q] + last[q]) * scale + offset, zero))
        if dist.shape[0] > 0:
            drow = dist[pr + d, d - tc:d - tc + n_p]
            for q in range(n_p):
                drow[q] = h[q] + last[q]


def distance_scratch(f, width):
    """Scratch rows for :func:`patch_distances` on a band of `width` columns."""
    return np.empty((2 * f + 2, width), np.float32)


@njit(cache=True, nogil=True, fastmath=EXACT)
def patch_distances(pb, f, m, tr, tc, rows, cols, scratch, out):
    """out[i, j] = |P(x, c) - P(x + tr, c + tc)|^2 for x = rows[i], c = cols[j]: the
    patch distances of one offset t at given centres only (references on a grid).

    `pb` (C, ..., W + 2m): :func:`pad_band` of the band with a margin m >= f + |t|,
    `rows` increasing band rows at most 2f + 1 apart, `cols` image columns;
    `scratch` from :func:`distance_scratch`: a ring of the squared-difference rows
    (each computed once) and a row of vertical sums. Sums in the fixed pair order
    of :func:`weight_field`, so a distance does not depend on the band.
    """
    k = 2 * f + 1
    width = pb.shape[2] - 2 * m
    v = scratch[k]
    following = rows[0] - f                       # next squared-difference row to fill
    for i in range(rows.shape[0]):
        x = rows[i]
        following = max(following, x - f)
        while following <= x + f:
            _squared_differences(pb, following + m, m, tr, tc, scratch[following % k, :width])
            following += 1
        vs = scratch[x % k]
        if f > 0:
            _pair_sum_rows(scratch, k, (x - f) % k, f, v)
            vs = v
        for j in range(cols.shape[0]):
            c = cols[j] - f
            total = np.float32(0.0)
            if f > 0:
                total = vs[c] + vs[c + 1]
                for q in range(1, f):
                    total += vs[c + 2 * q] + vs[c + 2 * q + 1]
            out[i, j] = total + vs[c + 2 * f]


@njit(cache=True, nogil=True, fastmath=EXACT)
def box_sums(src, f, out, v, h):
    """out[i, j] = sum of src[i .. i + 2f, j .. j + 2f] for every (i, j) of `out`, in the
    same pair order as the patch distances; `v`, `h` scratch rows (src's width)."""
    n_rows, n_cols = out.shape
    for i in range(n_rows):
        if f > 0:
            _pair_sum_rows(src, src.shape[0], i, f, v)
        vs = src[i] if f == 0 else v
        _pairs_of_row(vs, h[:n_cols], f)
        last = vs[2 * f:2 * f + n_cols]
        for j in range(n_cols):
            out[i, j] = h[j] + last[j]


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _pair_sum_rows(rows, k, first, f, v):
    """v = the sum of the 2f + 1 rows r0, r1, ... (slots first, first + 1, ... of the
    ring of k) in pair order, (((r0 + r1) + (r2 + r3)) + ...) + r2f (f >= 1)."""
    n = v.shape[0]
    r0, r1 = rows[first % k, :n], rows[(first + 1) % k, :n]
    for c in range(n):
        v[c] = r0[c] + r1[c]
    for i in range(1, f):
        a, b = rows[(first + 2 * i) % k, :n], rows[(first + 2 * i + 1) % k, :n]
        for c in range(n):
            v[c] += a[c] + b[c]
    last = rows[(first + 2 * f) % k, :n]
    for c in range(n):
        v[c] += last[c]


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _pairs_of_row(v, h, f):
    """h[q] = the pairs of the horizontal box of 2f + 1 values of v, summed as the
    rows are, ((v[q] + v[q+1]) + (v[q+2] + v[q+3])) + ...: the box is then
    h[q] + v[q + 2f] (0 + v[q] for f = 0)."""
    n = h.shape[0]
    if f == 0:
        h[:] = 0.0
        return
    v0, v1 = v[:n], v[1:1 + n]
    for q in range(n):
        h[q] = v0[q] + v1[q]
    for i in range(1, f):
        a, b = v[2 * i:2 * i + n], v[2 * i + 1:2 * i + 1 + n]
        for q in range(n):
            h[q] += a[q] + b[q]
