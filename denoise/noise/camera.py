"""Realistic camera noise with a noise-free twin: the "Unprocessing" pipeline.

Brooks et al., "Unprocessing Images for Learned Raw Denoising", CVPR 2019
(arXiv 1811.11127). An sRGB image is taken back to a plausible RGGB raw mosaic
(:func:`unprocess`), heteroscedastic shot/read noise is added there
(:func:`add_raw_noise`), and both the clean and the noisy raw are rendered to sRGB
by the same simple camera pipeline (:func:`process`). :func:`camera_noise` does
all three and returns the noisy image, its ground truth and the parameters.

All arrays are float64; every random value comes from the numpy Generator passed
in, in the order documented by :func:`random_params` and :func:`add_raw_noise`.
"""
from dataclasses import dataclass

import numpy as np

from .._validate import check_bool, check_positive
from ..errors import InvalidParameterError

# XYZ -> camera matrices of four cameras, as published with Brooks et al. 2019.
XYZ2CAMS = np.array([
    [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
    [[0.4913, -0.0541, -0.0202], [-0.613, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
    [[0.838, -0.263, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
    [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.097, 0.1581, 0.5181]],
])
RGB2XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                    [0.2126729, 0.7151522, 0.0721750],
                    [0.0193339, 0.1191920, 0.9503041]])
SHOT_RANGE = (1e-4, 1.2e-2)
# 3x3 bilinear interpolation kernels for the full-resolution red/blue and green samples.
_RB_KERNEL = np.outer([0.5, 1.0, 0.5], [0.5, 1.0, 0.5])
_G_KERNEL = np.array([[0.0, 0.25, 0.0], [0.25, 1.0, 0.25], [0.0, 0.25, 0.0]])


@dataclass(frozen=True)
class CameraParams:
    """The camera drawn for one image: colour matrices, gains and noise levels."""

    rgb2cam: np.ndarray      # (3, 3), rows sum to 1
    cam2rgb: np.ndarray      # (3, 3), inverse of rgb2cam
    rgb_gain: float          # brightening undone by unprocess (not redone by process)
    red_gain: float          # white-balance gain of the red channel
    blue_gain: float         # white-balance gain of the blue channel
    shot: float              # lambda_shot: the variance per unit of raw signal
    read: float              # lambda_read: the signal-independent variance


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise InvalidParameterError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    return rng


def random_params(rng, *, shot=None, read=None):
    """Draw a random camera as in Brooks et al. 2019.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every random value, drawn always in this order: 4 CCM weights
        ``U(1e-8, 1e8)``; ``N(0.8, 0.1)`` (``rgb_gain`` is its inverse); red gain
        ``U(1.9, 2.4)``; blue gain ``U(1.5, 1.9)``; ``log shot ~ U(log 1e-4, log 1.2e-2)``;
        the ``N(0, 0.26)`` offset of ``log read``. Given levels still consume their draws.
    shot, read : float, optional
        Noise levels used as given; ``read`` is a variance. When only `shot` is given,
        ``read = exp(2.18 log shot + 1.20 + N(0, 0.26^2))`` is drawn from it.

    Returns
    -------
    CameraParams
    """
    rng = _check_rng(rng)
    weights = rng.uniform(1e-8, 1e8, size=4)
    rgb_gain = 1.0 / rng.normal(0.8, 0.1)
    red_gain = rng.uniform(1.9, 2.4)
    blue_gain = rng.uniform(1.5, 1.9)
    log_shot = rng.uniform(np.log(SHOT_RANGE[0]), np.log(SHOT_RANGE[1]))
    read_offset = rng.normal(0.0, 0.26)

    xyz2cam = np.tensordot(weights, XYZ2CAMS, axes=1) / weights.sum()
    rgb2cam = xyz2cam @ RGB2XYZ
    rgb2cam = rgb2cam / rgb2cam.sum(axis=1, keepdims=True)
    shot = np.exp(log_shot) if shot is None else check_positive("shot", shot)
    if read is None:
        read = float(np.exp(2.18 * np.log(shot) + 1.20 + read_offset))
    elif read != 0:
        read = check_positive("read", read)
    return CameraParams(rgb2cam=rgb2cam, cam2rgb=np.linalg.inv(rgb2cam),
                        rgb_gain=float(rgb_gain), red_gain=float(red_gain),
                        blue_gain=float(blue_gain), shot=float(shot), read=float(read))


def smoothstep(x):
    """The global tone curve ``3x^2 - 2x^3``."""
    return x * x * (3.0 - 2.0 * x)


def inverse_smoothstep(x):
    """The exact inverse of :func:`smoothstep` on [0, 1]; `x` is clipped to [0, 1] first."""
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * np.clip(x, 0.0, 1.0)) / 3.0)


def unprocess(srgb, params):
    """Turn an sRGB image into an RGGB raw mosaic.

    Inverse tone curve, inverse gamma 2.2, ``rgb2cam``, inverse white balance and
    brightening with highlight protection, clip to [0, 1], then the Bayer mosaic.

    Parameters
    ----------
    srgb : ndarray, shape (H, W, 3)
        Float sRGB in [0, 1] (values outside are clipped); H and W even.
    params : CameraParams

    Returns
    -------
    ndarray, shape (H/2, W/2, 4)
        The raw planes R, Gr, Gb, B in [0, 1].
    """
    x = _check_srgb(srgb)
    if x.shape[0] % 2 or x.shape[1] % 2:
        raise InvalidParameterError(f"unprocess needs an even height and width, got {x.shape}")
    x = np.maximum(inverse_smoothstep(x), 1e-8) ** 2.2
    x = x @ params.rgb2cam.T
    gains = np.array([1.0 / params.red_gain, 1.0, 1.0 / params.blue_gain]) / params.rgb_gain
    mask = (np.maximum(x.mean(axis=-1, keepdims=True) - 0.9, 0.0) / 0.1) ** 2
    x = np.clip(x * np.maximum(mask + (1.0 - mask) * gains, gains), 0.0, 1.0)
    return np.stack([x[0::2, 0::2, 0], x[0::2, 1::2, 1], x[1::2, 0::2, 1], x[1::2, 1::2, 2]],
                    axis=-1)


