"""Make sample_images/: small clean images from scikit-image's bundled data and
seeded noisy versions (gaussian, sigma 25 in 8-bit units).

Run from the project root: ``python scripts/make_samples.py``. The output is
deterministic, so running it again rewrites identical files.
"""
from pathlib import Path

import numpy as np
from skimage import color, data, transform

from denoise.io import write_image
from denoise.noise import add_noise

ROOT = Path(__file__).resolve().parent.parent / "sample_images"
SIGMA_8BIT = 25.0


def _to_uint(image, dtype):
    top = np.iinfo(dtype).max
    return np.clip(np.rint(image * top), 0, top).astype(dtype)


def clean_images():
    """name -> clean array (gray and color uint8, one gray uint16)."""
    astro = data.astronaut()
    return {
        "camera.png": transform.resize(data.camera(), (256, 256), anti_aliasing=True,
                                       preserve_range=True).round().astype(np.uint8),
        "coins.png": data.coins()[20:276, 60:316],
        "astronaut.png": _to_uint(transform.resize(astro, (256, 256), anti_aliasing=True),
                                  np.uint8),
        "chelsea.png": data.chelsea()[20:276, 100:356],
        # 16-bit: the face region, smoothly resampled so the low bits carry signal.
        "astronaut16.tif": _to_uint(transform.resize(color.rgb2gray(astro[0:320, 96:416]),
                                                     (256, 256), anti_aliasing=True),
                                    np.uint16),
    }


def main():
    for index, (name, clean) in enumerate(sorted(clean_images().items())):
        sigma = SIGMA_8BIT * np.iinfo(clean.dtype).max / 255.0
        write_image(ROOT / "clean" / name, clean, overwrite=True)
        write_image(ROOT / "noisy" / name, add_noise(clean, "gaussian", sigma, seed=index),
                    overwrite=True)
        print(f"{name}: {clean.shape} {clean.dtype}, noisy sigma {sigma:g}")


if __name__ == "__main__":
    main()
