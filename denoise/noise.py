"""Noise synthesis: seeded gaussian, poisson, salt-and-pepper, speckle and mixed noise."""
import numpy as np

from ._image import from_working, intensity_to_working, to_working
from ._validate import check_int, check_positive
from .errors import InvalidParameterError

KINDS = ("gaussian", "poisson", "salt-pepper", "speckle", "mixed")


def add_noise(image, kind="gaussian", level=25.0, *, seed=0, clip=None, density=0.1):
    """Return a noisy copy of `image` (same shape and dtype; alpha untouched).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16, float16, float32 or float64.
    kind : {"gaussian", "poisson", "salt-pepper", "speckle", "mixed"}, default "gaussian"
        gaussian: ``x + N(0, level^2)``. poisson: photon noise with `level`
        photons at the top of the data range (0-255, 0-65535 or 0-1), so lower is
        noisier. salt-pepper: a fraction `level` of the samples set to 0 or to
        the top of the range, half each. speckle: ``x (1 + N(0, level^2))``.
        mixed: gaussian with sigma `level`, then salt-pepper with `density`.
    level : float, default 25.0
        gaussian and mixed: sigma in the image's units (0-255 for uint8, 0-65535 for uint16,
        data units for float); poisson: photons at full scale, > 0; salt-pepper:
        fraction of samples in [0, 1]; speckle: relative sigma, > 0.
    density : float, default 0.1
        mixed only: fraction of samples turned into impulses, in [0, 1].
    seed : int, default 0
        Seed of ``numpy.random.default_rng``; the same seed gives the same noise.
    clip : bool, optional
        Clip to the data range. Integer output is always clipped; float output
        is not clipped unless `clip` is True (the benchmark protocol).

    Returns
    -------
    noisy : ndarray, same shape and dtype as `image`
    """
    if kind not in KINDS:
        raise InvalidParameterError(f"unknown noise kind {kind!r}; choose from: {', '.join(KINDS)}")
    seed = check_int("seed", seed, minimum=0)
    level = _check_level(kind, level)
    if kind == "mixed":
        density = _check_level("salt-pepper", density)
    work, layout = to_working(image)
    rng = np.random.default_rng(seed)
    x = work.astype(np.float64)           # working units: the data range is [0, 1]
    if kind in ("gaussian", "mixed"):
        x += rng.normal(0.0, intensity_to_working(level, layout), size=x.shape)
        if kind == "mixed":
            impulses(x, density, rng, 1.0)
    elif kind == "poisson":
        x = rng.poisson(np.clip(x, 0, None) * level) / level
    elif kind == "salt-pepper":
        impulses(x, level, rng, 1.0)
    else:
        x *= 1.0 + rng.normal(0.0, level, size=x.shape)
    if clip:
        x = np.clip(x, 0.0, 1.0)
    return from_working(x.astype(np.float32), layout)


def impulses(x, density, rng, top):
    """Set a fraction `density` of the samples of `x` to 0 or `top`, half each (in place)."""
    u = rng.random(x.shape)
    x[u < density / 2] = 0.0
    x[(u >= density / 2) & (u < density)] = top
    return x


def _check_level(kind, level):
    if kind == "salt-pepper":
        if not isinstance(level, (int, float)) or not 0.0 <= level <= 1.0:
            raise InvalidParameterError(
                f"impulse density is a fraction of samples in [0, 1], got {level!r}")
        return float(level)
    return check_positive("level", level)
