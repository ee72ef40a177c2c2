"""Fast (Fourier range kernel) bilateral against the direct kernel: time and max error.

Usage: python benchmarks/bilateral_fast.py --dataset DIR/Set12 --output FILE.md

A 1024x1024 gray float32 image (Set12 08.png tiled 2x2, sigma 25 noise, not
clipped: values -0.25 .. 1.25), windows 5x5 .. 41x41 with sigma_spatial =
radius / 2 (the rule's radius = ceil(2 sigma_spatial)), sigma_range at the rule's
values (2.5 sigma at sigma 15 without the pilot, 0.7 sigma at sigma 25 and 50
with it). Both run without the pilot, then at the rule's own settings for sigma
25 and 50 with the pilot (the fast path given the same 3x3 box guide). Each
time is the median of interleaved calls after a warm-up, at --threads threads;
the error is the max |fast - direct| over the image (data range 1).
"""
import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from denoise._config import set_threads
from denoise.bench import environment
from denoise.filters._bilateral_shiftable import (auto_prefers_fast, fast_terms,
                                                  shiftable_bilateral)
from denoise.filters.bilateral import bilateral
from denoise.io import write_text
from denoise.protocol import clean_image, noisy_image

RADII = (2, 3, 4, 5, 7, 10, 12, 15, 20)
SIGMA_RANGES = {"0.069 (0.7 x 25/255)": 0.7 * 25 / 255, "0.147 (2.5 x 15/255)": 2.5 * 15 / 255}
RULE = {"sigma 25 rule (pilot)": (4, 2.0, 0.7 * 25 / 255),
        "sigma 50 rule (pilot)": (8, 4.0, 0.7 * 50 / 255)}


def median_times(calls, repeats):
    """Median seconds of each of `calls` (a dict of no-argument functions), interleaved."""
    for call in calls.values():
        call()
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def compare(image, radius, sigma_spatial, sigma_range, pilot, repeats):
    """(direct s, fast s, max error) for one setting."""
    guide = ndimage.uniform_filter(image, 3, mode="reflect") if pilot else None
    results = {}

    def direct():
        results["direct"] = bilateral(image, sigma_range=sigma_range, radius=radius,
                                      sigma_spatial=sigma_spatial, pilot=pilot)

    def fast():
        results["fast"] = shiftable_bilateral(image, sigma_spatial, radius, sigma_range,
                                              guide=guide)

    times = median_times({"direct": direct, "fast": fast}, repeats)
    error = float(np.abs(results["fast"] - results["direct"]).max())
    return times["direct"], times["fast"], error


def switch_radius(sigma_range):
    """The smallest radius from which auto takes the fast path (None: never up to 50)."""
    return next((r for r in range(1, 51) if auto_prefers_fast(r, sigma_range, 1.0, 1)), None)


def table(image, repeats):
    """The Markdown rows of the window sweep."""
    spread = float(image.max() - image.min())
    lines = ["| sigma_range | window | K terms | direct s | fast s | direct / fast | "
             "max error | auto |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, sigma_range in SIGMA_RANGES.items():
        for radius in RADII:
            t_direct, t_fast, error = compare(image, radius, radius / 2, sigma_range,
                                              False, repeats)
            n_terms = fast_terms(radius, sigma_range, spread, radius / 2, 1e-3)
            pick = "fast" if auto_prefers_fast(radius, sigma_range, 1.0, 1) else "direct"
            size = 2 * radius + 1
            lines.append(f"| {label} | {size}x{size} | {n_terms} | {t_direct:.3f} | "
                         f"{t_fast:.3f} | {t_direct / t_fast:.2f} | {error:.1e} | {pick} |")
    for label, (radius, sigma_spatial, sigma_range) in RULE.items():
        t_direct, t_fast, error = compare(image, radius, sigma_spatial, sigma_range, True,
                                          repeats)
        size = 2 * radius + 1
        pick = "fast" if auto_prefers_fast(radius, sigma_range, 1.0, 1) else "direct"
        lines.append(f"| {label}: {sigma_range:.3f} | {size}x{size} | - | {t_direct:.3f} | "
                     f"{t_fast:.3f} | {t_direct / t_fast:.2f} | {error:.1e} | {pick} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=Path("/work/shared/datasets/Set12"))
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    tile = np.tile(clean_image(args.dataset / "08.png")[0], (2, 2))
    image = (noisy_image(tile, 25.0, 0) / 255).astype(np.float32)
    lines = ["### Fast bilateral (Fourier range kernel) against the direct kernel", "",
             f"{environment()['date']}; 1024x1024 gray float32 (Set12 08.png tiled 2x2, "
             f"sigma 25, spread {float(image.max() - image.min()):.2f}); sigma_spatial = "
             f"radius / 2; {args.threads} threads; medians of {args.repeats} interleaved "
             "calls. Stated bound: max error <= 1e-3 of the data range.", ""]
    lines += table(image, args.repeats)
    lines += ["", "auto switches to the fast path from the window: " + ", ".join(
        f"sigma_range {s:.3f}: {2 * r + 1}x{2 * r + 1}" if r else f"sigma_range {s:.3f}: never"
        for s in (0.03, 0.05, 0.069, 0.1, 0.147, 0.2, 0.3) for r in [switch_radius(s)])]
    write_text(args.output, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
