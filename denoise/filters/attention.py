"""Attention: patch groups combined by closed-form weights, in stages.

Read as attention: the query is a reference patch, the keys are the patches of
its search window, and the group of its k best matches attends to itself with
weights that minimise an estimate of the risk (NL-Ridge) instead of a softmax.
Every estimate of every group member is pasted back, and each pixel averages
the estimates covering it (weights from the group's variance reduction).

* Stage 1 ("ridge attention") matches the noisy image's patches and combines
  each group Y (k x n) by ``Theta = I - (1 + alpha) n s^2 (Y Y^T + alpha n s^2 I)^-1``.
* Each later stage (the "flow") re-matches on the previous estimate, the pilot X,
  and maps the noisy group through the pilot's statistics: an empirical Wiener
  filter ``m + (Y - m)(I - s^2 (C_X + s^2 I)^-1)`` (NL-Bayes step 2) or the ridge
  ``Theta = I - n s^2 (X X^T + n s^2 I)^-1`` (NL-Ridge step 2), the cheaper side.

Color images are turned into orthonormal luma and chroma (the noise stays white,
with the same sigma), matched on luma, and each channel of a group is combined
by its own weights (n = p^2): chroma, smooth in natural images, is averaged far
more than luma. References lie on a grid of the given stride
(plus the last row and column) anchored at the frame's origin, so a tile of a
larger image, given its place (:func:`locate`), meets the same references.
"""
import dataclasses
from typing import NamedTuple

import numpy as np
from numba import njit

from .._config import FASTMATH, run_bands
from .._validate import check_bool, check_int, check_positive
from ..errors import InvalidParameterError
from ..registry import Setup, register
from ._groups import heap_push, ridge_group, softmax_group, wiener_group
from ._weights import EXACT, distance_scratch, pad_band, patch_distances, reflect_index

VALUES = ("wiener", "ridge")
WEIGHTS = ("ridge", "softmax")
AGGREGATES = ("group", "pixel")
#: softmax temperature h = H_FACTOR sigma: on Set12 at sigma 25 (one stage, top 32)
#: 0.4 / 0.5 / 0.6 / 0.7 scored 29.18 / 29.21 / 29.13 / 28.98 dB
H_FACTOR = 0.5

# Defaults by sigma (8-bit units): (sigma_max, stage-1 patch side, stage-1 group size),
# from NL-Ridge's table (ALGORITHMS.md 5.4.5.4).
TABLE = ((15.0, 7, 18), (35.0, 9, 18), (np.inf, 11, 20))


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


class Config(NamedTuple):
    stages: tuple          # of (Stage, value map name)
    origin: tuple          # (row, col) of the image's first pixel in its frame


class Inputs(NamedTuple):
    """What a stage's band kernels read."""

    work: np.ndarray       # (C, H, W) the noisy image, as channel planes
    pilot: np.ndarray      # (C, H, W) the previous estimate (the noisy image in stage 1)
    guide: np.ndarray      # (H, W, 1) what is matched: the mean of the pilot's channels
    rows: np.ndarray       # reference centre rows
    cols: np.ndarray       # reference centre columns
    row_map: np.ndarray    # reflect_index(H, f + d)
    col_map: np.ndarray    # reflect_index(W, f + d)


class Buffers(NamedTuple):
    """One thread's scratch arrays for one stage (kernels allocate nothing)."""

    gb: np.ndarray         # (1, rows + 2m, W + 2m) the band's guide, padded
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


