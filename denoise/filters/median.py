"""Median filter: exact, in the image's own dtype, by the fastest exact method per size.

* window up to 11 x 11: a selection network (``_sortnet``) run across a block
  of pixels at once: each column of the window is sorted once per row, and the
  network keeps only the compare-exchanges that reach the median, so the
  vectorised min/max loops handle 32 (8-bit) or 8 (float) pixels per instruction;
* 3 x 3: one fused pass per row, in any dtype;
* larger windows: a sliding two-level histogram (Huang's algorithm with
  256-value coarse counts to skip empty ranges) of 8- or 16-bit values, or of
  the ranks of float values among the image's distinct values.

Floats are never quantised: float32 networks run on its order-preserving int32
bit pattern, other float paths on the rank of each value among the image's
distinct values, and the median, being one of the inputs, maps back exactly.
"""
import numba
import numpy as np
from numba import njit, prange

from .._image import check_image, data_range_of, map_planes
from .._validate import check_int
from ..registry import fill_from_sigma, register
from ._common import reflect_index
from ._sortnet import column_network, median_network

NETWORK_MAX = 11          # largest window run by a selection network
BLOCK_BYTES = 4096        # pixels per network pass: one row of a wire, in bytes


@njit(cache=True)
def _apply(m, ops, n):
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


