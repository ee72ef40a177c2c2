"""Denoise an image whatever its noise: sigma estimated, given, or relative to the range.

:func:`denoise` is the library's call and ``denoise run``'s per-file step: it
resolves the image's noise (:mod:`.noise.condition`), then runs the method directly
at one sigma when the noise is plain white Gaussian noise, or on the image
conditioned to unit white noise otherwise (signal-dependent or chroma-heavy noise).
"""
import re
from dataclasses import dataclass
from typing import Optional

from ._image import ImageInfo
from .errors import InvalidParameterError
from .noise.condition import NoiseSetting, denoise_under, direct_sigma, resolve_noise
from .registry import get_filter

_RELATIVE = re.compile(r"^\s*([0-9.eE+-]+)\s*(%|/\s*([0-9.eE+-]+))\s*$")


@dataclass(frozen=True)
class NoiseRequest:
    """What the caller said about the noise: a sigma in image units, or one relative to
    each image's data range (`relative`, a fraction), or nothing (estimate); the noise
    model; a noise-level function's gain and offset ([0, 1] units); chroma strength;
    the strength that multiplies the sigma the method is given (above 1 smooths more),
    optionally the noise already resolved for the image, and the data range to take
    for every image (None: each image's own, :func:`~denoise._image.image_range`)."""

    sigma: Optional[float] = None
    relative: Optional[float] = None
    model: str = "auto"
    gain: Optional[float] = None
    offset: Optional[float] = None
    chroma: float = 1.0
    strength: float = 1.0          # multiplies the sigma the method is given
    fixed: Optional[NoiseSetting] = None   # the noise already resolved (tune: once per image)
    data_range: Optional[float] = None     # given; None: each image's own

    @property
    def absolute(self):
        """True when a sigma in image units was given (it means different things for
        8-bit and 16-bit files)."""
        return self.sigma is not None

    def sigma_for(self, data_range):
        """The given sigma for an image of `data_range`, or None (estimate it)."""
        if self.relative is not None:
            return self.relative * data_range
        return self.sigma


def parse_sigma(text):
    """``"auto"`` -> (None, None); ``"25"`` -> (25.0, None); ``"10%"`` -> (None, 0.1);
    ``"25/255"`` -> (None, 25 / 255). Raises InvalidParameterError otherwise."""
    text = str(text).strip()
    if text.lower() == "auto":
        return None, None
    match = _RELATIVE.match(text)
    try:
        if match:
            value = float(match.group(1))
            scale = 100.0 if match.group(2) == "%" else float(match.group(3))
            fraction = value / scale
            if not fraction > 0 or not fraction < 1e6:
                raise ValueError
            return None, fraction
        value = float(text)
        if not value > 0 or value == float("inf"):
            raise ValueError
        return value, None
    except (ValueError, ZeroDivisionError):
        raise InvalidParameterError(
            f"sigma must be auto, a number > 0 in the image's units (25), a percentage of "
            f"the data range (10%) or a value on a stated scale (25/255); got {text!r}") \
            from None


def denoise_image(image, method, request, given=None):
    """``(denoised, NoiseSetting)`` for `image` with `method` (a name or FilterSpec)
    and `given` parameters, for the noise `request` describes."""
    spec = get_filter(method) if isinstance(method, str) else method
    given = dict(given or {})
    info = ImageInfo.of(image, request.data_range)
    setting = request.fixed or resolve_noise(
        image, sigma=request.sigma_for(info.data_range), model=request.model,
        gain=request.gain, offset=request.offset, chroma=request.chroma,
        data_range=info.data_range)
    sigma = direct_sigma(image, setting)
    if sigma is not None:
        plan = spec.plan(info, sigma * request.strength, **given)
        return spec.run(image, plan), setting

    def method_on(work, unit_sigma):                  # work: float64 on [0, 1]
        plan = spec.plan(ImageInfo.of(work, 1.0), unit_sigma * request.strength, **given)
        return spec.run(work, plan)

    return denoise_under(image, setting, method_on), setting


def denoise(image, method="attention", *, sigma="auto", noise_model="auto", gain=None,
            offset=None, chroma_strength=1.0, strength=1.0, data_range=None, **params):
    """Denoise `image` with `method`, its noise estimated unless given.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16 or float.
    method : str, default "attention"
        A registered method (``denoise.REGISTRY``).
    sigma : float or str, default "auto"
        "auto" (estimated per channel), a sigma in the image's units, "10%" of the
        data range, or "25/255" (25 on a 0-255 scale).
    noise_model : str, default "auto"
        "gaussian", "poisson-gaussian" or "auto" (Poisson-Gaussian where the estimated
        noise grows with brightness).
    gain, offset : float, optional
        A given noise-level function ``var = gain * x + offset`` for the image on [0, 1].
    chroma_strength : float, default 1.0
        Color images: how much harder chroma noise is smoothed than luma noise.
    strength : float, default 1.0
        Multiplies the sigma the method is given (above 1 smooths more), whatever
        the noise model; ``denoise tune`` chooses it without a clean image.
    data_range : float, optional
        What the image's values span, in its units: the scale sigma rules, relative
        sigmas and the noise-level function are read against. Default 255 / 65535
        for 8 / 16 bits; for float images 1, 255 or 65535, the smallest whose four
        times holds every value, else the largest magnitude (``denoise.image_range``).
    **params
        The method's parameters.

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> noisy = np.clip(0.5 + rng.normal(0.0, 0.1, (64, 64)), 0, 1)
    >>> out = denoise(noisy, "median")
    >>> bool(np.std(out) < np.std(noisy))
    True
    """
    if isinstance(sigma, str):
        absolute, relative = parse_sigma(sigma)
    else:
        absolute, relative = sigma, None
    if not strength > 0:
        raise InvalidParameterError(f"strength must be > 0, got {strength!r}")
    request = NoiseRequest(absolute, relative, noise_model, gain, offset, chroma_strength,
                           strength, data_range=data_range)
    return denoise_image(image, method, request, params)[0]


__all__ = ["NoiseRequest", "NoiseSetting", "denoise", "denoise_image", "parse_sigma"]


def check_plans(jobs, plans, request):
    """Refuse a sigma in image units for files of different data ranges (it would be
    noise in one and nothing in the other), naming two of them."""
    if not request.absolute:
        return
    seen = {}
    for job, plan in zip(jobs, plans):
        if plan is None:
            continue
        top = plan.info.data_range
        seen.setdefault(top, job.source)
        if len(seen) > 1:
            (top_a, file_a), (top_b, file_b) = list(seen.items())[:2]
            raise InvalidParameterError(
                f"--sigma {request.sigma:g} is in image units, but {file_a} ranges over "
                f"0-{top_a:g} and {file_b} over 0-{top_b:g}: give it relative to each "
                f"file's range (e.g. {100 * request.sigma / top_a:.3g}% or "
                f"{request.sigma:g}/{top_a:g}) or use auto")


def validation_sigma(request, info):
    """A sigma to plan with before the image is read (so a bad -p fails first): the
    request's, or a typical one (25 on a 0-255 scale) when it will be estimated."""
    top = info.data_range
    sigma = request.sigma_for(top)
    return 25.0 / 255.0 * top if sigma is None and request.gain is None else sigma
