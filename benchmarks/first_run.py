"""First run: how long `denoise run` takes in a fresh process, cold and warm.

Usage: python benchmarks/first_run.py --dataset DIR/Set12 --color DIR/CBSD68
       [--repeat 3] [--method NAME ...] --output FILE.md

Cold: a fresh process with an empty Numba cache (NUMBA_CACHE_DIR set to a new
folder), so every kernel a method needs is compiled. Warm: a fresh process
again, with the cache that the cold run filled. Each figure is the wall time of
one `denoise run NOISY.png -o OUT.png -m METHOD --sigma 25` process (imports,
reading, planning, compiling or loading kernels, filtering, writing), measured
--repeat times; the table gives the median and the range. Inputs: the first
512x512 image of --dataset (gray) and the first image of --color, each with
Gaussian noise of sigma 25 (seed 0) written as 8-bit PNG.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from denoise.bench import environment
from denoise.io import iter_images, read_image, write_image, write_text
from denoise.noise import add_noise
from denoise.registry import our_methods

DENOISE = str(Path(sys.executable).with_name("denoise"))
TARGETS = {"nlm": 8.0}          # cold seconds; every other method: 10 s
WARM_MEDIAN_TARGET = 1.0

def timed(args, cache):
    """Wall seconds of one `denoise` process, and its stderr."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    start = time.perf_counter()
    done = subprocess.run([DENOISE, *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"denoise {' '.join(args)} failed:\n{done.stderr}")
    return seconds, done.stderr

def first_image(folder, shape=None):
    for path in iter_images(folder):
        image = read_image(path)
        if shape is None or image.shape[:2] == shape:
            return path.name, image
    raise SystemExit(f"{folder}: no image of shape {shape}")

def measure(method, noisy, work, repeat):
    """Cold and warm wall seconds (lists) of `method` on `noisy`; whether it announced."""
    cold, warm, announced = [], [], True
    for k in range(repeat):
        cache = Path(tempfile.mkdtemp(dir=work))
        args = ["run", str(noisy), "-o", str(work / f"out-{method}.png"), "-m", method,
                "--sigma", "25", "--overwrite"]
        seconds, stderr = timed(args, cache)
        cold.append(seconds)
        announced &= f"compiling {method} kernels" in stderr
        seconds, stderr = timed(args, cache)
        warm.append(seconds)
        announced &= "compiling" not in stderr
    return cold, warm, announced

FLOOR = [("the interpreter alone", "pass"),
         ("import numpy", "import numpy"),
         ("import numba", "import numba"),
         ("import denoise.cli", "import denoise.cli"),
         ("import denoise.cli, then a one-line cached kernel's first call (Numba's own "
          "set-up: its registries, and the scipy.linalg it imports)",
          "import denoise.cli, numpy; from denoise.filters._weights import neg_exp; "
          "neg_exp(numpy.float32(1))")]


def floor(cache, repeat):
    """Wall seconds of the processes every `denoise run` pays before our own work."""
    out = []
    for label, code in FLOOR:
        seconds = []
        for _ in range(repeat):
            env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            seconds.append(time.perf_counter() - start)
        out.append((label, seconds))
    return out


def cell(values):
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--color", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--method", action="append",
                        help="measure only this method, repeatable (default: all of ours)")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="first-run-"))
    inputs = {}
    for label, (name, image) in (("gray", first_image(args.dataset, (512, 512))),
                                 ("color", first_image(args.color))):
        inputs[label] = (work / f"noisy-{label}.png", name, image.shape)
        write_image(inputs[label][0], add_noise(image, "gaussian", 25.0, seed=0))
    rows = []
    for method in args.method or our_methods():
        for label in ("gray", "color"):
            cold, warm, announced = measure(method, inputs[label][0], work, args.repeat)
            rows.append((method, label, cold, warm, announced))
            print(f"{method} {label}: cold {cell(cold)}, warm {cell(warm)}", file=sys.stderr)
    cache = Path(tempfile.mkdtemp(dir=work))
    warmup_s, _ = timed(["warmup"], cache)
    fixed = floor(cache, args.repeat)
    env = environment()
    lines = ["### First run: cold and warm `denoise run`", "",
             f"{env['cpu']}, {env['cores']} cores, Python {env['python']}, numba "
             f"{env['packages'].get('numba', '?')}; {env['date']}. Each figure: the wall time "
             f"of one fresh `denoise run NOISY.png -o OUT.png -m METHOD --sigma 25` process, "
             f"median (range) of {args.repeat}; cold = empty NUMBA_CACHE_DIR, warm = the cache "
             f"the cold run filled. Gray: {inputs['gray'][1]} of {args.dataset.name} "
             f"{inputs['gray'][2]}; color: {inputs['color'][1]} of {args.color.name} "
             f"{inputs['color'][2]}; both with sigma-25 noise. Targets: cold <= 8 s for nlm "
             f"and <= 10 s for the others; warm median on 512x512 <= 1.0 s.", "",
             "| method | image | cold s | warm s | target (cold) | met | announced |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for method, label, cold, warm, announced in rows:
        target = TARGETS.get(method, 10.0)
        met = statistics.median(cold) <= target
        if method == "median" and label == "gray":
            met = met and statistics.median(warm) <= WARM_MEDIAN_TARGET
            target = f"{target:g} (warm {WARM_MEDIAN_TARGET:g})"
        lines.append(f"| {method} | {label} | {cell(cold)} | {cell(warm)} | {target} | "
                     f"{'yes' if met else '**no**'} | {'yes' if announced else 'no'} |")
    lines += ["", f"`denoise warmup` (every method, uint8 and uint16, gray and color) from an "
                  f"empty cache: {warmup_s:.1f} s. \"announced\": the cold run printed "
                  f"\"compiling METHOD kernels for first use\" before the wait, and the warm "
                  f"run did not.", "",
              "What every process pays before reading the image (fresh processes, warm "
              "cache, same run):", "", "| process | s |", "| --- | --- |"]
    lines += [f"| {label} | {cell(seconds)} |" for label, seconds in fixed]
    write_text(args.output, "\n".join(lines) + "\n")
    print("\n".join(lines))

if __name__ == "__main__":
    main()