@njit(parallel=True, cache=True)
def _network_kernel(src, out, rows, cols, colops, ops, wires, output, block, chunks):
    """Median of (k x k) windows of `src` (H, W) into `out` by a selection network.

    `rows` / `cols` map padded row / column indices (H + 2r, W + 2r) to source
    indices (the border rule); `colops` sorts a column of k, `ops` selects the
    median (wire ``t k + b`` is rank t of window column b), `wires` lists the
    wires `ops` reads. Rows are split into `chunks` slabs, one buffer set each.
    """
    height, width = out.shape
    k = rows.shape[0] - height + 1
    r = k // 2
    for chunk in prange(chunks):
        col = np.empty((k, width), src.dtype)
        padded = np.empty((k, width + 2 * r), src.dtype)
        v = np.empty((k * k, block), src.dtype)
        for i in range(chunk * height // chunks, (chunk + 1) * height // chunks):
            for d in range(k):
                srow = src[rows[i + d]]
                for c in range(width):
                    col[d, c] = srow[c]
            _apply(col, colops, width)
            for d in range(k):
                inner = padded[d, r:]
                for c in range(width):
                    inner[c] = col[d, c]
                for c in range(r):
                    padded[d, c] = col[d, cols[c]]
                    padded[d, r + width + c] = col[d, cols[r + width + c]]
            for j0 in range(0, width, block):
                n = min(block, width - j0)
                for u in wires:
                    source = padded[u // k, j0 + u % k:]
                    for j in range(n):
                        v[u, j] = source[j]
                _apply(v, ops, n)
                target = out[i, j0:]
                for j in range(n):
                    target[j] = v[output, j]


@njit(cache=True)
def _median9(a0, b0, c0, a1, b1, c1, a2, b2, c2):
    """Median of nine values given as three columns: the largest of the column
    minima, the median of the column medians and the smallest of the maxima."""
    lo0, mid0, hi0 = _sort3(a0, b0, c0)
    lo1, mid1, hi1 = _sort3(a1, b1, c1)
    lo2, mid2, hi2 = _sort3(a2, b2, c2)
    low = _sort3(lo0, lo1, lo2)[2]
    high = _sort3(hi0, hi1, hi2)[0]
    return _sort3(low, _sort3(mid0, mid1, mid2)[1], high)[1]


@njit(cache=True)
def _sort3(x, y, z):
    """The three values in increasing order (compare-select: packed min/max, any dtype)."""
    lo, hi = (x, y) if x < y else (y, x)
    lo, z = (lo, z) if lo < z else (z, lo)
    return lo, (hi if hi < z else z), (z if hi < z else hi)


@njit(parallel=True, cache=True)
def _median3_kernel(src, out, rows, cols):
    """3 x 3 median fused into one vectorised pass per row (width >= 3)."""
    height, width = out.shape
    for i in prange(height):
        a, b, c = src[rows[i]], src[rows[i + 1]], src[rows[i + 2]]
        target = out[i, 1:]
        left, centre, right = slice(0, width), slice(1, width), slice(2, width)
        a0, a1, a2 = a[left], a[centre], a[right]
        b0, b1, b2 = b[left], b[centre], b[right]
        c0, c1, c2 = c[left], c[centre], c[right]
        for j in range(width - 2):
            target[j] = _median9(a0[j], b0[j], c0[j], a1[j], b1[j], c1[j], a2[j], b2[j], c2[j])
        for j, left in ((0, cols[0]), (width - 1, width - 2)):     # the mirrored edges
            right = cols[j + 2]
            out[i, j] = _median9(a[left], b[left], c[left], a[j], b[j], c[j],
                                 a[right], b[right], c[right])


@njit(parallel=True, cache=True)
def _histogram_kernel(src, out, rows, cols, bins, chunks):
    """Median of (k x k) windows of integer `src` by Huang's sliding histogram.

    Counts per value plus per 256-value coarse block; the median is tracked from
    one pixel to the next (value m and the count below it), skipping whole
    coarse blocks when it moves far. Each row starts with an empty histogram.
    """
    height, width = out.shape
    k = rows.shape[0] - height + 1
    half = (k * k) // 2
    for chunk in prange(chunks):
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
    """Exact median of one C-contiguous 2-D plane (uint8, uint16, float32, float64)."""
    size = 2 * radius + 1
    if radius == 0:
        return plane.copy()
    height, width = plane.shape
    rows, cols = reflect_index(height, radius), reflect_index(width, radius)
    if size == 3 and width >= 3:                   # any dtype, natively
        out = np.empty_like(plane)
        _median3_kernel(plane, out, rows, cols)
        return out
    if plane.dtype == np.float32 and size <= NETWORK_MAX:
        return _float32_keys(median_plane(_float32_keys(plane), radius)).view(np.float32)
    if plane.dtype.kind == "f":                    # ranks among the distinct values
        values, ranks = np.unique(plane, return_inverse=True)
        ranks = ranks.reshape(plane.shape).astype(np.int32)
        if size <= NETWORK_MAX:
            return values[median_plane(ranks, radius)]
        out = np.empty_like(ranks)
        _histogram_kernel(ranks, out, rows, cols, len(values), _chunks(height))
        return values[out]
    out = np.empty_like(plane)
    if size <= NETWORK_MAX:
        ops, output = median_network(size)
        wires = np.unique(ops[:, 1:]).astype(np.int64)
        block = max(64, BLOCK_BYTES // plane.itemsize)
        _network_kernel(plane, out, rows, cols, column_network(size), ops, wires, output,
                        block, _chunks(height))
    else:
        bins = 256 if plane.dtype == np.uint8 else 65536
        _histogram_kernel(plane, out, rows, cols, bins, _chunks(height))
    return out


def _chunks(height):
    """Slabs of rows for the kernels that keep buffers per slab: 4 per thread."""
    return min(height, 4 * numba.get_num_threads())


def _median_rule(sigma, data_range, values):
    """Window radius from the noise level (sigma in image units)."""
    if sigma is None:
        return {"radius": 1}
    sigma255 = sigma * 255.0 / data_range
    return {"radius": 1 if sigma255 <= 30 else 2 if sigma255 <= 60 else 3}


@register(rule=_median_rule)
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
        Integer 0..50. From sigma (8-bit units): 1 up to 30, 2 up to 60,
        else 3; 1 without sigma.

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
    mode='reflect')`` per channel. Windows up to 11 x 11 run a pruned selection
    network over sorted columns, vectorised across pixels; larger 8- and 16-bit
    windows, and float ones on the ranks of their values, a sliding two-level
    histogram. Work is in the image's own dtype: nothing is quantised.

    References
    ----------
    Huang, Yang & Tang, "A fast two-dimensional median filtering algorithm",
    IEEE TASSP 27(1):13-18, 1979. DOI 10.1109/TASSP.1979.1163188.
    Adams, "Fast median filters using separable sorting networks", ACM TOG
    40(4), 2021. DOI 10.1145/3450626.3459773

    Examples
    --------
    >>> import numpy as np
    >>> median(np.array([[0, 0, 0], [0, 255, 0], [0, 0, 0]], dtype=np.uint8)).tolist()
    [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
    """
    check_image(image)
    p = fill_from_sigma(_median_rule, sigma, data_range_of(image.dtype), radius=radius)
    r = check_int("radius", p["radius"], minimum=0, maximum=50)
    return map_planes(image, lambda plane: median_plane(plane, r))
