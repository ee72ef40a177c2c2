"""weighted-median speed at its defaults: seconds per 512x512 image, Mpx/s, PSNR, compile time.

Usage: python benchmarks/wmedian_speed.py --dataset DIR/Set12 --output FILE.md [--repeat N]

Every image of the data set gets sigma 25 Gaussian noise (the protocol's seeds,
not clipped) and is denoised at the defaults with the true sigma, at 1 and 2
threads, after a warm-up call, in the same process and the same run. Seconds
per 512x512 image are the total time over the data set scaled by its pixel
count (the median over --repeat passes). PSNR: the mean over the data set
(outputs clipped). First call: a new process with an empty Numba cache folder,
the time of its first call on a 64x64 crop (compilation included).
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

import denoise
from denoise._config import set_threads
from denoise.bench import environment
from denoise.io import iter_images, write_text
from denoise.protocol import clean_image, noisy_image, score

SIGMA = 25.0
FIRST_CALL = (
    "import time, numpy as np, denoise\n"
    "x = np.random.default_rng(0).random((64, 64)).astype(np.float32)\n"
    "t = time.perf_counter(); denoise.weighted_median(x, sigma=0.1)\n"
    "print(time.perf_counter() - t)\n")


def run(noisy):
    return denoise.weighted_median(noisy / 255.0, sigma=SIGMA / 255.0)


def first_call():
    """Seconds of the first call in a new process with an empty Numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        done = subprocess.run([sys.executable, "-c", FIRST_CALL], env=env, check=True,
                              capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def timed_pass(images):
    """Seconds for one pass over `images`."""
    start = time.perf_counter()
    for noisy in images:
        run(noisy)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    clean = [clean_image(p)[0] for p in iter_images(args.dataset)]
    noisy = [noisy_image(c, SIGMA, i) for i, c in enumerate(clean)]
    megapixels = sum(c.size for c in clean) / 1e6
    per_512 = 512 * 512 / 1e6 / megapixels
    compile_s = first_call()
    run(noisy[0][:64, :64])
    rows = []
    for threads in (1, 2):
        set_threads(threads)
        total = statistics.median(timed_pass(noisy) for _ in range(args.repeat))
        rows.append((threads, total * per_512, megapixels / total))
    psnr = statistics.mean(score(c, np.clip(run(n) * 255.0, 0, 255), 255.0)[0]
                           for c, n in zip(clean, noisy))
    lines = ["### weighted-median speed (defaults, sigma 25)", "",
             f"{environment()['date']}; {args.dataset.name}: {len(clean)} images, "
             f"{megapixels:.2f} Mpx; median of {args.repeat} passes; same process.", "",
             "| threads | s per 512² | Mpx/s |", "| --- | --- | --- |"]
    lines += [f"| {t} | {s:.3f} | {m:.2f} |" for t, s, m in rows]
    lines += ["", f"2 threads over 1: {rows[0][1] / rows[1][1]:.2f}x. "
                  f"Mean PSNR at sigma 25: {psnr:.3f} dB. "
                  f"First call, empty Numba cache: {compile_s:.1f} s.", ""]
    write_text(args.output, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
