"""What attention matches on besides raw patches: PCA features of the patches and
the positional term (a quadratic form of the offset, per reference pixel).

Both are computed on whole planes before the band kernels run, from pixels
near the place they describe (a feature from its patch, a positional form from
the gradients within :data:`REACH` of it), so a crop grown by the method's halo
sees the same values. The PCA basis is an image-level statistic: fitted once on
a seeded sample of the image's patches and held fixed.
"""
import numpy as np

from .lark import (PILOT_H, PILOT_RADIUS, ckr_gradients, ckr_stencils, correlate_plane, disk,
                   steering)
from ._weights import pad_reflect

POSITIONS = ("none", "gauss", "adaptive", "steer")
#: patches sampled to fit a PCA basis
SAMPLES = 20000
#: adaptive width: rho = RHO_MIN + (rho_max - RHO_MIN) exp(-max(E - E0, 0) / (KAPPA sigma^2))
RHO_MIN, KAPPA = 2.0, 4.0
#: radius of the disk over which gradient energy and steering are gathered
ANALYSIS_RADIUS = 3
#: how far from a pixel its positional form reads
REACH = PILOT_RADIUS + ANALYSIS_RADIUS


def fit_basis(plane, f, dims, seed):
    """(n, dims) float32: the leading principal axes of the (2f + 1)^2 patches of
    `plane` (H, W), from SAMPLES patches drawn with numpy's generator seeded by
    `seed`; each axis signed so its largest component is positive."""
    p = 2 * f + 1
    windows = np.lib.stride_tricks.sliding_window_view(plane, (p, p))
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, windows.shape[0], SAMPLES)
    cols = rng.integers(0, windows.shape[1], SAMPLES)
    patches = windows[rows, cols].reshape(SAMPLES, -1).astype(np.float64)
    patches -= patches.mean(axis=0)
    _, vectors = np.linalg.eigh(patches.T @ patches / SAMPLES)
    basis = vectors[:, ::-1][:, :dims]
    signs = np.sign(basis[np.abs(basis).argmax(axis=0), np.arange(dims)])
    return (basis * signs).astype(np.float32)


def features(plane, basis, f):
    """(H, W, D) float32: each pixel's patch (mirrored at the borders) projected on
    the basis (n, D). Sums in a fixed order, so a crop gives the same bits."""
    height, width = plane.shape
    p = 2 * f + 1
    padded = pad_reflect(np.asarray(plane, np.float32), f)
    out = np.zeros((height, width, basis.shape[1]), np.float32)
    for a in range(p):
        for b in range(p):
            out += padded[a:a + height, b:b + width, None] * basis[a * p + b]
    return out


def _noise_energy():
    """E[|grad|^2] of the CKR derivatives for white noise of unit variance."""
    stencils = ckr_stencils(PILOT_H, PILOT_RADIUS)
    return float((stencils[1] ** 2).sum() + (stencils[2] ** 2).sum())


def position_form(plane, kind, width, sigma):
    """(3, H, W) float32 (q11, q12, q22): the positional term at each pixel is
    P(t) = q11 t_r^2 + 2 q12 t_r t_c + q22 t_c^2 for an offset t, a Gaussian kernel
    exp(-P(t)) on the weights.

    * gauss: |t|^2 / (2 width^2) everywhere;
    * adaptive: |t|^2 / (2 rho^2), rho shrinking from `width` to RHO_MIN where the
      gradient energy E of the plane rises above the noise's own E0 (E averaged over
      a disk of ANALYSIS_RADIUS, gradients by LARK's pilot regression);
    * steer: t^T S t / (2 rho^2) with S = C / sqrt(det C), LARK's steering matrix
      normalised to unit determinant: long along edges, narrow across them.

    `plane` and `sigma` in working units ([0, 1])."""
    height, width_px = plane.shape
    out = np.zeros((3, height, width_px), np.float32)
    if kind == "gauss":
        out[0] = out[2] = 1.0 / (2.0 * width * width)
        return out
    g1, g2 = ckr_gradients(np.asarray(plane, np.float32) * np.float32(255.0))
    weights = disk(ANALYSIS_RADIUS)
    energy = (correlate_plane(g1 * g1, weights) + correlate_plane(g2 * g2, weights)) \
        / weights.sum()
    floor = _noise_energy() * (255.0 * sigma) ** 2
    excess = np.maximum(energy - floor, 0.0) / (KAPPA * (255.0 * sigma) ** 2)
    rho = RHO_MIN + (max(width, RHO_MIN) - RHO_MIN) * np.exp(-excess)
    scale = (1.0 / (2.0 * rho * rho)).astype(np.float32)
    if kind == "adaptive":
        out[0] = out[2] = scale
        return out
    c = steering(g1, g2, analysis_radius=ANALYSIS_RADIUS)
    gamma = np.maximum(c[3], np.float32(1e-12))          # sqrt(det C)
    out[0], out[1], out[2] = c[0] / gamma * scale, c[1] / gamma * scale, c[2] / gamma * scale
    return out
