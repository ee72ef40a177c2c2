"""bilateral's constant-in-the-range-width path for wide windows: a shiftable
Fourier expansion of the Gaussian range kernel (Ghosh & Chaudhury 2016 style).

The range kernel ``g(t) = exp(-t^2 / (2 sigma_r^2))`` is needed only for
differences ``|t| <= T``, T the guide's spread (max - min). Its periodic sum with
period ``P > T`` has the exact cosine series (Poisson summation)

    g_P(t) = sum_m g(t + m P) = sum_k a_k cos(k w t),   w = 2 pi / P,
    a_0 = sqrt(2 pi) sigma_r / P,   a_k = 2 a_0 exp(-(k w sigma_r)^2 / 2),

and ``g_hat`` keeps the terms k <= K. For |t| <= T,

    |g_hat(t) - g(t)| <= eps = 2 sum_{m >= 1} g(m P - T) + sum_{k > K} a_k

(aliases, then the dropped terms); :func:`fourier_terms` picks P and the
smallest K with eps below the target. Each term is shiftable,
``cos(k w (I(y) - I(x))) = Re(conj(z_k(x)) z_k(y))`` with ``z_k = exp(i k w I)``,
so the numerator and denominator are sums of spatial filterings of
``z_k``, ``z_k f``: 4 K + 1 planes in all, each filtered separably by the
truncated Gaussian (2 r + 2 multiply-adds per pixel with mirrored pairs).

Error bound. The centre pixel is weighed exactly (1, as in the direct filter),
so the denominator is at least 1 - eps (S - 1), S the sum of the spatial
weights; with f the averaged values and T_f their spread,

    |fast - direct| = |sum_{y != x} w_s (g_hat - g) (f(y) - direct(x))| / den
                    <= eps (S - 1) T_f / (1 - eps (S - 1)),

in exact arithmetic. eps is chosen so that this is at most 0.8 of `tolerance`;
the rest is left for float32 rounding (the values are centred on 0 before
filtering, the sums over terms are float64): measured at most 1.5e-5 of the
spread, the direct kernel's own exp error included, so tolerances below about
5e-5 are not met. The bound is nearly reached by one bright pixel on a flat
ground (all neighbours at the same difference); on images its error is 1e-6 ..
2e-4. Terms grow as T / sigma_r, and only as sqrt(log) of S / tolerance.
"""
import functools
import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .._config import FASTMATH, kernel_cache, run_bands
from ..errors import InvalidParameterError
from .._validate import check_int, check_positive
from ._weights import pad_reflect

#: Rows per band (fixed, so results do not depend on the number of threads).
BAND = 16
#: Share of the tolerance given to the range-kernel approximation (the rest: rounding).
APPROX_SHARE = 0.8
#: Most cosine terms planned; a narrower range kernel is the direct filter's job.
MAX_TERMS = 400
#: auto's cost model, nanoseconds per pixel at 2 threads on the 2-core AVX2 VM
#: (benchmarks/bilateral_fast.py; only the ratios matter): the direct kernel per tap;
#: the fast path per term and per tap pair of its 4 separable filterings, and per term.
DIRECT_NS_PER_TAP = 0.85
FAST_NS_PER_TERM_TAP = 2.0
FAST_NS_PER_TERM = 10.0
#: The spread (max - min) auto plans the terms for, in data ranges: a noisy image,
#: not clipped (sigma 25 in 255 spans about 1.5). Clipped images need fewer terms,
#: so auto errs towards the direct kernel there.
AUTO_SPREAD = 1.5


class Plan(NamedTuple):
    """Cosine terms of the range kernel: ``g_hat(t) = sum_k coefs[k] cos(k omega t)``."""

    omega: float
    coefs: np.ndarray          # (K + 1,) float64
    bound: float               # max |g_hat - g| over |t| <= the planned extent


