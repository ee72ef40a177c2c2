"""LARK speed at defaults: seconds per image, per-stage timings, compile time, PSNR.

Usage: python benchmarks/lark_speed.py --dataset DIR/Set12 --output FILE.md
       [--sigma 25] [--repeats 1] [--limit N]

Every image of the set gets the bench protocol's noise (seed = sorted index, not
clipped) at `--sigma` (8-bit units) and is denoised by ``lark`` at its defaults
(automatic stop), at 1 and 2 threads in the same process, after a warm-up call
on a small crop; the output is clipped to the data range and scored. Per-stage
timings come from one pass over the set at 2 threads with the module's step
functions and its band runner wrapped by timers (wall seconds and CPU seconds,
whose ratio is how many threads were busy); what the wrappers do not cover is
the numpy work between the steps. The first-call time is measured in a fresh
process with an empty Numba cache: the compilation of every lark kernel.
"""
import argparse
import collections
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from denoise import lark
from denoise._config import set_threads
from denoise.bench import environment
from denoise.filters import lark as L
from denoise.io import iter_images, write_text
from denoise.protocol import clean_image, noisy_image, score

#: Step functions of the module timed as stages (those that exist are wrapped).
STAGES = ("ckr_gradients", "steering", "skr", "_luma", "pad_reflect", "_pad")

COMPILE_SNIPPET = """
import time
import numpy as np
start = time.perf_counter()
from denoise import lark
imported = time.perf_counter()
x = np.random.default_rng(0).random((16, 16), dtype=np.float32)
lark(x, sigma=0.1)
first = time.perf_counter()
lark(x, sigma=0.1)
second = time.perf_counter()
print(imported - start, first - imported, second - first)
"""


def load(dataset, sigma, limit):
    """[(clean, noisy in [0, 1] float32, data range)] for the images of `dataset`."""
    out = []
    for index, path in enumerate(iter_images(dataset)[:limit]):
        clean, data_range = clean_image(path)
        noisy = noisy_image(clean, sigma * data_range / 255.0, index) / data_range
        out.append((clean, noisy.astype(np.float32), data_range))
    return out


def run_set(images, sigma):
    """(seconds per image, PSNR per image) of lark at defaults."""
    seconds, psnrs = [], []
    for clean, noisy, data_range in images:
        start = time.perf_counter()
        out = lark(noisy, sigma=sigma / 255.0)
        seconds.append(time.perf_counter() - start)
        est = np.clip(out.astype(np.float64), 0, 1).reshape(clean.shape) * data_range
        psnrs.append(score(clean, est, data_range)[0])
    return seconds, psnrs


class Timers:
    """Wall and CPU seconds and calls per label, from wrapped functions."""

    def __init__(self):
        self.wall = collections.Counter()
        self.cpu = collections.Counter()
        self.calls = collections.Counter()

    def wrap(self, label, func):
        @functools.wraps(func)
        def timed(*args, **kwargs):
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                return func(*args, **kwargs)
            finally:
                self.wall[label] += time.perf_counter() - w0
                self.cpu[label] += time.process_time() - c0
                self.calls[label] += 1
        return timed


def stage_profile(images, sigma):
    """Timers over one pass of the set with the stages and the band runner wrapped,
    and the total wall and CPU seconds."""
    timers = Timers()
    saved = {name: getattr(L, name) for name in STAGES + ("run_bands",) if hasattr(L, name)}
    runner = saved["run_bands"]

    def run_bands(kernel, *args, **kwargs):
        name = "kernel " + getattr(kernel, "__name__", str(kernel))
        return timers.wrap(name, runner)(kernel, *args, **kwargs)

    try:
        for name in STAGES:
            if name in saved:
                setattr(L, name, timers.wrap(name, saved[name]))
        L.run_bands = run_bands
        w0, c0 = time.perf_counter(), time.process_time()
        for _, noisy, _ in images:
            lark(noisy, sigma=sigma / 255.0)
        total = (time.perf_counter() - w0, time.process_time() - c0)
    finally:
        for name, func in saved.items():
            setattr(L, name, func)
    return timers, total


def compile_time():
    """(import, first call, second call) seconds of a fresh process, empty Numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        done = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, check=True,
                              capture_output=True, text=True)
    return [float(v) for v in done.stdout.split()]


def profile_lines(timers, total, n_images, megapixels):
    wall, cpu = total
    lines = [f"Stages, 2 threads, one pass over the set ({wall:.2f} s wall, {cpu:.2f} s CPU, "
             f"{cpu / wall:.2f} threads busy; per image {wall / n_images:.3f} s, "
             f"{megapixels / wall:.2f} Mpx/s). Stages are nested (a step's time includes "
             "the kernels it runs).", "",
             "| stage | calls | s per image | share of wall | threads busy |",
             "| --- | --- | --- | --- | --- |"]
    for label in sorted(timers.wall, key=timers.wall.get, reverse=True):
        w = timers.wall[label]
        lines.append(f"| {label} | {timers.calls[label]} | {w / n_images:.4f} | "
                     f"{100 * w / wall:.1f} % | {timers.cpu[label] / max(w, 1e-9):.2f} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--sigma", type=float, default=25.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    imported, first, second = compile_time()
    images = load(args.dataset, args.sigma, args.limit)
    megapixels = sum(noisy.size for _, noisy, _ in images) / 1e6
    lark(images[0][1][:32, :32], sigma=args.sigma / 255.0)           # warm-up
    rows, psnr = [], None
    for threads in (1, 2):
        set_threads(threads)
        per_image = []
        for _ in range(args.repeats):
            seconds, psnrs = run_set(images, args.sigma)
            per_image.append(sum(seconds) / len(seconds))
            psnr = float(np.mean(psnrs))
        best = min(per_image)
        rows.append(f"| {threads} | {best:.3f} | {statistics.median(per_image):.3f} | "
                    f"{megapixels / len(images) / best:.2f} | {psnr:.3f} |")
    set_threads(2)
    timers, total = stage_profile(images, args.sigma)

    lines = [f"### LARK speed at defaults ({args.dataset.name}, sigma {args.sigma:g})", "",
             f"{environment()['date']}; {len(images)} images, bench protocol noise; lark "
             f"defaults (automatic stop); seconds per image = mean over the set, best of "
             f"{args.repeats} pass(es); PSNR of the clipped output.", "",
             "| threads | s per image (best) | s per image (median) | Mpx/s | PSNR dB |",
             "| --- | --- | --- | --- | --- |", *rows, "",
             *profile_lines(timers, total, len(images), megapixels), "",
             f"First call in a fresh process with an empty Numba cache (16x16 gray): "
             f"import {imported:.2f} s, first call {first:.2f} s (compilation), second "
             f"call {second:.3f} s."]
    write_text(args.output, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
