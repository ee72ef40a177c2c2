"""attention's band kernels: a band of reference rows matched, each group combined
and pasted back (the driver, the method and its parameters: :mod:`.attention`)."""
from typing import NamedTuple

import numpy as np
from numba import njit

from .._config import FASTMATH
from ._groups import heap_push, ridge_group, softmax_group, wiener_group
from ._weights import EXACT, distance_scratch, pad_band, patch_distances

class Stage(NamedTuple):
    """One stage's matching and weights (working units)."""

    f: int                 # patch radius
    d: int                 # search radius
    k: int                 # group size
    stride: int            # reference grid step
    lam: float             # ridge: added to the Gram matrix's diagonal; softmax: 2 s^2
    c: float               # ridge: Theta = I - c (Gram + lam I)^-1; Wiener: b; softmax: 1/h^2
    affine: bool           # ridge: rows of Theta sum to one
    wiener: bool           # the value map: Wiener (c = b) instead of ridge
    noisy_fit: bool        # weights fitted on the noisy group itself (the first stage)
    softmax: bool          # softmax attention weights instead of ridge
    pixel: bool            # keep only each reference's centre pixel (stride 1)
    fm: int                # radius of what is matched: f, or 0 for PCA features
    pen: float             # positional term's scale in the matching distance (0: none)
    feat: bool             # softmax weights compare the guide's PCA features
    progressive: bool      # LIChI: values from the progressive image Z, its noise per group
    tau: float             # LIChI: the fraction of noise Z keeps for the next stage
    sigma: float           # noise level (working units)


class Inputs(NamedTuple):
    """What a stage's band kernels read."""

    work: np.ndarray       # (C, H, W) the noisy image, as channel planes
    pilot: np.ndarray      # (C, H, W) the previous estimate (the noisy image in stage 1)
    values: np.ndarray     # (C, H, W) progressive stages: Z, what the groups filter
    guide: np.ndarray      # (H, W, D) what is matched: the pilot's first channel (D = 1)
                           # or its patches' PCA features
    q: np.ndarray          # (3, H, W) the positional term's quadratic form at each pixel
                           # (3, 1, 1) zeros when there is none
    rows: np.ndarray       # reference centre rows
    cols: np.ndarray       # reference centre columns
    row_map: np.ndarray    # reflect_index(H, f + d)
    col_map: np.ndarray    # reflect_index(W, f + d)


class Buffers(NamedTuple):
    """One thread's scratch arrays for one stage (kernels allocate nothing)."""

    gb: np.ndarray         # (D, rows + 2m, W + 2m) the band's guide, padded
    local: np.ndarray      # (refs,) the band's reference rows, from its first
    dist: np.ndarray       # (refs, columns) patch distances of one offset
    field: np.ndarray      # patch_distances' rows
    hd: np.ndarray         # (refs x columns, k) the best distances of each (max-heap)
    hi: np.ndarray         # (refs x columns, k) their window offsets
    count: np.ndarray      # (refs x columns,) heap sizes
    y: np.ndarray          # (k, n) the noisy group
    x: np.ndarray          # (k, n) the pilot group
    est: np.ndarray        # (k, n) the estimates
    weights: np.ndarray    # (k,) their aggregation weights
    sq: np.ndarray         # (K, K) float64 system, K = max(k, n)
    low: np.ndarray        # (K, K) float64 factor
    mean: np.ndarray       # (n,) float64
    at: np.ndarray         # (k, 2) the members' places (rows, columns)
    qv: np.ndarray         # (3,) the positional term's form at the reference
    z: np.ndarray          # (k, n) the group of Z (progressive stages)


