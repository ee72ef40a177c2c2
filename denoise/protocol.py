"""The benchmark protocol that ``bench`` and ``regress`` share (../shared/datasets/README.md).

* the clean image as float64 in its own units (0-255 for 8-bit files);
* the noisy image from the noise registry, seeded by the image's index in sorted
  file order (the same seed at every level), **not** clipped or quantised
  (Gaussian: ``clean + default_rng(k).normal(0, sigma, shape)``); camera noise also
  gives the truth a result is scored against (the clean image processed the same way);
* every method gets ``noisy / data_range`` (float64) and the sigma the noise
  implies divided by the data range (the library's float convention); for noise
  without a sigma (Poisson-Gaussian, camera...), methods that need one get the
  noise estimated as ``denoise run`` does; the output, scaled back, is clipped to
  the data range before PSNR (peak = data range) and SSIM.
"""
from pathlib import Path

import numpy as np

from ._image import image_range, split_alpha
from .errors import InvalidParameterError
from .io import iter_images, read_image
from .metrics import psnr, ssim
from .noise import get_noise


def load_dataset(folder, limit=None):
    """Sorted ``[(name, path)]`` of the images in `folder` (first `limit` only)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidParameterError(f"{folder}: not a folder")
    paths = iter_images(folder)
    if not paths:
        raise InvalidParameterError(f"{folder}: no images")
    return [(p.name, p) for p in paths[:limit]]


def clean_image(path):
    """Read `path` as float64 in its own units, and its data range (alpha dropped)."""
    image, _ = split_alpha(read_image(path))
    data_range = image_range(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    return image.astype(np.float64), data_range


def noisy_image(clean, level, index, noise="gaussian", top=255.0, **options):
    """The protocol's noisy image: `noise` at `level` (image units where the level is an
    intensity), seed = `index`, not clipped; `top` is the data range."""
    return noisy_pair(clean, level, index, noise, top, **options)[0]


def noisy_pair(clean, level, index, noise="gaussian", top=255.0, **options):
    """``(noisy, truth)``: :func:`noisy_image`, and what a denoised result is scored
    against: `clean` itself, except for models that pass the clean image through them
    too (camera noise: its processed, possibly cropped, ground truth)."""
    model = get_noise(noise)
    out = model.synthesize(clean, level, np.random.default_rng(index), top,
                           **model.resolve_options(options))
    return out if model.paired else (out, clean)


def method_sigma(noise, level):
    """The sigma (image units) a method is given for `noise` at `level`, or None."""
    return get_noise(noise).implied_sigma(level)


def run_method(spec, scaled, sigma, given=None):
    """`spec` on the float image `scaled` (on [0, 1]: its data range is 1 whatever
    the noise's excursions) at `sigma`, with the `given` parameters (working units);
    with no sigma, a method that needs one gets the noise estimated from the image,
    as ``denoise run`` does."""
    given = given or {}
    if sigma is None and spec.needs_sigma(given=given):
        from .auto import NoiseRequest, denoise_image

        return denoise_image(scaled, spec, NoiseRequest(data_range=1.0), given)[0]
    return spec.func(scaled, sigma=sigma, data_range=1.0, **given)


def denoise_scaled(spec, noisy, sigma, data_range):
    """Run `spec` the library's way (float on [0, 1]) and return clipped image units."""
    out = run_method(spec, noisy / data_range, None if sigma is None else sigma / data_range)
    return np.clip(np.asarray(out, dtype=np.float64) * data_range, 0.0, data_range)


def score(clean, estimate, data_range):
    """PSNR and SSIM of an estimate already clipped to the data range."""
    return (psnr(clean, estimate, data_range=data_range),
            ssim(clean, estimate, data_range=data_range))