def _alias(period, extent):
    """2 sum_{m >= 1} exp(-(m period - extent)^2 / 2), sigma_r = 1 units."""
    m = np.arange(1, 8, dtype=np.float64)
    return 2.0 * float(np.exp(-0.5 * (m * period - extent) ** 2).sum())


@functools.lru_cache(maxsize=256)
def fourier_terms(extent, range_sigma, eps):
    """The fewest cosine terms approximating the Gaussian range kernel within `eps`.

    Parameters
    ----------
    extent : float
        Largest |difference| the kernel is evaluated at (the guide's max - min), >= 0.
    range_sigma : float
        Std of the range Gaussian, same units as `extent`; > 0.
    eps : float
        Largest admissible ``|g_hat(t) - g(t)|`` for ``|t| <= extent``; in (0, 1).

    Returns
    -------
    plan : Plan
        omega (per unit of `extent`), the K + 1 coefficients, and the proven bound.

    Raises
    ------
    InvalidParameterError
        When more than MAX_TERMS terms would be needed (sigma_r far below extent).
    """
    spread = extent / range_sigma
    best = None
    for margin in np.arange(1.0, 14.0, 0.05):        # period - extent, in sigma_r
        period = spread + margin
        alias = _alias(period, spread)
        if alias >= eps:
            continue
        n_max = int(2.2 * period) + 20
        if n_max > 8 * MAX_TERMS:
            break
        k = np.arange(n_max + 1, dtype=np.float64)
        a = 2.0 * math.sqrt(2.0 * math.pi) / period * np.exp(-0.5 * (2 * math.pi * k / period) ** 2)
        a[0] *= 0.5
        tails = np.concatenate([np.cumsum(a[::-1])[::-1][1:], [0.0]])   # tails[K] = sum_{k>K}
        fits = np.nonzero(alias + tails <= eps)[0]
        if fits.size and (best is None or fits[0] < best[0]):
            best = (int(fits[0]), period, alias + float(tails[fits[0]]), a[:fits[0] + 1])
    if best is None or best[0] > MAX_TERMS:
        raise InvalidParameterError(
            f"sigma_range {range_sigma:g} is too narrow for the fast bilateral at a spread of "
            f"{extent:g} (over {MAX_TERMS} terms); use algorithm='direct'")
    n_terms, period, bound, coefs = best
    return Plan(2.0 * math.pi / (period * range_sigma), coefs.copy(), bound)


def spatial_taps(radius, spatial_sigma):
    """(radius + 1,) float32 ``exp(-d^2 / (2 spatial_sigma^2))``, d = 0 .. radius."""
    d = np.arange(radius + 1, dtype=np.float64)
    return np.exp(-d * d / (2.0 * spatial_sigma ** 2)).astype(np.float32)


def kernel_eps(tolerance, spread, taps):
    """Range-kernel error that keeps the result within APPROX_SHARE * tolerance (module
    docstring), for values of spread `spread` and the separable `taps`."""
    total = float(taps[0]) + 2.0 * float(taps[1:].astype(np.float64).sum())
    others = total * total - 1.0                       # S - 1: spatial mass off the centre
    budget = APPROX_SHARE * tolerance
    return min(0.5, budget / (max(others, 1e-12) * (spread + budget)))