def add_raw_noise(raw, params, rng, *, poisson=False):
    """Add shot and read noise to a raw mosaic; the result is not clipped.

    Gaussian (default): ``raw + N(0, raw * shot + read)`` per sample, one
    ``standard_normal`` draw of ``raw.shape``. With `poisson`:
    ``shot * Poisson(raw / shot) + N(0, read)`` (the Poisson draw, then the normal one).
    Negative values count as 0 in the signal-dependent part.
    """
    rng = _check_rng(rng)
    raw = np.asarray(raw, dtype=np.float64)
    signal = np.maximum(raw, 0.0)
    if check_bool("poisson", poisson):
        counts = rng.poisson(signal / params.shot)
        return params.shot * counts + np.sqrt(params.read) * rng.standard_normal(raw.shape)
    std = np.sqrt(signal * params.shot + params.read)
    return raw + std * rng.standard_normal(raw.shape)


def demosaic(raw):
    """Bilinear demosaic of RGGB planes (h, w, 4) to RGB (2h, 2w, 3), mirrored at the borders.

    Known samples are kept; a missing red or blue value is the mean of its 2 or 4
    nearest same-colour samples, a missing green the mean of its 4 neighbours.
    """
    h, w = raw.shape[:2]
    sparse = np.zeros((2 * h, 2 * w, 3))
    sparse[0::2, 0::2, 0] = raw[..., 0]
    sparse[0::2, 1::2, 1] = raw[..., 1]
    sparse[1::2, 0::2, 1] = raw[..., 2]
    sparse[1::2, 1::2, 2] = raw[..., 3]
    padded = np.pad(sparse, ((1, 1), (1, 1), (0, 0)), mode="reflect")
    kernels = np.stack([_RB_KERNEL, _G_KERNEL, _RB_KERNEL], axis=-1)
    out = np.zeros_like(sparse)
    for dy in range(3):
        for dx in range(3):
            out += kernels[dy, dx] * padded[dy:dy + 2 * h, dx:dx + 2 * w]
    return out


def process(raw, params):
    """Render a raw mosaic to sRGB as the camera would.

    White balance (R by ``red_gain``, B by ``blue_gain``; ``rgb_gain`` is not
    re-applied), clip, bilinear :func:`demosaic`, ``cam2rgb``, clip, gamma 1/2.2.
    No tone curve.

    Parameters
    ----------
    raw : ndarray, shape (h, w, 4)
        RGGB planes, noisy or not.
    params : CameraParams

    Returns
    -------
    ndarray, shape (2h, 2w, 3)
        sRGB in [0, 1].
    """
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim != 3 or raw.shape[-1] != 4:
        raise InvalidParameterError(f"raw must have shape (h, w, 4), got {raw.shape}")
    gains = np.array([params.red_gain, 1.0, 1.0, params.blue_gain])
    rgb = demosaic(np.clip(raw * gains, 0.0, 1.0)) @ params.cam2rgb.T
    return np.maximum(np.clip(rgb, 0.0, 1.0), 1e-8) ** (1.0 / 2.2)


def camera_noise(srgb, rng, *, shot=None, read=None, poisson=False, tone=False):
    """Realistic camera noise on an sRGB image, with its noise-free ground truth.

    Parameters
    ----------
    srgb : ndarray, shape (H, W, 3)
        Float sRGB in [0, 1]. An odd H or W loses its last row or column, so both
        outputs have shape ``(H - H % 2, W - W % 2, 3)``.
    rng : numpy.random.Generator
        Draws the camera (:func:`random_params`), then the noise (:func:`add_raw_noise`).
    shot, read : float, optional
        Fixed noise levels (see :func:`random_params`).
    poisson : bool
        Poisson shot noise in place of its Gaussian approximation.
    tone : bool
        Apply the tone curve ``3x^2 - 2x^3`` to both outputs, to match the input's look.

    Returns
    -------
    noisy, truth : ndarray, shape (H - H % 2, W - W % 2, 3)
        ``process(add_raw_noise(unprocess(srgb)))`` and ``process(unprocess(srgb))``,
        in [0, 1]. Compare a denoised `noisy` with `truth`, never with `srgb`.
    params : CameraParams
    """
    x = _check_srgb(srgb)
    x = x[:x.shape[0] - x.shape[0] % 2, :x.shape[1] - x.shape[1] % 2]
    params = random_params(rng, shot=shot, read=read)
    raw = unprocess(x, params)
    noisy = process(add_raw_noise(raw, params, rng, poisson=poisson), params)
    truth = process(raw, params)
    if check_bool("tone", tone):
        noisy, truth = smoothstep(noisy), smoothstep(truth)
    return noisy, truth, params


def _check_srgb(srgb):
    x = np.asarray(srgb)
    if x.ndim != 3 or x.shape[-1] != 3 or min(x.shape[:2]) < 2:
        raise InvalidParameterError(f"expected an (H, W, 3) image, H, W >= 2, got {x.shape}")
    if x.dtype.kind != "f":
        raise InvalidParameterError(f"expected float sRGB in [0, 1], got {x.dtype}")
    return x.astype(np.float64)
