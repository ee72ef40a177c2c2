"""Tune accuracy: the self-supervised (J-invariant) choice against the clean-chosen best.

Usage: python benchmarks/tune_accuracy.py --dataset DIR [--dataset DIR] --output FILE.md
       [--limit N] [--methods nlm,bilateral,median] [--levels 15,25,50] [--noise camera]

For every image of each data set (the benchmark protocol, denoise.protocol: seed =
sorted index, noise not clipped, methods given ``noisy / data_range`` as a float
image), each noise level and each method, ``denoise.tune.tune`` runs over its
default grid (strength 0.5, 0.7, 1, 1.4, 2: the sigma run gives the method,
times) twice: without the clean image (J-invariant loss on a centre crop of at most 512 x 512) and with it
(PSNR of the whole image). The self-supervised choice is scored by its PSNR in
the second ranking (the same candidates), so the gap is what choosing without a
reference costs. "x1.0" is the PSNR at strength 1 (what
``denoise run`` does by default). PSNR as tune computes it: the float output,
not clipped, against the clean image on [0, 1]. --noise camera runs the camera
model at level 1 (an RGB set; the truth is the clean image through the same
pipeline). Seconds are per image: the self-supervised search, then the one with
the clean image.
"""
import argparse
import statistics
import time
from pathlib import Path

from denoise.bench import environment
from denoise.io import write_text
from denoise.protocol import clean_image, load_dataset, noisy_pair
from denoise.tune import tune

HEADER = ("| set | noise | method | level | n | self-sup. PSNR | clean-chosen PSNR | x1.0 PSNR "
          "| gap mean | gap worst | same choice | r_c > 0 | s self-sup. | s clean |")


def measure(method, noisy, truth):
    """One image: (self-supervised PSNR, best PSNR, x1.0 PSNR, same, radius, s, s)."""
    start = time.perf_counter()
    blind = tune(noisy, method)
    middle = time.perf_counter()
    seen = tune(noisy, method, clean=truth)
    end = time.perf_counter()
    by_params = {tuple(sorted(t.params.items())): t.score for t in seen.ranking}
    chosen = by_params[tuple(sorted(blind.best.params.items()))]
    plain = [t.score for t in seen.ranking if t.params == _unit(seen)]
    return (chosen, seen.best.score, plain[0] if plain else float("nan"),
            blind.best.params == seen.best.params, blind.radius, middle - start, end - middle)


def _unit(result):
    """The candidate at strength 1: what ``denoise run`` does by default."""
    return {"strength": 1.0}


def run(datasets, methods, levels, noise, limit):
    """Rows of the table, one per (set, method, level)."""
    rows = []
    for folder in datasets:
        images = load_dataset(folder, limit)
        for level in levels:
            pairs = []
            for index, (name, path) in enumerate(images):
                clean, top = clean_image(path)
                noisy, truth = noisy_pair(clean, level, index, noise, top)
                pairs.append((name, noisy / top, truth / top))
            for method in methods:
                found = []
                for name, noisy, truth in pairs:
                    found.append(measure(method, noisy, truth))
                    print(folder.name, noise, method, level, name,
                          " ".join(f"{v:.3f}" if isinstance(v, float) else str(v)
                                   for v in found[-1]), flush=True)
                rows.append(_row(folder.name, noise, method, level, found))
    return rows


def _row(name, noise, method, level, found):
    chosen, best, plain, same, radius, s_blind, s_seen = zip(*found)
    gaps = [b - c for b, c in zip(best, chosen)]
    mean = statistics.fmean
    return (f"| {name} | {noise} | {method} | {level:g} | {len(found)} | {mean(chosen):.2f} "
            f"| {mean(best):.2f} | {mean(plain):.2f} | {mean(gaps):.3f} | {max(gaps):.3f} "
            f"| {sum(same)}/{len(found)} | {sum(r > 0 for r in radius)} "
            f"| {mean(s_blind):.1f} | {mean(s_seen):.1f} |")


def render(rows, command, seconds, what=""):
    env = environment()
    lines = [f"### tune: self-supervised choice against the clean-chosen best{what}", "",
             __doc__.split("\n\n", 1)[1].strip(), "", f"Command: `{command}`", "",
             f"Machine: {env['cpu']}, {env['cores']} cores; Python {env['python']}; "
             f"{env['date']}; total {seconds / 60:.1f} min.", "", HEADER,
             "|" + "---|" * (HEADER.count("|") - 1)]
    return "\n".join(lines + rows) + "\n"


def main():
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, action="append", required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=None, help="first N images per set")
    parser.add_argument("--methods", default="nlm,bilateral,median")
    parser.add_argument("--levels", default="15,25,50")
    parser.add_argument("--noise", default="gaussian", choices=["gaussian", "camera"])
    args = parser.parse_args()
    levels = [1.0] if args.noise == "camera" else [float(v) for v in args.levels.split(",")]
    start = time.perf_counter()
    rows = run(args.dataset, args.methods.split(","), levels, args.noise, args.limit)
    command = "python " + " ".join(sys.argv)
    what = f" ({', '.join(d.name for d in args.dataset)}, {args.noise} noise)"
    write_text(args.output, render(rows, command, time.perf_counter() - start, what))


if __name__ == "__main__":
    main()