def band_rows(stage):
    """Rows per band: a multiple of the stride, and at least twice the reach d + f of
    a reference's writes, so bands two apart never write the same pixel."""
    rows = max(2 * (stage.d + stage.f), 48)
    return -(-rows // stage.stride) * stage.stride


def _buffers(stage, width, n_cols):
    f, d, k = stage.f, stage.d, stage.k
    n = (2 * f + 1) ** 2
    rows, side = band_rows(stage), max(k, n)
    refs = rows // stage.stride + 2
    return Buffers(np.empty((1, rows + 2 * (f + d), width + 2 * (f + d)), np.float32),
                   np.empty(refs, np.int64), np.empty((refs, n_cols), np.float32),
                   distance_scratch(f, width),
                   np.empty((refs * n_cols, k), np.float32),
                   np.empty((refs * n_cols, k), np.int64), np.empty(refs * n_cols, np.int64),
                   np.empty((k, n), np.float32), np.empty((k, n), np.float32),
                   np.empty((k, n), np.float32), np.empty(k, np.float64),
                   np.empty((side, side), np.float64), np.empty((side, side), np.float64),
                   np.empty(n, np.float64))


# --- kernels --------------------------------------------------------------------------

@njit(cache=True, nogil=True, fastmath=EXACT)
def _match(inp, first, last, stage, buf):
    """Fill the heaps of the references inp.rows[first:last] x inp.cols with their k
    nearest patches of the guide within the search window, the reference first;
    candidates whose patch leaves the image are never chosen."""
    height, width = inp.guide.shape[0], inp.guide.shape[1]
    f, d, k = stage.f, stage.d, stage.k
    size = 2 * d + 1
    rows, cols = inp.rows, inp.cols
    r0, n_cols, n_refs = rows[first], cols.shape[0], last - first
    pad_band(inp.guide, r0, rows[last - 1] - r0 + 1, f + d, inp.row_map, inp.col_map,
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
        patch_distances(buf.gb, f, f + d, tr, tc, local, cols, buf.field, dist)
        for i in range(n_refs):
            row = rows[first + i] + tr
            if not f <= row < height - f:
                continue
            for j in range(n_cols):
                col = cols[j] + tc
                if f <= col < width - f:
                    g = i * n_cols + j
                    buf.count[g] = heap_push(buf.hd[g], buf.hi[g], buf.count[g], k,
                                             dist[i, j], o)


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
def _band(band, bands, inp, num, den, stage, buf):
    """Each group of the band's references, channel by channel: the noisy group
    combined by ridge weights fitted on the pilot's group (the noisy group itself in
    the first stage), or filtered with the pilot group's covariance (Wiener).

    One kernel for both value maps: a kernel compiles its whole call tree again,
    matching included, so a second one would cost about 3 s more at first use.
    """
    first, last = bands[band, 0], bands[band, 1]
    _match(inp, first, last, stage, buf)
    f, d, n_cols = stage.f, stage.d, inp.cols.shape[0]
    for g in range((last - first) * n_cols):
        row, col, count = inp.rows[first + g // n_cols], inp.cols[g % n_cols], buf.count[g]
        for ch in range(inp.work.shape[0]):
            _gather(inp.work[ch], buf.hi[g], count, f, d, row, col, buf.y)
            fit = buf.y if stage.noisy_fit else buf.x      # the group the weights fit
            if not stage.noisy_fit:
                _gather(inp.pilot[ch], buf.hi[g], count, f, d, row, col, buf.x)
            if stage.wiener:
                wiener_group(fit, buf.y, count, (2 * f + 1) ** 2, stage.c, buf.sq,
                             buf.low, buf.mean, buf.est, buf.weights)
            elif stage.softmax:
                softmax_group(fit, buf.y, count, (2 * f + 1) ** 2, stage.lam, stage.c,
                              buf.sq, buf.low, buf.est, buf.weights)
            else:
                ridge_group(fit, buf.y, count, (2 * f + 1) ** 2, stage.lam, stage.c,
                            stage.affine, buf.sq, buf.low, buf.est, buf.weights, buf.mean)
            if stage.pixel:
                _paste_centre(num[ch], den[ch], buf.hi[g], count, f, d, row, col, buf.est)
            else:
                _paste(num[ch], den[ch], buf.hi[g], count, f, d, row, col, buf.est,
                       buf.weights)



# --- driver ---------------------------------------------------------------------------

def grid(n, f, stride, origin):
    """Reference centres along an axis of n pixels: those at f + stride i in the frame
    (origin: the first pixel's place in it) whose patch fits, and the first and last
    that fit, so every pixel is covered (stride <= patch side)."""
    centres = [f] + list(range(f + (-origin) % stride, n - f, stride)) + [n - 1 - f]
    return np.unique(np.array(centres, dtype=np.int64))


def _bands(rows, stage, origin):
    """(n, 2) first/last+1 indices into `rows` of each band of one parity, for both
    parities: bands are fixed rows of the frame, so a tile sees the same ones."""
    ids = (rows + origin) // band_rows(stage)
    parities = []
    for parity in (0, 1):
        spans = [(np.searchsorted(ids, b), np.searchsorted(ids, b, side="right"))
                 for b in np.unique(ids) if b % 2 == parity]
        parities.append(np.array(spans, dtype=np.int64).reshape(-1, 2))
    return parities


def _stage(work, pilot, stage, origin):
    """One stage on the channel planes `work` (C, H, W), matching on the first plane
    of `pilot` (of `work` in the first stage); returns the estimate's planes."""
    n_channels, height, width = work.shape
    f = min(stage.f, (min(height, width) - 1) // 2)
    stage = stage._replace(f=f, k=min(stage.k, (2 * stage.d + 1) ** 2))
    pilot = work if pilot is None else pilot
    guide = np.ascontiguousarray(pilot[0, :, :, None])
    rows = grid(height, f, stage.stride, origin[0])
    cols = grid(width, f, stage.stride, origin[1])
    num = np.zeros(work.shape, np.float64)        # every pixel's sums, added in a fixed
    den = np.zeros(work.shape, np.float64)        # order (bands fixed in the frame)
    m = f + stage.d
    inp = Inputs(work, pilot, guide, rows, cols, reflect_index(height, m),
                 reflect_index(width, m))
    for spans in _bands(rows, stage, origin[0]):
        if len(spans):
            run_bands(_band, len(spans), spans, inp, num, den, stage,
                      buffers=lambda: _buffers(stage, width, len(cols)))
    return (num / den).astype(np.float32)


#: Orthonormal luma / chroma (NL-Bayes): white noise stays white with the same sigma
#: in every channel, and luma, the first, is what is matched.
YUV = np.array([[1, 1, 1], [1, 0, -1], [0.5, -1, 0.5]]) / np.sqrt([[3], [2], [1.5]])


def _apply(work, plan):
    color = work.shape[2] == 3
    planes = np.ascontiguousarray(np.moveaxis(work @ YUV.T.astype(np.float32) if color
                                              else work, 2, 0))
    estimate = None
    for stage, _ in plan.config.stages:
        estimate = _stage(planes, estimate, stage, plan.config.origin)
    out = np.moveaxis(estimate, 0, 2)
    return np.ascontiguousarray(out @ YUV.astype(np.float32) if color else out)


# --- the method -----------------------------------------------------------------------

def _rule(info, sigma, values):
    """Stage-1 patch side and group size from the table for sigma (8-bit units); the
    value map: Wiener when a patch has fewer values than the group, else ridge."""
    derived = {}
    if values["value"] is None and values["patch2"] is not None:
        n = values["patch2"] ** 2
        derived["value"] = "wiener" if n < (values["group2"] or 0) else "ridge"
    if sigma is not None:
        sigma255 = sigma * 255.0 / info.data_range
        patch, group = next((p, k) for limit, p, k in TABLE if sigma255 <= limit)
        derived.update(patch=patch, group=group, h=H_FACTOR * sigma)
    return derived


def _prepare(info, sigma, p):
    n_stages = check_int("stages", p["stages"], minimum=1, maximum=8)
    d = check_int("search", p["search"], minimum=1, maximum=40)
    sizes = []
    for patch, group, stride in (("patch", "group", "stride"), ("patch2", "group2", "stride2")):
        side = check_int(patch, p[patch], minimum=1, maximum=21, odd=True)
        k = check_int(group, p[group], minimum=1, maximum=256)
        step = check_int(stride, p[stride], minimum=1, maximum=side)
        sizes.append((side // 2, k, step))
    alpha, beta = check_positive("alpha", p["alpha"]), check_positive("beta", p["beta"])
    affine = check_bool("affine", p["affine"])
    if p["weights"] not in WEIGHTS:
        raise InvalidParameterError(
            f"weights must be one of {', '.join(WEIGHTS)}, got {p['weights']!r}")
    softmax, h = p["weights"] == "softmax", check_positive("h", p["h"])
    if p["aggregate"] not in AGGREGATES:
        raise InvalidParameterError(
            f"aggregate must be one of {', '.join(AGGREGATES)}, got {p['aggregate']!r}")
    pixel = p["aggregate"] == "pixel"
    if pixel and (sizes[0][2] != 1 or (n_stages > 1 and sizes[1][2] != 1)):
        raise InvalidParameterError("aggregate=pixel needs stride=1 (and stride2=1 with "
                                    "more than one stage): every pixel must be a reference")
    if p["value"] not in VALUES:
        raise InvalidParameterError(
            f"value must be one of {', '.join(VALUES)}, got {p['value']!r}")
    s2 = (sigma / info.data_range) ** 2
    stages = []
    for i in range(n_stages):
        f, k, step = sizes[min(i, 1)]
        n = (2 * f + 1) ** 2
        if i == 0 and softmax:
            stage = Stage(f, d, k, step, 2 * s2, (info.data_range / h) ** 2, False, False,
                          True, True, pixel)
        elif i == 0:
            stage = Stage(f, d, k, step, alpha * n * s2, (1 + alpha) * n * s2, affine, False,
                          True, False, pixel)
        elif p["value"] == "ridge":
            stage = Stage(f, d, k, step, n * s2, n * s2, affine, False, False, False, pixel)
        else:
            stage = Stage(f, d, k, step, 0.0, beta * s2, False, True, False, False, pixel)
        stages.append((stage, "ridge" if i == 0 else p["value"]))
    halo = sum(2 * (stage.d + stage.f) for stage, _ in stages)
    return Setup(Config(tuple(stages), (0, 0)), halo=halo)


def _locate(plan, row, col):
    r, c = plan.config.origin
    return dataclasses.replace(plan, config=plan.config._replace(origin=(r + row, c + col)))


@register(rule=_rule, prepare=_prepare, apply=_apply, locate=_locate, sigma_required=True)
def attention(image, *, sigma: float | None = None, weights: str = "ridge", stages: int = 2,
              patch: int | None = None, group: int | None = None, stride: int = 4,
              search: int = 18, patch2: int = 7, group2: int = 64, stride2: int = 6,
              value: str | None = None, affine: bool = True, alpha: float = 0.05,
              beta: float = 1.0, h: float | None = None, aggregate: str = "group"):
    """Attention: groups of similar patches combined by closed-form (ridge) weights.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16, float16, float32 or float64; C = 2 or 4 carries alpha,
        which is returned untouched. Color is matched on luma; each luma and
        chroma channel of a group gets its own weights.
    sigma : float
        Noise standard deviation in the image's units (0-255 for uint8, 0-65535
        for uint16, data units for float). Required: the weights are fitted to it.
    weights : str, default "ridge"
        How a stage-1 group attends to itself: "ridge" (closed-form weights
        minimising the risk, NL-Ridge) or "softmax" (attention weights
        softmax(-max(d / n - 2 sigma^2, 0) / h^2) over the group, d the squared
        patch distance from the Gram matrix, the centre rule on the diagonal).
    stages : int, default 2
        1: ridge attention on the noisy image only. 2 and more: each further
        stage re-matches on the previous estimate and maps the noisy groups
        through its statistics (the flow).
    patch : int, default from sigma
        Stage-1 patch side (odd): 7 up to sigma 15, 9 up to 35, then 11
        (8-bit units; `denoise methods attention` shows the table).
    group : int, default from sigma
        Stage-1 group size k: 18, or 20 above sigma 35.
    stride : int, default 4
        Stage-1 reference grid step (at most the patch side).
    search : int, default 18
        Search window half-size (window side 2 search + 1), every stage.
    patch2 : int, default 7
        Patch side in the later stages.
    group2 : int, default 64
        Group size in the later stages.
    stride2 : int, default 6
        Reference grid step in the later stages.
    value : str, default "wiener" if a patch (one channel) has fewer values than the group
        Later stages' value map: "wiener" (empirical Wiener with the pilot's
        covariance, NL-Bayes) or "ridge" (k x k ridge on the pilot, NL-Ridge).
    affine : bool, default True
        Ridge weights of each patch sum to one, so a group's mean is kept
        (without it, dark flat areas are pulled towards black).
    alpha : float, default 0.05
        Stage-1 ridge regularisation (NL-Ridge's noisier-risk alpha).
    beta : float, default 1.0
        Wiener noise factor (NL-Bayes' beta).
    h : float, default 0.5 sigma
        Softmax temperature, in the image's units (weights="softmax" only).
    aggregate : str, default "group"
        "group": every member of every group is estimated and pasted back, and
        each pixel averages the estimates covering it. "pixel": each reference
        keeps only its own centre pixel (needs stride 1); with softmax weights,
        one stage and the whole window as the group, this is pixelwise NLM.

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    Raises
    ------
    InvalidParameterError, MissingSigmaError, ImageFormatError

    Notes
    -----
    References lie on a grid of step `stride` (plus the first and last rows
    and columns); every member of every group is estimated and pasted back.
    Candidates whose patch leaves the image are never matched. An output pixel
    depends on the pixels within the sum over stages of 2 (search + patch
    radius) of it. A group whose system cannot be factorised (degenerate
    input) is replaced by its mean.

    References
    ----------
    Herbreteau & Kervrann, "Towards a unified view of unsupervised non-local
    methods for image denoising: the NL-Ridge approach", ICIP 2022
    (arXiv:2203.00570). Lebrun, Buades & Morel, "Implementation of the
    Non-Local Bayes image denoising algorithm", IPOL 3 (2013),
    DOI 10.5201/ipol.2013.16.

    Examples
    --------
    >>> import numpy as np
    >>> flat = np.full((24, 24), 100, dtype=np.uint8)
    >>> bool((attention(flat, sigma=10) == flat).all())
    True
    """
