"""Noise estimation from one image: sigma per channel and the noise-level function.

* :data:`SIGMA_ESTIMATORS`: additive white Gaussian sigma of one plane, in its
  own units. ``pca`` (the default, chosen by measured accuracy: BENCHMARKS.md) is
  the weak-texture estimator of Liu, Tanaka & Okutomi: the smallest eigenvalue of
  the patch covariance, over patches whose gradient energy is what noise alone
  would give. ``mad`` is the wavelet estimator of Donoho & Johnstone (the db2
  diagonal detail, as ``skimage.restoration.estimate_sigma``), ``immerkaer`` the
  Laplacian-difference estimator of Immerkaer 1996.
* :func:`fit_nlf`: the noise-level function ``var = a * x + b`` of one plane,
  fitted on the smooth parts of the image binned by local mean (robust scale per
  bin, weighted and reweighted least squares), and whether the slope is
  significant (the noise grows with brightness: Poisson-Gaussian).
* :func:`estimate_noise`: both, per channel, with warnings where the image does
  not allow a reliable estimate; the library's one call.

Planes are float64 in the image's units; nothing here clips or rescales them.
"""
import functools
import math
from dataclasses import dataclass

import numpy as np

#: Patch side, confidence of the texture threshold and iterations of the PCA estimator
#: (the authors' code: 7, 1 - 1e-6, 3).
PCA_PATCH, PCA_CONFIDENCE, PCA_ITERATIONS = 7, 1.0 - 1e-6, 4
#: Rows of patches gathered per block when accumulating the patch covariance, and the
#: most patch positions used (a larger image is sampled on a regular grid of positions).
_BLOCK_ROWS, _MAX_PATCHES = 48, 400_000
#: Daubechies-2 high-pass decomposition filter (the diagonal detail of one level).
_DB2_HIGH = np.array([-0.48296291314469025, 0.836516303737469,
                      -0.22414386804185735, -0.12940952255092145])
_GAUSS_MAD = 0.6744897501960817          # Phi^-1(0.75): MAD of a unit normal


def sigma_pca(plane):
    """Liu, Tanaka & Okutomi (2013): sigma from the weak-texture patches of `plane`.

    The smallest eigenvalue of the (uncentred) covariance of all 7x7 patches is a
    first sigma^2; then, PCA_ITERATIONS - 1 times, only the patches whose gradient energy
    is below what noise of that sigma reaches with probability 1 - 1e-6 are kept.
    On noise alone the smallest sample eigenvalue sits low, by (1 - sqrt(49 / n))^2
    for n patches (sigma 6 % low on 128 x 128, 1.4 % on 512 x 512); on natural images
    the weak texture left lifts it by about as much, and undoing the first without the
    second made the benchmark sets' estimates worse, so neither is corrected.

    Spatially correlated noise (demosaiced, resampled) has little power at the
    highest frequencies, where the smallest eigenvalue looks: there the noise part of
    the spectrum is not flat. When its 13th smallest eigenvalue exceeds the smallest
    by :data:`CORRELATED` (white noise stays below 1.5 on the benchmark sets, camera
    noise starts at 2), the estimate is taken on the sub-images of every s-th pixel
    (s = 2, 3, 4: the first whose spectrum is flat), which keep the per-pixel
    variance and lose the correlation; s - 1 is the noise's correlation radius.
    """
    return _pca(plane)[0]


#: Ratio of the 13th smallest to the smallest eigenvalue above which noise is
#: taken as spatially correlated, and the largest sub-sampling step tried.
CORRELATED, _MAX_STEP = 1.8, 4


