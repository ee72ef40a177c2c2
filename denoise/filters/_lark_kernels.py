"""LARK's kernels: correlation with a stencil, steering matrices, steering kernel
regression with a small solve per pixel. Each fills the rows of one band per call.

The regression works on chunks of a row with the pixels innermost (vectorised
loops): float32 weights by the shared polynomial exp, window moments summed tap
row by tap row in float32 and across rows in float64, and the chunk's normal
equations solved side by side in float64."""
from typing import NamedTuple

import numpy as np
from numba import njit

from .._config import FASTMATH
from ._weights import pow2

#: Rows per band of the kernels (each pixel is computed alone: the split never matters).
BAND = 16



@njit(cache=True, nogil=True, fastmath=FASTMATH)
def correlate_kernel(band, padded, stencil, out):
    """out[i, j] = sum over the stencil of stencil[a, b] padded[i + a, j + b], for the
    rows of band `band`."""
    height, width = out.shape
    size = stencil.shape[0]
    for i in range(band * BAND, min(height, (band + 1) * BAND)):
        row = out[i]
        row[:] = 0.0
        for a in range(size):
            for b in range(size):
                s = stencil[a, b]
                src = padded[i + a, b:b + width]
                for j in range(width):
                    row[j] += s * src[j]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def steering_kernel(band, g1p, g2p, stencil, params, out, buf):
    """out[:, i, j] = (C11, C12, C22, sqrt(det C)) for the rows of band `band`, from
    the gradient planes g1p, g2p (H + 2R, W + 2R) padded by R, the stencil's radius:
    the sums s11 = sum K g1^2, s12 = sum K g1 g2, s22 = sum K g2^2 over the stencil
    K (zero taps skipped; K is symmetric up-down and left-right, and each sum takes
    its mirrored taps together), then :func:`_steer_row`. `params`: (lam1, lam2,
    alpha, 1 / M); `buf`: products (3, BAND + 2R, W + 2R), sums (3, W) and a row
    (W + 2R) of float32 scratch."""
    height, width = out.shape[1:]
    size = stencil.shape[0]
    prod, sums, pair = buf
    i0, i1 = band * BAND, min(height, (band + 1) * BAND)
    for r in range(i1 - i0 + size - 1):
        a, b = g1p[i0 + r], g2p[i0 + r]
        p11, p12, p22 = prod[0, r], prod[1, r], prod[2, r]
        for j in range(width + size - 1):
            p11[j] = a[j] * a[j]
            p12[j] = a[j] * b[j]
            p22[j] = b[j] * b[j]
    half = size // 2
    for i in range(i0, i1):
        sums[:, :width] = 0.0
        for t in range(3):
            row = sums[t]
            for a in range(half + 1):                 # rows a and size - 1 - a together
                top, bottom = prod[t, i - i0 + a], prod[t, i - i0 + size - 1 - a]
                for j in range(width + size - 1):
                    pair[j] = top[j] + bottom[j] if a < half else top[j]
                for b in range(half + 1):             # columns b and size - 1 - b together
                    k = stencil[a, b]
                    if k == 0.0:
                        continue
                    left, right = pair[b:b + width], pair[size - 1 - b:size - 1 - b + width]
                    if b < half:
                        for j in range(width):
                            row[j] += k * (left[j] + right[j])
                    else:
                        for j in range(width):
                            row[j] += k * left[j]
        _steer_row(sums, params, out, i, width)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _steer_row(sums, params, out, i, width):
    """Row i of the steering from the window sums: G's singular values s1 >= s2 from
    the eigenvalues of G^T G = [[s11, s12], [s12, s22]], v1 its dominant eigenvector,
    C = ((s1 s2 + lam2) / M)^alpha (e v1 v1^T + v2 v2^T / e), e = (s1 + lam1) / (s2 + lam1)."""
    lam1, lam2, alpha, inv_m = params
    for j in range(width):
        a = np.float64(sums[0, j])
        b = np.float64(sums[1, j])
        c = np.float64(sums[2, j])
        half = 0.5 * (a + c)
        disc = np.sqrt(0.25 * (a - c) * (a - c) + b * b)
        s1 = np.sqrt(max(half + disc, 0.0))
        s2 = np.sqrt(max(half - disc, 0.0))
        # v1: the dominant gradient direction; any unit vector when G^T G is round.
        round_ = disc <= 1e-12 * max(half, 1e-300)
        v1 = 1.0 if round_ else (half + disc - c if a >= c else b)
        v2 = 0.0 if round_ else (b if a >= c else half + disc - a)
        inv_norm = 1.0 / np.sqrt(v1 * v1 + v2 * v2)
        v1 *= inv_norm
        v2 *= inv_norm
        elong = (s1 + lam1) / (s2 + lam1)
        inv_elong = 1.0 / elong
        out[0, i, j] = elong * v1 * v1 + inv_elong * v2 * v2
        out[1, i, j] = (elong - inv_elong) * v1 * v2
        out[2, i, j] = elong * v2 * v2 + inv_elong * v1 * v1
        out[3, i, j] = (s1 * s2 + lam2) * inv_m
    g = out[3, i, :width]
    if alpha == 0.5:
        for j in range(width):
            g[j] = np.sqrt(g[j])
    else:
        for j in range(width):
            g[j] = g[j] ** alpha
    for t in range(3):
        row = out[t, i, :width]
        for j in range(width):
            row[j] *= g[j]                            # g = sqrt(det C): det of the rest is 1


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _zero(a, n):
    """a[:, :n] = 0."""
    for k in range(a.shape[0]):
        row = a[k]
        for q in range(n):
            row[q] = 0.0


