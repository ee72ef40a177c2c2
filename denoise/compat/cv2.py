"""OpenCV's denoising calls, computed by this project's kernels.

``from denoise.compat import cv2`` gives functions with OpenCV's names, argument
names and order, defaults, dtype rules and return conventions (the input dtype;
an (H, W, 1) image comes back (H, W); a `dst` of the result's shape and dtype is
filled and returned). Each docstring says which estimator is computed and how
close it is. Calls our kernels do not compute run OpenCV's function, after a
:class:`~denoise.compat.CompatFallbackWarning` (once per function and reason).
Errors are :class:`error`, which is also OpenCV's ``cv2.error`` when OpenCV is
installed, so ``except cv2.error`` keeps working after the import change.
"""
import importlib.util

import numpy as np

from ..errors import DenoiseError
from ._fallback import fall_back
from ._kernels import bilateral_table, median_nd, nlm_fixed_centre

BORDER_CONSTANT, BORDER_REPLICATE, BORDER_REFLECT, BORDER_WRAP = 0, 1, 2, 3
BORDER_REFLECT_101 = BORDER_REFLECT101 = BORDER_DEFAULT = 4
BORDER_ISOLATED = 16
_PAD = {BORDER_CONSTANT: "constant", BORDER_REPLICATE: "edge", BORDER_REFLECT: "symmetric",
        BORDER_WRAP: "wrap", BORDER_REFLECT_101: "reflect"}
#: OpenCV drops NL-means weights below this (its WEIGHT_THRESHOLD).
WEIGHT_FLOOR = 0.001

if importlib.util.find_spec("cv2") is not None:
    import cv2 as _opencv       # the package, not this module (absolute import)
    _ERROR_BASES = (_opencv.error, DenoiseError)
else:
    _opencv = None
    _ERROR_BASES = (DenoiseError,)


class error(*_ERROR_BASES):
    """An OpenCV-style error: invalid input or parameters (OpenCV's cv2.error too,
    when OpenCV is installed)."""


def _original(name, reason, *args):
    """OpenCV's `name` on the arguments (see fall_back); its errors as :class:`error`."""
    try:
        return fall_back(f"denoise.compat.cv2.{name}", reason, f"cv2.{name}",
                         "opencv-python-headless", *args)
    except error:
        raise
    except Exception as exc:
        if _opencv is not None and isinstance(exc, _opencv.error):
            raise error(str(exc)) from exc
        raise


def _source(src, dtypes, channels):
    """`src` as (H, W, C), checked as OpenCV checks it."""
    if not isinstance(src, np.ndarray):
        raise error(f"src must be a numpy array, got {type(src).__name__}")
    if src.ndim not in (2, 3) or src.size == 0:
        raise error(f"src must be a non-empty (H, W) or (H, W, C) array, got shape {src.shape}")
    if src.dtype not in dtypes:
        names = ", ".join(np.dtype(d).name for d in dtypes)
        raise error(f"unsupported src dtype {src.dtype}: this function takes {names}")
    arr = src if src.ndim == 3 else src[..., None]
    if arr.shape[2] not in channels:
        raise error(f"unsupported number of channels {arr.shape[2]}: this function takes "
                    f"{', '.join(map(str, channels))}")
    return arr


def _result(out, dst):
    """OpenCV's return: one channel as (H, W); into `dst` when it fits."""
    if out.ndim == 3 and out.shape[2] == 1:
        out = out[..., 0]
    if isinstance(dst, np.ndarray) and dst.shape == out.shape and dst.dtype == out.dtype:
        dst[...] = out
        return dst
    return out


def _to_u8(work):
    return np.clip(np.rint(work), 0, 255).astype(np.uint8)


