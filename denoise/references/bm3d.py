"""BM3D from the ``bm3d`` package as the ``ref:bm3d`` method."""
from typing import NamedTuple

import numpy as np

from .._config import get_threads
from ..errors import InvalidParameterError, MissingSigmaError
from ..registry import Setup, register
from . import available, call_package

# bm3d 4.0.3's BM3DProfileRefilter fails on every image (its second pass builds a
# PSD twice the image's size: "operands could not be broadcast"), so it is not offered.
_PROFILES = {"np": "BM3DProfile", "vn": "BM3DProfileVN", "high": "BM3DProfileHigh",
             "deb": "BM3DProfileDeb"}

# bm3d 4.0.3 refuses images below its 8x8 block and crashes (SIGSEGV) on exactly
# 8x8, so smaller images are mirrored up to this side and cropped back.
_MIN_SIDE = 16


class _Config(NamedTuple):
    sigma_psd: float           # noise std on [0, 1] data: sigma / data range
    profile: str               # the package's profile class name


def _prepare(info, sigma, p):
    profile = p["profile"]
    if not isinstance(profile, str) or profile not in _PROFILES:
        raise InvalidParameterError(
            f"profile must be one of {', '.join(_PROFILES)}, got {profile!r}")
    if sigma is None:
        raise MissingSigmaError(
            "ref:bm3d needs the noise level (sigma) for its noise PSD: give sigma "
            "(--sigma VALUE, in the image's units)")
    return Setup(_Config(sigma / info.data_range, _PROFILES[profile]), halo=None)


def _apply(work, plan):
    import bm3d as package

    sigma_psd, profile = plan.config
    settings = getattr(package, profile)()
    settings.num_threads = get_threads()

    def call(arr):
        height, width = arr.shape[:2]
        grow = [(0, max(_MIN_SIDE - n, 0)) for n in (height, width)]
        grow += [(0, 0)] * (arr.ndim - 2)
        padded = np.pad(arr, grow, mode="symmetric")
        if arr.ndim == 3:
            out = package.bm3d_rgb(padded, sigma_psd, profile=settings)
        else:
            out = package.bm3d(padded, sigma_psd, profile=settings)
        return out[:height, :width]
    return call_package(work, call)


@register("ref:bm3d", family="bm3d", prepare=_prepare, apply=_apply,
          available=available("bm3d"))
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
        The package's parameter profile: np, vn, high or deb (not refilter, which
        fails in bm3d 4.0.3).

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
