"""Make any image's noise the unit white Gaussian noise every method is built for.

:func:`resolve_noise` decides, per image, what its noise is (:class:`NoiseSetting`):
a sigma given or estimated, or a noise-level function ``var = a x + b`` given or
estimated. :func:`denoise_under` then runs a denoiser ``denoise(work, sigma)`` on
the image so conditioned:

1. each channel to unit noise: divided by its sigma, or through the generalized
   Anscombe transform with its own (a, b) (:mod:`.vst`);
2. color: to an orthonormal opponent space (luma, two chroma axes), where each
   component gets its own noise estimate (demosaicing and color matrices make
   camera noise correlated across channels and strong in chroma) and is scaled to
   unit noise; the chroma axes are then divided by the chroma strength, so a
   strength above 1 smooths color more than luma;
3. the signal's range to [0, 1], the method at the sigma unit noise has there: a
   float image's methods assume the range [0, 1] when they derive their parameters
   from sigma, so the data must span it;
4. back: the inverse of each step, the closed-form unbiased inverse of the GAT.

Spatially correlated noise (demosaiced) is averaged away more slowly than white
noise of the same per-pixel sigma: the method is given sigma times the square root
of the estimate's correlation factor (the variance of a 2 x 2 mean against white
noise's; about 2.6 for bilinear demosaicing, so sigma x 1.6).

Matching stays joint over the three components, with luma carrying the most weight
once chroma is scaled down. Plain white noise of equal sigma per channel (the usual
synthetic case) needs none of this: the method then runs directly at that sigma.
"""
import math
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from .._image import Layout, from_units, image_range, split_alpha
from ..errors import InvalidParameterError
from .estimate import estimate_noise, sigma_pca
from .vst import gat, inverse_gat

#: Noise models a run can assume; "auto" picks one from the estimate.
NOISE_MODELS = ("auto", "gaussian", "poisson-gaussian")
#: Orthonormal opponent basis: rows are luma, red-blue, green-magenta.
OPPONENT = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, -1.0], [1.0, -2.0, 1.0]]) \
    / np.sqrt([[3.0], [2.0], [6.0]])
#: Components whose noise differs by more than this ratio go through the opponent path.
_UNEQUAL = 1.25
#: The least sigma an estimate is taken as, a fraction of the data range.
_NOISELESS = 1e-4


@dataclass(frozen=True)
class NoiseSetting:
    """The noise one image is denoised for: ``sigma`` (image units, per channel) for
    Gaussian noise, or ``gain`` / ``offset`` (per channel, image on [0, 1]: divided by
    its data range) for Poisson-Gaussian noise; `estimated` says they came from the
    image; `data_range` is the image's (0: read from the image each time)."""

    model: str
    sigma: tuple = ()
    gain: tuple = ()
    offset: tuple = ()
    estimated: bool = False
    chroma: float = 1.0
    warnings: tuple = ()
    inflation: float = 1.0     # sigma multiplier for spatially correlated noise
    data_range: float = 0.0    # the whole image's, so that its tiles are scaled alike

    def top(self, image):
        """The data range `image` is scaled by: the setting's, else the image's own."""
        return self.data_range or image_range(image)

    def describe(self):
        """One line for logs: the model and its numbers."""
        how = "estimated" if self.estimated else "given"
        if self.inflation > 1.0:
            how += f"; spatially correlated: sigma x {self.inflation:.2f} for the method"
        if self.model == "gaussian":
            return f"gaussian noise, sigma {_join(self.sigma)} ({how})"
        return f"poisson-gaussian noise, gain {_join(self.gain)}, offset " \
               f"{_join(self.offset)} on [0, 1] ({how})"

    def as_dict(self):
        return {"model": self.model, "sigma": list(self.sigma), "gain": list(self.gain),
                "offset": list(self.offset), "estimated": self.estimated,
                "sigma_factor": self.inflation, "chroma_strength": self.chroma,
                "data_range": self.data_range or None, "warnings": list(self.warnings)}


def _join(values):
    return ", ".join(f"{v:.4g}" for v in values)


def resolve_noise(image, *, sigma=None, model="auto", gain=None, offset=None, chroma=1.0,
                  data_range=None):
    """The :class:`NoiseSetting` for `image` of `data_range` (default
    :func:`~denoise._image.image_range`).

    `sigma` (image units) given: Gaussian noise of that sigma in every channel. `gain`
    (and `offset`, default 0) given: Poisson-Gaussian noise with that function.
    Otherwise both are estimated (:func:`~.estimate.estimate_noise`), and `model`
    "auto" takes Poisson-Gaussian where the fit finds the noise grows with brightness.
    """
    if model not in NOISE_MODELS:
        raise InvalidParameterError(
            f"unknown noise model {model!r}; choose from: {', '.join(NOISE_MODELS)}")
    if not chroma > 0:
        raise InvalidParameterError(f"chroma strength must be > 0, got {chroma!r}")
    channels = 1 if image.ndim == 2 else image.shape[2] - (image.shape[2] in (2, 4))
    top = image_range(image, data_range)
    if gain is not None:
        return NoiseSetting("poisson-gaussian", gain=(float(gain),) * channels,
                            offset=(float(offset or 0.0),) * channels, chroma=chroma,
                            data_range=top)
    if sigma is not None:
        return NoiseSetting("gaussian", sigma=(float(sigma),) * channels, chroma=chroma,
                            data_range=top)
    found = estimate_noise(image, warn=False, data_range=top)
    floor = _NOISELESS * top
    if min(found.sigma) < floor:         # no measurable noise: denoise (almost) nothing
        found = replace(found, sigma=tuple(max(s, floor) for s in found.sigma))
    chosen = found.model if model == "auto" else model
    if chosen == "poisson-gaussian" and min(found.gain) <= 0:
        chosen = "gaussian"
    return NoiseSetting(chosen, found.sigma, found.gain, found.offset, True, chroma,
                        found.warnings, math.sqrt(float(np.median(found.factor))), top)