def band_rows(stage):
    """Rows per band: a multiple of the stride, and at least twice the reach d + f of
    a reference's writes, so bands two apart never write the same pixel."""
    rows = max(2 * (stage.d + stage.f), 48)
    return -(-rows // stage.stride) * stage.stride


def band_buffers(stage, width, n_cols, depth):
    f, d, k, fm = stage.f, stage.d, stage.k, stage.fm
    n = (2 * f + 1) ** 2
    rows, side = band_rows(stage), max(k, n)
    refs = rows // stage.stride + 2
    return Buffers(np.empty((depth, rows + 2 * (fm + d), width + 2 * (fm + d)), np.float32),
                   np.empty(refs, np.int64), np.empty((refs, n_cols), np.float32),
                   distance_scratch(fm, width),
                   np.empty((refs * n_cols, k), np.float32),
                   np.empty((refs * n_cols, k), np.int64), np.empty(refs * n_cols, np.int64),
                   np.empty((k, n), np.float32), np.empty((k, n), np.float32),
                   np.empty((k, n), np.float32), np.empty(k, np.float64),
                   np.empty((side, side), np.float64), np.empty((side, side), np.float64),
                   np.empty(n, np.float64), np.empty((k, 2), np.float32),
                   np.empty(3, np.float32), np.empty((k, n), np.float32))


# --- kernels --------------------------------------------------------------------------

@njit(cache=True, nogil=True, fastmath=EXACT)
def _match(inp, first, last, stage, buf):
    """Fill the heaps of the references inp.rows[first:last] x inp.cols with their k
    nearest patches of the guide within the search window, the reference first;
    candidates whose patch leaves the image are never chosen. With a positional term
    a candidate's distance grows by pen P(t), P the reference's quadratic form of the
    offset t."""
    height, width = inp.guide.shape[0], inp.guide.shape[1]
    f, d, k, fm = stage.f, stage.d, stage.k, stage.fm
    size = 2 * d + 1
    rows, cols = inp.rows, inp.cols
    r0, n_cols, n_refs = rows[first], cols.shape[0], last - first
    pad_band(inp.guide, r0, rows[last - 1] - r0 + 1, fm + d, inp.row_map, inp.col_map,
             buf.gb)
    local = buf.local[:n_refs]
    for i in range(n_refs):
        local[i] = rows[first + i] - r0
    for g in range(n_refs * n_cols):
        buf.count[g] = heap_push(buf.hd[g], buf.hi[g], np.int64(0), k, np.float32(-1.0),
                                 d * size + d)
    dist = buf.dist[:n_refs]
    for o in range(size * size):
        tr, tc = o // size - d, o % size - d
        if tr == 0 and tc == 0:
            continue
        patch_distances(buf.gb, fm, fm + d, tr, tc, local, cols, buf.field, dist)
        for i in range(n_refs):
            row = rows[first + i] + tr
            if not f <= row < height - f:
                continue
            for j in range(n_cols):
                col = cols[j] + tc
                if f <= col < width - f:
                    g, key = i * n_cols + j, dist[i, j]
                    if stage.pen > 0.0:
                        q = inp.q[:, rows[first + i], cols[j]]
                        key += np.float32(stage.pen * (q[0] * tr * tr + 2.0 * q[1] * tr * tc
                                                       + q[2] * tc * tc))
                    buf.count[g] = heap_push(buf.hd[g], buf.hi[g], buf.count[g], k, key, o)


@njit(cache=True, nogil=True)
def _member(index, d, row, col, i):
    """Centre of member i of the reference at (row, col): `index` holds the members'
    window offsets."""
    o = index[i]
    size = 2 * d + 1
    return row + o // size - d, col + o % size - d


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _gather(plane, index, count, f, d, row, col, out):
    """out[i] = the patch (row-major) of member i of the reference at (row, col), from
    one channel plane (H, W)."""
    p, width = 2 * f + 1, plane.shape[1]
    flat = plane.reshape(-1)
    for i in range(count):
        r, c = _member(index, d, row, col, i)
        dst = out[i]
        for a in range(p):
            base, at = (r - f + a) * width + c - f, a * p
            for q in range(p):
                dst[at + q] = flat[base + q]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _gather_features(guide, index, count, d, row, col, out, at):
    """out[i, :D] = the guide's features at member i of the reference at (row, col);
    at[i] = the member's place."""
    for i in range(count):
        r, c = _member(index, d, row, col, i)
        for t in range(guide.shape[2]):       # (a loop: array assignment compiles
            out[i, t] = guide[r, c, t]         # NumPy's broadcasting, seconds at first use)
        at[i, 0], at[i, 1] = r, c


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _paste(num, den, index, count, f, d, row, col, est, weights):
    """Add each member's estimate, times its weight, where its patch lies (one channel
    plane of the sums `num` and weights `den`)."""
    p, width = 2 * f + 1, num.shape[1]
    flat, flat_den = num.reshape(-1), den.reshape(-1)
    for i in range(count):
        r, c = _member(index, d, row, col, i)
        w, src = weights[i], est[i]
        for a in range(p):
            base, at = (r - f + a) * width + c - f, a * p
            for q in range(p):
                flat[base + q] += w * src[at + q]
                flat_den[base + q] += w


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _paste_centre(num, den, index, count, f, d, row, col, est):
    """Keep only the reference's own estimate of its centre pixel (pixelwise
    aggregation: with a stride of 1, every pixel whose patch fits is a reference).
    Pixels within f of the border, where no patch is centred, average the estimates
    of the reference patches that cover them."""
    height, width, p = num.shape[0], num.shape[1], 2 * f + 1
    size = 2 * d + 1
    for i in range(count):
        if index[i] != d * size + d:
            continue
        for a in range(p):
            r = row - f + a
            for q in range(p):
                c = col - f + q
                inside = f <= r < height - f and f <= c < width - f
                if (a == f and q == f) or not inside:
                    num[r, c] += est[i, a * p + q]
                    den[r, c] += 1.0


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _remaining(y, z, k, n, sigma, tau):
    """The fraction t of the noise that the group z still holds, from the spread of
    y - z (LIChI): clip(1 - std(y - z) / sigma, tau + 1e-6, 1)."""
    total, squares = 0.0, 0.0
    for i in range(k):
        for q in range(n):
            e = np.float64(y[i, q]) - np.float64(z[i, q])
            total += e
            squares += e * e
    mean = total / (k * n)
    spread = np.sqrt(max(squares / (k * n) - mean * mean, 0.0))
    return min(max(1.0 - spread / sigma, tau + 1e-6), 1.0)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _reinject(est, z, k, n, share, out):
    """out[:k] = (1 - share) est + share z: the next stage's Z."""
    for i in range(k):
        for q in range(n):
            out[i, q] = (1.0 - share) * est[i, q] + share * z[i, q]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def attend_band(band, bands, inp, num, den, softmax, progressive, centre, stage, buf):
    """Each group of the band's references, channel by channel: the noisy group
    combined by ridge weights fitted on the pilot's group (the noisy group itself in
    the first stage), or filtered with the pilot group's covariance (Wiener).
    Progressive stages (LIChI) filter the group of Z instead, with the noise level
    of what Z still holds, and add Z's next version to progressive = (num_z, den_z).

    One kernel for both value maps: a kernel compiles its whole call tree again,
    matching included, so a second one would cost about 3 s more at first use. The
    rarer paths are switched on by `softmax`, `progressive` and `centre` (pixel
    aggregation) not being None: passed None, Numba prunes them, and a call that
    never takes them does not compile them.
    """
    first, last = bands[band, 0], bands[band, 1]
    _match(inp, first, last, stage, buf)
    f, d, n_cols = stage.f, stage.d, inp.cols.shape[0]
    n, depth = (2 * f + 1) ** 2, inp.guide.shape[2]
    for g in range((last - first) * n_cols):
        row, col, count = inp.rows[first + g // n_cols], inp.cols[g % n_cols], buf.count[g]
        if softmax is not None:
            for t in range(3):
                buf.qv[t] = inp.q[t, row, col] if stage.pen > 0.0 else 0.0
            _gather_features(inp.guide, buf.hi[g], count, d, row, col, buf.x, buf.at)
        for ch in range(inp.work.shape[0]):
            _gather(inp.work[ch], buf.hi[g], count, f, d, row, col, buf.y)
            values, t2 = buf.y, 1.0
            if progressive is not None:
                _gather(inp.values[ch], buf.hi[g], count, f, d, row, col, buf.z)
                values = buf.z
                t = _remaining(buf.y, buf.z, count, n, stage.sigma, stage.tau)
                t2 = t * t
            fit = values if stage.noisy_fit else buf.x      # the group the weights fit
            if not stage.noisy_fit:
                _gather(inp.pilot[ch], buf.hi[g], count, f, d, row, col, buf.x)
            if stage.wiener:
                wiener_group(fit, values, count, n, stage.c * t2, buf.sq,
                             buf.low, buf.mean, buf.est, buf.weights)
            elif softmax is not None:
                if stage.feat:                              # one set of weights for all
                    softmax_group(buf.x, depth, values, count, n, stage.lam, stage.c,
                                  buf.at, buf.qv, buf.sq, buf.low, buf.est, buf.weights)
                else:
                    softmax_group(values, n, values, count, n, stage.lam, stage.c, buf.at,
                                  buf.qv, buf.sq, buf.low, buf.est, buf.weights)
            else:
                ridge_group(fit, values, count, n, stage.lam * t2, stage.c * t2,
                            stage.affine, buf.sq, buf.low, buf.est, buf.weights, buf.mean)
            if centre is not None:
                _paste_centre(num[ch], den[ch], buf.hi[g], count, f, d, row, col, buf.est)
            else:
                _paste(num[ch], den[ch], buf.hi[g], count, f, d, row, col, buf.est,
                       buf.weights)
            if progressive is not None and stage.tau > 0.0:
                _reinject(buf.est, buf.z, count, n, stage.tau / np.sqrt(t2), buf.y)
                _paste(progressive[0][ch], progressive[1][ch], buf.hi[g], count, f, d, row,
                       col, buf.y, buf.weights)
