"""LARK's kernels: correlation with a stencil, steering matrices, steering kernel
regression with a small solve per pixel. Each fills the rows of one band per call."""
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
def steering_kernel(band, s11, s12, s22, lam1, lam2, alpha, inv_m, out):
    """out[:, i, j] = (C11, C12, C22, sqrt(det C)) from the windowed gradient
    products s11 = sum K^2 g1^2, s12 = sum K^2 g1 g2, s22 = sum K^2 g2^2 (rows of
    band `band`)."""
    height, width = s11.shape
    for i in range(band * BAND, min(height, (band + 1) * BAND)):
        for j in range(width):
            a = np.float64(s11[i, j])
            b = np.float64(s12[i, j])
            c = np.float64(s22[i, j])
            half = 0.5 * (a + c)
            disc = np.sqrt(0.25 * (a - c) * (a - c) + b * b)
            s1 = np.sqrt(max(half + disc, 0.0))       # singular values of G
            s2 = np.sqrt(max(half - disc, 0.0))
            # v1: the dominant gradient direction (eigenvector of G^T G for s1^2).
            if disc <= 1e-12 * max(half, 1e-300):
                v1 = 1.0
                v2 = 0.0
            elif a >= c:
                v1 = half + disc - c
                v2 = b
            else:
                v1 = b
                v2 = half + disc - a
            norm = np.sqrt(v1 * v1 + v2 * v2)
            v1 /= norm
            v2 /= norm
            elong = (s1 + lam1) / (s2 + lam1)
            gamma = ((s1 * s2 + lam2) * inv_m) ** alpha
            inv_elong = 1.0 / elong
            out[0, i, j] = gamma * (elong * v1 * v1 + inv_elong * v2 * v2)
            out[1, i, j] = gamma * (elong - inv_elong) * v1 * v2
            out[2, i, j] = gamma * (elong * v2 * v2 + inv_elong * v1 * v1)
            out[3, i, j] = gamma                      # sqrt(det C): det of the rest is 1


@njit(cache=True, nogil=True)
def _solve(m, n, n_rhs):
    """Solve m[:, :n] x = m[:, n:n + n_rhs] in place (Gaussian elimination with
    partial pivoting); the solutions replace the right-hand sides."""
    for k in range(n):
        p = k
        for r in range(k + 1, n):
            if abs(m[r, k]) > abs(m[p, k]):
                p = r
        if p != k:
            for c in range(n + n_rhs):
                m[k, c], m[p, c] = m[p, c], m[k, c]
        pivot = m[k, k]
        if pivot == 0.0:
            pivot = 1e-300
        for r in range(k + 1, n):
            f = m[r, k] / pivot
            if f != 0.0:
                for c in range(k, n + n_rhs):
                    m[r, c] -= f * m[k, c]
    for s in range(n_rhs):
        col = n + s
        for k in range(n - 1, -1, -1):
            v = m[k, col]
            for c in range(k + 1, n):
                v -= m[k, c] * m[c, col]
            pivot = m[k, k] if m[k, k] != 0.0 else 1e-300
            m[k, col] = v / pivot


class Regression(NamedTuple):
    """What :func:`_skr_kernel` needs besides the images."""

    monomials: np.ndarray      # (taps, moments) in scaled coordinates; basis columns first
    index: np.ndarray          # the normal equations' moment table (n_basis, n_basis)
    radius: int
    k2: np.float32             # -log2(e) / (2 h^2)
    ridge: float


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def skr_kernel(band, zp, cp, reg, out, grad, buf):
    """Steering kernel regression of the pixels of the rows of band `band`.

    zp (C, H + 2r, W + 2r): the image to regress, padded; cp (4, H + 2r, W + 2r):
    C11, C12, C22, sqrt(det C), padded. out (C, H, W) receives the estimate and,
    when the order is at least 1, grad (2, C, H, W) the row and column derivatives
    (per pixel). `buf`: (acc (moments + basis C, CHUNK), w (2, CHUNK), m (basis,
    basis + C)) float64 scratch.
    """
    n_channels, height, width = out.shape
    n_moments, n_basis = reg.monomials.shape[1], reg.index.shape[0]
    acc, w, m = buf
    chunk = w.shape[1]
    scale = 1.0 / max(reg.radius, 1)
    for i in range(band * BAND, min(height, (band + 1) * BAND)):
        for j0 in range(0, width, chunk):
            n = min(chunk, width - j0)
            acc[:, :n] = 0.0
            _skr_moments(zp, cp, reg, i, j0, n, acc, w)
            for q in range(n):
                for a in range(n_basis):
                    for b in range(n_basis):
                        m[a, b] = acc[reg.index[a, b], q]
                    m[a, a] += reg.ridge * acc[0, q]
                    for ch in range(n_channels):
                        m[a, n_basis + ch] = acc[n_moments + ch * n_basis + a, q]
                _solve(m, n_basis, n_channels)
                for ch in range(n_channels):
                    out[ch, i, j0 + q] = m[0, n_basis + ch]
                    if n_basis > 1:
                        grad[0, ch, i, j0 + q] = m[1, n_basis + ch] * scale
                        grad[1, ch, i, j0 + q] = m[2, n_basis + ch] * scale


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _skr_moments(zp, cp, reg, i, j0, n, acc, w):
    """Add, over the window's taps, the weighted moments (acc[:moments]) and the
    weighted data moments per channel (acc[moments + ch basis + k]) of the n pixels
    i, j0 .. j0 + n - 1."""
    radius, monomials = reg.radius, reg.monomials
    n_taps, n_moments = monomials.shape
    n_basis = reg.index.shape[0]
    size = 2 * radius + 1
    for t in range(n_taps):
        di, dj = t // size - radius, t % size - radius
        r, c0 = i + radius + di, j0 + radius + dj
        a11, a12, a22, g = cp[0, r, c0:c0 + n], cp[1, r, c0:c0 + n], cp[2, r, c0:c0 + n], \
            cp[3, r, c0:c0 + n]
        fi, fij, fj = np.float32(di * di), np.float32(2 * di * dj), np.float32(dj * dj)
        wt, wy = w[0], w[1]
        for q in range(n):
            e = a11[q] * fi + a12[q] * fij + a22[q] * fj
            wt[q] = np.float64(g[q] * pow2(min(e * reg.k2, np.float32(0.0))))
        for k in range(n_moments):
            mk = monomials[t, k]
            row = acc[k]
            for q in range(n):
                row[q] += wt[q] * mk
        for ch in range(zp.shape[0]):
            y = zp[ch, r, c0:c0 + n]
            for q in range(n):
                wy[q] = wt[q] * y[q]
            base = n_moments + ch * n_basis
            for k in range(n_basis):
                mk = monomials[t, k]
                row = acc[base + k]
                for q in range(n):
                    row[q] += wy[q] * mk
