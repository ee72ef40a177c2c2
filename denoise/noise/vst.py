"""The generalized Anscombe transform (GAT) and the closed-form approximation of its
exact unbiased inverse (Makitalo & Foi 2011, 2013).

Noise of variance ``a * x + b`` (x on [0, 1]) becomes, after :func:`gat`, noise of
unit variance whatever the level, so a denoiser for white Gaussian noise can run at
sigma = 1; :func:`inverse_gat` maps its output back without the bias the plain
algebraic inverse leaves at low counts. With ``b < 0`` (a black-level offset) the
model is read as Poisson data shifted by ``g = -b / a`` with no Gaussian part.
"""
import math

import numpy as np

from ..errors import InvalidParameterError

_SQRT_3_2 = math.sqrt(1.5)


def _parameters(gain, offset):
    """(alpha, sigma^2, g) of the transform for variance ``gain * x + offset``."""
    if not gain > 0:
        raise InvalidParameterError(
            f"the variance-stabilising transform needs a gain > 0, got {gain!r}")
    if offset >= 0:
        return gain, offset, 0.0
    return gain, 0.0, -offset / gain


def gat(z, gain, offset):
    """Forward transform: ``(2 / a) sqrt(max(0, a z + 3/8 a^2 + s^2 - a g))``."""
    alpha, sigma2, g = _parameters(gain, offset)
    radicand = alpha * np.asarray(z, dtype=np.float64) + 0.375 * alpha * alpha + sigma2 - alpha * g
    return (2.0 / alpha) * np.sqrt(np.maximum(radicand, 0.0))


def _closed_form(d):
    return (d * d / 4.0 + 0.25 * _SQRT_3_2 / d - 1.375 / (d * d)
            + 0.625 * _SQRT_3_2 / (d * d * d) - 0.125)


def _turning_point():
    """Where the closed form stops increasing as D falls: below it the inverse is held
    at its value there (the series' negative powers would turn it back up)."""
    grid = np.linspace(0.5, 3.0, 25001)
    return float(grid[np.argmin(_closed_form(grid))])


_LOWEST = _turning_point()


def inverse_gat(d, gain, offset):
    """Closed-form approximation of the exact unbiased inverse, for a denoised `d`."""
    alpha, sigma2, g = _parameters(gain, offset)
    d = np.maximum(np.asarray(d, dtype=np.float64), _LOWEST)
    inverse = np.maximum(_closed_form(d) - sigma2 / (alpha * alpha), 0.0)
    return alpha * inverse + g
