"""LARK: the automatic stopping rule against the best iteration counts, and speed.

Usage: python benchmarks/lark_stopping.py --dataset DIR/Set12 [--dataset DIR/BSD68]
       [--sigma 15,25,50] [--max-iterations 15] --output FILE.md

For every image and sigma (the bench protocol: seed = sorted index, noise not
clipped, output clipped before scoring) lark runs at its defaults for
`--max-iterations` iterations without stopping, scoring every iterate. The table
compares, per sigma, the mean PSNR of the automatic stop (discrepancy rule: the
first iterate whose mean squared change from the input reaches sigma^2) with
the best single iteration count for the whole set and with the best count of
each image, both chosen with the clean images. Speed: one 512x512 image at
defaults, 2 threads, after a warm-up.
"""
import argparse
import time
from pathlib import Path

import numpy as np

from denoise._config import set_threads
from denoise._image import ImageInfo
from denoise.bench import environment
from denoise.protocol import clean_image, noisy_image, score
from denoise.filters import lark as L
from denoise.io import iter_images, write_text
from denoise.registry import REGISTRY


def lark_settings(sigma, max_iterations):
    """lark's own plan at `sigma` (8-bit units) for a [0, 1] gray image: its Config."""
    info = ImageInfo.typical("float32")
    return REGISTRY["lark"].plan(info, sigma / 255.0, max_iterations=max_iterations).config


def trajectories(paths, sigma, max_iterations):
    """Per image: PSNR of every iterate (list) and the iteration the rule stops at."""
    out = []
    for index, path in enumerate(paths):
        clean, data_range = clean_image(path)
        noisy = noisy_image(clean, sigma * data_range / 255.0, index) / data_range
        work = noisy.astype(np.float32)
        work = work[..., None] if work.ndim == 2 else work
        cfg = lark_settings(sigma, max_iterations)
        level = cfg.level
        psnrs, stop = [], None
        for n, estimate, residual in L.iterate(work, cfg, max_iterations):
            est = np.clip(estimate.astype(np.float64), 0, 1).reshape(clean.shape) * data_range
            psnrs.append(score(clean, est, data_range)[0])
            if stop is None and residual >= level:
                stop = n
        out.append((psnrs, stop or max_iterations))
    return out


def summary_row(name, sigma, runs):
    psnr = np.array([p for p, _ in runs])                 # images x iterations
    stops = np.array([s for _, s in runs])
    auto = np.mean([p[s - 1] for p, s in runs])
    per_count = psnr.mean(axis=0)
    best_count = int(np.argmax(per_count)) + 1
    oracle = psnr.max(axis=1).mean()
    return (f"| {name} | {sigma:g} | {len(runs)} | {auto:.2f} | {np.median(stops):.0f} "
            f"({stops.min()}-{stops.max()}) | {per_count[best_count - 1]:.2f} (n={best_count}) "
            f"| {oracle:.2f} | {auto - per_count[best_count - 1]:+.2f} | {auto - oracle:+.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, action="append", required=True)
    parser.add_argument("--sigma", default="15,25,50")
    parser.add_argument("--max-iterations", type=int, default=15)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    sigmas = [float(s) for s in args.sigma.split(",")]
    set_threads(2)
    lines = ["### LARK: automatic stopping against the best iteration counts", "",
             f"{environment()['date']}; lark defaults; each image run for "
             f"{args.max_iterations} iterations without stopping and scored at every "
             "iterate. `auto`: the discrepancy rule (what `lark` returns); `best count`: the "
             "one iteration count with the highest mean over the set; `oracle`: each "
             "image's own best count. Both chosen with the clean images.", "",
             "| set | sigma | n | auto PSNR | auto stop: median (range) | best count PSNR "
             "| oracle PSNR | auto - best count | auto - oracle |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for dataset in args.dataset:
        paths = iter_images(dataset)[:args.limit]
        for sigma in sigmas:
            runs = trajectories(paths, sigma, args.max_iterations)
            lines.append(summary_row(dataset.name, sigma, runs))
            print(lines[-1], flush=True)

    clean, _ = clean_image(next(p for p in iter_images(args.dataset[0])
                                if clean_image(p)[0].shape == (512, 512)))
    noisy = (noisy_image(clean, 25.0, 0) / 255).astype(np.float32)
    L.lark(noisy[:64, :64], sigma=25 / 255)                 # compile
    start = time.perf_counter()
    cfg = lark_settings(25.0, REGISTRY["lark"].defaults["max_iterations"])
    n_done = 0
    for n_done, _, residual in L.iterate(noisy[..., None], cfg, cfg.max_iterations):
        if residual >= cfg.level:
            break
    seconds = time.perf_counter() - start
    lines += ["", f"Speed: 512x512 gray, sigma 25, defaults (radius {cfg.radius}, "
                  f"h {cfg.h:.2f}), 2 threads: {seconds:.2f} s for {n_done} iterations, "
                  f"{0.262144 * n_done / seconds:.2f} Mpx/s per iteration."]
    write_text(args.output, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
