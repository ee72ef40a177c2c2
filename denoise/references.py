"""Reference methods: other packages' denoisers behind this project's method contract.

Each adapter is registered under a ``ref:`` name only when its package can be
imported (scikit-image and SciPy always; OpenCV, BM3D and PyWavelets, which
scikit-image's wavelet denoiser needs, with the ``bench`` extra). It takes the
same ``sigma`` in the image's own units as our methods and maps it to the
package's parameters with the rule that scored best on Set12 at sigma 25
(../shared/ANCHORS.md section 3); every mapped value can be overridden.
They exist so that ``denoise bench`` and ``denoise run -m ref:NAME`` compare
like with like: same input, same sigma, same scoring, same process.

Inputs go through :func:`to_working` like ours (float on the nominal [0, 1]
range, alpha split off), so an adapter sees exactly what our methods see.
Packages are imported on first call, not at ``import denoise``.
"""
import importlib.util

import numpy as np

from ._config import get_threads
from ._image import (check_image, data_range_of, from_working, intensity_to_working,
                     map_planes, to_working)
from ._validate import check_bool, check_int, check_positive
from .errors import InvalidParameterError
from .registry import REFERENCE_PREFIX, fill_from_sigma, register, require_sigma


def available(package):
    """True if `package` can be imported (checked without importing it)."""
    return importlib.util.find_spec(package) is not None


def _scaled(method, **factors):
    """A sigma rule setting each named parameter to ``factor * sigma`` (image units)."""
    def rule(sigma, data_range, values):
        missing = [k for k in factors if values.get(k) is None]
        if missing:
            require_sigma(method, sigma, " and ".join(missing))
        return {k: f * sigma for k, f in factors.items() if sigma is not None}
    return rule


def _size_rule(sigma, data_range, values):
    """Median window size from sigma: the rule of our ``median`` (3, 5 or 7)."""
    if sigma is None:
        return {"size": 3}
    sigma255 = sigma * 255.0 / data_range
    return {"size": 3 if sigma255 <= 30 else 5 if sigma255 <= 60 else 7}


def _apply(image, func):
    """Run ``func(arr)`` on the working form of `image`, restoring dtype, alpha, shape.

    `arr` is float64, (H, W) for gray or (H, W, 3) for color, on the nominal [0, 1]
    range for integer images; `func` returns an array of the same shape.
    """
    work, layout = to_working(image)
    arr = work[..., 0] if work.shape[2] == 1 else work
    out = np.asarray(func(arr.astype(np.float64), layout), dtype=np.float32)
    return from_working(np.ascontiguousarray(out.reshape(work.shape)), layout)


def _check_odd(name, value, maximum):
    value = check_int(name, value, minimum=1, maximum=maximum)
    if value % 2 == 0:
        raise InvalidParameterError(f"{name} must be odd, got {value}")
    return value


def _ref(name, *, family, rule=None, package=None):
    """Register the adapter as ``ref:name`` if `package` (default: none needed) imports."""
    def decorator(func):
        if package is None or available(package):
            register(REFERENCE_PREFIX + name, rule=rule, family=family)(func)
        return func
    return decorator


# --- scikit-image -----------------------------------------------------------------

_nlm_rule = _scaled("ref:skimage-nlm", h=0.7)


@_ref("skimage-nlm", family="nlm", rule=_nlm_rule)
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
    from skimage.restoration import denoise_nl_means

    p = fill_from_sigma(_nlm_rule, sigma, _range(image), h=h)
    h = check_positive("h", p["h"])
    patch_size = check_int("patch_size", patch_size, minimum=1, maximum=31)
    patch_distance = check_int("patch_distance", patch_distance, minimum=1, maximum=50)

    def call(arr, layout):
        return denoise_nl_means(
            arr, h=intensity_to_working(h, layout), patch_size=patch_size,
            patch_distance=patch_distance, fast_mode=check_bool("fast_mode", fast_mode),
            sigma=0.0 if sigma is None else intensity_to_working(sigma, layout),
            preserve_range=True, channel_axis=-1 if arr.ndim == 3 else None)
    return _apply(image, call)


_skbilateral_rule = _scaled("ref:skimage-bilateral", sigma_color=1.5)


