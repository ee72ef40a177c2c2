"""Drop-in scikit-image and OpenCV denoising calls, computed by this project's kernels.

Moving code over is a one-line import change::

    from denoise.compat import skimage as ski      # ski.restoration-style calls
    from denoise.compat import cv2                 # cv2.fastNlMeansDenoising(...)
    from denoise.compat.skimage import denoise_bilateral

:mod:`denoise.compat.skimage` has ``denoise_nl_means``, ``denoise_bilateral``,
``estimate_sigma`` and ``median`` (``skimage.filters.median``);
:mod:`denoise.compat.cv2` has ``fastNlMeansDenoising``,
``fastNlMeansDenoisingColored``, ``bilateralFilter`` and ``medianBlur``. Same
names, signatures, dtype and range rules and return conventions as the
originals; each function's docstring says which estimator our kernels compute
and within what tolerance of the original. A call they do not compute (a 3-D
volume, a footprint or border we do not implement...) runs the original
library's function after a :class:`CompatFallbackWarning`, once per function and
reason, or raises :class:`OriginalNotInstalledError` when that library is missing.
The submodules are imported on first use, not with ``denoise``.
"""
from ._fallback import CompatFallbackWarning, OriginalNotInstalledError

__all__ = ["CompatFallbackWarning", "OriginalNotInstalledError"]
