"""Detail-preserving weighted median: NLM patch-similarity weights, median instead of mean."""
import numpy as np
from numba import njit, prange

from .._image import from_working, intensity_to_working, to_working
from .._validate import check_bool, check_int, check_positive
from ..registry import fill_from_sigma, register, require_sigma
from ._common import pad_reflect
from .median import median_plane

# noise left in the 3x3 median of gaussian noise, relative to sigma (the 2 sigma^2
# subtracted from patch distances on the prefiltered guide); h and it tuned on Set12
GUIDE_NOISE = 0.45
BAND_FLOATS = 1 << 23       # weights held at once (32 MB): bounds the rows per band


@njit(cache=True)
def select_weighted(values, weights, n):
    """Smallest of ``values[:n]`` whose cumulative weight, in value order, reaches half.

    Weighted quickselect with a three-way partition (expected O(n)); reorders both
    arrays. Weights are >= 0 with a positive sum.
    """
    total = 0.0
    for m in range(n):
        total += weights[m]
    target = 0.5 * total
    below = 0.0                      # weight of the values known to lie below [lo, hi]
    lo, hi = 0, n - 1
    while True:
        pivot = values[(lo + hi) // 2]
        lt, i, gt = lo, lo, hi       # [lo, lt) < pivot, [lt, i) == pivot, (gt, hi] > pivot
        w_less = 0.0
        w_equal = 0.0
        while i <= gt:
            v = values[i]
            if v < pivot:
                values[i], values[lt] = values[lt], v
                weights[i], weights[lt] = weights[lt], weights[i]
                w_less += weights[lt]
                lt += 1
                i += 1
            elif v > pivot:
                values[i], values[gt] = values[gt], v
                weights[i], weights[gt] = weights[gt], weights[i]
                gt -= 1
            else:
                w_equal += weights[i]
                i += 1
        if below + w_less >= target and lt > lo:
            hi = lt - 1
        elif below + w_less + w_equal >= target or gt == hi:
            return pivot
        else:
            below += w_less + w_equal
            lo = gt + 1


@njit(parallel=True, cache=True)
def _median_kernel(padded, weights, out, row0, search):
    """Weighted median over the search window for the rows of one band.

    `padded` is the image padded by `search`, `weights` (S*S, B, W) the band's
    weight per offset, `out` (H, W, C) receives rows row0..row0+B-1.
    """
    n_offsets, band, width = weights.shape
    n_channels = out.shape[2]
    size = 2 * search + 1
    for b in prange(band):
        values = np.empty(n_offsets, np.float32)
        w = np.empty(n_offsets, np.float32)
        i = row0 + b
        for j in range(width):
            for c in range(n_channels):
                for o in range(n_offsets):
                    values[o] = padded[i + o // size, j + o % size, c]
                    w[o] = weights[o, b, j]
                out[i, j, c] = select_weighted(values, w, n_offsets)


@njit(cache=True)
def _box_mean(field, radius, tmp, out):
    """Mean of `field` (R, C) over (2 radius + 1)^2 boxes, valid part, into `out`
    (R - 2 radius, C - 2 radius); running sums in float64, `tmp` (R - 2 radius, C)."""
    n_rows, n_cols = out.shape
    size = 2 * radius + 1
    inv_area = 1.0 / (size * size)
    for b in range(field.shape[1]):                 # vertical sums, running down
        acc = 0.0
        for a in range(size - 1):
            acc += field[a, b]
        for a in range(n_rows):
            acc += field[a + size - 1, b]
            tmp[a, b] = acc
            acc -= field[a, b]
    for a in range(n_rows):                         # horizontal sums, running right
        acc = 0.0
        for b in range(size - 1):
            acc += tmp[a, b]
        for b in range(n_cols):
            acc += tmp[a, b + size - 1]
            out[a, b] = acc * inv_area
            acc -= tmp[a, b]


@njit(parallel=True, cache=True)
def _weights_kernel(guide, row0, patch, search, sigma, h, correlation, out):
    """(S*S, band, W) weights of the pixels of rows row0.. against each search offset.

    `guide` is the image the patches are compared on (the mean of the channels,
    or its 3x3 median), padded by patch + search; offsets run in parallel. The
    centre offset gets the largest weight of the others (1 if all are 0).
    """
    n_offsets, band, width = out.shape
    size = 2 * search + 1
    n_rows, n_cols = band + 2 * patch, width + 2 * patch
    s2 = sigma * sigma
    inv_h2 = 1.0 / (h * h)
    centre = guide[row0 + search:row0 + search + n_rows, search:search + n_cols]
    mean_c = np.empty((band, width))
    var_c = np.empty((band, width))
    if correlation:
        tmp = np.empty((band, n_cols))
        _box_mean(centre, patch, tmp, mean_c)
        _box_mean(centre * centre, patch, tmp, var_c)
        for a in range(band):
            for b in range(width):
                var_c[a, b] = max(var_c[a, b] - mean_c[a, b] ** 2, 0.0) + s2
    middle = search * size + search
    for o in prange(n_offsets):
        if o == middle:
            continue
        other = guide[row0 + o // size:row0 + o // size + n_rows, o % size:o % size + n_cols]
        field = np.empty((n_rows, n_cols))
        tmp = np.empty((band, n_cols))
        box = np.empty((band, width))
        for a in range(n_rows):
            for b in range(n_cols):
                diff = np.float64(centre[a, b]) - other[a, b]
                field[a, b] = diff * diff
        _box_mean(field, patch, tmp, box)
        for a in range(band):
            for b in range(width):
                out[o, a, b] = np.exp(-max(box[a, b] - 2.0 * s2, 0.0) * inv_h2)
        if correlation:
            mean_o = np.empty((band, width))
            _box_mean(other.astype(np.float64), patch, tmp, mean_o)
            for a in range(n_rows):
                for b in range(n_cols):
                    field[a, b] = np.float64(other[a, b]) * other[a, b]
            _box_mean(field, patch, tmp, box)              # E[other^2]
            for a in range(n_rows):
                for b in range(n_cols):
                    field[a, b] = np.float64(centre[a, b]) * other[a, b]
            cross = np.empty((band, width))
            _box_mean(field, patch, tmp, cross)             # E[centre other]
            for a in range(band):
                for b in range(width):
                    var_o = max(box[a, b] - mean_o[a, b] ** 2, 0.0) + s2
                    cov = cross[a, b] - mean_c[a, b] * mean_o[a, b]
                    rho = cov / np.sqrt(var_c[a, b] * var_o)
                    out[o, a, b] *= max(rho, 0.0)
    for a in range(band):                           # the centre pixel rule
        for b in range(width):
            best = 0.0
            for o in range(n_offsets):
                if o != middle:
                    best = max(best, out[o, a, b])
            out[middle, a, b] = best if best > 0.0 else 1.0


def _weighted_median_rule(sigma, data_range, values):
    """Defaults from sigma: patch and search radii and h (a multiple of sigma)."""
    derived = {"patch": 2, "search": 5}
    if values.get("h") is None:
        require_sigma("weighted-median", sigma, "h")
        derived["h"] = 0.6 * sigma
    return derived


@register("weighted-median", rule=_weighted_median_rule)
def weighted_median(image, *, sigma: float | None = None, h: float | None = None,
                           patch: int | None = None, search: int | None = None,
                           prefilter: bool = True, correlation: bool = False):
    """Weighted median of the search window, weighted by patch similarity (NLM weights).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16, float16, float32 or float64; C = 2 or 4 carries alpha,
        which is returned untouched. Color shares one set of weights (from the
        mean of the channels); each channel takes its own weighted median.
    sigma : float, optional
        Noise standard deviation in the image's units; sets `h` and the expected
        patch distance 2 sigma^2 that is subtracted. Required unless `h` is given
        (sigma is then 0 in the weights).
    h : float, default 0.6 sigma
        Filtering strength in the image's units: w = exp(-max(d2 - 2 sigma^2, 0) / h^2)
        with d2 the mean squared patch difference.
    patch : int, default 2
        Patch radius (5 x 5 patches). Integer 0..5.
    search : int, default 5
        Search radius: the weighted median runs over (2 search + 1)^2 pixels. 1..10.
    prefilter : bool, default true
        Compare patches of the 3 x 3 median of the image instead of the image:
        impulses then do not break the similarity of their neighbourhood. The
        distance offset then uses 0.45 sigma, the noise the median leaves.
    correlation : bool, default false
        Also weight by max(0, rho), the Pearson correlation of the two patches
        with sigma^2 added to each variance: the well-defined form of the
        "canonical correlation enhanced" median (correlation alone would treat
        flat patches as unrelated, hence sigma^2).

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    Raises
    ------
    InvalidParameterError, ImageFormatError, MissingSigmaError

    Notes
    -----
    The output is argmin_v sum_j w_j |v - y_j|: the smallest window value whose
    cumulative weight, in value order, reaches half the total. The centre pixel
    gets the largest weight of the others (IPOL rule). With equal weights it is
    the plain median of the search window; unlike the NLM mean, an impulse or an
    edge pixel on the far side cannot pull the estimate.

    References
    ----------
    Chaudhury & Singer, "Non-local Euclidean medians", IEEE SPL 19(11), 2012.
    DOI 10.1109/LSP.2012.2217329. Buades, Coll & Morel, IPOL 1 (2011).

    Examples
    --------
    >>> import numpy as np
    >>> flat = np.full((12, 12), 0.25, dtype=np.float32)
    >>> bool((weighted_median(flat, sigma=0.1) == flat).all())
    True
    """
    work, layout = to_working(image)
    p = fill_from_sigma(_weighted_median_rule, sigma, layout.data_range, h=h, patch=patch,
                        search=search)
    patch = check_int("patch", p["patch"], minimum=0, maximum=5)
    search = check_int("search", p["search"], minimum=1, maximum=10)
    h = intensity_to_working(check_positive("h", p["h"]), layout)
    s = 0.0 if sigma is None else intensity_to_working(sigma, layout)
    check_bool("prefilter", prefilter)
    check_bool("correlation", correlation)
    guide = work.mean(axis=2)
    guide_sigma = s * GUIDE_NOISE if prefilter else s
    if prefilter:
        guide = median_plane(np.ascontiguousarray(guide), 1)
    guide = pad_reflect(guide[..., None], patch + search)[..., 0]
    padded = pad_reflect(work, search)
    height, width = work.shape[:2]
    out = np.empty_like(work)
    size = 2 * search + 1
    band = max(1, min(height, BAND_FLOATS // (size * size * width)))
    full = np.empty((size * size, band, width), np.float32)       # reused band to band
    for row0 in range(0, height, band):
        rows = min(band, height - row0)
        weights = full if rows == band else np.empty((size * size, rows, width), np.float32)
        _weights_kernel(guide, row0, patch, search, guide_sigma, h, correlation, weights)
        _median_kernel(padded, weights, out, row0, search)
    return from_working(out, layout)
