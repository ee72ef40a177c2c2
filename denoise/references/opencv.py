"""OpenCV's denoisers as ``ref:`` methods: bilateral, median and non-local means."""
from typing import NamedTuple

import numpy as np

from .._config import get_threads
from .._validate import check_int, check_positive
from ..registry import Setup, register
from . import available, call_package, scaled, size_rule

_INSTALLED = available("cv2")


class _Bilateral(NamedTuple):
    diameter: int
    sigma_color: float         # OpenCV's 8-bit units: working units * 255
    sigma_space: float


class _Nlm(NamedTuple):
    h: float                   # 8-bit units, as OpenCV's NLM takes them
    h_color: float
    template_size: int
    search_size: int


def _cv2():
    import cv2

    cv2.setNumThreads(get_threads())
    return cv2


def _rgb_bgr(arr):
    return arr[..., ::-1] if arr.ndim == 3 else arr


def _to_u8(arr):
    """[0, 1] float to uint8 (clipped and rounded), as OpenCV's NLM requires."""
    return np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)


def _bilateral_prepare(info, sigma, p):
    sigma_color = check_positive("sigma_color", p["sigma_color"]) / info.data_range * 255.0
    sigma_space = check_positive("sigma_space", p["sigma_space"])
    diameter = check_int("diameter", p["diameter"], minimum=1, maximum=101)
    # OpenCV's radius is max(diameter // 2, 1); on float32 its range weights are
    # tabulated over the image's value range (min and max).
    return Setup(_Bilateral(diameter, sigma_color, sigma_space),
                 halo=max(diameter // 2, 1), statistics=("value range",))


def _bilateral_apply(work, plan):
    cv2 = _cv2()
    diameter, sigma_color, sigma_space = plan.config

    def call(arr):
        scaled = (arr * 255.0).astype(np.float32)           # OpenCV's 8-bit units
        return cv2.bilateralFilter(scaled, diameter, sigma_color, sigma_space) / 255.0
    return call_package(work, call)


@register("ref:opencv-bilateral", family="bilateral", rule=scaled(sigma_color=3.0),
          prepare=_bilateral_prepare, apply=_bilateral_apply, available=_INSTALLED)
def opencv_bilateral(image, *, sigma: float | None = None, sigma_color: float | None = None,
                     sigma_space: float = 2.0, diameter: int = 5):
    """OpenCV bilateral filter (cv2.bilateralFilter on float32, no quantisation).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Any supported dtype; color distances are joint.
    sigma : float, optional
        Noise standard deviation in the image's units; sets `sigma_color`.
    sigma_color : float, default 3 sigma
        Range Gaussian std in the image's units.
    sigma_space : float, default 2.0
        Spatial Gaussian std in pixels.
    diameter : int, default 5
        Window diameter in pixels (d 5, 3 sigma, 2: the Set12 sigma-25 optimum
        of 36 settings, 27.33 dB).

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    References
    ----------
    OpenCV ``cv2.bilateralFilter``; Tomasi & Manduchi, ICCV 1998.
    """


def _median_prepare(info, sigma, p):
    size = check_int("size", p["size"], minimum=1, maximum=255, odd=True)
    return Setup(size, halo=size // 2)


def _median_apply(work, plan):
    cv2, size = _cv2(), plan.config

    def call(arr):
        if size <= 5:
            return cv2.medianBlur(arr.astype(np.float32), size)
        return cv2.medianBlur(_to_u8(arr), size) / 255.0
    return call_package(work, call)


@register("ref:opencv-median", family="median", rule=size_rule, prepare=_median_prepare,
          apply=_median_apply, available=_INSTALLED)
def opencv_median(image, *, sigma: float | None = None, size: int | None = None):
    """OpenCV median filter (cv2.medianBlur, border replicate), per channel.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Any supported dtype. Sizes 3 and 5 run on float32 (exact); larger sizes
        only exist for 8-bit in OpenCV, so the input is quantised to 8 bits.
    sigma : float, optional
        Noise standard deviation in the image's units; chooses `size` only.
    size : int, default from sigma
        Odd window side: 3 up to sigma 30 (8-bit units), 5 up to 60, else 7.

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    References
    ----------
    OpenCV ``cv2.medianBlur``.
    """


def _nlm_rule(info, sigma, values):
    """h = 0.6 sigma on color (CIELab: less noise in L), 0.9 sigma on gray; h_color 0.9 sigma."""
    if sigma is None:
        return {}
    return {"h": (0.6 if info.color else 0.9) * sigma, "h_color": 0.9 * sigma}


def _nlm_prepare(info, sigma, p):
    h = check_positive("h", p["h"]) / info.data_range * 255.0
    h_color = check_positive("h_color", p["h_color"]) / info.data_range * 255.0
    template_size = check_int("template_size", p["template_size"], minimum=1, maximum=63,
                              odd=True)
    search_size = check_int("search_size", p["search_size"], minimum=1, maximum=201, odd=True)
    return Setup(_Nlm(h, h_color, template_size, search_size),
                 halo=template_size // 2 + search_size // 2)


def _nlm_apply(work, plan):
    cv2 = _cv2()
    h, h_color, template_size, search_size = plan.config

    def call(arr):
        u8 = _to_u8(arr)
        if arr.ndim == 2:
            return cv2.fastNlMeansDenoising(u8, None, h, template_size, search_size) / 255.0
        out = cv2.fastNlMeansDenoisingColored(np.ascontiguousarray(_rgb_bgr(u8)), None,
                                              h, h_color, template_size, search_size)
        return _rgb_bgr(out) / 255.0
    return call_package(work, call)


@register("ref:opencv-nlm", family="nlm", rule=_nlm_rule, prepare=_nlm_prepare,
          apply=_nlm_apply, available=_INSTALLED)
def opencv_nlm(image, *, sigma: float | None = None, h: float | None = None,
               h_color: float | None = None, template_size: int = 7, search_size: int = 21):
    """OpenCV non-local means (fastNlMeansDenoising, ...Colored for RGB) on 8-bit input.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Any supported dtype; OpenCV's NLM takes 8-bit input only, so the image is
        clipped and rounded to 8 bits first (16-bit and float data lose precision).
    sigma : float, optional
        Noise standard deviation in the image's units; sets `h` and `h_color`.
    h : float, default 0.9 sigma (gray), 0.6 sigma (color)
        Luminance filtering strength in the image's units. 0.9 sigma is the Set12
        sigma-25 optimum (27.90 dB). Color NLM works in CIELab, where the L noise
        is smaller, so a derived h is 0.6 sigma on color images (1 dB above
        0.9 sigma on CBSD68); a given h is used as is.
    h_color : float, default 0.9 sigma
        Chroma strength in the image's units (color only; it barely matters).
    template_size : int, default 7
        Patch side in pixels (odd).
    search_size : int, default 21
        Search window side in pixels (odd).

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    References
    ----------
    OpenCV ``cv2.fastNlMeansDenoising``; Buades, Coll & Morel, "Non-local means
    denoising", IPOL 2011.
    """
