"""Median filter: exact, in the image's own dtype, by the fastest exact method per size.

* 3 x 3 and 5 x 5, any dtype: each column of the window sorted once per row,
  then the pruned selection network (``_sortnet``) as straight-line code fused
  into one loop over the row (``_medianfused``), as packed min/max;
* up to 11 x 11 (9 x 9 for 8-bit): the same network run as one vectorised
  min/max loop per compare-exchange over a block of pixels;
* larger 8-bit windows: Perreault and Hebert's constant-time median, with
  column histograms of 16 coarse and 16 x 16 fine counts packed four to a
  64-bit word, so that adding two histograms is four integer additions;
* other larger windows: a sliding two-level histogram (Huang's algorithm with
  256-value coarse counts to skip empty ranges) of 16-bit values, or of the
  ranks of float values among the image's distinct values.

Floats are never quantised: the fused kernels compare floats directly, the
block networks run float32 on its order-preserving int32 bit pattern (a float
select there would compile to masked stores), and the histograms run on the
rank of each value among the image's distinct values; the median, being one of
the inputs, maps back exactly.
"""
import functools
from typing import NamedTuple

import numpy as np
from numba import njit

from .._config import get_threads, run_bands
from .._validate import check_int
from ..registry import Setup, register
from ._medianfused import median3_kernel, median5_kernel
from ._sortnet import column_network, median_network
from ._weights import reflect_index

NETWORK_MAX = 11          # largest window run by a selection network
NETWORK_MAX_8BIT = 9      # 8-bit: larger windows take the constant-time histogram
STRIPE = 256              # output columns per tile of the constant-time histogram
BLOCK_BYTES = 4096        # pixels per network pass: one row of a wire, in bytes


class Network(NamedTuple):
    """A window's selection network for :func:`_network_kernel`."""

    colops: np.ndarray         # sorts a column of k values
    ops: np.ndarray            # selects the median of k sorted columns
    wires: np.ndarray          # the wires `ops` reads
    output: int                # the wire holding the median
    block: int                 # pixels per pass


@njit(cache=True, nogil=True)
def _exchange(m, ops, n):
    """Run compare-exchange rows ``(op, a, b)`` on columns 0..n-1 of the wires in `m`.

    Integer data only: the select form compiles to packed min/max, where the
    float form would become masked stores.
    """
    for p in range(ops.shape[0]):
        op, a, b = ops[p, 0], ops[p, 1], ops[p, 2]
        if op == 0:
            for j in range(n):
                x = m[a, j]
                y = m[b, j]
                m[a, j] = min(x, y)
                m[b, j] = max(x, y)
        elif op == 1:
            for j in range(n):
                m[a, j] = min(m[a, j], m[b, j])
        else:
            for j in range(n):
                m[b, j] = max(m[a, j], m[b, j])


