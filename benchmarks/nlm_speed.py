"""NLM speed at equal work and peak memory: ours against OpenCV and scikit-image.

Usage: python benchmarks/nlm_speed.py --dataset DIR/Set12 --output FILE.md

Equal work is a 7x7 patch and a 21x21 search window, pixelwise (OpenCV's
fastNlMeansDenoising defaults; scikit-image fast mode with patch_size 7,
patch_distance 10). Each method is timed at 1 and 2 threads on a 1024x1024 gray
image (Set12 08.png tiled 2x2, sigma 25 noise) and over all of Set12, after a
warm-up call, in the same process and the same run; the table quotes the ratios.
Peak memory: the largest rise of the resident set during one call of our nlm
(defaults and pixelwise) on a 4096x4096 float32 image, against the image's size.
"""
import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from denoise import nlm
from denoise._config import set_threads
from denoise.bench import _peak_rise, _reset_peak, environment
from denoise.protocol import clean_image, noisy_image
from denoise.io import iter_images, write_text

SIGMA = 25.0


def ours(x):
    return nlm(x, sigma=SIGMA / 255, patch_radius=3, search_radius=10, h=0.4 * SIGMA / 255,
               aggregate="pixel")


def opencv(x):
    import cv2

    u8 = np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)
    return cv2.fastNlMeansDenoising(u8, None, 0.9 * SIGMA, 7, 21)


def skimage(x):
    from skimage.restoration import denoise_nl_means

    return denoise_nl_means(x, patch_size=7, patch_distance=10, fast_mode=True,
                            h=0.6 * SIGMA / 255, sigma=SIGMA / 255)


def timed(func, images, repeats):
    """Median seconds per image over `repeats` passes (after one warm-up call)."""
    func(images[0][:64, :64])
    times = []
    for _ in range(repeats):
        for image in images:
            start = time.perf_counter()
            func(image)
            times.append(time.perf_counter() - start)
    return times


def set_all_threads(n):
    import cv2

    set_threads(n)
    cv2.setNumThreads(n)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    paths = iter_images(args.dataset)
    set12 = [noisy_image(clean_image(p)[0], SIGMA, i) / 255 for i, p in enumerate(paths)]
    tile = np.tile(clean_image(args.dataset / "08.png")[0], (2, 2))
    big = [noisy_image(tile, SIGMA, 0) / 255]
    methods = {"nlm (ours, pixel 7x7/21x21)": ours, "OpenCV fastNlMeansDenoising": opencv}
    rows = []
    for threads in (1, 2):
        set_all_threads(threads)
        for name, func in methods.items():
            t_big = statistics.median(timed(func, big, 3))
            t_set = sum(timed(func, set12, 1))
            rows.append((name, threads, t_big, t_set))
    set_all_threads(1)
    sk_big = statistics.median(timed(skimage, big, 1))
    sk_set = sum(timed(skimage, set12, 1))

    lines = ["### NLM at equal work (7x7 patch, 21x21 search, pixelwise)", "",
             f"{environment()['date']}; sigma 25; 1024x1024 = Set12 08.png tiled 2x2; "
             "Set12 = all 12 images, total seconds. Same process, same run.", "",
             "| method | threads | 1024² s | Mpx/s | Set12 s | ours faster by (1024² / Set12) |",
             "| --- | --- | --- | --- | --- | --- |"]
    by = {(n, t): (b, s) for n, t, b, s in rows}
    ours_name = next(iter(methods))
    for name, threads, t_big, t_set in rows:
        mine = by[(ours_name, threads)]
        ratio = "" if name == ours_name else f"{t_big / mine[0]:.2f}x / {t_set / mine[1]:.2f}x"
        lines.append(f"| {name} | {threads} | {t_big:.3f} | {1.048576 / t_big:.2f} | "
                     f"{t_set:.3f} | {ratio} |")
    for threads in (1, 2):
        mine = by[(ours_name, threads)]
        lines.append(f"| scikit-image denoise_nl_means fast (single-threaded) vs ours at "
                     f"{threads} thread(s) | 1 | {sk_big:.3f} | {1.048576 / sk_big:.2f} | "
                     f"{sk_set:.3f} | {sk_big / mine[0]:.2f}x / {sk_set / mine[1]:.2f}x |")

    set_all_threads(2)
    huge = np.random.default_rng(0).random((4096, 4096), dtype=np.float32)
    size_mb = huge.nbytes / 2 ** 20
    lines += ["", f"Peak memory on a 4096x4096 float32 gray image ({size_mb:.0f} MB), largest "
                  "rise of the resident set during the call (input excluded), 2 threads:", "",
              "| call | seconds | peak MB | x image size |", "| --- | --- | --- | --- |"]
    for label, kwargs in [("nlm defaults (blockwise, sigma 25)", {}),
                          ("nlm pixelwise 7x7/21x21", dict(patch_radius=3, search_radius=10,
                                                           aggregate="pixel"))]:
        before = _reset_peak()
        start = time.perf_counter()
        nlm(huge, sigma=SIGMA / 255, **kwargs)
        seconds = time.perf_counter() - start
        peak = _peak_rise(before)
        lines.append(f"| {label} | {seconds:.1f} | {peak:.0f} | {peak / size_mb:.2f} |")
    write_text(args.output, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
