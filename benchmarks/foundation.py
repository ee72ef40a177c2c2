"""Median and bilateral on a gray benchmark set (Set12 protocol), beside OpenCV and
scipy in the same run; writes a Markdown report. Superseded by `denoise bench`.

Protocol (../shared/datasets/README.md): clean in [0, 255] float64; noisy = clean +
N(0, sigma^2) from default_rng(index in sorted order), not clipped; outputs clipped
to [0, 255]; PSNR with peak 255, SSIM with skimage (data_range 255). Our filters
get the noisy image scaled to [0, 1] (float32) with sigma / 255.

    python benchmarks/foundation.py --dataset ../shared/datasets/Set12 --output BENCHMARKS.md
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from skimage.metrics import structural_similarity

import denoise
from denoise.io import iter_images, read_image

SIGMAS = (15, 25, 50)


def ours(name):
    func = denoise.REGISTRY[name].func
    return lambda noisy, sigma: func((noisy / 255).astype(np.float32), sigma=sigma / 255) * 255.0


def references():
    """Reference methods that are installed: label -> f(noisy, sigma) in 0-255 units."""
    from scipy import ndimage

    refs = {"scipy median 3x3": lambda n, s: ndimage.median_filter(n, size=3, mode="reflect")}
    try:
        import cv2
    except ImportError:
        return refs
    refs["OpenCV bilateral (d 5, 3 sigma, 2)"] = lambda n, s: cv2.bilateralFilter(
        n.astype(np.float32), 5, 3.0 * s, 2.0)
    return refs


def score(clean, out):
    out = np.clip(out, 0, 255)
    psnr = 10 * np.log10(255.0 ** 2 / np.mean((out - clean) ** 2))
    return psnr, structural_similarity(out, clean, data_range=255)


def quality(images, methods):
    """{(label, sigma): (mean PSNR, mean SSIM)}; methods alternate image by image."""
    results = {}
    for sigma in SIGMAS:
        rows = {label: [] for label in methods}
        for index, clean in enumerate(images):
            noisy = clean + np.random.default_rng(index).normal(0, sigma, clean.shape)
            for label, func in methods.items():
                rows[label].append(score(clean, func(noisy, sigma)))
        for label, vals in rows.items():
            results[label, sigma] = tuple(np.mean(vals, axis=0))
    return results


def timing(images, methods, threads, repeats=3):
    """{label: median seconds per 512x512 image} at `threads` threads, sigma 25."""
    import numba
    big = [c for c in images if c.shape == (512, 512)] or images[:1]
    numba.set_num_threads(threads)
    try:
        import cv2
        cv2.setNumThreads(threads)
    except ImportError:
        pass
    noisy = [c + np.random.default_rng(i).normal(0, 25, c.shape) for i, c in enumerate(big)]
    for func in methods.values():              # warm up (JIT) before timing
        func(noisy[0][:16, :16], 25)
    times = {label: [] for label in methods}
    for _ in range(repeats):
        for n in noisy:
            for label, func in methods.items():
                t0 = time.perf_counter()
                func(n, 25)
                times[label].append(time.perf_counter() - t0)
    return {label: statistics.median(v) for label, v in times.items()}, big[0].shape


def first_call():
    """Seconds for import + first call in a fresh process: cold (compiling) and cached."""
    code = ("import time; t=time.perf_counter(); import numpy as np, denoise; "
            "x=np.random.default_rng(0).random((64,64)).astype(np.float32); "
            "denoise.median(x, sigma=.1); denoise.bilateral(x, sigma=.1); "
            "print(time.perf_counter()-t)")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        runs = [float(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                     capture_output=True, text=True).stdout) for _ in range(2)]
    return runs


def report(dataset, images, results, labels, times, shape, calls):
    import numba
    import skimage
    lines = [
        "# Benchmarks", "",
        f"Produced by `python benchmarks/foundation.py --dataset {dataset} --output BENCHMARKS.md`"
        f" (`make bench`) on {datetime.date.today()}: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}, "
        f"numba {numba.__version__}, scikit-image {skimage.__version__}"
        + (f", OpenCV {_cv2_version()}" if _cv2_version() else "") + ".", "",
        f"## Quality: {Path(dataset).name}, {len(images)} images, mean PSNR dB / SSIM", "",
        "Noise protocol of ../shared/datasets/README.md (seed = index in sorted order, "
        "noisy not clipped, outputs clipped). Ours at their sigma-derived defaults "
        "(`denoise methods NAME`); references at the rules measured in ANCHORS.md.", "",
        "| method | " + " | ".join(f"sigma {s}" for s in SIGMAS) + " |",
        "| --- |" + " --- |" * len(SIGMAS)]
    for label in labels:
        cells = [f"{results[label, s][0]:.2f} / {results[label, s][1]:.4f}" for s in SIGMAS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"## Speed: {shape[0]}x{shape[1]} gray, sigma 25, median seconds per image", "",
              "Same run, methods alternating image by image, after a warm-up call "
              "(compilation excluded).", "",
              "| method | " + " | ".join(f"{t} thread{'s' * (t > 1)}" for t in times) + " |",
              "| --- |" + " --- |" * len(times)]
    for label in [lb for lb in labels if lb != "noisy"]:
        lines.append(f"| {label} | " + " | ".join(
            f"{times[t][label]:.4f} s ({shape[0] * shape[1] / 1e6 / times[t][label]:.1f} Mpx/s)"
            for t in times) + " |")
    pairs = [("median (ours)", "scipy median 3x3"),
             ("bilateral (ours)", "OpenCV bilateral (d 5, 3 sigma, 2)")]
    for mine, ref in pairs:
        if ref in labels:
            ratios = ", ".join(f"{times[t][ref] / times[t][mine]:.2f}x at {t} thread(s)"
                               for t in times)
            lines.append(f"\nSpeed of {mine} relative to {ref} (>1: ours faster): {ratios}.")
    lines += ["", "## Start-up", "",
              f"Import + first median and bilateral call in a fresh process: "
              f"{calls[0]:.2f} s with an empty Numba cache (compiling), {calls[1]:.2f} s "
              f"with the cache written by the first run.", ""]
    return "\n".join(lines)


def _cv2_version():
    try:
        import cv2
        return cv2.__version__
    except ImportError:
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, type=Path)
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args()
    files = iter_images(args.dataset)
    if not files:
        sys.exit(f"benchmark: no images in {args.dataset} (set DATASETS=...)")
    images = [read_image(p).astype(np.float64) for p in files]
    methods = {"noisy": lambda n, s: n, "median (ours)": ours("median"),
               "bilateral (ours)": ours("bilateral"), **references()}
    results = quality(images, methods)
    timed = {k: v for k, v in methods.items() if k != "noisy"}
    times, shape = {}, None
    for threads in (1, 2):
        times[threads], shape = timing(images, timed, threads)
    text = report(args.dataset, images, results, list(methods), times, shape, first_call())
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
