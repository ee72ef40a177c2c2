"""The noise models: a registry, one entry per kind, and seeded synthesis.

Each :class:`NoiseModel` says what its level means, its sensible default, how to
synthesise it, and the sigma it implies (the Gaussian noise level a denoiser
should be given), where there is one. ``denoise noise``, ``denoise bench`` and the
benchmark protocol read the registry; nothing branches on kind names.

Synthesis works on float64 arrays in the image's own units, with ``top`` the
top of the data range (255, 65535 or 1.0): the bench protocol and
:func:`add_noise` draw the same noise from the same generator.
"""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._image import Layout, check_image, from_units, image_range, split_alpha
from .._validate import check_at_most, check_int, check_positive
from ..errors import InvalidParameterError

NOISE: dict = {}


@dataclass(frozen=True)
class NoiseModel:
    """One kind of noise."""

    name: str
    summary: str                   # one line, for listings and --help
    level: str                     # what the level means
    symbol: str                    # the level's symbol in tables ("σ", "p", ...)
    quantity: str                  # what the level is, in words ("sigma", "impulse density")
    default: float                 # default level; in 8-bit units when `scaled`
    scaled: bool                   # the level is an intensity in the image's units
    synthesize: Callable           # (x, level, rng, top, **options) -> noisy (new array)
    check: Callable                # check(level) -> float, or InvalidParameterError
    implied_sigma: Callable = lambda level: None   # level -> sigma (image units) or None
    options: dict = field(default_factory=dict)    # extra options and their defaults
    paired: bool = False           # synthesize returns (noisy, truth): the clean image
                                   # passes through the model too (camera pipeline)
    estimable: bool = True         # methods that need sigma can run with it estimated
                                   # (as `denoise run` does) where the level implies none

    def default_level(self, data_range):
        """The default level for images of `data_range` (255, 65535 or 1.0)."""
        return self.default * data_range / 255.0 if self.scaled else self.default

    @property
    def axis(self):
        """The level's name with its units, for plot axes."""
        return f"{self.quantity} (image units)" if self.scaled else self.quantity

    def describe(self, levels, **options):
        """The noise in words, e.g. "gaussian noise, sigma 15, 25 (image units)"."""
        values = ", ".join(f"{v:g}" for v in levels)
        extra = "".join(f", {k} {options.get(k, v):g}" for k, v in self.options.items())
        units = " (image units)" if self.scaled else ""
        return f"{self.name} noise, {self.quantity} {values}{units}{extra}"

    def resolve_options(self, given):
        """`given` options (None: not given) merged with the defaults; unknown ones rejected."""
        given = {k: v for k, v in (given or {}).items() if v is not None}
        unknown = set(given) - set(self.options)
        if unknown:
            takers = [m.name for m in NOISE.values() if set(unknown) <= set(m.options)]
            raise InvalidParameterError(
                f"{', '.join(sorted(unknown))} applies to {' and '.join(takers) or 'no'} "
                f"noise, not {self.name}")
        return {**self.options, **{k: OPTION_CHECKS[k](v) for k, v in given.items()}}


def register_noise(model):
    """Add `model` to :data:`NOISE` (its name must be new); returns it."""
    if model.name in NOISE:
        raise RuntimeError(f"noise kind {model.name!r} is registered twice")
    NOISE[model.name] = model
    return model


def get_noise(name):
    """The model called `name`, or InvalidParameterError listing the kinds."""
    try:
        return NOISE[name]
    except KeyError:
        raise InvalidParameterError(
            f"unknown noise kind {name!r}; choose from: {', '.join(NOISE)}") from None


def add_noise(image, kind="gaussian", level=None, *, seed=0, clip=None, return_truth=False,
              data_range=None, **options):
    """Return a noisy copy of `image` (same dtype; alpha untouched).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16, float16, float32 or float64.
    kind : str, default "gaussian"
        A registered noise model (``NOISE``): gaussian, poisson, salt-pepper,
        speckle, mixed.
    level : float, optional
        The model's level (its ``level`` text says what it means); default the
        model's default, scaled to the image's range for intensity levels.
    seed : int, default 0
        Seed of ``numpy.random.default_rng``; the same seed gives the same noise.
    clip : bool, optional
        Clip to the data range. Integer output is always clipped (and rounded);
        float output is not clipped unless `clip` is True (the benchmark protocol).
    return_truth : bool, default False
        Also return the image the noisy one should be compared with: `image` itself,
        except for models that pass the clean image through them too (camera).
    data_range : float, optional
        What the values span (the top impulses go to, clipping, default levels);
        default 255 / 65535 for 8 / 16 bits, read from the values for float images
        (``denoise.image_range``).
    **options
        The model's extra options (mixed: ``density``; poisson-gaussian: ``offset``).

    Returns
    -------
    noisy : ndarray, same shape and dtype as `image` (float16 comes back as float32);
        camera noise crops an odd last row or column.
    truth : ndarray, like `noisy`; only with `return_truth`

    Raises
    ------
    InvalidParameterError, ImageFormatError
    """
    model = get_noise(kind)
    seed = check_int("seed", seed, minimum=0)
    options = model.resolve_options(options)
    check_image(image)
    top = image_range(image, data_range)
    level = model.check(model.default_level(top) if level is None else level)
    arr = image[..., None] if image.ndim == 2 else image
    color, alpha = split_alpha(arr)
    noisy = model.synthesize(color.astype(np.float64), level, np.random.default_rng(seed), top,
                             **options)
    noisy, truth = noisy if model.paired else (noisy, color)
    out = [_as_image(x, image, alpha, top, clip) for x in (noisy, truth)]
    return tuple(out) if return_truth else out[0]


