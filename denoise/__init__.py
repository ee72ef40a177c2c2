"""denoise: classical image denoising (median, bilateral, ...) as Numba kernels.

Every method is a function ``f(image, *, sigma=None, **params)`` taking and
returning numpy arrays; ``sigma`` is the noise level in the image's own units.
"""
from . import filters, references  # noqa: F401  (registers the methods)
from .errors import (DenoiseError, ImageFormatError, ImageIOError, InvalidParameterError,
                     MissingSigmaError, UnknownFilterError)
from .filters.adaptive_median import adaptive_median
from .filters.bilateral import bilateral
from .filters.lark import lark
from .filters.median import median
from .filters.nlm import nlm
from .filters.weighted_median import weighted_median
from .registry import REGISTRY, get_filter

__version__ = "0.1.0"

__all__ = ["REGISTRY", "DenoiseError", "ImageFormatError", "ImageIOError",
           "InvalidParameterError", "MissingSigmaError", "UnknownFilterError",
           "adaptive_median", "bilateral", "get_filter", "lark", "median", "nlm",
           "weighted_median", "__version__"]
