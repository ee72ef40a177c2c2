"""scikit-image's denoisers as ``ref:`` methods: non-local means, bilateral, TV, wavelet."""
import math

from .._validate import check_at_most, check_bool, check_int, check_intensity, check_positive
from ..errors import InvalidParameterError
from ..registry import Setup, register
from . import available, call_package, channel_axis, scaled

_WAVELET_METHODS = ("BayesShrink", "VisuShrink")


# Each config is the keyword arguments of the package call, intensities in working units.

def _nlm_prepare(info, sigma, p):
    patch_size = check_int("patch_size", p["patch_size"], minimum=1, maximum=31)
    patch_distance = check_int("patch_distance", p["patch_distance"], minimum=1, maximum=50)
    config = dict(h=check_positive("h", p["h"]) / info.data_range, patch_size=patch_size,
                  patch_distance=patch_distance,
                  fast_mode=check_bool("fast_mode", p["fast_mode"]),
                  sigma=0.0 if sigma is None else sigma / info.data_range,
                  preserve_range=True, channel_axis=channel_axis(info))
    # Patch half-width (skimage makes even sizes odd: patch_size + 1) plus the search radius.
    return Setup(config, halo=patch_size // 2 + patch_distance)


def _nlm_apply(work, plan):
    from skimage.restoration import denoise_nl_means

    return call_package(work, lambda arr: denoise_nl_means(arr, **plan.config))


@register("ref:skimage-nlm", family="nlm", rule=scaled(h=0.7), prepare=_nlm_prepare,
          apply=_nlm_apply)
def skimage_nlm(image, *, sigma: float | None = None, h: float | None = None,
                patch_size: int = 5, patch_distance: int = 6, fast_mode: bool = True):
    """scikit-image non-local means (denoise_nl_means), patch 5, distance 6, fast mode.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Any supported dtype; color is denoised jointly (``channel_axis=-1``).
    sigma : float, optional
        Noise standard deviation in the image's units; passed to skimage (which
        subtracts the expected noise distance) and sets `h`.
    h : float, default 0.7 sigma
        Filtering strength in the image's units (the Set12 sigma-25 optimum for
        patch 5, distance 6, fast mode: 28.69 dB).
    patch_size : int, default 5
        Patch side in pixels.
    patch_distance : int, default 6
        Search radius in pixels (window 2 patch_distance + 1).
    fast_mode : bool, default True
        skimage's fast (uniform patch weights) algorithm.

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    References
    ----------
    scikit-image ``skimage.restoration.denoise_nl_means``; Buades, Coll & Morel,
    "A non-local algorithm for image denoising", CVPR 2005.
    """


def _bilateral_prepare(info, sigma, p):
    sigma_spatial = check_at_most(
        "sigma_spatial", check_positive("sigma_spatial", p["sigma_spatial"]), 100 / 3,
        "the window radius ceil(3 sigma_spatial) is at most 100")
    sigma_color = check_intensity("sigma_color", p["sigma_color"], info.data_range)
    config = dict(sigma_color=sigma_color / info.data_range,
                  sigma_spatial=sigma_spatial, mode="reflect",
                  channel_axis=channel_axis(info))
    window = max(5, 2 * math.ceil(3 * sigma_spatial) + 1)      # skimage's default win_size
    # The range weights are tabulated over the image's value range (its min and max).
    return Setup(config, halo=window // 2, statistics=("value range",))


def _bilateral_apply(work, plan):
    from skimage.restoration import denoise_bilateral

    # sigma_spatial and sigma_color both tiny: every weight underflows and scikit-image
    # divides 0 by 0 (NaN, the input's sample from call_package)
    return call_package(work, lambda arr: denoise_bilateral(arr, **plan.config))


@register("ref:skimage-bilateral", family="bilateral", rule=scaled(sigma_color=1.5),
          prepare=_bilateral_prepare, apply=_bilateral_apply)
def skimage_bilateral(image, *, sigma: float | None = None, sigma_color: float | None = None,
                      sigma_spatial: float = 2.0):
    """scikit-image bilateral filter (0.26 builds a lopsided spatial kernel; see Notes).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Any supported dtype; color distances are joint (``channel_axis=-1``).
    sigma : float, optional
        Noise standard deviation in the image's units; sets `sigma_color`.
    sigma_color : float, default 1.5 sigma
        Range Gaussian std in the image's units (Set12 sigma-25 optimum).
    sigma_spatial : float, default 2.0
        Spatial Gaussian std in pixels; the window is 2 ceil(3 sigma_spatial) + 1.

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    Notes
    -----
    scikit-image 0.26's ``_compute_spatial_lut`` builds win + 1 spatial weights
    but indexes them with stride win, so the kernel is skewed and the centre
    pixel gets almost no weight (ANCHORS.md section 7). Kept as scikit-image's
    bilateral as shipped; ``ref:opencv-bilateral`` is the bilateral anchor.
    ``mode='reflect'`` (the default zero padding darkens borders). Where every
    weight underflows (sigma_spatial and sigma_color both tiny) scikit-image
    returns NaN; those samples are the input's (the filter's limit).

    References
    ----------
    scikit-image ``skimage.restoration.denoise_bilateral``; Tomasi & Manduchi,
    ICCV 1998.
    """


def _tv_prepare(info, sigma, p):
    config = dict(weight=check_positive("weight", p["weight"]) / info.data_range,
                  max_num_iter=check_int("max_iter", p["max_iter"], minimum=1, maximum=100000),
                  channel_axis=channel_axis(info))
    return Setup(config, halo=None)


def _tv_apply(work, plan):
    from skimage.restoration import denoise_tv_chambolle

    return call_package(work, lambda arr: denoise_tv_chambolle(arr, **plan.config))


@register("ref:skimage-tv", family="tv", rule=scaled(weight=0.75), prepare=_tv_prepare,
          apply=_tv_apply)
def skimage_tv(image, *, sigma: float | None = None, weight: float | None = None,
               max_iter: int = 200):
    """scikit-image total-variation denoising (Chambolle's projection algorithm).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Any supported dtype; color channels share the TV norm (``channel_axis=-1``).
    sigma : float, optional
        Noise standard deviation in the image's units; sets `weight`.
    weight : float, default 0.75 sigma
        TV weight in the image's units (on [0, 1] data: 0.75 sigma / 255 for
        8-bit sigma; the Set12 sigma-25 optimum, 28.07 dB).
    max_iter : int, default 200
        Iteration cap (tolerance 2e-4, skimage's default).

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    References
    ----------
    scikit-image ``skimage.restoration.denoise_tv_chambolle``; Chambolle, "An
    algorithm for total variation minimization and applications", JMIV 2004.
    """


def _wavelet_prepare(info, sigma, p):
    wavelet, method = p["wavelet"], p["method"]
    if method not in _WAVELET_METHODS:
        raise InvalidParameterError(
            f"method must be BayesShrink or VisuShrink, got {method!r}")
    import pywt                     # the names of the wavelets skimage accepts

    if wavelet not in pywt.wavelist(kind="discrete"):
        raise InvalidParameterError(
            f"wavelet must be the name of a discrete PyWavelets wavelet "
            f"(pywt.wavelist(kind='discrete')), got {wavelet!r}")
    config = dict(sigma=None if sigma is None else sigma / info.data_range,
                  wavelet=wavelet, mode="soft", method=method, rescale_sigma=True,
                  channel_axis=channel_axis(info))
    return Setup(config, halo=None)


def _wavelet_apply(work, plan):
    from skimage.restoration import denoise_wavelet

    # a constant channel: scikit-image's estimated sigma is 0 and its shrinkage NaN
    # (the input's sample from call_package: the constant itself is the estimate)
    return call_package(work, lambda arr: denoise_wavelet(arr, **plan.config))


@register("ref:skimage-wavelet", family="wavelet", prepare=_wavelet_prepare,
          apply=_wavelet_apply, available=available("pywt"))
def skimage_wavelet(image, *, sigma: float | None = None, wavelet: str = "sym4",
                    method: str = "BayesShrink"):
    """scikit-image wavelet shrinkage (BayesShrink, soft thresholds).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Any supported dtype; color channels are denoised separately.
    sigma : float, optional
        Noise standard deviation in the image's units; estimated from the finest
        detail coefficients (skimage's MAD estimate) when not given.
    wavelet : str, default "sym4"
        PyWavelets wavelet name (sym4 was the best family on Set12 sigma 25).
    method : str, default "BayesShrink"
        Threshold rule: "BayesShrink" or "VisuShrink".

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    References
    ----------
    scikit-image ``skimage.restoration.denoise_wavelet``; Chang, Yu & Vetterli,
    "Adaptive wavelet thresholding for image denoising and compression",
    IEEE TIP 2000.
    """
