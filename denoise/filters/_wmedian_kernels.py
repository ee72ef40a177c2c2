"""Weighted-median selection kernels: the weighted median of every window of a band.

The values of a window are kept sorted while it slides along a row: a pixel's
window is its left neighbour's with one column dropped and one column added,
so each pixel merges the entering column into the sorted list and drops the
leaving one in the same pass (the columns of a row are sorted once, by a network
over all of them at once). Each entry is an int64 key: the value's order bits
(the float32 order as a signed int32) above its position in the padded band,
``window row * 2^27 + column``; the position gives the entry's weight and value,
and makes every key distinct. The weighted median then walks the list in value
order, adding the weights in float64 until they reach half the total (summed in
window order): the smallest value whose cumulative weight reaches half, exactly
as sorting the window defines it. Nothing is allocated per pixel.
"""
import numpy as np
from numba import njit

from ._weights import EXACT, _float_to_bits
from .median import _exchange

LOW = np.int64(0xFFFFFFFF)          # the position bits of a key
COLUMN = np.int64((1 << 27) - 1)    # a position's column bits; the window row (< 32) above
LAST = np.int64(0x7FFFFFFFFFFFFFFF)  # above every key: ends a list for the merge
FIRST = -LAST - 1                    # below every key: starts a list


@njit(cache=True, nogil=True, fastmath=EXACT)
def select_band(padded, out, r0, n_rows, weights, colops, scratch):
    """out[r0 + x, j, c] for the band's rows x: the weighted median of the (S, S)
    window of channel c of `padded` (H + 2d, W + 2d, C) at (r0 + x, j), weighted by
    `weights` (R, S^2, W). `colops`: the sorting network of a column of S values;
    `scratch`: :func:`select_scratch`. No validation."""
    keys, lists, totals = scratch
    n_channels = out.shape[2]
    for x in range(n_rows):
        _totals(weights, x, totals)
        for c in range(n_channels):
            _column_keys(padded, r0 + x, c, keys)
            _exchange(keys, colops, keys.shape[1])
            _select_row(keys, weights, x, totals, lists, padded, r0 + x, c, out[r0 + x, :, c])


def select_scratch(search, width):
    """Scratch arrays of :func:`select_band` for windows of radius `search`."""
    size = 2 * search + 1
    return (np.empty((size, width + 2 * search), np.int64),
            np.empty((3, size * size + 2), np.int64), np.empty(width, np.float64))


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _column_keys(padded, i, c, keys):
    """keys[a, col] = the key of padded[i + a, col, c]: position a * 2^27 + col."""
    size, n_cols = keys.shape
    for a in range(size):
        src = padded[i + a]
        row = keys[a]
        for col in range(n_cols):
            bits = np.int64(_float_to_bits(src[col, c]))
            order = bits ^ ((bits >> 31) & np.int64(0x7FFFFFFF))
            row[col] = (order << 32) | (a << 27) | col


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _totals(weights, x, totals):
    """totals[j]: the sum of pixel j's window weights in window order, float64."""
    for j in range(totals.shape[0]):
        totals[j] = 0.0
    for o in range(weights.shape[1]):
        row = weights[x, o]
        for j in range(totals.shape[0]):
            totals[j] += np.float64(row[j])


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _slide(a, na, b, nb, out, n, drop):
    """out[1:n + 1] = the merge of the sorted a[1:na + 1] and b[1:nb + 1] without the
    entries of column `drop`, n of them (lists hold FIRST at 0 and
    LAST after their entries). Two independent branch-free chains: the front merges
    the smallest n // 2 entries, the back the others from the largest down (unsigned
    indices: no negative-index wraparound on its path)."""
    half = n // 2
    ia, ib, t = 1, 1, 1
    one = np.uint64(1)
    ja, jb, u = np.uint64(na), np.uint64(nb), np.uint64(n)
    for _ in range(half):
        va, vb = a[ia], b[ib]
        take = va < vb
        v = va if take else vb
        out[t] = v
        t += np.int64((v & COLUMN) != drop)
        ia += np.int64(take)
        ib += 1 - np.int64(take)
        va, vb = a[ja], b[jb]
        take = va > vb
        v = va if take else vb
        out[u] = v
        u -= np.uint64((v & COLUMN) != drop)
        ja -= np.uint64(take)
        jb -= one - np.uint64(take)
    while t <= half:                         # the chains' leftovers (dropped entries)
        va, vb = a[ia], b[ib]
        take = va < vb
        v = va if take else vb
        out[t] = v
        t += np.int64((v & COLUMN) != drop)
        ia += np.int64(take)
        ib += 1 - np.int64(take)
    while u > np.uint64(half):
        va, vb = a[ja], b[jb]
        take = va > vb
        v = va if take else vb
        out[u] = v
        u -= np.uint64((v & COLUMN) != drop)
        ja -= np.uint64(take)
        jb -= one - np.uint64(take)
    out[0] = FIRST
    out[n + 1] = LAST


@njit(cache=True, nogil=True, fastmath=EXACT, inline="always")
def _select_row(keys, weights, x, totals, lists, padded, i, c, out):
    """out[j]: the weighted median of the window of pixel j of band row x, from the
    sorted columns `keys`; `lists` (3, S^2 + 2): two sorted lists and a column."""
    size = keys.shape[0]
    n = size * size
    cur, other, column = lists[0], lists[1], lists[2]
    cur[0] = FIRST
    cur[1] = LAST
    column[0] = FIRST
    column[size + 1] = LAST
    for j in range(1 - size, out.shape[0]):  # the first window grows column by column
        for a in range(size):
            column[1 + a] = keys[a, j + size - 1]
        _slide(cur, min(n, (j + size - 1) * size), column, size, other,
               min(n, (j + size) * size), j - 1)
        cur, other = other, cur
        if j < 0:
            continue
        target = 0.5 * totals[j]
        below = 0.0
        k = 1
        while True:
            q = cur[k] & LOW
            below += np.float64(weights[x, (q >> 27) * size + (q & COLUMN) - j, j])
            if below >= target:
                break
            k += 1
        out[j] = padded[i + (q >> 27), q & COLUMN, c]