def fastNlMeansDenoising(src, dst=None, h=3.0, templateWindowSize=7, searchWindowSize=21):
    """OpenCV's ``cv2.fastNlMeansDenoising``, computed by our NL-means weights.

    Parameters
    ----------
    src : ndarray, uint8, (H, W) or (H, W, C) with C in 1..4 (channels compared jointly)
    dst : ndarray, optional
        Filled and returned when it has the result's shape and dtype.
    h : float, default 3
        Filtering strength in 8-bit units: weights exp(-d2 / h^2), d2 the mean
        squared patch difference over pixels and channels.
    templateWindowSize, searchWindowSize : int, default 7 and 21
        Patch and search window sides (odd; an even side n acts as n + 1, as OpenCV).

    Returns
    -------
    dst : ndarray, uint8, shaped as `src` ((H, W) for one channel)

    Notes
    -----
    OpenCV's estimator on our patch-weight machinery: centred patches, the centre
    pixel weighing 1, weights below 0.001 dropped, borders mirrored without
    repeating the edge (BORDER_REFLECT_101), the result rounded. OpenCV also
    rounds patch distances to steps of 2^k / templateWindowSize^2 and weights to
    fixed point; ours are exact, so outputs differ by at most 1 level in a few
    pixels per thousand (PSNR between the two above 70 dB on Set12 at sigma 25).
    Falls back to OpenCV for the per-channel `h` overload (a sequence of h),
    h = 0 and window sides below 1.
    """
    if np.ndim(h) != 0 or h == 0 or templateWindowSize < 1 or searchWindowSize < 1:
        reason = "a sequence of h" if np.ndim(h) else "h = 0 or a window side below 1"
        return _original("fastNlMeansDenoising", reason, src, dst, h, templateWindowSize,
                         searchWindowSize)
    arr = _source(src, (np.uint8,), (1, 2, 3, 4))
    out = nlm_fixed_centre(arr.astype(np.float32), templateWindowSize // 2,
                           searchWindowSize // 2, abs(float(h)), centre=1.0,
                           floor=WEIGHT_FLOOR)
    return _result(_to_u8(out), dst)