with kernel_cache():
    @njit(cache=True, nogil=True, fastmath=FASTMATH)
    def _vertical(z, i, taps, out):
        """out (W + 2r,) = the column filtering of z (rows, W + 2r) at band row i
        (mirrored pairs: one multiply per pair of taps)."""
        r = taps.shape[0] - 1
        n = out.shape[0]
        a = z[i + r]
        for j in range(n):
            out[j] = taps[0] * a[j]
        for d in range(1, r + 1):
            a1, a2 = z[i + r - d], z[i + r + d]
            w = taps[d]
            for j in range(n):
                out[j] += w * (a1[j] + a2[j])

    @njit(cache=True, nogil=True, fastmath=FASTMATH)
    def _horizontal(v, taps, out):
        """out (W,) = the row filtering of v (W + 2r,); mirrored pairs, four pairs per
        pass (slices, not shifted indices: those would keep LLVM from vectorising)."""
        r = taps.shape[0] - 1
        width = out.shape[0]
        centre = v[r:r + width]
        for j in range(width):
            out[j] = taps[0] * centre[j]
        d = 1
        while d + 3 <= r:
            w1, w2, w3, w4 = taps[d], taps[d + 1], taps[d + 2], taps[d + 3]
            a1, b1 = v[r - d:r - d + width], v[r + d:r + d + width]
            a2, b2 = v[r - d - 1:r - d - 1 + width], v[r + d + 1:r + d + 1 + width]
            a3, b3 = v[r - d - 2:r - d - 2 + width], v[r + d + 2:r + d + 2 + width]
            a4, b4 = v[r - d - 3:r - d - 3 + width], v[r + d + 3:r + d + 3 + width]
            for j in range(width):
                out[j] += (w1 * (a1[j] + b1[j]) + w2 * (a2[j] + b2[j])
                           + w3 * (a3[j] + b3[j]) + w4 * (a4[j] + b4[j]))
            d += 4
        while d <= r:
            a1, b1 = v[r - d:r - d + width], v[r + d:r + d + width]
            w1 = taps[d]
            for j in range(width):
                out[j] += w1 * (a1[j] + b1[j])
            d += 1

    @njit(cache=True, nogil=True, fastmath=FASTMATH)
    def _accumulate(plane, phase, taps, coef, acc, rows):
        """acc[i] (float64) += coef * phase(x) * (spatial filtering of `plane`)(x) for
        the band's rows i, with `phase` and `plane` (rows + 2r, W + 2r) padded planes."""
        r = taps.shape[0] - 1
        n, width = acc.shape
        vert, h = rows[0], rows[1, :width]
        for i in range(n):
            _vertical(plane, i, taps, vert)
            _horizontal(vert, taps, h)
            c, a = phase[i + r, r:r + width], acc[i]
            for j in range(width):
                a[j] += coef * np.float64(c[j] * h[j])

    @njit(cache=True, nogil=True, fastmath=FASTMATH)
    def _rotate(cos1, sin1, zr, zi):
        """z = (zr + i zi) *= (cos1 + i sin1), row by row: the next term's phases."""
        for ii in range(zr.shape[0]):
            c1, s1, a, b = cos1[ii], sin1[ii], zr[ii], zi[ii]
            for j in range(a.shape[0]):
                re = a[j] * c1[j] - b[j] * s1[j]
                b[j] = a[j] * s1[j] + b[j] * c1[j]
                a[j] = re

    @njit(cache=True, nogil=True, fastmath=FASTMATH)
    def _product(z, values, out):
        """out = z * values, row by row (a phase plane times the values)."""
        for ii in range(z.shape[0]):
            a, f, o = z[ii], values[ii], out[ii]
            for j in range(a.shape[0]):
                o[j] = a[j] * f[j]

    @njit(cache=True, nogil=True, fastmath=FASTMATH)
    def _shiftable_kernel(band, cos1, sin1, values, out, taps, coefs, mass, level, buf):
        """Rows of band `band` of `out` (H, W): the Fourier-range bilateral of the
        mirrored-padded `values` (H + 2r, W + 2r) (spread around 0), with
        ``z_1 = cos1 + i sin1`` the padded guide's phases, `coefs` the K + 1 cosine
        coefficients, `mass` the spatial sum S, `level` added back. No validation."""
        zr, zi, prod, rows, acc = buf
        height, width = out.shape
        r = taps.shape[0] - 1
        r0 = band * BAND
        n = min(height, r0 + BAND) - r0
        m = n + 2 * r
        num, den = acc[0, :n], acc[1, :n]
        band_values = values[r0:r0 + m]
        num[:] = 0.0
        den[:] = coefs[0] * mass
        zr[:m] = 1.0
        zi[:m] = 0.0
        _accumulate(band_values, zr, taps, coefs[0], num, rows)
        for k in range(1, coefs.shape[0]):
            _rotate(cos1[r0:r0 + m], sin1[r0:r0 + m], zr[:m], zi[:m])
            _accumulate(zr, zr, taps, coefs[k], den, rows)
            _accumulate(zi, zi, taps, coefs[k], den, rows)
            _product(zr[:m], band_values, prod[:m])
            _accumulate(prod, zr, taps, coefs[k], num, rows)
            _product(zi[:m], band_values, prod[:m])
            _accumulate(prod, zi, taps, coefs[k], num, rows)
        _finish(num, den, band_values, coefs, r, n, level, out[r0:r0 + n])

    @njit(cache=True, nogil=True, fastmath=FASTMATH)
    def _finish(num, den, band_values, coefs, r, n, level, out):
        """out (n, W) = level + num / den after weighing each centre pixel exactly 1
        (the sums weighed it by g_hat(0) = sum(coefs))."""
        fix = 1.0 - coefs.sum()
        width = out.shape[1]
        for i in range(n):
            centre = band_values[i + r, r:r + width]
            for j in range(width):
                f = np.float64(centre[j])
                out[i, j] = level + (num[i, j] + fix * f) / (den[i, j] + fix)


