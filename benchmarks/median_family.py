"""Median family: plain median speed against SciPy and OpenCV; impulse and mixed noise.

Usage: python benchmarks/median_family.py --dataset DIR/Set12 --output FILE.md [--quick]

Speed: a 1024x1024 image (the first data set image tiled, sigma 25 noise),
as uint8 (rounded, clipped) and float32, windows 3..31. Each call is timed
--repeat times after a warm-up and the median is kept; SciPy is timed once per
size (it is 100 times slower). Threads: 1 for all, then 2 for ours and OpenCV
(SciPy is single-threaded). First call: the first median call in this process
(compilation, unless Numba's cache is warm).

Quality, on every image of the data set (seed = sorted index, noisy image not
clipped, outputs clipped before scoring): salt-pepper noise 10/30/50 %
(median sizes 3/5/7 and adaptive-median), mixed noise (Gaussian sigma 15, then
10 % impulses: median 3/5, nlm, weighted-median) and Gaussian sigma 25 (median
3/5, weighted-median). Methods run at their defaults, with the true sigma where
they take one (none for salt-pepper).
"""
import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

import denoise
from denoise._config import set_threads
from denoise.bench import environment
from denoise.protocol import clean_image, method_sigma, noisy_image, score
from denoise.io import iter_images, write_text

SIZES = (3, 5, 7, 9, 11, 15, 21, 31)
SCIPY_SIZES = (3, 5, 7, 11)


def timed(func, repeat):
    func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(path, repeat):
    """Rows (dtype, size, ours 1t, scipy, cv 1t, ours 2t, cv 2t) in seconds (None: n/a)."""
    import cv2

    clean, _ = clean_image(path)
    reps = (-(-1024 // clean.shape[0]), -(-1024 // clean.shape[1]))
    tiled = np.tile(clean, reps)[:1024, :1024]
    noisy = noisy_image(tiled, 25.0, 0)
    images = {"uint8": np.clip(np.rint(noisy), 0, 255).astype(np.uint8),
              "float32": (noisy / 255.0).astype(np.float32)}
    start = time.perf_counter()
    denoise.median(images["uint8"][:64, :64], radius=1)
    first = time.perf_counter() - start
    rows = []
    for name, image in images.items():
        for size in SIZES:
            cv_ok = name == "uint8" or size <= 5
            row = [name, size]
            for threads in (1, 2):
                set_threads(threads)
                cv2.setNumThreads(threads)
                ours = timed(lambda: denoise.median(image, radius=size // 2), repeat)
                cv = timed(lambda: cv2.medianBlur(image, size), repeat) if cv_ok else None
                if threads == 1:
                    sp = (timed(lambda: ndimage.median_filter(image, size=size, mode="reflect"),
                                1) if size in SCIPY_SIZES else None)
                    row += [ours, sp, cv]
                else:
                    row += [ours, cv]
            rows.append(row)
            print(row, flush=True)
    return rows, first


def quality(paths):
    """{(noise label, method label): (psnr, ssim)} means over `paths`."""
    cases = [(f"salt-pepper {p:.0%}", "salt-pepper", p, {}) for p in (0.1, 0.3, 0.5)]
    cases += [("mixed σ15 + 10%", "mixed", 15.0, {"density": 0.1}),
              ("gaussian σ25", "gaussian", 25.0, {})]
    methods = {
        "salt-pepper": [("median 3x3", lambda x, s: denoise.median(x, radius=1)),
                        ("median 5x5", lambda x, s: denoise.median(x, radius=2)),
                        ("median 7x7", lambda x, s: denoise.median(x, radius=3)),
                        ("adaptive-median", lambda x, s: denoise.adaptive_median(x))],
        "mixed": [("median 3x3", lambda x, s: denoise.median(x, radius=1)),
                  ("median 5x5", lambda x, s: denoise.median(x, radius=2)),
                  ("nlm", lambda x, s: denoise.nlm(x, sigma=s)),
                  ("weighted-median", lambda x, s: denoise.weighted_median(x, sigma=s))],
        "gaussian": [("median 3x3", lambda x, s: denoise.median(x, radius=1)),
                     ("median 5x5", lambda x, s: denoise.median(x, radius=2)),
                     ("weighted-median", lambda x, s: denoise.weighted_median(x, sigma=s))],
    }
    results = {}
    for label, noise, level, options in cases:
        scores = {}
        for index, path in enumerate(paths):
            clean, data_range = clean_image(path)
            noisy = noisy_image(clean, level, index, noise, data_range, **options) / data_range
            given = method_sigma(noise, level)
            sigma = None if given is None else given / data_range
            for name, func in methods[noise]:
                out = np.clip(np.asarray(func(noisy, sigma), np.float64) * data_range,
                              0, data_range)
                scores.setdefault(name, []).append(score(clean, out, data_range))
        for name, values in scores.items():
            results[(label, name)] = tuple(np.mean(values, axis=0))
        print(label, {k: f"{v[0]:.2f}" for (lab, k), v in results.items() if lab == label},
              flush=True)
    return results


def render(rows, first, results, dataset, repeat):
    env = environment()
    lines = ["### Median family: speed against SciPy and OpenCV, impulse and mixed noise", "",
             f"{env.get('cpu', '?')}, {env.get('cores', '?')} cores; {env.get('date', '')}. "
             f"Speed: 1024x1024 ({Path(dataset).name} first image tiled, σ25 noise), "
             f"median of {repeat} calls in ms; scipy once; ratio = their time / ours "
             "(> 1: ours faster). First median call in the process: "
             f"{first:.1f} s.", "",
             "| dtype | size | ours 1t | scipy | ours vs scipy | OpenCV 1t | ours vs OpenCV 1t "
             "| ours 2t | OpenCV 2t | ours vs OpenCV 2t | ours 2t vs scipy |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]

    def ms(v):
        return "-" if v is None else f"{v * 1e3:.2f}"

    def ratio(a, b):
        return "-" if a is None or b is None else f"{a / b:.2f}x"

    for name, size, o1, sp, cv1, o2, cv2_ in rows:
        lines.append(f"| {name} | {size} | {ms(o1)} | {ms(sp)} | {ratio(sp, o1)} | {ms(cv1)} "
                     f"| {ratio(cv1, o1)} | {ms(o2)} | {ms(cv2_)} | {ratio(cv2_, o2)} "
                     f"| {ratio(sp, o2)} |")
    lines += ["", f"Quality on {Path(dataset).name} (mean PSNR dB / SSIM):", "",
              "| noise | method | PSNR | SSIM |", "| --- | --- | --- | --- |"]
    for (label, name), (p, s) in results.items():
        lines.append(f"| {label} | {name} | {p:.2f} | {s:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="first 3 images only")
    args = parser.parse_args(argv)
    paths = list(iter_images(args.dataset))
    paths = sorted(paths)[:3] if args.quick else sorted(paths)
    rows, first = speed(paths[0], args.repeat)
    results = quality(paths)
    write_text(args.output, render(rows, first, results, args.dataset, args.repeat))


if __name__ == "__main__":
    main()