def _pca(plane):
    """(sigma, share of patch positions kept, correlation radius in pixels or None when
    beyond :data:`_MAX_STEP` - 1). BLAS runs on one thread here: on a busy machine its
    spinning threads made a call 50 times slower, and the products are small."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        sigma, passed, spread = _pca_blas(plane)
        if spread <= CORRELATED:
            return sigma, passed, 0
        for step in range(2, _MAX_STEP + 1):
            rows, cols = (-(-n // step) - PCA_PATCH + 1 for n in plane.shape)
            if rows * cols < 20 * PCA_PATCH ** 2:      # too few patches to tell
                break
            parts = [_pca_blas(plane[a::step, b::step]) for a in range(step)
                     for b in range(step)]
            sigma, passed, spread = (float(np.median(v)) for v in zip(*parts))
            if spread <= CORRELATED:
                return sigma, passed, step - 1
        return sigma, passed, None


def _pca_blas(plane):
    """(sigma, share kept, spread: 13th smallest / smallest eigenvalue) of one plane."""
    p = PCA_PATCH
    if min(plane.shape) < 2 * p:
        return sigma_mad(plane), 0.0, 1.0
    energy = _patch_gradient_energy(plane, p)
    step = max(1, math.ceil(math.sqrt(energy.size / _MAX_PATCHES)))
    energy = energy[::step, ::step]
    keep = ~_touches_extremes(plane, p)[::step, ::step]
    if keep.sum() < p * p:
        return sigma_mad(plane), 0.0, 1.0
    values = _eigenvalues(plane, keep, p, step)
    passed = 1.0                            # share of positions the texture test passed
    for _ in range(PCA_ITERATIONS - 1):
        selected = keep & (energy < values[0] * _texture_threshold(p, PCA_CONFIDENCE))
        passed = float(selected.mean())
        if selected.sum() < 10 * p * p:     # too few for a covariance in p*p dimensions
            break
        keep = selected
        values = _eigenvalues(plane, keep, p, step)
    spread = values[12] / values[0] if values[0] > 0 else math.inf
    return math.sqrt(max(values[0], 0.0)), passed, spread


def sigma_mad(plane):
    """Donoho & Johnstone: median absolute db2 diagonal detail / 0.6745 (valid part)."""
    if min(plane.shape) < 4:
        return sigma_immerkaer(plane)
    rows = _correlate_axis(plane, _DB2_HIGH, 0)[::2]
    detail = _correlate_axis(rows, _DB2_HIGH, 1)[:, ::2]
    detail = np.abs(detail[detail != 0.0])
    return float(np.median(detail)) / _GAUSS_MAD if detail.size else 0.0


def sigma_immerkaer(plane):
    """Immerkaer (1996): mean |plane * N| over the interior, N the difference of two
    Laplacians (norm 6), times sqrt(pi / 2) / 6."""
    if min(plane.shape) < 3:
        return 0.0
    p = plane
    response = (p[:-2, :-2] - 2 * p[:-2, 1:-1] + p[:-2, 2:]
                - 2 * p[1:-1, :-2] + 4 * p[1:-1, 1:-1] - 2 * p[1:-1, 2:]
                + p[2:, :-2] - 2 * p[2:, 1:-1] + p[2:, 2:])
    return math.sqrt(math.pi / 2.0) * float(np.mean(np.abs(response))) / 6.0


#: name -> (estimator of one float64 plane, one line for --help and listings)
SIGMA_ESTIMATORS = {
    "pca": (sigma_pca, "weak-texture patches, smallest eigenvalue (Liu, Tanaka & Okutomi "
                       "2013); the default"),
    "mad": (sigma_mad, "median absolute db2 wavelet detail (Donoho & Johnstone 1994; "
                       "scikit-image's estimate_sigma)"),
    "immerkaer": (sigma_immerkaer, "mean absolute Laplacian difference (Immerkaer 1996)"),
}


def _correlate_axis(array, taps, axis):
    """Valid correlation of `array` with `taps` along `axis`."""
    n = array.shape[axis] - len(taps) + 1
    out = 0.0
    for k, tap in enumerate(taps):
        out = out + tap * np.take(array, np.arange(k, k + n), axis=axis)
    return out


def _patch_gradient_energy(plane, p):
    """Per p x p patch (top-left at each valid position), the sum of squared central
    differences [-1/2, 0, 1/2] across and down inside it."""
    across = ((plane[:, 2:] - plane[:, :-2]) / 2.0) ** 2       # (H, W - 2)
    down = ((plane[2:, :] - plane[:-2, :]) / 2.0) ** 2         # (H - 2, W)
    return _box_sums(across, p, p - 2) + _box_sums(down, p - 2, p)


def _touches_extremes(plane, p):
    """Per p x p patch: does it hold a sample at the plane's minimum or maximum where
    those are clipping (more than 0.1 % of the samples)? Flat clipped patches have no
    noise and would pull the smallest eigenvalue to zero."""
    lo, hi = plane.min(), plane.max()
    flat = np.zeros(plane.shape)
    for value in (lo, hi):
        at = plane == value
        if at.mean() > 1e-3:
            flat += at
    return _box_sums(flat, p, p) > 0


def _box_sums(array, rows, cols):
    """Sums of every rows x cols window (valid positions), by a summed-area table."""
    table = np.zeros((array.shape[0] + 1, array.shape[1] + 1))
    np.cumsum(np.cumsum(array, axis=0), axis=1, out=table[1:, 1:])
    return table[rows:, cols:] - table[:-rows, cols:] - table[rows:, :-cols] + table[:-rows, :-cols]


def _eigenvalues(plane, keep, p, step):
    """Eigenvalues (ascending) of the uncentred covariance of the kept p x p patches
    (those whose top-left corner is on the grid of `step`)."""
    windows = np.lib.stride_tricks.sliding_window_view(plane, (p, p))[::step, ::step]
    moment = np.zeros((p * p, p * p))
    for top in range(0, keep.shape[0], _BLOCK_ROWS):
        block = windows[top:top + _BLOCK_ROWS][keep[top:top + _BLOCK_ROWS]]
        block = block.reshape(-1, p * p)
        moment += block.T @ block
    count = int(keep.sum())
    return np.linalg.eigvalsh(moment / max(count - 1, 1))


@functools.lru_cache(maxsize=None)
def _texture_threshold(p, confidence):
    """tau0: the gradient energy of a p x p patch of unit white noise stays below it
    with probability `confidence` (Gamma approximation, as the authors do)."""
    from scipy.special import gammaincinv

    n = p * p
    across = np.zeros((p * (p - 2), n))
    down = np.zeros(((p - 2) * p, n))
    for i in range(p):
        for j in range(p - 2):
            across[i * (p - 2) + j, i * p + j] = -0.5
            across[i * (p - 2) + j, i * p + j + 2] = 0.5
            down[j * p + i, j * p + i] = -0.5
            down[j * p + i, (j + 2) * p + i] = 0.5
    gram = across.T @ across + down.T @ down
    rank = np.linalg.matrix_rank(gram)
    return float(gammaincinv(rank / 2.0, confidence) * 2.0 * np.trace(gram) / rank)


# --- the noise-level function ----------------------------------------------------------

#: Local-mean window, bins (at most; at least `_MIN_BIN` samples each), the texture test's
#: multiple of the noise-only gradient energy, and the z-score that makes a slope count.
_MEAN_SIDE, _MAX_BINS, _MIN_BIN, _TEXTURE, _SLOPE_Z = 7, 60, 200, 2.0, 4.0
_ENERGY, _PASSES = 2.2, 3
#: Least relative change of the noise std over the image's levels that counts as
#: signal-dependent (with a significant slope).
_MIN_GROWTH = 0.15


@dataclass(frozen=True)
class NoiseLevelFunction:
    """``var = gain * x + offset`` on one plane, in the plane's units, fitted on
    `levels` (the bins' local means) and their robust `stds`."""

    gain: float
    offset: float
    signal_dependent: bool
    levels: np.ndarray
    stds: np.ndarray
    smooth_fraction: float      # share of the plane the fit could use

    def std(self, x):
        """The fitted noise std at level(s) `x` (0 where the variance would be negative)."""
        return np.sqrt(np.maximum(self.gain * np.asarray(x, dtype=float) + self.offset, 0.0))


def fit_nlf(plane, sigma=None, radius=0):
    """Fit ``var = a * x + b`` to `plane` (float, its own units) on its smooth parts.

    A unit-norm diagonal Haar detail carries the noise, a 7x7 mean the level. Pixels
    where the gradient of the smoothed plane exceeds what noise alone would give
    (at the fitted level, after a first pass at the constant `sigma`) are texture and
    left out; the rest are split into equal-count bins of the level, each with a
    robust scale (MAD), and the line is fitted to the bins' variances by weighted,
    then Huber-reweighted, least squares. Bins that reach the plane's extremes
    (clipping) are dropped. The slope counts when it is `_SLOPE_Z` standard errors
    above zero and the std grows by `_MIN_GROWTH` over the levels seen.

    Noise correlated over `radius` pixels (:func:`sigma_pca` measures it) is read
    from the Haar detail between pixels ``radius + 1`` apart, where it is white; the
    gradient test, calibrated on white noise, is then left to the detail-energy test.
    """
    from scipy.ndimage import uniform_filter

    g = radius + 1
    detail = (plane[:-g, :-g] - plane[:-g, g:] - plane[g:, :-g] + plane[g:, g:]) / 2.0
    level = uniform_filter(plane, _MEAN_SIDE + 2 * radius, mode="reflect")[:-g, :-g]
    if radius:
        grad = np.zeros(detail.shape)
    else:
        smooth = uniform_filter(plane, 3, mode="reflect")
        grad = (np.gradient(smooth, axis=0) ** 2 + np.gradient(smooth, axis=1) ** 2)
        grad = uniform_filter(grad, 5, mode="reflect")[:-1, :-1] / _GRADIENT_GAIN
    energy = uniform_filter(detail * detail, _MEAN_SIDE, mode="reflect")
    sigma = sigma_pca(plane) if sigma is None else sigma
    fit = (0.0, sigma * sigma)
    lo, hi = float(plane.min()), float(plane.max())
    for _ in range(_PASSES):
        variance = np.maximum(fit[0] * level + fit[1], 1e-12 * (hi - lo) ** 2 + 1e-30)
        mask = (grad < _TEXTURE * variance) & (energy < _ENERGY * variance)
        levels, stds, counts = _bins(level[mask], detail[mask])
        inside = (levels - 2.5 * stds > lo) & (levels + 2.5 * stds < hi) & (stds > 0)
        levels, stds, counts = levels[inside], stds[inside], counts[inside]
        if len(levels) < 3:
            break
        fit, z = _line_fit(levels, stds ** 2, counts)
    if len(levels) < 3:
        return NoiseLevelFunction(0.0, sigma * sigma, False, levels, stds, float(mask.mean()))
    a, b = fit
    grows = a > 0 and z > _SLOPE_Z and \
        math.sqrt(max(a * levels[-1] + b, 0.0) / max(a * levels[0] + b, 1e-30)) > 1 + _MIN_GROWTH
    return NoiseLevelFunction(float(a), float(b), bool(grows), levels, stds, float(mask.mean()))


def _bins(level, detail):
    """Equal-count bins of `level`: each bin's mean level, robust std of `detail`, count."""
    n = level.size
    count = min(_MAX_BINS, n // _MIN_BIN)
    if count < 1:
        return np.empty(0), np.empty(0), np.empty(0)
    order = np.argsort(level, kind="stable")
    edges = np.linspace(0, n, count + 1).astype(int)
    levels, stds, counts = np.empty(count), np.empty(count), np.empty(count)
    for k in range(count):
        part = order[edges[k]:edges[k + 1]]
        d = detail[part]
        levels[k] = level[part].mean()
        stds[k] = np.median(np.abs(d - np.median(d))) / _GAUSS_MAD
        counts[k] = part.size
    return levels, stds, counts


def _line_fit(x, y, counts):
    """Weighted (the variance of a variance, 2 y^2 / n), then Huber-reweighted least
    squares of y = a x + b. Returns ((a, b), z-score of a)."""
    base = counts / (2.0 * np.maximum(y * y, 1e-300))
    weights = base
    design = np.stack([x, np.ones_like(x)], axis=1)
    for _ in range(8):
        normal = design.T @ (design * weights[:, None])
        coef = np.linalg.solve(normal, design.T @ (weights * y))
        residual = (y - design @ coef) * np.sqrt(base)
        scale = 1.4826 * np.median(np.abs(residual)) + 1e-30
        r = np.abs(residual) / (1.345 * scale)
        weights = base * np.where(r <= 1.0, 1.0, 1.0 / np.maximum(r, 1e-30))
    spread = max(scale, 1.0)        # misfit beyond the sampling error widens the error bar
    covariance = np.linalg.inv(normal) * spread ** 2
    z = coef[0] / math.sqrt(max(covariance[0, 0], 1e-300))
    return (float(coef[0]), float(coef[1])), float(z)


def _gradient_gain():
    """E[|grad box3(n)|^2] for unit white noise n: the squared norm of the composed
    filters (np.gradient after a 3x3 mean), so the texture test compares like with like."""
    box = np.zeros((7, 7))
    box[2:5, 2:5] = 1.0 / 9.0
    return float(sum((np.gradient(box, axis=axis) ** 2).sum() for axis in (0, 1)))


_GRADIENT_GAIN = _gradient_gain()


# --- the library's one call ---------------------------------------------------------------

#: Below these shares, an estimate is flagged: patches the PCA estimator kept, pixels the
#: noise-level fit could use; above this share of samples at 0 or the top, clipping.
_FEW_PATCHES, _FEW_SMOOTH, _CLIPPED = 0.02, 0.02, 0.15


@dataclass(frozen=True)
class NoiseEstimate:
    """What :func:`estimate_noise` found, per color channel.

    `sigma` is in the image's units (0-255 for 8-bit...). The noise-level function
    ``var = gain * x + offset`` is for the image scaled to [0, 1] whatever its dtype
    (as camera noise profiles are given): ``--gain`` / ``--offset`` take these values.
    """

    sigma: tuple
    gain: tuple
    offset: tuple
    signal_dependent: tuple
    data_range: float
    estimator: str
    warnings: tuple = ()
    correlation: tuple = ()     # per channel: the radius (pixels) the noise is correlated
                                # over; None: beyond 3 (sigma is then a lower bound)
    factor: tuple = ()          # per channel: variance of a 2 x 2 mean over white noise's (1: white)

    @property
    def model(self):
        """"poisson-gaussian" when most channels' noise grows with brightness, else "gaussian"."""
        dependent = sum(self.signal_dependent) * 2 > len(self.signal_dependent)
        return "poisson-gaussian" if dependent else "gaussian"

    @property
    def reliable(self):
        """False when the image gave a reason to doubt the estimate (see `warnings`)."""
        return not self.warnings

    @property
    def mean_sigma(self):
        """The channels' mean sigma (image units): one sigma for a whole color image."""
        return float(np.mean(self.sigma))

    def as_dict(self):
        """Plain values, for JSON."""
        return {"sigma": list(self.sigma), "gain": list(self.gain), "offset": list(self.offset),
                "signal_dependent": list(self.signal_dependent), "model": self.model,
                "data_range": self.data_range, "estimator": self.estimator,
                "correlation_radius": list(self.correlation),
                "correlation_factor": list(self.factor), "reliable": self.reliable,
                "warnings": list(self.warnings)}


def estimate_noise(image, *, estimator="pca", warn=True, data_range=None):
    """Estimate the noise of `image`: sigma and noise-level function per channel.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16 or float; alpha (C = 2 or 4) is ignored.
    estimator : str, default "pca"
        The sigma estimator (:data:`SIGMA_ESTIMATORS`): pca, mad or immerkaer.
    warn : bool, default True
        Issue a ``UserWarning`` for each reason the estimate may be unreliable (heavy
        texture, too few smooth pixels, clipping); they are in ``.warnings`` anyway.
    data_range : float, optional
        What the values span, in the image's units (the noise-level function is for
        the image divided by it); default 255 / 65535 for 8 / 16 bits and, for float
        images, read from the values (1, 255 or 65535, see ``denoise.image_range``).

    Returns
    -------
    NoiseEstimate

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> noisy = 0.5 + rng.normal(0.0, 0.1, (256, 256))
    >>> round(estimate_noise(noisy).sigma[0], 2)
    0.1
    """
    import warnings

    from .._image import check_image, image_range, split_alpha
    from .._validate import check_choice

    check_choice("estimator", estimator, SIGMA_ESTIMATORS)
    check_image(image)
    top = image_range(image, data_range)
    color, _ = split_alpha(image[..., None] if image.ndim == 2 else image)
    found = [_channel(color[..., c].astype(np.float64), top, estimator)
             for c in range(color.shape[2])]
    notes = [n for f in found for n in f[6]]
    clipped = float(np.mean((color == 0) | (color == top)))   # float data may go beyond
    if clipped > _CLIPPED:
        notes.append(f"{100 * clipped:.0f}% of the samples are clipped at 0 or the top of "
                     f"the range, which biases the estimate")
    notes = tuple(dict.fromkeys(notes))
    if warn:
        for note in notes:
            warnings.warn(note, stacklevel=2)
    return NoiseEstimate(*(tuple(f[k] for f in found) for k in range(4)), float(top),
                         estimator, notes, tuple(f[4] for f in found),
                         tuple(f[5] for f in found))


def _channel(plane, top, estimator):
    """(sigma, gain, offset, signal dependent, correlation radius, correlation factor,
    [warnings]) of a plane."""
    if np.ptp(plane) == 0:                  # constant: no noise, nothing to doubt
        return 0.0, 0.0, 0.0, False, 0, 1.0, []
    notes = []
    sigma, kept, radius = _pca(plane)
    if estimator != "pca":
        sigma = SIGMA_ESTIMATORS[estimator][0](plane)
    if min(plane.shape) < 2 * PCA_PATCH or kept < _FEW_PATCHES:
        notes.append("heavy texture or a small image: few patches look like noise alone, "
                     "so sigma may be overestimated")
    if radius is None:
        notes.append(f"the noise is correlated over more than {_MAX_STEP - 1} pixels: "
                     f"sigma is a lower bound")
    reach = _MAX_STEP - 1 if radius is None else radius
    if min(plane.shape) > _MEAN_SIDE + 2 * reach:
        nlf = fit_nlf(plane / top, sigma / top, reach)
    else:
        nlf = NoiseLevelFunction(0.0, (sigma / top) ** 2, False, np.empty(0), np.empty(0), 0.0)
    if nlf.smooth_fraction < _FEW_SMOOTH:
        notes.append("too few smooth pixels to fit how the noise varies with brightness")
    factor = _correlation_factor(plane, sigma) if reach else 1.0
    if not nlf.signal_dependent:            # the constant model: var = sigma^2
        return float(sigma), 0.0, (sigma / top) ** 2, False, radius, factor, notes
    return float(sigma), nlf.gain, nlf.offset, True, radius, factor, notes


def _correlation_factor(plane, sigma):
    """The variance of a 2 x 2 mean of the noise against white noise's:
    1 + rho(0, 1) + rho(1, 0) + (rho(1, 1) + rho(1, -1)) / 2, each correlation read
    from the noise std of the difference of neighbours, 2 sigma^2 (1 - rho), measured
    like sigma itself (weak-texture patches, sub-sampled where still correlated).
    Bounded to [1, 4]."""
    if sigma <= 0:
        return 1.0
    rho = []
    for diff in (plane[:, 1:] - plane[:, :-1], plane[1:, :] - plane[:-1, :],
                 plane[1:, 1:] - plane[:-1, :-1], plane[1:, :-1] - plane[:-1, 1:]):
        rho.append(1.0 - _pca(diff)[0] ** 2 / (2.0 * sigma * sigma))
    return float(np.clip(1.0 + rho[0] + rho[1] + (rho[2] + rho[3]) / 2.0, 1.0, 4.0))
