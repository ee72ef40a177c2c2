"""Choose a method's parameters for one image, through the registry.

:func:`tune` scores each candidate of a grid with :func:`denoise.auto.denoise_image`,
as ``denoise run`` would (nothing here knows a method): by PSNR against a clean
reference, or else by the J-invariant loss of Noise2Self (Batson & Royer, ICML 2019;
:func:`jinv_loss`) on a centre crop, with ONE grid mask (scikit-image's approximate
loss in ``calibrate_denoiser``, here with the phase ``stride // 2`` in both axes).
The parameters are meant for the plain (not blanked) denoiser, which is better with
the same parameters but may prefer others (benchmarks/tune_accuracy.py measures it).
"""
import itertools
import logging
import time
from dataclasses import dataclass, replace
from typing import NamedTuple, Optional

import numpy as np

from ._image import ImageInfo, check_image, data_range_of, image_range, split_alpha
from .auto import NoiseRequest, denoise_image, parse_sigma, validation_sigma
from .errors import ImageFormatError, InvalidParameterError
from .metrics import psnr
from .noise.condition import resolve_noise
from .noise.estimate import estimate_noise
from .registry import coerce_params, get_filter

log = logging.getLogger(__name__)

#: The default grid: the strength (the sigma the method is given, times) these.
SIGMA_FACTORS = (0.5, 0.7, 1.0, 1.4, 2.0)
#: The grid key for the strength (``denoise run --strength``).
STRENGTH = "strength"
#: The largest correlation radius the blanking covers; beyond it, a warning.
MAX_RADIUS = 3
PSNR, JINV = "psnr", "j-invariant mse"