def _as_image(values, image, alpha, top, clip):
    """Synthesised `values` back in `image`'s dtype and layout (alpha cropped to fit)."""
    if clip:
        values = np.clip(values, 0.0, top)
    if alpha is not None:
        alpha = alpha[:values.shape[0], :values.shape[1]]
    return from_units(values, Layout(image.dtype, top, image.ndim == 2, alpha))


def impulses(x, density, rng, top):
    """Set a fraction `density` of the samples of `x` to 0 or `top`, half each (in place)."""
    u = rng.random(x.shape)
    x[u < density / 2] = 0.0
    x[(u >= density / 2) & (u < density)] = top
    return x


def _fraction(name):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not 0.0 <= value <= 1.0:
            raise InvalidParameterError(
                f"{name} is a fraction of samples in [0, 1], got {value!r}")
        return float(value)
    return check


#: The largest level any model takes: beyond it the noisy values (or the Poisson
#: generator's rates) leave float64's range.
MAX_LEVEL = 1e12


def _positive(value):
    return check_at_most("level", check_positive("level", value), MAX_LEVEL,
                         "the noisy values would leave the float range")


def _gaussian(x, level, rng, top):
    return x + rng.normal(0.0, level, x.shape)


def _salt_pepper(x, level, rng, top):
    return impulses(x.copy(), level, rng, top)


def _mixed(x, level, rng, top, density):
    return impulses(_gaussian(x, level, rng, top), density, rng, top)


def _poisson(x, level, rng, top):
    return rng.poisson(np.clip(x, 0.0, None) / top * level) / level * top


def _speckle(x, level, rng, top):
    return x * (1.0 + rng.normal(0.0, level, x.shape))


def _identity(level):
    return level


def _poisson_gaussian(x, level, rng, top, offset):
    unit = x / top
    return (unit + np.sqrt(np.maximum(level * unit + offset, 0.0))
            * rng.standard_normal(x.shape)) * top


def _camera(x, level, rng, top):
    from ..errors import ImageFormatError
    from .camera import camera_noise, random_params

    if x.shape[2] != 3:
        raise ImageFormatError(f"camera noise needs an RGB image, not {x.shape[2]} channel(s)")
    drawn = random_params(np.random.default_rng(rng.integers(2 ** 63)))
    noisy, truth, _ = camera_noise(np.clip(x / top, 0.0, 1.0), rng, shot=drawn.shot * level,
                                   read=drawn.read * level)
    return noisy * top, truth * top


def _real(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise InvalidParameterError(f"offset must be a finite number, got {value!r}")
    return float(value)


#: Checks of the models' extra options.
OPTION_CHECKS = {"density": _fraction("density"), "offset": _real}


register_noise(NoiseModel(
    "gaussian", "additive white Gaussian noise, x + N(0, sigma^2)",
    "sigma in the image's units (0-255 for 8-bit, 0-65535 for 16-bit, data units for float)",
    "σ", "sigma", 25.0, True, _gaussian, _positive, _identity))
register_noise(NoiseModel(
    "poisson", "photon (shot) noise: Poisson counts with `level` photons at the top of the range",
    "photons at the top of the data range (lower is noisier), > 0",
    "photons", "photons at full scale", 100.0, False, _poisson, _positive))
register_noise(NoiseModel(
    "salt-pepper", "impulses: a fraction of the samples set to 0 or the top of the range",
    "fraction of samples turned into impulses, in [0, 1] (half 0, half the top)",
    "p", "impulse density", 0.1, False, _salt_pepper, _fraction("salt-pepper level"),
    estimable=False))
register_noise(NoiseModel(
    "speckle", "multiplicative noise, x (1 + N(0, level^2))",
    "relative sigma (0.1: 10 % of the value), > 0",
    "rel. σ", "relative sigma", 0.1, False, _speckle, _positive))
register_noise(NoiseModel(
    "mixed", "Gaussian noise, then salt-and-pepper impulses of a given density",
    "sigma of the Gaussian part, in the image's units; impulses: --density",
    "σ", "sigma", 15.0, True, _mixed, _positive, _identity,
    options={"density": 0.1}))
register_noise(NoiseModel(
    "poisson-gaussian", "signal-dependent noise, variance gain * x + offset on [0, 1] (sensor "
    "noise: shot and read)",
    "gain a of the variance a * x + b, for the image scaled to [0, 1] whatever its dtype "
    "(0.01: std 0.1 at full scale); b: --offset (default 0.0004)",
    "a", "gain", 0.01, False, _poisson_gaussian, _positive, options={"offset": 0.0004}))
register_noise(NoiseModel(
    "camera", "a camera's noise: sRGB unprocessed to raw, shot and read noise, then "
    "demosaiced and processed back (Brooks et al. 2019); RGB only",
    "scale of the shot and read variances drawn per image from the published camera "
    "distribution (1: as drawn, 2: twice the variance)",
    "×var", "variance scale", 1.0, False, _camera, _positive, paired=True))
