"""Bilateral speed at equal taps: ours (direct, exact) against OpenCV's bilateralFilter.

Usage: python benchmarks/bilateral_speed.py --dataset DIR/Set12 --output FILE.md

Equal taps: our bilateral with opencv_compat (the disk window of radius d // 2,
OpenCV's L1 colour distance) against cv2.bilateralFilter with the same d, sigma
0.1 (range) and d / 3 (space), on float32 images in [0, 1]; our square window of
the same radius is timed beside it (more taps: (2r + 1)^2 against the disk's).
Times are medians of runs interleaved with OpenCV's in the same process, after a
warm-up call; the padding and the conversions are included. 1024x1024 and
4096x4096 random images, 1 and 2 threads; uint8 and RGB separately; Mpx/s over
Set12 at sigma 25 with our defaults beside OpenCV at its tuned setting (d 5,
sigmaColor 3 sigma, sigmaSpace 2); the first call's compile time.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from denoise import bilateral
from denoise._config import set_threads
from denoise.bench import environment
from denoise.io import iter_images, write_text
from denoise.protocol import clean_image, noisy_image

DIAMETERS = (5, 7, 9, 15)
SIGMA_RANGE = 0.1


def ours(image, d, circular=True):
    return bilateral(image, sigma_range=SIGMA_RANGE * (255 if image.dtype == np.uint8 else 1),
                     sigma_spatial=d / 3, radius=d // 2, pilot=False, opencv_compat=circular)


def opencv(image, d):
    import cv2

    scale = 255 if image.dtype == np.uint8 else 1
    return cv2.bilateralFilter(image, d, SIGMA_RANGE * scale, d / 3)


def interleaved(funcs, repeats):
    """Median seconds of each of `funcs` (name -> callable), runs interleaved."""
    for func in funcs.values():
        func()
    times = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            start = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def set_all_threads(n):
    import cv2

    set_threads(n)
    cv2.setNumThreads(n)


def equal_taps(rng, repeats):
    lines = ["| size | threads | d | disk taps | ours disk ms | OpenCV ms | ours / OpenCV | "
             "ours square ms ((2r+1)^2 taps) |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for size in (1024, 4096):
        image = rng.random((size, size), dtype=np.float32)
        for threads in (1, 2):
            set_all_threads(threads)
            for d in DIAMETERS:
                r = d // 2
                taps = sum(1 for i in range(-r, r + 1) for j in range(-r, r + 1)
                           if i * i + j * j <= r * r)
                t = interleaved({"disk": lambda: ours(image, d), "cv": lambda: opencv(image, d),
                                 "square": lambda: ours(image, d, circular=False)},
                                repeats if size == 1024 else 1)
                lines.append(f"| {size}² | {threads} | {d} | {taps} | {t['disk'] * 1e3:.1f} | "
                             f"{t['cv'] * 1e3:.1f} | **{t['disk'] / t['cv']:.2f}** | "
                             f"{t['square'] * 1e3:.1f} |")
    return lines


def other_types(rng, repeats):
    lines = ["| input | d | ours ms | OpenCV ms | ours / OpenCV |", "| --- | --- | --- | --- | --- |"]
    set_all_threads(1)
    images = {"uint8 gray": (rng.random((1024, 1024)) * 255).astype(np.uint8),
              "float32 RGB": rng.random((1024, 1024, 3), dtype=np.float32),
              "uint8 RGB": (rng.random((1024, 1024, 3)) * 255).astype(np.uint8)}
    for label, image in images.items():
        for d in DIAMETERS:
            t = interleaved({"ours": lambda: ours(image, d), "cv": lambda: opencv(image, d)},
                            repeats)
            lines.append(f"| {label} 1024² | {d} | {t['ours'] * 1e3:.1f} | "
                         f"{t['cv'] * 1e3:.1f} | {t['ours'] / t['cv']:.2f} |")
    return lines


def at_defaults(dataset, repeats):
    import cv2

    sigma = 25.0
    images = [(noisy_image(clean_image(p)[0], sigma, i) / 255).astype(np.float32)
              for i, p in enumerate(iter_images(dataset))]
    mpx = sum(im.size for im in images) / 1e6
    funcs = {"ours": lambda: [bilateral(im, sigma=sigma / 255) for im in images],
             "cv": lambda: [cv2.bilateralFilter(im, 5, 3 * sigma / 255, 2.0) for im in images]}
    lines = ["| call (Set12, sigma 25) | threads | Mpx/s | ours / OpenCV (time) |",
             "| --- | --- | --- | --- |"]
    for threads in (1, 2):
        set_all_threads(threads)
        t = interleaved(funcs, repeats)
        lines.append(f"| ours, defaults (pilot, 9x9 square) | {threads} | {mpx / t['ours']:.0f} | "
                     f"{t['ours'] / t['cv']:.2f} |")
        lines.append(f"| OpenCV, tuned (d 5, 3 sigma, 2) | {threads} | {mpx / t['cv']:.0f} | |")
    return lines


def first_call():
    """Seconds of the first gray and RGB calls in a new process with an empty cache,
    then with the cache filled (another new process)."""
    code = ("import time, numpy as np; t = time.perf_counter(); from denoise import bilateral; "
            "x = np.random.default_rng(0).random((16, 16, 3), dtype=np.float32); "
            "t0 = time.perf_counter(); bilateral(x[..., 0], sigma=0.1); "
            "bilateral(x[..., 0], sigma=0.01); t1 = time.perf_counter(); "
            "bilateral(x, sigma=0.1); bilateral(x, sigma=0.01); "
            "print(t1 - t0, time.perf_counter() - t1)")
    results = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for _ in range(2):
            done = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                  capture_output=True, text=True)
            results.append([float(v) for v in done.stdout.split()])
    (gray, rgb), (gray_cached, rgb_cached) = results
    return ["| first call | gray (pilot and not) s | RGB (pilot and not) s |",
            "| --- | --- | --- |", f"| empty cache (compiles) | {gray:.2f} | {rgb:.2f} |",
            f"| cached (new process) | {gray_cached:.2f} | {rgb_cached:.2f} |"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=Path("../shared/datasets/Set12"))
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    lines = ["### Bilateral speed (direct, exact) against OpenCV bilateralFilter", "",
             f"{environment()['date']}; float32 in [0, 1], sigma_range 0.1, sigma_spatial "
             f"d / 3; medians of {args.repeats} interleaved runs (4096²: one run). "
             "Ratios below 1: ours is faster.", ""]
    lines += equal_taps(rng, args.repeats)
    lines += ["", "uint8 and RGB, 1 thread (ours computes in float32: uint8 is converted):", ""]
    lines += other_types(rng, args.repeats)
    lines += ["", "Throughput at the settings people use:", ""]
    lines += at_defaults(args.dataset, max(3, args.repeats // 3))
    lines += ["", "First call (compile) in a new process:", ""] + first_call()
    write_text(args.output, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