@_ref("skimage-bilateral", family="bilateral", rule=_skbilateral_rule)
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
    ``mode='reflect'`` (the default zero padding darkens borders).

    References
    ----------
    scikit-image ``skimage.restoration.denoise_bilateral``; Tomasi & Manduchi,
    ICCV 1998.
    """
    from skimage.restoration import denoise_bilateral

    p = fill_from_sigma(_skbilateral_rule, sigma, _range(image), sigma_color=sigma_color)
    sigma_color = check_positive("sigma_color", p["sigma_color"])
    sigma_spatial = check_positive("sigma_spatial", sigma_spatial)

    def call(arr, layout):
        return denoise_bilateral(
            arr, sigma_color=intensity_to_working(sigma_color, layout),
            sigma_spatial=sigma_spatial, mode="reflect",
            channel_axis=-1 if arr.ndim == 3 else None)
    return _apply(image, call)


_tv_rule = _scaled("ref:skimage-tv", weight=0.75)


@_ref("skimage-tv", family="tv", rule=_tv_rule)
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
    from skimage.restoration import denoise_tv_chambolle

    p = fill_from_sigma(_tv_rule, sigma, _range(image), weight=weight)
    weight = check_positive("weight", p["weight"])
    max_iter = check_int("max_iter", max_iter, minimum=1, maximum=100000)

    def call(arr, layout):
        return denoise_tv_chambolle(
            arr, weight=intensity_to_working(weight, layout), max_num_iter=max_iter,
            channel_axis=-1 if arr.ndim == 3 else None)
    return _apply(image, call)


@_ref("skimage-wavelet", family="wavelet", package="pywt")
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
    from skimage.restoration import denoise_wavelet

    if method not in ("BayesShrink", "VisuShrink"):
        raise InvalidParameterError(
            f"method must be BayesShrink or VisuShrink, got {method!r}")
    if sigma is not None:
        check_positive("sigma", sigma)

    def call(arr, layout):
        try:
            return denoise_wavelet(
                arr, sigma=None if sigma is None else intensity_to_working(sigma, layout),
                wavelet=wavelet, mode="soft", method=method, rescale_sigma=True,
                channel_axis=-1 if arr.ndim == 3 else None)
        except ValueError as exc:                 # unknown wavelet name
            raise InvalidParameterError(f"wavelet {wavelet!r}: {exc}") from None
    return _apply(image, call)


# --- SciPy ------------------------------------------------------------------------

@_ref("scipy-median", family="median", rule=_size_rule)
def scipy_median(image, *, sigma: float | None = None, size: int | None = None):
    """SciPy median filter (ndimage.median_filter, mode reflect), per channel.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Any supported dtype; channels are filtered separately.
    sigma : float, optional
        Noise standard deviation in the image's units; chooses `size` only.
    size : int, default from sigma
        Odd window side: 3 up to sigma 30 (8-bit units), 5 up to 60, else 7;
        the rule of our ``median`` (3 without sigma).

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    References
    ----------
    SciPy ``scipy.ndimage.median_filter``.
    """
    from scipy.ndimage import median_filter

    p = fill_from_sigma(_size_rule, sigma, _range(image), size=size)
    size = _check_odd("size", p["size"], 101)

    check_image(image)            # per plane in the image's own dtype, like ours: exact
    return map_planes(image, lambda plane: median_filter(plane, size=size, mode="reflect"))


# --- OpenCV -----------------------------------------------------------------------

def _cv2():
    import cv2

    cv2.setNumThreads(get_threads())
    return cv2


def _rgb_bgr(arr):
    return arr[..., ::-1] if arr.ndim == 3 else arr


def _to_u8(arr):
    """[0, 1] float to uint8 (clipped and rounded), as OpenCV's NLM requires."""
    return np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)


_cvbilateral_rule = _scaled("ref:opencv-bilateral", sigma_color=3.0)


@_ref("opencv-bilateral", family="bilateral", rule=_cvbilateral_rule, package="cv2")
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
    p = fill_from_sigma(_cvbilateral_rule, sigma, _range(image), sigma_color=sigma_color)
    sigma_color = check_positive("sigma_color", p["sigma_color"])
    sigma_space = check_positive("sigma_space", sigma_space)
    diameter = check_int("diameter", diameter, minimum=1, maximum=101)

    def call(arr, layout):
        cv2 = _cv2()
        scaled = (arr * 255.0).astype(np.float32)           # OpenCV's 8-bit units
        out = cv2.bilateralFilter(scaled, diameter,
                                  intensity_to_working(sigma_color, layout) * 255.0,
                                  sigma_space)
        return out / 255.0
    return _apply(image, call)


@_ref("opencv-median", family="median", rule=_size_rule, package="cv2")
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
    p = fill_from_sigma(_size_rule, sigma, _range(image), size=size)
    size = _check_odd("size", p["size"], 255)

    def call(arr, layout):
        cv2 = _cv2()
        if size <= 5:
            return cv2.medianBlur(arr.astype(np.float32), size)
        return cv2.medianBlur(_to_u8(arr), size) / 255.0
    return _apply(image, call)


