"""Reference methods: other packages' denoisers behind this project's method contract.

Each adapter is registered under a ``ref:`` name only when its package can be
imported (scikit-image and SciPy always; OpenCV, BM3D and PyWavelets, which
scikit-image's wavelet denoiser needs, with the ``bench`` extra). It takes the
same ``sigma`` in the image's own units as our methods and maps it to the
package's parameters with the rule that scored best on Set12 at sigma 25
(../shared/ANCHORS.md section 3); every mapped value can be overridden.
They exist so that ``denoise bench`` and ``denoise run -m ref:NAME`` compare
like with like: same input, same sigma, same scoring, same process.

Inputs go through the same working form as ours (float, divided by the image's
data range, alpha split off), so an adapter sees exactly what our methods see.
Packages are imported on first call, not at ``import denoise``.

The adapters live in :mod:`.skimage`, :mod:`.scipy`, :mod:`.opencv` and
:mod:`.bm3d`; this module holds what they share.
"""
import importlib.util

import numpy as np


def available(package):
    """True if `package` can be imported (checked without importing it)."""
    return importlib.util.find_spec(package) is not None


def scaled(**factors):
    """A sigma rule setting each named parameter to ``factor * sigma`` (image units)."""
    def rule(info, sigma, values):
        return {} if sigma is None else {k: f * sigma for k, f in factors.items()}
    return rule


def size_rule(info, sigma, values):
    """Median window size from sigma: the rule of our ``median`` (3, 5 or 7)."""
    if sigma is None:
        return {"size": 3}
    sigma255 = sigma * 255.0 / info.data_range
    return {"size": 3 if sigma255 <= 30 else 5 if sigma255 <= 60 else 7}


def channel_axis(info):
    """scikit-image's ``channel_axis`` for images like `info`: -1 for color, else None."""
    return -1 if info.color else None


def call_package(work, func):
    """Run ``func(arr)`` on the working array in the form the packages take, and back.

    `arr` is float64, (H, W) for gray or (H, W, 3) for color, the image divided by
    its data range; `func` returns an array of the same shape, returned here as the
    float32 (H, W, C) working form. Samples a package returns as NaN or Inf are the
    input's: every case found is a noise level or a weight vanishing to nothing
    (BM3D at sigma 1e-30, scikit-image's bilateral with tiny sigmas, its wavelet
    shrinkage on a constant channel), where the filter's limit is the input.
    """
    arr = work[..., 0] if work.shape[2] == 1 else work
    out = np.asarray(func(arr.astype(np.float64)), dtype=np.float32)
    out = np.ascontiguousarray(out.reshape(work.shape))
    bad = ~np.isfinite(out)
    if bad.any():
        out[bad] = work[bad]
    return out


from . import bm3d, opencv, scipy, skimage  # noqa: E402,F401  (registers the adapters)
