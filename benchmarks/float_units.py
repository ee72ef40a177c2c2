"""Float data in [0, 1], 8-bit and 16-bit units: the same PSNR from every method.

Usage: python benchmarks/float_units.py --dataset DIR/Set12 --output FILE.md [--sigma 25]

Every image of the data set, as float64 on [0, 1], gets Gaussian noise of sigma/255
(the protocol's seeds, not clipped); each method denoises it at its defaults with
the true sigma, as given (x 1), and the same noisy data multiplied by 255 and by
65535 with sigma multiplied alike and the data range left to the method (read from
the values). PSNR of the output divided back, clipped to [0, 1], against the clean
image: the mean over the data set, and the largest difference of an output from the
x 1 output times the factor, over the factor (0 means the same result, scaled).
"""
import argparse
from pathlib import Path

import numpy as np

import denoise
from denoise.bench import environment
from denoise.io import iter_images, write_text
from denoise.metrics import psnr
from denoise.protocol import clean_image, noisy_image
from denoise.registry import our_methods

FACTORS = (1.0, 255.0, 65535.0)


def measure(name, clean, noisy, sigma):
    """({factor: mean PSNR}, largest |out_a / a - out_1| over the data set)."""
    spec = denoise.REGISTRY[name]
    scores, gap = {a: [] for a in FACTORS}, 0.0
    for c, n in zip(clean, noisy):
        base = None
        for a in FACTORS:
            out = spec.func(a * n, sigma=a * sigma) / a
            base = out if base is None else base
            gap = max(gap, float(np.abs(out - base).max()))
            scores[a].append(psnr(c, np.clip(out, 0.0, 1.0), data_range=1.0))
    return {a: float(np.mean(v)) for a, v in scores.items()}, gap


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--sigma", type=float, default=25.0)
    parser.add_argument("-m", "--method", action="append", dest="methods")
    args = parser.parse_args(argv)
    clean = [clean_image(p)[0] / 255.0 for p in iter_images(args.dataset)]
    noisy = [noisy_image(c * 255.0, args.sigma, i) / 255.0 for i, c in enumerate(clean)]
    sigma = args.sigma / 255.0
    lines = [f"### Float data in [0, 1], 8-bit and 16-bit units (sigma {args.sigma:g})", "",
             f"{environment()['date']}; {args.dataset.name}: {len(clean)} images as float64, "
             f"defaults, the true sigma in the data's units, the range read from the values.",
             "", "| method | PSNR x1 | PSNR x255 | PSNR x65535 | largest difference |",
             "| --- | --- | --- | --- | --- |"]
    for name in args.methods or our_methods():
        scores, gap = measure(name, clean, noisy, sigma)
        lines.append(f"| {name} | " + " | ".join(f"{scores[a]:.2f}" for a in FACTORS) +
                     f" | {gap:.1e} |")
        print(lines[-1], flush=True)
    lines += ["", "Differences are of outputs on [0, 1] (float32 rounding of the scaled "
                  "data); before the data range, lark scored the noisy input's level at "
                  "x255.", ""]
    write_text(args.output, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