@njit(cache=True, nogil=True)
def _network_kernel(chunk, src, out, rows, cols, net, chunks, scratch):
    """Median of (k x k) windows of rows of chunk `chunk` (of `chunks`) of `src` (H, W)
    into `out`, by the selection network `net`.

    `rows` / `cols` map padded row / column indices (H + 2r, W + 2r) to source
    indices (the border rule); wire ``t k + b`` of the network is rank t of
    window column b. `scratch`: (col (k, W), padded (k, W + 2r), v (k k, block)).
    """
    height, width = out.shape
    k = rows.shape[0] - height + 1
    r = k // 2
    col, padded, v = scratch
    for i in range(chunk * height // chunks, (chunk + 1) * height // chunks):
        for d in range(k):
            srow = src[rows[i + d]]
            for c in range(width):
                col[d, c] = srow[c]
        _exchange(col, net.colops, width)
        for d in range(k):
            inner = padded[d, r:]
            for c in range(width):
                inner[c] = col[d, c]
            for c in range(r):
                padded[d, c] = col[d, cols[c]]
                padded[d, r + width + c] = col[d, cols[r + width + c]]
        for j0 in range(0, width, net.block):
            n = min(net.block, width - j0)
            for u in net.wires:
                source = padded[u // k, j0 + u % k:]
                for j in range(n):
                    v[u, j] = source[j]
            _exchange(v, net.ops, n)
            target = out[i, j0:]
            for j in range(n):
                target[j] = v[net.output, j]


# Histograms of 16 counts are packed as 4 uint64 words of four 16-bit lanes
# (SWAR): adding or subtracting two histograms is 4 integer operations, exact
# while every lane stays in 0..65535 (counts here are at most k^2 <= 10201).
_ONES = np.uint64(0x0001000100010001)           # 1 in every lane
_HIGH = np.uint64(0x8000800080008000)           # the top bit of every lane
_LANE_BIT = np.array([1, 1 << 16, 1 << 32, 1 << 48], np.uint64)
_LANE_SHIFT = np.array([0, 16, 32, 48], np.uint64)
_ONE, _MINUS_ONE = np.uint64(1), np.uint64(0xFFFFFFFFFFFFFFFF)   # add / remove (mod 2^64)


@njit(cache=True, nogil=True)
def _rank_in(words, prefix, base, kth):
    """Count the lanes of a packed 16-count histogram whose running total plus
    `base` is <= kth, filling `prefix` with those running totals (packed).

    Multiplying a word by _ONES leaves in each lane the total of the lanes up to
    it; the four words are scanned independently, then offset by the totals of
    the words before them (a short dependency chain).
    """
    top = np.uint64(48)
    m0, m1, m2, m3 = (words[0] * _ONES, words[1] * _ONES, words[2] * _ONES,
                      words[3] * _ONES)
    o0 = np.uint64(base)
    o1 = o0 + (m0 >> top)
    o2 = o1 + (m1 >> top)
    o3 = o2 + (m2 >> top)
    prefix[0] = m0 + o0 * _ONES
    prefix[1] = m1 + o1 * _ONES
    prefix[2] = m2 + o2 * _ONES
    prefix[3] = m3 + o3 * _ONES
    limit = _HIGH + np.uint64(kth) * _ONES
    flags = np.uint64(0)
    for w in range(4):            # lane top bit set where the running total <= kth
        flags += ((limit - prefix[w]) & _HIGH) >> np.uint64(15)
    return np.int64((flags * _ONES) >> top)


@njit(cache=True, nogil=True)
def _lane(prefix, index):
    """Lane `index` (0..15) of a packed histogram."""
    return np.int64((prefix[index >> 2] >> _LANE_SHIFT[index & 3]) & np.uint64(0xFFFF))


@njit(cache=True, nogil=True)
def _constant_time_kernel(tile, src, out, rows, cols, stripe, bands):
    """Median of (k x k) windows of uint8 `src`, O(1) per pixel (Perreault & Hebert).

    Work is split into tiles, one per call: `bands` row slabs by column stripes
    of `stripe` output columns. In a tile each column keeps a histogram of its k rows: 16
    coarse counts (high nibble) and, per high nibble, 16 fine counts (low
    nibble); moving down a row adds one value and removes one per column. Along
    a row the window's coarse histogram adds the entering column and drops the
    leaving one; the fine histogram of one nibble is brought up to date only
    when the median falls in it, from the column where it was last used. Both
    levels locate the median by counting running totals <= n // 2, branch-free.
    """
    height, width = out.shape
    k = rows.shape[0] - height + 1
    kth = (k * k) // 2
    n_stripes = (width + stripe - 1) // stripe
    band, part = tile // n_stripes, tile % n_stripes
    i0, i1 = band * height // bands, (band + 1) * height // bands
    s0 = part * stripe
    n_out = min(stripe, width - s0)
    n_cols = n_out + k - 1
    col_coarse = np.zeros((n_cols, 4), np.uint64)
    col_fine = np.zeros((n_cols, 16, 4), np.uint64)
    coarse = np.zeros(4, np.uint64)
    fine = np.zeros((16, 4), np.uint64)
    prefix = np.zeros(4, np.uint64)
    last = np.empty(16, np.int64)
    for i in range(i0, i1):
        for d in range(0 if i == i0 else k - 1, k):      # rows entering the columns
            _count_row(src[rows[i + d]], cols[s0:s0 + n_cols], col_coarse, col_fine, _ONE)
        coarse[:] = 0
        for q in range(k):
            for w in range(4):
                coarse[w] += col_coarse[q, w]
        last[:] = -k - 1                             # no fine histogram is valid
        for jj in range(n_out):
            if jj > 0:
                for w in range(4):
                    coarse[w] = coarse[w] + col_coarse[jj + k - 1, w] - col_coarse[jj - 1, w]
            cb = _rank_in(coarse, prefix, 0, kth)
            below = _lane(prefix, cb - 1) if cb > 0 else 0
            segment = fine[cb]
            if jj - last[cb] >= k:                   # no overlap: sum afresh
                segment[:] = 0
                for q in range(jj, jj + k):
                    for w in range(4):
                        segment[w] += col_fine[q, cb, w]
            else:
                for t in range(last[cb] + 1, jj + 1):
                    for w in range(4):
                        segment[w] = (segment[w] + col_fine[t + k - 1, cb, w]
                                      - col_fine[t - 1, cb, w])
            last[cb] = jj
            out[i, s0 + jj] = cb * 16 + _rank_in(segment, prefix, below, kth)
        _count_row(src[rows[i]], cols[s0:s0 + n_cols], col_coarse, col_fine, _MINUS_ONE)


@njit(cache=True, nogil=True, inline="always")
def _count_row(row, cols, col_coarse, col_fine, step):
    """Add `step` (1, or -1 modulo 2^64 to remove) to the column histograms for the
    values of `row` at `cols`: its high nibble's coarse count, its low nibble's fine count."""
    for q in range(cols.shape[0]):
        v = row[cols[q]]
        high, low = v >> 4, v & 15
        col_coarse[q, high >> 2] += step * _LANE_BIT[high & 3]
        col_fine[q, high, low >> 2] += step * _LANE_BIT[low & 3]


@njit(cache=True, nogil=True)
def _histogram_kernel(chunk, src, out, rows, cols, bins, chunks):
    """Median of (k x k) windows of the rows of chunk `chunk` (of `chunks`) of
    integer `src` by Huang's sliding histogram.

    Counts per value plus per 256-value coarse block; the median is tracked from
    one pixel to the next (value m and the count below it), skipping whole
    coarse blocks when it moves far. Each row starts with an empty histogram.
    """
    height, width = out.shape
    k = rows.shape[0] - height + 1
    half = (k * k) // 2
    fine = np.zeros(bins, np.int32)
    coarse = np.zeros((bins + 255) // 256, np.int32)
    for i in range(chunk * height // chunks, (chunk + 1) * height // chunks):
        for d in range(k):
            for c in range(k - 1):
                v = src[rows[i + d], cols[c]]
                fine[v] += 1
                coarse[v >> 8] += 1
        m = 0
        below = 0
        for j in range(width):
            for d in range(k):
                v = src[rows[i + d], cols[j + k - 1]]
                fine[v] += 1
                coarse[v >> 8] += 1
                if v < m:
                    below += 1
            while below > half:                 # median moved down
                if m & 255 == 0 and below - coarse[(m >> 8) - 1] > half:
                    below -= coarse[(m >> 8) - 1]
                    m -= 256
                else:
                    m -= 1
                    below -= fine[m]
            while below + fine[m] <= half:      # median moved up
                if m & 255 == 0 and below + coarse[m >> 8] <= half:
                    below += coarse[m >> 8]
                    m += 256
                else:
                    below += fine[m]
                    m += 1
            out[i, j] = m
            for d in range(k):
                v = src[rows[i + d], cols[j]]
                fine[v] -= 1
                coarse[v >> 8] -= 1
                if v < m:
                    below -= 1
        for d in range(k):                      # empty the histogram again
            for c in range(width, width + k - 1):
                v = src[rows[i + d], cols[c]]
                fine[v] -= 1
                coarse[v >> 8] -= 1


def _float32_keys(plane):
    """int32 whose signed order is the float32 order (and back: the map is its own inverse)."""
    bits = plane.view(np.int32)
    return bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))


def median_plane(plane, radius):
    """Exact median of one C-contiguous 2-D plane (uint8, uint16, int32, float32, float64)."""
    size = 2 * radius + 1
    if radius == 0:
        return plane.copy()
    height, width = plane.shape
    rows, cols = reflect_index(height, radius), reflect_index(width, radius)
    chunks = _chunks(height, width, size)
    out = np.empty_like(plane)
    if size <= 5:                                  # any dtype, natively
        kernel = median3_kernel if size == 3 else median5_kernel
        run_bands(kernel, chunks, plane, out, rows, cols, chunks,
                  buffers=lambda: np.empty((size, width + size - 1), plane.dtype))
    elif plane.dtype == np.float32 and size <= NETWORK_MAX:
        out = _float32_keys(median_plane(_float32_keys(plane), radius)).view(np.float32)
    elif plane.dtype.kind == "f":                  # ranks among the distinct values
        values, ranks = np.unique(plane, return_inverse=True)
        ranks = ranks.reshape(plane.shape).astype(np.int32)
        if size <= NETWORK_MAX:
            return values[median_plane(ranks, radius)]
        ranked = np.empty_like(ranks)
        run_bands(_histogram_kernel, chunks, ranks, ranked, rows, cols, len(values), chunks)
        out = values[ranked]
    elif plane.dtype == np.uint8 and size > NETWORK_MAX_8BIT:
        stripes = -(-width // STRIPE)
        bands = min(height, -(-4 * get_threads() // stripes))
        run_bands(_constant_time_kernel, bands * stripes, plane, out, rows, cols, STRIPE, bands)
    elif size <= NETWORK_MAX:
        net = _network(size, plane.itemsize)
        run_bands(_network_kernel, chunks, plane, out, rows, cols, net, chunks,
                  buffers=lambda: _network_buffers(net, size, width, plane.dtype))
    else:                                          # uint16
        run_bands(_histogram_kernel, chunks, plane, out, rows, cols, 65536, chunks)
    return out


@functools.lru_cache(maxsize=None)
def _network(size, itemsize):
    """The selection network of a window, for samples of `itemsize` bytes."""
    ops, output = median_network(size)
    return Network(column_network(size), ops, np.unique(ops[:, 1:]).astype(np.int64),
                   int(output), max(64, BLOCK_BYTES // itemsize))


def _network_buffers(net, size, width, dtype):
    return (np.empty((size, width), dtype), np.empty((size, width + size - 1), dtype),
            np.empty((size * size, net.block), dtype))


def _chunks(height, width, size):
    """Slabs of rows: up to 4 per thread, each with work for a few milliseconds (below
    that, starting a thread costs more than it saves). The median is exact, so the
    split never changes the result."""
    return max(1, min(height, 4 * get_threads(), height * width * size * size >> 23))


def _median_rule(info, sigma, values):
    """Window radius from the noise level (8-bit units): 1 up to 30, 2 up to 60, else 3."""
    if sigma is None:
        return {"radius": 1}
    sigma255 = sigma * 255.0 / info.data_range
    return {"radius": 1 if sigma255 <= 30 else 2 if sigma255 <= 60 else 3}


def _prepare(info, sigma, p):
    radius = check_int("radius", p["radius"], minimum=0, maximum=50)
    return Setup(radius, halo=radius)


def _apply(plane, plan):
    return median_plane(plane, plan.config)


@register(rule=_median_rule, prepare=_prepare, apply=_apply, native=True)
def median(image, *, sigma: float | None = None, radius: int | None = None):
    """Median over a square window, per channel; exact for every dtype.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16, float16, float32 or float64; C = 2 or 4 carries alpha,
        which is returned untouched.
    sigma : float, optional
        Noise standard deviation in the image's units (0-255 for uint8, 0-65535
        for uint16, data units for float); used only to choose `radius`.
    radius : int, default from sigma
        Window half-width in pixels: the window is (2 radius + 1) squared.
        Integer 0..50. Grows with sigma (`denoise methods median` shows the
        table); 1 without sigma.

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    Raises
    ------
    InvalidParameterError, ImageFormatError

    Notes
    -----
    Borders mirror with the edge pixel repeated (scipy.ndimage ``mode='reflect'``),
    so the result equals ``scipy.ndimage.median_filter(image, size=2 radius + 1,
    mode='reflect')`` per channel. Windows up to 11 x 11 (8-bit: 9 x 9) run a
    pruned selection network over sorted columns, vectorised across pixels (3 x 3
    and 5 x 5 fused into one pass per row);
    larger 8-bit windows Perreault and Hebert's constant-time histogram; larger
    16-bit windows, and float ones on the ranks of their values, a sliding
    two-level histogram. Work is in the image's own dtype: nothing is quantised.

    References
    ----------
    Huang, Yang & Tang, "A fast two-dimensional median filtering algorithm",
    IEEE TASSP 27(1):13-18, 1979. DOI 10.1109/TASSP.1979.1163188.
    Perreault & Hebert, "Median filtering in constant time", IEEE TIP
    16(9):2389-2394, 2007. DOI 10.1109/TIP.2007.902329.
    Adams, "Fast median filters using separable sorting networks", ACM TOG
    40(4), 2021. DOI 10.1145/3450626.3459773

    Examples
    --------
    >>> import numpy as np
    >>> median(np.array([[0, 0, 0], [0, 255, 0], [0, 0, 0]], dtype=np.uint8)).tolist()
    [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
    """