class Trial(NamedTuple):
    """A scored candidate (a grid's ``sigma`` as ``--sigma`` text); kind: PSNR or JINV."""

    params: dict
    score: float
    kind: str


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` found: the ranking (best first) and how it was made."""

    method: str
    ranking: tuple             # of Trial, best first
    kind: str                  # PSNR (higher is better) or JINV (lower is better)
    stopped_early: bool        # max_seconds ran out before every candidate was tried
    tried: int
    candidates: int            # the grid's size
    radius: Optional[int]      # correlation radius used (None with a clean reference)
    stride: Optional[int]      # mask stride used (None with a clean reference)
    request: NoiseRequest      # as given (sigma auto stays auto)
    notes: tuple = ()

    @property
    def best(self):
        """The best :class:`Trial`."""
        return self.ranking[0]


def tune(image, method, grid=None, *, clean=None, request=NoiseRequest(), stride=4,
         crop=512, max_seconds=None, progress=None):
    """Rank the candidate parameters of `method` for `image`.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16 or float, as ``denoise run`` reads it.
    method : str or FilterSpec
        A registered method.
    grid : dict, optional
        ``{parameter: [values]}``, values as ``-p`` takes them (text) or typed; the key
        ``sigma`` takes ``--sigma`` values. Default: :func:`default_grid`.
    clean : ndarray, optional
        A clean reference shaped like `image`: rank by PSNR on the whole image.
    request : NoiseRequest
        The noise, as ``--sigma`` gives it (default: estimated on the whole image).
    stride, crop : int, default 4 and 512
        Without `clean`: the mask stride (raised to ``2 r + 2`` for correlation radius
        r) and the largest side of the centre crop the loss is taken on.
    max_seconds : float, optional
        Start no candidate after this many seconds (the first always runs).
    progress : callable, optional
        Called with no argument after each candidate.

    Returns
    -------
    TuneResult
    """
    start = time.perf_counter()
    spec = get_filter(method) if isinstance(method, str) else method
    check_image(image)
    if clean is not None:
        check_reference(image, clean)
    given = _coerced(spec, grid, request) if grid else None
    pinned, notes = _pinned(image, request)
    given = given or _coerced(spec, default_grid(spec), pinned)
    candidates = _candidates(spec, given, image, pinned)
    score, radius, stride, more = _scorer(image, clean, spec, pinned, stride, crop)
    kind, trials = JINV if clean is None else PSNR, []
    for note in notes + more:
        log.warning(note)
    for params in candidates:
        if trials and max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
        trials.append(Trial(params, score(params), kind))
        log.info("%s %s: %s %.6g", spec.name, params, kind, trials[-1].score)
        if progress is not None:
            progress()
    ranking = sorted(trials, key=lambda t: -t.score if kind == PSNR else t.score)
    return TuneResult(spec.name, tuple(ranking), kind, len(trials) < len(candidates),
                      len(trials), len(candidates), radius, stride, request, notes + more)


def grid_size(grid):
    """How many candidates `grid` makes (the default grid's when it is empty)."""
    return int(np.prod([len(v) for v in grid.values()])) if grid else len(SIGMA_FACTORS)


def default_grid(spec):
    """``{"strength": SIGMA_FACTORS}``: the sigma the method is given (estimated, given,
    or through a noise-level function) times each factor, with every step ``denoise
    run`` takes (conditioning included); for methods with parameters from sigma."""
    if not spec.sigma_required and all(p.default is not None for p in spec.params):
        raise InvalidParameterError(f"{spec.name}: no parameter follows sigma: give a grid "
                                    f"(--grid KEY=V1,V2)")
    return {STRENGTH: [f"{f:g}" for f in SIGMA_FACTORS]}


def check_reference(image, clean, names=("the image", "the clean reference")):
    """Raise ImageFormatError naming both shapes and `names` unless they match."""
    if clean.shape != image.shape:
        raise ImageFormatError(f"{names[1]} has shape {clean.shape} but {names[0]} has "
                               f"shape {image.shape}; a clean reference must match")


def jinv_loss(image, denoise_fn, stride=4, radius=0):
    """The J-invariant loss of ``denoise_fn`` on `image`: the mean squared difference
    (image units, color channels) between ``denoise_fn(masked_image(image, stride,
    radius))`` and `image` at the masked pixels."""
    rows, cols = _mask(image.shape, stride)
    out = np.asarray(denoise_fn(masked_image(image, stride, radius)), dtype=np.float64)
    noisy = _color(image.astype(np.float64))[np.ix_(rows, cols)]
    return float(np.mean((_color(out)[np.ix_(rows, cols)] - noisy) ** 2))


def masked_image(image, stride=4, radius=0):
    """`image` with the grid mask blanked: the pixels at ``stride // 2 + k stride`` in
    both axes and their `radius`-neighbourhoods (squares) take the mean of the four
    pixels at distance ``radius + 1`` along the axes (one outside the image: its mirror
    about the masked pixel). Every channel (alpha too: no method reads it); integers
    are rounded."""
    if stride < 2 * radius + 2:
        raise InvalidParameterError(
            f"stride must be at least 2 radius + 2 = {2 * radius + 2}, got {stride}")
    x = image.astype(np.float64)
    (height, width), (rows, cols), d = x.shape[:2], _mask(x.shape, stride), radius + 1
    fill = sum(x[np.ix_(_beside(rows, dr, height), _beside(cols, dc, width))]
               for dr, dc in ((-d, 0), (d, 0), (0, -d), (0, d))) / 4.0
    for a, b in itertools.product(range(-radius, radius + 1), repeat=2):
        in_r, in_c = (rows + a >= 0) & (rows + a < height), (cols + b >= 0) & (cols + b < width)
        x[np.ix_(rows[in_r] + a, cols[in_c] + b)] = fill[np.ix_(in_r, in_c)]
    if np.dtype(image.dtype).kind == "u":
        x = np.clip(np.rint(x), 0, data_range_of(image.dtype))
    return x.astype(image.dtype)


def correlation_radius(image, *, limit=MAX_RADIUS):
    """The radius in pixels over which the noise of `image` is correlated, the largest
    over its channels as :func:`~denoise.noise.estimate.estimate_noise` measures it
    (``limit + 1``: beyond `limit`, or beyond what the estimate can tell)."""
    found = estimate_noise(image, warn=False).correlation
    return max(limit + 1 if r is None else min(r, limit + 1) for r in found)


def _scorer(image, clean, spec, request, stride, crop):
    """(score of a candidate, radius, stride, notes): PSNR of the whole image against
    `clean`, or without it the J-invariant loss on the centre crop."""
    def score(params):
        req, given = _split(params, request)
        if clean is None:
            return jinv_loss(part, lambda x: denoise_image(x, spec, req, given)[0],
                             stride, radius)
        out = denoise_image(image, spec, req, given)[0]
        return psnr(_color(clean), _color(out), data_range=request.data_range)

    if clean is not None:
        return score, None, None, ()
    (height, width), notes = image.shape[:2], ()
    top, left = max(0, (height - crop) // 2), max(0, (width - crop) // 2)
    part = image[top:top + crop, left:left + crop]
    radius = correlation_radius(part)
    if radius > MAX_RADIUS:
        notes = (f"the noise looks correlated beyond {MAX_RADIUS} pixels (or the image is "
                 f"heavily textured): the choice may under-smooth; a clean reference helps",)
        radius = MAX_RADIUS
    elif radius > 0:
        # measured on demosaiced camera noise (BENCHMARKS.md, tune): predicting a pixel
        # from beyond the widened blind spot rewards smoothing, so the loss falls with
        # the strength and the choice over-smooths by 2-3 dB on average
        notes = (f"the noise is correlated over {radius} pixel(s): the blind spot is widened "
                 f"to match, and the choice then tends to over-smooth; prefer the default "
                 f"(strength 1) or a clean reference",)
    stride = max(stride, 2 * radius + 2)
    if min(part.shape[:2]) <= stride // 2:
        raise InvalidParameterError(
            f"the image ({width}x{height}) is too small for a mask of stride {stride}")
    return score, radius, stride, notes


def _coerced(spec, grid, request):
    """``{key: [typed values]}`` from `grid` (sigma values checked, kept as text)."""
    if "sigma" in grid and request.gain is not None:
        raise InvalidParameterError("a sigma grid has no effect with a given gain")
    out = {key: [str(v).strip() for v in values] for key, values in grid.items()}
    for key, texts in out.items():
        if not texts:
            raise InvalidParameterError(f"grid {key}: no values")
        if key == "sigma" and any(parse_sigma(t) == (None, None) for t in texts):
            raise InvalidParameterError("a sigma grid takes values, not auto (the default "
                                        "grid is around the estimate)")
        if key == "sigma":
            out[key] = texts
        elif key == STRENGTH:
            out[key] = [_strength(t) for t in texts]
        else:
            out[key] = [coerce_params(spec, {key: t})[key] for t in texts]
    return out


def _strength(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise InvalidParameterError(f"strength must be a number > 0, got {text!r}")
    return value


def _candidates(spec, grid, image, request):
    """Every combination of `grid`, each planned (a bad value fails before filtering)."""
    info = ImageInfo.of(image, request.data_range)
    top = info.data_range
    out = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]
    for req, given in (_split(params, request) for params in out):
        spec.plan(info, validation_sigma(req, info) or 25.0 / 255.0 * top, **given)
    return out


def _split(params, request):
    """(the request with the candidate's sigma, the method's parameters)."""
    given = dict(params)
    if (strength := given.pop(STRENGTH, None)) is not None:
        request = replace(request, strength=strength)
    if (sigma := given.pop("sigma", None)) is None:
        return request, given
    absolute, relative = parse_sigma(sigma)
    return replace(request, sigma=absolute, relative=relative, fixed=None), given


def _pinned(image, request):
    """(`request` with the noise and the data range resolved once on the whole image, as
    ``denoise run`` does, the warnings): blanked crops estimated again would read the
    noise lower (about 7 %), and a crop's values may span less than the image's."""
    top = image_range(image, request.data_range)
    setting = resolve_noise(image, sigma=request.sigma_for(top), model=request.model,
                            gain=request.gain, offset=request.offset, chroma=request.chroma,
                            data_range=top)
    return replace(request, fixed=setting, data_range=top), tuple(setting.warnings)


def _mask(shape, stride):
    """Row and column indices of the grid mask (phase stride // 2 in both axes)."""
    return np.arange(stride // 2, shape[0], stride), np.arange(stride // 2, shape[1], stride)


def _beside(index, offset, size):
    """`index + offset`, or `index - offset` where that falls outside 0..size-1."""
    return np.where((index + offset >= 0) & (index + offset < size), index + offset,
                    index - offset)


def _color(image):
    """(H, W, C) color channels of `image` (alpha dropped)."""
    return split_alpha(image[..., None] if image.ndim == 2 else image)[0]


__all__ = ["JINV", "PSNR", "SIGMA_FACTORS", "TuneResult", "Trial", "check_reference",
           "correlation_radius", "default_grid", "grid_size", "jinv_loss", "masked_image",
           "tune"]