@dataclass(frozen=True)
class Conditioning:
    """The image-level statistics of :func:`denoise_under`, fitted once per image (or
    on its central part) so that tiles are conditioned alike: the opponent
    components' scale (color) and the signal's range in unit-noise space."""

    scale: Optional[tuple]     # per opponent component, or None (gray)
    low: float
    span: float

    def unit_sigma(self, setting):
        """The sigma the method is given on the conditioned data."""
        return setting.inflation / self.span


def fit_conditioning(image, setting):
    """The :class:`Conditioning` of `image` for `setting` (see :func:`denoise_under`)."""
    return _fit(_to_unit(image, setting), setting)


def _fit(unit, setting):
    scale = None
    if unit.shape[2] == 3:
        scale = tuple(float(v) for v in _opponent_scale(unit, setting))
        unit = (unit @ OPPONENT.T) / np.asarray(scale)
    low, high = _signal_range(unit)
    return Conditioning(scale, low, max(high - low, 1e-12))


def denoise_under(image, setting, denoise, conditioning=None):
    """Denoise `image` for `setting` with ``denoise(work, sigma)``, which takes a float64
    (H, W, C) array on [0, 1] and the sigma of its noise there. `conditioning` fixes
    the image-level statistics (a tile's are its whole image's); by default they are
    fitted on `image`. Every other step is pointwise."""
    top = setting.top(image)
    _, alpha = split_alpha(image[..., None] if image.ndim == 2 else image)
    unit = _to_unit(image, setting)
    if conditioning is None:
        conditioning = _fit(unit, setting)
    low, span = conditioning.low, conditioning.span
    if conditioning.scale is not None:
        unit = (unit @ OPPONENT.T) / np.asarray(conditioning.scale)
    out = np.asarray(denoise((unit - low) / span, conditioning.unit_sigma(setting)),
                     dtype=np.float64) * span + low
    if conditioning.scale is not None:
        out = (out * np.asarray(conditioning.scale)) @ OPPONENT
    if setting.model == "gaussian":
        out = np.stack([out[..., c] * (s / top) for c, s in enumerate(setting.sigma)], axis=2)
    else:
        out = np.stack([inverse_gat(out[..., c], a, b) for c, (a, b) in
                        enumerate(zip(setting.gain, setting.offset))], axis=2)
    return from_units(out * top, Layout(image.dtype, top, image.ndim == 2, alpha))


def _to_unit(image, setting):
    """Each channel of `image` (alpha aside) at unit noise: divided by its sigma, or
    through the GAT with its (a, b); float64 (H, W, C)."""
    top = setting.top(image)
    planes, _ = split_alpha(image[..., None] if image.ndim == 2 else image)
    x = planes.astype(np.float64) / top
    if setting.model == "gaussian":
        return np.stack([x[..., c] / (s / top) for c, s in enumerate(setting.sigma)], axis=2)
    return np.stack([gat(x[..., c], a, b) for c, (a, b) in
                     enumerate(zip(setting.gain, setting.offset))], axis=2)


def _signal_range(unit):
    """The range of the signal, not of the noise's excursions: the extremes of a 5 x 5
    mean. The methods read sigma against the range [0, 1] the data is mapped to, so
    its ends should be where the image is (measured: up to 0.18 dB better than the
    noisy extremes through the Anscombe transform on BSD68)."""
    from scipy.ndimage import uniform_filter

    smooth = uniform_filter(unit, size=(5, 5, 1), mode="reflect")
    return float(smooth.min()), float(smooth.max())


def direct_sigma(image, setting):
    """The one sigma (image units) a method can run at directly, or None when the image
    needs conditioning (:func:`denoise_under`): Poisson-Gaussian noise, or channels or
    opponent components whose noise differs."""
    if setting.model != "gaussian":
        return None
    sigma = np.asarray(setting.sigma)
    if sigma.max() > _UNEQUAL * sigma.min():
        return None
    if len(sigma) == 3 and setting.estimated:
        top = setting.top(image)
        planes, _ = split_alpha(image)
        comps = (planes.astype(np.float64) / top) @ OPPONENT.T
        found = np.array([sigma_pca(comps[..., k]) for k in range(3)])
        if found.max() > _UNEQUAL * found.min():
            return None
    return float(sigma.mean()) * setting.inflation if setting.chroma == 1.0 else None


def _opponent_scale(unit, setting):
    """Per opponent component: its noise std (measured, the channels being at unit
    noise) times the chroma strength for the two chroma axes."""
    comps = unit @ OPPONENT.T
    measured = np.array([sigma_pca(comps[..., k]) for k in range(3)]) \
        if setting.estimated else np.ones(3)
    measured = np.where(measured > 0, measured, 1.0)
    return measured * np.array([1.0, setting.chroma, setting.chroma])
