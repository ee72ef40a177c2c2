"""attention: what each idea is worth, in dB and time (the ablation table).

Usage: python benchmarks/attention_ablation.py --dataset DIR/Set12 [--dataset DIR/BSD68]
       [--sigma 25] [--limit N] [--variant LABEL:key=value,key=value ...] --output FILE.md

Every variant is attention at its defaults for the sigma with some parameters
changed; each runs on every image of every dataset under the bench protocol
(seed = sorted index, Gaussian noise not clipped, output clipped before
scoring). A row gives the mean PSNR per dataset, the change from the defaults,
and the mean time per image on the threads given (default: all cores), after
one warm-up call.
"""
import argparse
import time
from pathlib import Path

import numpy as np

from denoise._config import get_threads, set_threads
from denoise.bench import environment
from denoise.io import write_text
from denoise.protocol import clean_image, load_dataset, noisy_image, score
from denoise.registry import REGISTRY

SOFTMAX = {"weights": "softmax", "stages": 1, "group": 32}
VARIANTS = [
    ("defaults", {}),
    ("stages=1 (ridge attention on the noisy image only)", {"stages": 1}),
    ("stages=3 (LIChI: a progressive image, noise re-injected)", {"stages": 3}),
    ("stages=4", {"stages": 4}),
    ("value=ridge (later stages)", {"value": "ridge"}),
    ("value=identity (later stages: re-matching only)", {"value": "identity"}),
    ("affine=false", {"affine": False}),
    ("stage 2: patch2=5, group2=32, stride2=4", {"patch2": 5, "group2": 32, "stride2": 4}),
    ("stage 2: patch2=9, group2=90, stride2=4", {"patch2": 9, "group2": 90, "stride2": 4}),
    ("search=12 (window 25)", {"search": 12}),
    ("position=gauss", {"position": "gauss"}),
    ("position=adaptive", {"position": "adaptive"}),
    ("position=steer", {"position": "steer"}),
    ("pca_dims2=8 (stage 2 matches 8 PCA features)", {"pca_dims2": 8}),
    ("pca_dims2=16", {"pca_dims2": 16}),
    ("weights=softmax (stage 1), two stages", {"weights": "softmax"}),
    ("softmax, one stage, top 32, full patches", SOFTMAX),
    ("softmax, one stage, top 32, pca_dims=24", {**SOFTMAX, "pca_dims": 24}),
    ("softmax, one stage, top 32, pca_dims=24, position=adaptive",
     {**SOFTMAX, "pca_dims": 24, "position": "adaptive"}),
]


def parse_variant(text):
    """'label:key=value,key=value' -> (label, params); values parsed as int, float,
    bool or str."""
    label, _, spec = text.partition(":")
    params = {}
    for item in filter(None, spec.split(",")):
        key, _, value = item.partition("=")
        for parse in (int, float):
            try:
                params[key] = parse(value)
                break
            except ValueError:
                continue
        else:
            params[key] = {"true": True, "false": False}.get(value.lower(), value)
    return label, params


def run_variant(images, sigma, params):
    """Mean PSNR and mean seconds per image of attention with `params`."""
    spec = REGISTRY["attention"]
    psnrs, seconds = [], []
    for clean, data_range, noisy in images:
        start = time.perf_counter()
        out = spec.func(noisy / data_range, sigma=sigma * data_range / 255.0 / data_range,
                        **params)
        seconds.append(time.perf_counter() - start)
        estimate = np.clip(np.asarray(out, np.float64) * data_range, 0, data_range)
        psnrs.append(score(clean, estimate, data_range)[0])
    return float(np.mean(psnrs)), float(np.mean(seconds))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", action="append", required=True)
    parser.add_argument("--sigma", type=float, default=25.0)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--variant", action="append", type=parse_variant,
                        help="LABEL:key=value,... (default: the built-in ablation list)")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    set_threads(args.threads)
    variants = args.variant or VARIANTS
    sets = {}
    for folder in args.dataset:
        images = []
        for index, (_, path) in enumerate(load_dataset(folder, args.limit)):
            clean, data_range = clean_image(path)
            images.append((clean, data_range,
                           noisy_image(clean, args.sigma * data_range / 255.0, index)))
        sets[Path(folder).name] = images
    first = next(iter(sets.values()))
    REGISTRY["attention"].func(first[0][2][:64, :64] / first[0][1], sigma=0.1)  # compile
    names = list(sets)
    head = " | ".join(f"{n} dB | {n} s/image" for n in names)
    lines = [f"### attention ablation at sigma {args.sigma:g} ({get_threads()} threads)", "",
             f"| variant | {head} | change from defaults (dB) |",
             "|" + " --- |" * (2 * len(names) + 2)]
    base = None
    for label, params in variants:
        results = [run_variant(sets[n], args.sigma, params) for n in names]
        mean = np.mean([r[0] for r in results])
        base = mean if base is None else base
        cells = " | ".join(f"{p:.2f} | {s:.2f}" for p, s in results)
        lines.append(f"| {label} | {cells} | {mean - base:+.2f} |")
        print(lines[-1], flush=True)
    counts = ", ".join(f"{n}: {len(sets[n])} images" for n in names)
    env = environment()
    lines += ["", f"Images: {counts}. Machine: {env['cpu']}, {env['cores']} cores; "
              f"numba {env['packages'].get('numba', '?')}; {env['date']}.", ""]
    write_text(args.output, "\n".join(lines))


if __name__ == "__main__":
    main()
