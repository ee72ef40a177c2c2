"""denoise: classical image denoising (median, bilateral, nlm, ...) as Numba kernels.

Every method is a function ``f(image, *, sigma=None, data_range=None, **params)``
taking and returning numpy arrays; ``sigma`` is the noise level in the image's own
units, and ``data_range`` what its values span (:func:`image_range`: 255 / 65535
for 8 / 16 bits, read from the values of a float image).
Behind each, the registry holds two phases: ``REGISTRY[name].plan(info, sigma,
**params)`` resolves and checks the parameters for a kind of image
(:class:`ImageInfo`) and declares the halo; ``REGISTRY[name].run(image, plan)``
filters. :func:`denoise` runs any method with the noise estimated from the image
(:func:`estimate_noise`) or given.
"""
from . import filters, references  # noqa: F401  (registers the methods)
from ._image import ImageInfo, image_range
from .auto import denoise
from .errors import (DenoiseError, ImageFormatError, ImageIOError, InvalidParameterError,
                     MissingSigmaError, UnknownFilterError)
from .filters.adaptive_median import adaptive_median
from .filters.attention import attention
from .filters.bilateral import bilateral
from .filters.lark import lark
from .filters.median import median
from .filters.nlm import nlm
from .filters.weighted_median import weighted_median
from .noise import NOISE, add_noise
from .noise.estimate import NoiseEstimate, estimate_noise
from .registry import REGISTRY, get_filter

__version__ = "0.1.0"

__all__ = ["NOISE", "REGISTRY", "DenoiseError", "ImageFormatError", "ImageIOError",
           "ImageInfo", "InvalidParameterError", "MissingSigmaError", "UnknownFilterError",
           "NoiseEstimate", "adaptive_median", "add_noise", "attention", "bilateral", "denoise",
           "estimate_noise", "get_filter", "image_range", "lark", "median", "nlm", "weighted_median",
           "__version__"]