def _buffers(m, wp, width):
    """One thread's scratch: the phase planes, the filtered rows, the float64 sums."""
    return (np.empty((m, wp), np.float32), np.empty((m, wp), np.float32),
            np.empty((m, wp), np.float32), np.empty((2, wp), np.float32),
            np.empty((2, BAND, width), np.float64))


def _plane(name, array, shape=None):
    """`array` as an (H, W) float32 plane, or raise if it is not one gray image."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim != 2 or (shape is not None and array.shape != shape):
        raise InvalidParameterError(
            f"the fast bilateral takes gray images only: {name} must be (H, W) or (H, W, 1)"
            f" like the image, got shape {array.shape}; use algorithm='direct' for color")
    return np.ascontiguousarray(array, dtype=np.float32)


def shiftable_bilateral(work, spatial_sigma, radius, range_sigma, *, guide=None,
                        tolerance=1e-3):
    """Gray bilateral filter through a shiftable Fourier range kernel (wide windows).

    Parameters
    ----------
    work : ndarray, shape (H, W) or (H, W, 1)
        The image on the working scale (data range 1: integer images in [0, 1]).
    spatial_sigma : float
        Std in pixels of the spatial Gaussian ``exp(-(di^2 + dj^2) / (2 s^2))``,
        truncated to the (2 radius + 1) square window (as the direct kernel); > 0.
    radius : int
        Window half-width, 0..200; 0 is the identity.
    range_sigma : float
        Std of the range Gaussian on the working scale; > 0.
    guide : ndarray, optional
        Image whose differences weigh the range (a pilot), shaped like `work`;
        default `work` itself.
    tolerance : float, default 1e-3
        Largest error allowed against the direct filter, working units (1e-3 of
        the data range); the number of terms is chosen to meet it.

    Returns
    -------
    out : ndarray, float32, shaped like `work`

    Raises
    ------
    InvalidParameterError
        Color images (the range kernel of a joint color distance is not a short
        product of cosines), bad parameters, or sigma_r too narrow (over MAX_TERMS).

    Notes
    -----
    Borders mirror with the edge repeated. Cost O(H W K (r + 1)): K cosine terms
    (module docstring), each 4 separable filterings; about (T / sigma_r) 0.8 + 5
    terms, T the guide's spread. The error bound (module docstring) holds for any
    image; it is in exact arithmetic, float32 rounding adds at most about 1.5e-5.

    References
    ----------
    Ghosh & Chaudhury, "On fast bilateral filtering using Fourier kernels",
    IEEE Signal Processing Letters 23(5), 2016. DOI 10.1109/LSP.2016.2539982

    Examples
    --------
    >>> import numpy as np
    >>> step = np.repeat(np.array([[0.2, 0.8]], np.float32), 8, axis=1).repeat(16, axis=0)
    >>> out = shiftable_bilateral(step, 4.0, 8, 0.1)
    >>> bool(np.abs(out - step).max() < 1e-3)        # edges kept, flat parts stay flat
    True
    """
    shape = np.shape(work)
    radius = check_int("radius", radius, minimum=0, maximum=200)
    spatial_sigma = check_positive("spatial_sigma", spatial_sigma)
    range_sigma = check_positive("range_sigma", range_sigma)
    tolerance = check_positive("tolerance", tolerance)
    values = _plane("work", work)
    guide = values if guide is None else _plane("guide", guide, values.shape)
    if radius == 0 or values.size == 0:
        return np.array(work, dtype=np.float32, copy=True)
    lo, hi = float(values.min()), float(values.max())
    level = 0.5 * (lo + hi)
    g_lo, g_hi = float(guide.min()), float(guide.max())
    taps = spatial_taps(radius, spatial_sigma)
    eps = kernel_eps(tolerance, hi - lo, taps)
    plan = fourier_terms(g_hi - g_lo, range_sigma, eps)
    centred = pad_reflect(values - np.float32(level), radius)
    phase = plan.omega * (pad_reflect(guide, radius).astype(np.float64) - g_lo)
    cos1, sin1 = np.cos(phase).astype(np.float32), np.sin(phase).astype(np.float32)
    mass = (float(taps[0]) + 2.0 * float(taps[1:].astype(np.float64).sum())) ** 2
    height, width = values.shape
    out = np.empty((height, width), np.float32)
    wp = width + 2 * radius
    run_bands(_shiftable_kernel, -(-height // BAND), cos1, sin1, centred, out, taps,
              plan.coefs, mass, level, buffers=lambda: _buffers(BAND + 2 * radius, wp, width))
    return out.reshape(shape)


def fast_terms(radius, range_sigma, data_range, spatial_sigma=None, tolerance=None):
    """Number of cosine terms K the fast path plans for an image spanning `data_range`
    (guide and values); `spatial_sigma` default radius (about the widest the window
    allows), `tolerance` default 1e-3 data_range."""
    taps = spatial_taps(radius, spatial_sigma or max(radius, 1))
    tolerance = 1e-3 * data_range if tolerance is None else tolerance
    eps = kernel_eps(tolerance, data_range, taps)
    return fourier_terms(float(data_range), float(range_sigma), eps).coefs.shape[0] - 1


def auto_prefers_fast(radius, range_sigma, data_range, channels):
    """Whether the fast path beats the direct kernel, error within 1e-3 of the data range.

    Parameters
    ----------
    radius : int
        Window half-width.
    range_sigma : float
        Range Gaussian std, same units as `data_range`.
    data_range : float
        The data range, same units (1 on the working scale); the terms are planned
        for an image spanning AUTO_SPREAD data ranges.
    channels : int
        Image channels; only gray (1) has a fast path.

    Returns
    -------
    prefer : bool
        True when the modelled time of the fast path, ``K (FAST_NS_PER_TERM_TAP (r + 1)
        + FAST_NS_PER_TERM)`` per pixel, is below the direct kernel's,
        ``DIRECT_NS_PER_TAP (2 r + 1)^2`` (constants measured by
        benchmarks/bilateral_fast.py).
    """
    if channels != 1 or radius < 2 or not range_sigma > 0 or not data_range > 0:
        return False
    try:
        n_terms = fast_terms(int(radius), range_sigma, AUTO_SPREAD * data_range,
                             tolerance=1e-3 * data_range)
    except InvalidParameterError:
        return False
    fast = n_terms * (FAST_NS_PER_TERM_TAP * (radius + 1) + FAST_NS_PER_TERM)
    return fast < DIRECT_NS_PER_TAP * (2 * radius + 1) ** 2