class Regression(NamedTuple):
    """What :func:`skr_kernel` needs besides the images."""

    powers: np.ndarray         # (moments, 2) exponents (p, q) of (row, column) offset; basis first
    index: np.ndarray          # the normal equations' moment table (n_basis, n_basis)
    order: int
    radius: int
    k2: np.float32             # -log2(e) / (2 h^2)
    ridge: float


def skr_buffers(order, n_channels, chunk=128):
    """Per-thread scratch of :func:`skr_kernel`: (acc, rows, w, m, piv) for `chunk`
    pixels: the moments (float64), the sums of two tap rows (float32), the weights of
    a pair of taps (float32), and the normal equations with their pivots (float64)."""
    n_basis = (order + 1) * (order + 2) // 2
    n_moments = (2 * order + 1) * (2 * order + 2) // 2
    return (np.empty((n_moments + n_basis * n_channels, chunk)),
            np.empty((2, 2 * order + 1 + (order + 1) * n_channels, chunk), np.float32),
            np.empty((6, chunk), np.float32),
            np.empty((n_basis, n_basis + n_channels, chunk)),
            np.empty((n_basis + 1, chunk)))


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def skr_kernel(band, zp, cp, reg, out, grad, buf):
    """Steering kernel regression of the pixels of the rows of band `band`.

    zp (C, H + 2r, W + 2r): the image to regress, padded; cp (4, H + 2r, W + 2r):
    C11, C12, C22, sqrt(det C), padded. out (C, H, W) receives the estimate and,
    when the order is at least 1, grad (2, C, H, W) the row and column derivatives.
    `buf`: :func:`skr_buffers`. Pixels go by chunks of a row: the window's moments
    are summed tap row by tap row (powers of the column offset within a row, then
    times the powers of the row offset), and the chunk's normal equations are
    solved side by side. The data are taken relative to the centre pixel.
    """
    n_channels, height, width = out.shape
    acc, rows, w, m, piv = buf
    chunk = w.shape[1]
    radius, n_basis = reg.radius, reg.index.shape[0]
    scale = 1.0 / max(radius, 1)
    for i in range(band * BAND, min(height, (band + 1) * BAND)):
        for j0 in range(0, width, chunk):
            n = min(chunk, width - j0)
            _zero(acc, n)
            for di in range(radius + 1):              # tap rows +-di in pairs
                for side in range(2 if di > 0 else 1):
                    _zero(rows[side], n)
                    _tap_row(zp, cp, reg, i, j0, n, di if side == 0 else -di, rows[side], w)
                _add_rows(reg, di * scale, di > 0, n, n_channels, rows, acc)
            _solve_chunk(reg, acc, n, n_channels, m, piv)
            for ch in range(n_channels):
                centre = zp[ch, i + radius, j0 + radius:j0 + radius + n]
                for q in range(n):
                    out[ch, i, j0 + q] = m[0, n_basis + ch, q] + centre[q]
                if n_basis > 1:
                    for q in range(n):
                        grad[0, ch, i, j0 + q] = m[1, n_basis + ch, q] * scale
                        grad[1, ch, i, j0 + q] = m[2, n_basis + ch, q] * scale