_cvnlm_rule = _scaled("ref:opencv-nlm", h=0.9, h_color=0.9)
_CV_COLOR_H = 0.6 / 0.9      # derived h on color: 0.6 sigma instead of 0.9 sigma


@_ref("opencv-nlm", family="nlm", rule=_cvnlm_rule, package="cv2")
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
    derived_h = h is None
    p = fill_from_sigma(_cvnlm_rule, sigma, _range(image), h=h, h_color=h_color)
    h = check_positive("h", p["h"])
    h_color = check_positive("h_color", p["h_color"])
    template_size = _check_odd("template_size", template_size, 63)
    search_size = _check_odd("search_size", search_size, 201)

    def call(arr, layout):
        cv2 = _cv2()
        color = arr.ndim == 3
        strength = h * _CV_COLOR_H if color and derived_h else h
        h8 = intensity_to_working(strength, layout) * 255.0
        u8 = _to_u8(arr)
        if not color:
            return cv2.fastNlMeansDenoising(u8, None, h8, template_size, search_size) / 255.0
        hc8 = intensity_to_working(h_color, layout) * 255.0
        out = cv2.fastNlMeansDenoisingColored(np.ascontiguousarray(_rgb_bgr(u8)), None,
                                              h8, hc8, template_size, search_size)
        return _rgb_bgr(out) / 255.0
    return _apply(image, call)


# --- BM3D -------------------------------------------------------------------------

_BM3D_PROFILES = {"np": "BM3DProfile", "refilter": "BM3DProfileRefilter",
                  "vn": "BM3DProfileVN", "high": "BM3DProfileHigh",
                  "deb": "BM3DProfileDeb"}


# bm3d 4.0.3 refuses images below its 8x8 block and crashes (SIGSEGV) on exactly
# 8x8, so smaller images are mirrored up to this side and cropped back.
_BM3D_MIN_SIDE = 16


@_ref("bm3d", family="bm3d", package="bm3d")
def bm3d(image, *, sigma: float | None = None, profile: str = "np"):
    """BM3D from the bm3d package (bm3d for gray, bm3d_rgb in opponent colors for RGB).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Any supported dtype; RGB goes through ``bm3d_rgb`` (opponent colors).
    sigma : float
        Noise standard deviation in the image's units (required): the white
        noise PSD ``sigma_psd`` on [0, 1] data is sigma / data range.
    profile : str, default "np"
        The package's parameter profile: np, refilter, vn, high or deb.

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    Notes
    -----
    Images narrower than 16 pixels are mirrored up to 16 and cropped back (the
    package fails below its 8x8 block). Threads follow ``--threads`` (the
    profile's ``num_threads``). Slow: about
    0.03 Mpx/s on 2 cores (ANCHORS.md), so benchmarks may run it on fewer images.

    References
    ----------
    Dabov, Foi, Katkovnik & Egiazarian, "Image denoising by sparse 3-D
    transform-domain collaborative filtering", IEEE TIP 2007; Makinen, Azzari &
    Foi, "Collaborative filtering of correlated noise", IEEE TIP 2020 (the
    ``bm3d`` package).
    """
    import bm3d as package

    _range(image)
    if sigma is None:
        require_sigma("ref:bm3d", sigma, "the noise PSD")
    check_positive("sigma", sigma)
    if profile not in _BM3D_PROFILES:
        raise InvalidParameterError(
            f"profile must be one of {', '.join(_BM3D_PROFILES)}, got {profile!r}")
    settings = getattr(package, _BM3D_PROFILES[profile])()
    settings.num_threads = get_threads()

    def call(arr, layout):
        sigma_psd = intensity_to_working(sigma, layout)
        height, width = arr.shape[:2]
        grow = [(0, max(_BM3D_MIN_SIDE - n, 0)) for n in (height, width)]
        grow += [(0, 0)] * (arr.ndim - 2)
        padded = np.pad(arr, grow, mode="symmetric")
        if arr.ndim == 3:
            out = package.bm3d_rgb(padded, sigma_psd, profile=settings)
        else:
            out = package.bm3d(padded, sigma_psd, profile=settings)
        return out[:height, :width]
    return _apply(image, call)


def _range(image):
    """Nominal data range of `image`, for the sigma rules (checks the image first)."""
    check_image(image)
    return data_range_of(image.dtype)
