"""The drop-in calls (denoise.compat) against the originals: speed and quality.

Usage: python benchmarks/compat.py --dataset DIR/Set12 --output FILE.md

Each call of denoise.compat.skimage and denoise.compat.cv2 runs beside the
scikit-image or OpenCV function of the same name, with the same arguments, in
the same process: seconds on a 512x512 gray image (Set12's first one of that
size; for the colored NL-means, that image as BGR) at 2 threads, the median of 3 runs
after a warm-up call; PSNR of each against the clean images of Set12 at sigma 25
(protocol noise, seed = index); and the PSNR of ours against the original's
output (inf: identical). A row marked "falls back" is computed by the original
library (the compat call warns once and calls it).
"""
import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

from denoise._config import set_threads
from denoise.bench import environment
from denoise.io import iter_images, write_text
from denoise.metrics import psnr
from denoise.protocol import clean_image, noisy_image

SIGMA = 25.0
S = SIGMA / 255


def cases():
    """(label, original, ours, args(image), input kind) per call."""
    import cv2
    from skimage import filters, restoration

    from denoise.compat import cv2 as ccv
    from denoise.compat import skimage as csk

    color = lambda x: np.dstack([x] * 3) if x.ndim == 2 else x  # noqa: E731
    return [
        ("skimage.filters.median, 3x3", filters.median, csk.median, lambda x: (x,), "u8"),
        ("skimage.filters.median, 7x7 reflect", filters.median, csk.median,
         lambda x: (x, np.ones((7, 7)), None, "reflect"), "u8"),
        ("skimage denoise_bilateral (float; 0.1, 1.5)", restoration.denoise_bilateral,
         csk.denoise_bilateral, lambda x: (x, None, 0.1, 1.5), "float"),
        ("skimage denoise_nl_means (fast; 5, 6, 0.8 sigma)", restoration.denoise_nl_means,
         csk.denoise_nl_means, lambda x: (x, 5, 6, 0.8 * S, True, S), "float"),
        ("cv2.medianBlur, 5", cv2.medianBlur, ccv.medianBlur, lambda x: (x, 5), "u8"),
        ("cv2.bilateralFilter, gray (5, 50, 2)", cv2.bilateralFilter, ccv.bilateralFilter,
         lambda x: (x, 5, 50, 2), "u8"),
        ("cv2.fastNlMeansDenoising (25, 7, 21)", cv2.fastNlMeansDenoising,
         ccv.fastNlMeansDenoising, lambda x: (x, None, SIGMA, 7, 21), "u8"),
        ("cv2.fastNlMeansDenoisingColored (25, 25)", cv2.fastNlMeansDenoisingColored,
         ccv.fastNlMeansDenoisingColored, lambda x: (color(x), None, SIGMA, SIGMA, 7, 21),
         "color"),
    ]


def seconds(func, args, repeat=3):
    func(*args)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fell_back(func, args):
    """True if the compat call warns that the original computed it."""
    from denoise.compat import CompatFallbackWarning
    from denoise.compat._fallback import reset_warnings

    reset_warnings()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        func(*args)
    return any(issubclass(w.category, CompatFallbackWarning) for w in seen)


def inputs(clean, index):
    """The noisy image in each input kind: uint8, float on [0, 1], uint8 color."""
    noisy = noisy_image(clean, SIGMA, index)
    u8 = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return {"u8": u8, "float": np.clip(noisy / 255, 0, 1), "color": u8}


def scores(original, ours, args, clean_set):
    """Mean PSNR of the original, of ours (against the clean images) and of ours
    against the original."""
    found = []
    for index, clean, kind in clean_set:
        x = inputs(clean, index)[kind]
        a, b = original(*args(x)), ours(*args(x))
        scale = 255.0 if kind == "float" else 1.0
        a, b = a.astype(np.float64) * scale, b.astype(np.float64) * scale
        truth = clean if a.ndim == clean.ndim else np.dstack([clean] * a.shape[2])
        agree = np.inf if np.array_equal(a, b) else psnr(a, b, data_range=255)
        found.append((psnr(truth, a, data_range=255), psnr(truth, b, data_range=255), agree))
    return [statistics.mean(column) for column in zip(*found)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    import cv2

    set_threads(2)
    cv2.setNumThreads(2)
    images = [(i, clean_image(p)[0]) for i, p in enumerate(iter_images(args.dataset))]
    big = next(c for _, c in images if c.shape == (512, 512))
    lines = ["### Drop-in calls (denoise.compat) against the originals", "",
             f"{environment()['date']}; 512x512 gray (Set12), 2 threads, median of 3 runs "
             "after a warm-up; PSNR: mean over Set12 at sigma 25 (color NL-means: the gray "
             "images as BGR). Same process, same run.", "",
             "| call | original s | compat s | compat faster by | PSNR original dB | "
             "PSNR compat dB | compat vs original dB |", "| --- | --- | --- | --- | --- | "
             "--- | --- |"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, original, ours, call, kind in cases():
            x = inputs(big, 0)[kind]
            t_orig, t_ours = seconds(original, call(x)), seconds(ours, call(x))
            note = " (falls back)" if fell_back(ours, call(x)) else ""
            p_orig, p_ours, agree = scores(original, ours, call,
                                           [(i, c, kind) for i, c in images])
            lines.append(f"| {label}{note} | {t_orig:.4f} | {t_ours:.4f} | "
                         f"{t_orig / t_ours:.2f}x | {p_orig:.2f} | {p_ours:.2f} | "
                         f"{'identical' if np.isinf(agree) else f'{agree:.1f}'} |")
    lines += _estimate_sigma_row(images)
    write_text(args.output, "\n".join(lines) + "\n")
    print("\n".join(lines))


def _estimate_sigma_row(images):
    from skimage.restoration import estimate_sigma

    from denoise.compat.skimage import estimate_sigma as ours

    noisy = [noisy_image(c, SIGMA, i) / 255 for i, c in images]
    big = next(x for x in noisy if x.shape == (512, 512))
    t_orig, t_ours = seconds(estimate_sigma, (big,)), seconds(ours, (big,))
    a = np.array([estimate_sigma(x) for x in noisy]) * 255
    b = np.array([ours(x) for x in noisy]) * 255
    return ["", f"estimate_sigma: original {t_orig:.4f} s, compat {t_ours:.4f} s "
                f"({t_orig / t_ours:.2f}x); mean sigma over Set12 (true 25) {a.mean():.3f} "
                f"and {b.mean():.3f}, largest relative difference "
                f"{np.max(np.abs(a - b) / a):.1e}."]


if __name__ == "__main__":
    main()