@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _weights_pair(cp, row, col, dj, fi, fij, fj, n, w):
    """w[0], w[1]: weights of the taps at columns col + dj and col - dj of padded row
    `row`, for n pixels; w[2], w[3] their sum and difference."""
    cl, ch = col + dj, col - dj
    a11p, a12p, a22p, gp = cp[0, row, cl:cl + n], cp[1, row, cl:cl + n], \
        cp[2, row, cl:cl + n], cp[3, row, cl:cl + n]
    a11m, a12m, a22m, gm = cp[0, row, ch:ch + n], cp[1, row, ch:ch + n], \
        cp[2, row, ch:ch + n], cp[3, row, ch:ch + n]
    wp, wm, s, d = w[0], w[1], w[2], w[3]
    zero = np.float32(0.0)
    for q in range(n):
        u = gp[q] * pow2(min(a11p[q] * fi + a12p[q] * fij + a22p[q] * fj, zero))
        v = gm[q] * pow2(min(a11m[q] * fi - a12m[q] * fij + a22m[q] * fj, zero))
        wp[q] = u
        wm[q] = v
        s[q] = u + v
        d[q] = u - v


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _add_powers(rows, start, count, s, d, b, first, n):
    """rows[start + p] += first (s if p even else d) b^p for p < count."""
    bp = first
    for p in range(count):
        src = s if p % 2 == 0 else d
        dst = rows[start + p]
        for q in range(n):
            dst[q] += src[q] * bp
        bp *= b


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _tap_row(zp, cp, reg, i, j0, n, di, rows, w):
    """Sums over the taps of row offset di for the n pixels i, j0 ..: rows[p] = sum
    of w b^p (p <= 2 order) and rows[2 order + 1 + ch (order + 1) + p] = sum of
    w (y - y_centre) b^p (p <= order), b the scaled column offset. Taps +-dj go in
    pairs: even powers take the sum of their weights, odd ones the difference."""
    r, k2 = reg.radius, reg.k2
    n_s, n_t = 2 * reg.order + 1, reg.order + 1
    row, col = i + r + di, j0 + r
    fi = np.float32(di * di) * k2                 # the tap's factors times -log2(e) / (2 h^2)
    scale = np.float32(1.0 / max(r, 1))
    wp, wm, sy, dy = w[0], w[1], w[4], w[5]
    for dj in range(r + 1):
        _weights_pair(cp, row, col, dj, fi, np.float32(2 * di * dj) * k2,
                      np.float32(dj * dj) * k2, n, w)
        b = np.float32(dj) * scale
        # The centre column is its own pair (sums 2 w, differences 0): halve, powers 0 only.
        first = np.float32(0.5) if dj == 0 else np.float32(1.0)
        for ch in range(-1, zp.shape[0]):
            if ch >= 0:
                yp, ym = zp[ch, row, col + dj:col + dj + n], zp[ch, row, col - dj:col - dj + n]
                yc = zp[ch, i + r, col:col + n]
                for q in range(n):
                    u = wp[q] * (yp[q] - yc[q])
                    v = wm[q] * (ym[q] - yc[q])
                    sy[q] = u + v
                    dy[q] = u - v
            start = 0 if ch < 0 else n_s + ch * n_t
            count = 1 if dj == 0 else (n_s if ch < 0 else n_t)
            _add_powers(rows, start, count, w[2] if ch < 0 else sy, w[3] if ch < 0 else dy,
                        b, first, n)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _add_rows(reg, a, paired, n, n_channels, rows, acc):
    """acc[k] += a^p rows[0, q] for each moment k = (p, q) and each data moment, a the
    scaled row offset of the tap row summed in rows[0]; when `paired`, plus
    (-a)^p rows[1, q] for the tap row -a summed in rows[1]."""
    powers = reg.powers
    n_mom, n_basis = powers.shape[0], reg.index.shape[0]
    n_s, n_t = 2 * reg.order + 1, reg.order + 1
    for k in range(n_mom + n_channels * n_basis):
        kk = k if k < n_mom else (k - n_mom) % n_basis
        p, qq = powers[kk, 0], powers[kk, 1]
        f = 1.0
        for _ in range(p):
            f *= a
        src = qq if k < n_mom else n_s + ((k - n_mom) // n_basis) * n_t + qq
        dst, up, down = acc[k], rows[0, src], rows[1, src]
        if not paired:
            for q in range(n):
                dst[q] += f * up[q]
        elif p % 2 == 0:
            for q in range(n):
                dst[q] += f * (np.float64(up[q]) + np.float64(down[q]))
        else:
            for q in range(n):
                dst[q] += f * (np.float64(up[q]) - np.float64(down[q]))


#: A pivot below this fraction of its diagonal moment is rounding noise of the float32
#: weights (about 1e-7 of them): the basis function is dropped (see _solve_chunk).
PIVOT_FLOOR = 1e-6


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _solve_chunk(reg, acc, n, n_channels, m, piv):
    """Solve the normal equations of n pixels side by side (pixels last, so each step
    is a loop over them): m[:, :basis] from the moments in acc plus the ridge, the
    data moments as right-hand sides. Symmetric elimination without pivoting (the
    matrices are positive semi-definite), then back substitution: the coefficients
    replace the right-hand sides, m[:, basis + ch]. A pivot below PIVOT_FLOOR of its
    diagonal moment (the weights lie on a line, or one tap, and the float32 weights
    leave that basis function undetermined) drops the function: its coefficient is
    0, the rest fit without it, instead of dividing by rounding noise."""
    nb = reg.index.shape[0]
    n_mom = reg.powers.shape[0]
    for a in range(nb):
        for b in range(a, nb + n_channels):
            src = acc[reg.index[a, b]] if b < nb else acc[n_mom + (b - nb) * nb + a]
            dst = m[a, b]
            for q in range(n):
                dst[q] = src[q]
        dst, src = m[a, a], acc[0]
        for q in range(n):
            dst[q] += reg.ridge * src[q]
    f = piv[nb]
    for k in range(nb):
        mk, pk = m[k], piv[k]
        diag = acc[reg.index[k, k]]
        for q in range(n):
            d = mk[k, q]
            pk[q] = 1.0 / d if d > PIVOT_FLOOR * diag[q] and d > 0.0 else 0.0
        for r in range(k + 1, nb):
            mr = m[r]
            for q in range(n):
                f[q] = mk[r, q] * pk[q]
            for c in range(r, nb + n_channels):
                for q in range(n):
                    mr[c, q] -= f[q] * mk[c, q]
    for ch in range(n_channels):
        col = nb + ch
        for k in range(nb - 1, -1, -1):
            x = m[k, col]
            for c in range(k + 1, nb):
                for q in range(n):
                    x[q] -= m[k, c, q] * m[c, col, q]
            for q in range(n):
                x[q] *= piv[k, q]