def fastNlMeansDenoisingColored(src, dst=None, h=3.0, hColor=3.0, templateWindowSize=7,
                                searchWindowSize=21):
    """OpenCV's ``cv2.fastNlMeansDenoisingColored``, computed by our NL-means weights.

    Parameters
    ----------
    src : ndarray, uint8, (H, W, 3) BGR or (H, W, 4) BGRA
    dst : ndarray, optional
        Filled and returned when it has the result's shape and dtype.
    h : float, default 3
        Strength on the lightness (8-bit Lab L).
    hColor : float, default 3
        Strength on the two colour components (a, b compared jointly).
    templateWindowSize, searchWindowSize : int, default 7 and 21

    Returns
    -------
    dst : ndarray, uint8, BGR(A); a fourth channel comes back 255, as OpenCV

    Notes
    -----
    As OpenCV: BGR to 8-bit CIE Lab (linear RGB, D65, OpenCV's constants), L
    denoised with `h`, a and b together with `hColor` by
    :func:`fastNlMeansDenoising`'s estimator, back to BGR. Our colour conversions
    are computed in float and rounded, OpenCV's by fixed-point tables: each
    conversion agrees within 1 level (the forward one on 85-98 % of pixels, the
    inverse on about half), so outputs differ by a level or two in places
    (PSNR between the two about 50 dB on noisy images). Same fallbacks as
    :func:`fastNlMeansDenoising`.
    """
    if np.ndim(h) != 0 or np.ndim(hColor) != 0 or h == 0 or hColor == 0 \
            or templateWindowSize < 1 or searchWindowSize < 1:
        return _original("fastNlMeansDenoisingColored", "h or hColor of 0 or a sequence, "
                         "or a window side below 1", src, dst, h, hColor,
                         templateWindowSize, searchWindowSize)
    if not (isinstance(src, np.ndarray) and src.ndim == 3 and src.dtype == np.uint8):
        raise error("Type of input image should be CV_8UC3 or CV_8UC4!")
    arr = _source(src, (np.uint8,), (3, 4))
    lab = bgr_to_lab(arr[..., :3]).astype(np.float32)
    f, d = templateWindowSize // 2, searchWindowSize // 2
    lab[..., :1] = nlm_fixed_centre(lab[..., :1], f, d, abs(float(h)), floor=WEIGHT_FLOOR)
    lab[..., 1:] = nlm_fixed_centre(np.ascontiguousarray(lab[..., 1:]), f, d,
                                    abs(float(hColor)), floor=WEIGHT_FLOOR)
    out = lab_to_bgr(_to_u8(lab))
    if arr.shape[2] == 4:
        out = np.concatenate([out, np.full(out.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return _result(out, dst)


# sRGB primaries to XYZ, the D65 white and the CIE Lab constants OpenCV uses.
_XYZ = np.array([[0.412453, 0.357580, 0.180423],
                 [0.212671, 0.715160, 0.072169],
                 [0.019334, 0.119193, 0.950227]])
_WHITE = np.array([0.950456, 1.0, 1.088754])
_T, _SLOPE, _KAPPA = 0.008856, 7.787, 903.3


def bgr_to_lab(bgr):
    """8-bit linear BGR to OpenCV's 8-bit Lab (L 0..255, a and b offset by 128)."""
    xyz = (bgr[..., ::-1] / 255.0) @ _XYZ.T / _WHITE
    f = np.where(xyz > _T, np.cbrt(xyz), _SLOPE * xyz + 16.0 / 116.0)
    y = xyz[..., 1]
    light = np.where(y > _T, 116.0 * f[..., 1] - 16.0, _KAPPA * y)
    lab = np.stack([light * 2.55, 500.0 * (f[..., 0] - f[..., 1]) + 128.0,
                    200.0 * (f[..., 1] - f[..., 2]) + 128.0], axis=-1)
    return _to_u8(lab)


def lab_to_bgr(lab):
    """OpenCV's 8-bit Lab to 8-bit linear BGR (the inverse of :func:`bgr_to_lab`)."""
    light = lab[..., 0] / 2.55
    y = np.where(light > _KAPPA * _T, ((light + 16.0) / 116.0) ** 3, light / _KAPPA)
    fy = np.where(light > _KAPPA * _T, (light + 16.0) / 116.0, _SLOPE * y + 16.0 / 116.0)
    fx, fz = fy + (lab[..., 1] - 128.0) / 500.0, fy - (lab[..., 2] - 128.0) / 200.0

    def inverse(t):
        return np.where(t > 0.206893, t ** 3, (t - 16.0 / 116.0) / _SLOPE)
    xyz = np.stack([inverse(fx) * _WHITE[0], y, inverse(fz) * _WHITE[2]], axis=-1)
    rgb = xyz @ np.linalg.inv(_XYZ).T
    return _to_u8(rgb[..., ::-1] * 255.0)


def bilateralFilter(src, d, sigmaColor, sigmaSpace, dst=None, borderType=BORDER_DEFAULT):
    """OpenCV's ``cv2.bilateralFilter``, computed by our bilateral kernel.

    Parameters
    ----------
    src : ndarray, uint8 or float32, (H, W) or (H, W, 1) or (H, W, 3)
    d : int
        Window diameter; <= 0: 2 round(1.5 sigmaSpace) + 1. The window is the disk
        of radius max(d // 2, 1), as OpenCV.
    sigmaColor, sigmaSpace : float
        Range and spatial Gaussian stds (<= 0 taken as 1), in the image's units.
    dst : ndarray, optional
    borderType : int, default BORDER_DEFAULT (BORDER_REFLECT_101)
        BORDER_CONSTANT, _REPLICATE, _REFLECT, _WRAP, _REFLECT_101 (| BORDER_ISOLATED).

    Returns
    -------
    dst : ndarray, dtype and shape of `src`

    Notes
    -----
    OpenCV's estimator (disk window, Gaussian spatial and range weights, the
    border padded as OpenCV does; for colour images the range weight of the sum
    of absolute channel differences, squared, as OpenCV weighs it: our
    ``opencv_compat`` distance) with exact weights; OpenCV tabulates them (uint8:
    exactly per level; float32: interpolated over the image's range). uint8
    outputs differ by at most 1 level where OpenCV's rounding falls the other
    way; float32 by 2e-4 of the range. Windows of radius above 50 fall back to
    OpenCV.
    """
    arr = _source(src, (np.uint8, np.float32), (1, 3))
    border = borderType & ~BORDER_ISOLATED
    radius = max(int(d) // 2 if d > 0 else round(sigmaSpace * 1.5), 1)
    reason = ("a window radius above 50" if radius > 50
              else None if border in _PAD else f"borderType {borderType}")
    if reason is not None:
        return _original("bilateralFilter", reason, src, d, sigmaColor, sigmaSpace, dst,
                         borderType)
    work = arr.astype(np.float32)
    if src.dtype == np.float32 and work.max() - work.min() < np.finfo(np.float32).eps:
        return _result(work.copy(), dst)
    sigma_color = sigmaColor if sigmaColor > 0 else 1.0
    sigma_space = sigmaSpace if sigmaSpace > 0 else 1.0
    offsets = np.arange(-radius, radius + 1, dtype=np.float64) ** 2
    r2 = offsets[:, None] + offsets[None, :]
    table = np.where(np.sqrt(r2) <= radius, np.exp(-r2 / (2.0 * sigma_space ** 2)), 0.0)
    padded = np.pad(work, ((radius, radius), (radius, radius), (0, 0)), mode=_PAD[border])
    out = bilateral_table(padded, table, sigma_color,
                          l1=arr.shape[2] == 3)[radius:-radius, radius:-radius]
    return _result(_to_u8(out) if src.dtype == np.uint8 else out, dst)


def medianBlur(src, ksize, dst=None):
    """OpenCV's ``cv2.medianBlur``, computed by our exact median.

    Parameters
    ----------
    src : ndarray, (H, W) or (H, W, C)
        uint8 for any ksize (1, 3 or 4 channels above 5); uint16, int16 or float32
        for ksize 3 and 5 (1 to 4 channels), as OpenCV.
    ksize : int
        Odd window side, >= 1 (1 copies `src`, any dtype).
    dst : ndarray, optional

    Returns
    -------
    dst : ndarray, dtype and shape of `src`

    Notes
    -----
    Exact: equal to OpenCV's output, per channel, with OpenCV's replicated border.
    """
    if isinstance(ksize, bool) or not isinstance(ksize, (int, np.integer)):
        raise error(f"Argument 'ksize' is required to be an integer, got {ksize!r}")
    if ksize == 1 and isinstance(src, np.ndarray):
        return _result(src.copy(), dst)       # any dtype, as OpenCV
    if ksize < 1 or ksize % 2 == 0:
        raise error(f"ksize must be odd and >= 1, got {ksize}")
    small = ksize <= 5
    dtypes = (np.uint8, np.uint16, np.int16, np.float32) if small else (np.uint8,)
    arr = _source(src, dtypes, (1, 2, 3, 4) if small else (1, 3, 4))
    radius = ksize // 2
    signed = arr.dtype == np.int16            # to uint16 in order: flip the sign bit
    native = arr.view(np.uint16) ^ np.uint16(0x8000) if signed else arr
    out = median_nd(native, (0, 1), radius, "symmetric" if radius <= 1 else "edge")
    return _result((out ^ np.uint16(0x8000)).view(np.int16) if signed else out, dst)


__all__ = ["BORDER_CONSTANT", "BORDER_DEFAULT", "BORDER_ISOLATED", "BORDER_REFLECT",
           "BORDER_REFLECT101", "BORDER_REFLECT_101", "BORDER_REPLICATE", "BORDER_WRAP",
           "bilateralFilter", "error", "fastNlMeansDenoising", "fastNlMeansDenoisingColored",
           "medianBlur"]
