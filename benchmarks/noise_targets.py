"""Noise estimation and noise-aware denoising, measured against the issue's targets.

Usage (from the repository root; one markdown file per part):

    nice -n 10 .venv/bin/python benchmarks/noise_targets.py --part estimate,nlf,auto \\
        --dataset Set12=../shared/datasets/Set12 --dataset BSD68=../shared/datasets/BSD68 \\
        --output-dir benchmarks/report
    nice -n 10 .venv/bin/python benchmarks/noise_targets.py --part pg \\
        --dataset BSD68=../shared/datasets/BSD68 --output benchmarks/report/noise_pg.md
    nice -n 10 .venv/bin/python benchmarks/noise_targets.py --part camera \\
        --dataset CBSD68=../shared/datasets/CBSD68 --bm3d-limit 17 \\
        --output benchmarks/report/noise_camera.md

``--output-dir DIR`` writes ``DIR/noise_<part>.md`` for every part (default
benchmarks/report); ``--output FILE`` names the file of a single part. Data sets
not given with ``--dataset NAME=DIR`` are read from ../shared/datasets/NAME beside
the checkout. ``--limit N`` keeps the first N images of every data set (pg and camera
are slow: pg about 10 s per image (40 nlm calls), camera about 7 s per image plus
15-45 s for each CBM3D call, on 2 shared cores).

Parts (protocol of ../shared/datasets/README.md: seed = sorted index, noise not
clipped, outputs clipped to the range before PSNR against the clean image or, for
camera noise, against its processed truth):

* estimate: AWGN sigma estimation on Set12 and BSD68 at sigma 5..50, each of
  SIGMA_ESTIMATORS (called on the float plane in 0..255 units) and scikit-image's
  estimate_sigma: median, signed median and worst |est / sigma - 1|, mean time.
* nlf: Poisson-Gaussian noise on BSD68, the noise-level function of
  ``estimate_noise(noisy / 255)`` against the true one (mean relative error of the
  std curve over x in [0.1, 0.9]), share flagged signal-dependent; false positives
  on Gaussian noise.
* auto: nlm and attention on Set12 with the true sigma and with ``sigma="auto"``.
* pg: nlm on Poisson-Gaussian noise through the estimated NLF, the true NLF, and the
  best constant sigma per image (oracle, chosen with the clean image from a grid).
* camera: CBSD68 with camera noise: ``denoise(x)`` at every default against
  scikit-image's NL-means recipe, OpenCV's fastNlMeansDenoisingColored and CBM3D,
  all given scikit-image's sigma estimate.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from denoise import denoise, estimate_noise
from denoise._config import get_threads, set_threads
from denoise.bench import environment
from denoise.io import write_text
from denoise.noise.estimate import SIGMA_ESTIMATORS
from denoise.protocol import clean_image, load_dataset, noisy_image, noisy_pair, score

PARTS = ("estimate", "nlf", "auto", "pg", "camera")
ROOT = Path(__file__).resolve().parents[2] / "shared" / "datasets"
EST_SIGMAS = (5, 10, 15, 25, 50)
PG_SETTINGS = ((0.01, 0.0016), (0.01, 0.0004), (1 / 30, 0.01), (0.001, 0.0001))
ORACLE_FACTORS = (0.4, 0.55, 0.7, 0.85, 1.0, 1.2, 1.45, 1.75)
CURVE = np.linspace(0.1, 0.9, 81)


# --- shared -----------------------------------------------------------------------------

def images(args, name):
    """[(file name, index, clean float64 in 0..255)] of data set `name`."""
    folder = args.dataset.get(name, ROOT / name)
    out = []
    for index, (file, path) in enumerate(load_dataset(folder, args.limit)):
        clean, top = clean_image(path)
        if top != 255:
            raise SystemExit(f"{path}: expected an 8-bit image")
        out.append((file, index, clean))
    return out


def timed(func, *a, **kw):
    start = time.perf_counter()
    out = func(*a, **kw)
    return out, time.perf_counter() - start


def psnr_of(reference, out):
    """PSNR (dB) of `out` (on [0, 1]) against `reference` (0..255), the protocol's way."""
    return score(reference, np.clip(np.asarray(out, np.float64) * 255.0, 0.0, 255.0), 255.0)[0]


def pct(value):
    return f"{100 * value:.1f}"


def header(args, title, text, started):
    env = environment()
    command = " ".join(["python", *sys.argv])
    return [f"### {title}", "", f"{text} Command: `{command}`. Run {env['date']} on "
            f"{env['cpu']} ({env['cores']} cores, {get_threads()} threads, nice {os.nice(0)}); "
            f"denoise {env['packages'].get('denoise', '?')}, scikit-image "
            f"{env['packages'].get('scikit-image', '?')}; this part took "
            f"{(time.perf_counter() - started) / 60:.1f} min.", ""]


# --- estimate ---------------------------------------------------------------------------

def part_estimate(args):
    from skimage.restoration import estimate_sigma

    funcs = {name: entry[0] for name, entry in SIGMA_ESTIMATORS.items()}
    funcs["skimage estimate_sigma"] = estimate_sigma
    rows = ["| set | σ | estimator | median err % | median signed % | worst err % (image) "
            "| ms/image | target |", "|" + " --- |" * 8]
    for set_name in ("Set12", "BSD68"):
        data = images(args, set_name)
        for func in funcs.values():
            func(data[0][2])                                 # warm-up
        for sigma in EST_SIGMAS:
            errors = {k: [] for k in funcs}
            seconds = {k: [] for k in funcs}
            for _, index, clean in data:
                noisy = noisy_image(clean, float(sigma), index)
                for key, func in funcs.items():
                    est, sec = timed(func, noisy)
                    errors[key].append(float(est) / sigma - 1.0)
                    seconds[key].append(sec)
            for key in funcs:
                rows.append(estimate_row(set_name, sigma, key, errors[key], seconds[key], data))
            print("\n".join(rows[-len(funcs):]), flush=True)
    text = ("AWGN sigma estimation: each image of the set with protocol noise "
            "`noisy_image(clean, sigma, index)` (float, 0..255, not clipped); each estimator "
            "called on that plane; error = |est / sigma - 1|, signed = est / sigma - 1, "
            "time = mean wall time of one call. Target (pca): median <= 5 %, worst <= 15 %.")
    return "AWGN sigma estimation (Set12, BSD68)", text, rows


def estimate_row(set_name, sigma, key, signed, seconds, data):
    signed = np.array(signed)
    err = np.abs(signed)
    worst = int(np.argmax(err))
    target = ""
    if key == "pca":
        target = "met" if np.median(err) <= 0.05 and err[worst] <= 0.15 else "**missed**"
    return (f"| {set_name} | {sigma} | {key} | {pct(np.median(err))} | "
            f"{np.median(signed) * 100:+.1f} | {pct(err[worst])} ({data[worst][0]}) | "
            f"{1e3 * np.mean(seconds):.1f} | {target} |")


# --- nlf --------------------------------------------------------------------------------

def curve_error(found, a, b):
    """Mean relative error of the fitted std curve against sqrt(a x + b) on CURVE."""
    fit = np.sqrt(np.maximum(found.gain[0] * CURVE + found.offset[0], 0.0))
    return float(np.mean(np.abs(fit / np.sqrt(a * CURVE + b) - 1.0)))


def part_nlf(args):
    data = images(args, "BSD68")
    rows = ["| noise | mean err % | median err % | worst err % (image) | flagged | "
            "median fitted a, b | target |", "|" + " --- |" * 7]
    for a, b in PG_SETTINGS:
        errs, flags, fits = [], [], []
        for _, index, clean in data:
            noisy = noisy_image(clean, a, index, "poisson-gaussian", 255.0, offset=b)
            found = estimate_noise(noisy / 255.0, warn=False)
            errs.append(curve_error(found, a, b))
            flags.append(found.signal_dependent[0])
            fits.append((found.gain[0], found.offset[0]))
        errs = np.array(errs)
        worst = int(np.argmax(errs))
        ga, gb = np.median(fits, axis=0)
        rows.append(f"| PG a={a:.4g}, b={b:.4g} | {pct(errs.mean())} | {pct(np.median(errs))} "
                    f"| {pct(errs[worst])} ({data[worst][0]}) | {flag_text(flags, data)} | "
                    f"{ga:.4g}, {gb:.4g} | {'met' if errs.mean() <= 0.1 else '**missed**'} |")
        print(rows[-1], flush=True)
    for sigma in (15.0, 25.0):
        flags = [estimate_noise(noisy_image(clean, sigma, index) / 255.0, warn=False)
                 .signal_dependent[0] for _, index, clean in data]
        rows.append(f"| gaussian σ{sigma:g} (false positives) | | | | "
                    f"{flag_text(flags, data)} | | |")
        print(rows[-1], flush=True)
    text = ("Noise-level function: BSD68 with Poisson-Gaussian noise from the registry "
            "(`noisy_image(clean, a, index, 'poisson-gaussian', 255, offset=b)`), fitted by "
            "`estimate_noise(noisy / 255, warn=False)`; per image, the mean over 81 x in "
            "[0.1, 0.9] of |sqrt(gain x + offset) / sqrt(a x + b) - 1| (fitted variance "
            "floored at 0); mean, median and worst over the images; flagged = share found "
            "signal-dependent (on Gaussian noise: false positives). Target: mean <= 10 %.")
    return "Noise-level function (BSD68, gray)", text, rows


def flag_text(flags, data):
    """'n/N (p %)', naming the flagged images when there are 1 to 4, or the unflagged."""
    n = int(sum(flags))
    text = f"{n}/{len(flags)} ({100 * n / len(flags):.0f} %)"
    odd = [d[0] for d, f in zip(data, flags) if f] if n <= len(flags) / 2 else \
        [d[0] for d, f in zip(data, flags) if not f]
    if 0 < len(odd) <= 4:
        text += (": " if n <= len(flags) / 2 else "; not: ") + ", ".join(odd)
    return text


# --- auto -------------------------------------------------------------------------------

def part_auto(args):
    data = images(args, "Set12")
    denoise(data[0][2][:64, :64] / 255.0, "attention", sigma=0.1)       # compile
    denoise(data[0][2][:64, :64] / 255.0, "nlm", sigma=0.1)
    rows = ["| σ | method | true σ dB | auto dB | loss dB | worst loss dB (image) | "
            "est. σ (mean, range) | s/image true, auto | target |", "|" + " --- |" * 9]
    for sigma in (15, 25, 50):
        noisy = [noisy_image(clean, float(sigma), index) / 255.0 for _, index, clean in data]
        found = [estimate_noise(z, warn=False) for z in noisy]
        est = np.array([f.sigma[0] * 255.0 for f in found])
        pg = sum(f.model != "gaussian" for f in found)
        for method in ("nlm", "attention"):
            true, auto, t_true, t_auto = [], [], [], []
            for (_, _, clean), z in zip(data, noisy):
                out, sec = timed(denoise, z, method, sigma=sigma / 255.0)
                true.append(psnr_of(clean, out))
                t_true.append(sec)
                out, sec = timed(denoise, z, method)
                auto.append(psnr_of(clean, out))
                t_auto.append(sec)
            loss = np.array(true) - np.array(auto)
            worst = int(np.argmax(loss))
            limit = 0.1 if sigma == 25 else 0.2
            rows.append(f"| {sigma} | {method} | {np.mean(true):.2f} | {np.mean(auto):.2f} | "
                        f"{loss.mean():.3f} | {loss[worst]:.3f} ({data[worst][0]}) | "
                        f"{est.mean():.2f} ({est.min():.2f}-{est.max():.2f}) | "
                        f"{np.mean(t_true):.2f}, {np.mean(t_auto):.2f} | "
                        f"{'met' if loss.mean() <= limit else '**missed**'} |")
            print(rows[-1], flush=True)
        if pg:
            rows.append(f"| {sigma} | | | | | | {pg} image(s) taken as Poisson-Gaussian | | |")
    text = ("Sigma auto against the true sigma: Set12 with protocol Gaussian noise; "
            "`denoise(noisy / 255, m, sigma=sigma / 255)` against `denoise(noisy / 255, m)` "
            "(noise estimated, model auto), outputs clipped to [0, 1] and scored in 0..255; "
            "loss = mean PSNR(true) - mean PSNR(auto); est. σ = estimate_noise's sigma x 255. "
            "Targets: loss <= 0.1 dB at σ25, <= 0.2 dB at σ15 and σ50.")
    return "Sigma auto against the true sigma (Set12)", text, rows


# --- pg ---------------------------------------------------------------------------------

def pg_image(clean, index, a, b):
    """PSNRs (estimated NLF, true NLF, oracle constant), oracle factor, nlm seconds."""
    z = noisy_image(clean, a, index, "poisson-gaussian", 255.0, offset=b) / 255.0
    start = time.perf_counter()
    est = psnr_of(clean, denoise(z, "nlm", noise_model="poisson-gaussian"))
    true = psnr_of(clean, denoise(z, "nlm", gain=a, offset=b))
    mid = np.sqrt(a * 0.5 + b)
    grid = [psnr_of(clean, denoise(z, "nlm", sigma=f * mid)) for f in ORACLE_FACTORS]
    best = int(np.argmax(grid))
    return est, true, grid[best], ORACLE_FACTORS[best], time.perf_counter() - start


def part_pg(args):
    data = images(args, "BSD68")
    denoise(data[0][2][:64, :64] / 255.0, "nlm", sigma=0.1)             # compile
    rows = ["| a, b | NLF est. dB | NLF true dB | oracle const dB | est - oracle | "
            "true - oracle | est - true | oracle factor (median) | s/image | target |",
            "|" + " --- |" * 10]
    for a, b in PG_SETTINGS:
        res = np.array([pg_image(clean, index, a, b) for _, index, clean in data])
        est, true, oracle = res[:, 0].mean(), res[:, 1].mean(), res[:, 2].mean()
        need = 0.5 if a >= 0.01 else 0.2
        rows.append(f"| {a:.4g}, {b:.4g} | {est:.2f} | {true:.2f} | {oracle:.2f} | "
                    f"{est - oracle:+.2f} | {true - oracle:+.2f} | {est - true:+.2f} | "
                    f"{np.median(res[:, 3]):g} | {res[:, 4].mean():.1f} | "
                    f"{'met' if est - oracle >= need else '**missed**'} (>= {need}) |")
        print(rows[-1], flush=True)
    text = (f"Poisson-Gaussian noise, BSD68 ({len(data)} images): nlm via "
            "`denoise(z, 'nlm', noise_model='poisson-gaussian')` (z = noisy / 255, NLF "
            "estimated, generalized Anscombe transform), via `gain=a, offset=b` (true NLF), "
            "and at the best constant sigma per image (oracle: chosen by PSNR against the "
            "clean image among sqrt(0.5 a + b) x "
            f"{', '.join(f'{f:g}' for f in ORACLE_FACTORS)}); mean PSNR, outputs clipped. "
            "s/image: all 10 nlm calls of one image with scoring. Targets: est - oracle "
            ">= 0.5 dB where a >= 0.01, >= 0.2 dB at a = 0.001.")
    return "Poisson-Gaussian noise: estimated NLF against the oracle constant (BSD68)", \
        text, rows


# --- camera -----------------------------------------------------------------------------

def references(x, s, with_bm3d):
    """{name: (output on [0, 1], seconds)} of the reference recipes at sigma `s` ([0, 1])."""
    import cv2
    from skimage.restoration import denoise_nl_means

    out = {"skimage nl_means": timed(
        denoise_nl_means, x, h=0.8 * s, sigma=s, fast_mode=True, patch_size=7,
        patch_distance=11, channel_axis=-1)}
    u8 = np.ascontiguousarray(np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)[..., ::-1])
    h = float(s * 255.0)
    bgr, sec = timed(cv2.fastNlMeansDenoisingColored, u8, None, h, h, 7, 21)
    out["OpenCV fastNlMeansColored"] = (bgr[..., ::-1] / 255.0, sec)
    if with_bm3d:
        import bm3d
        out["CBM3D (bm3d_rgb)"] = timed(bm3d.bm3d_rgb, x, s)
    return out


def camera_image(clean, index, with_bm3d):
    """{name: (PSNR against the truth, seconds)} and the estimate s (8-bit units)."""
    from skimage.restoration import estimate_sigma

    noisy, truth = noisy_pair(clean, 1.0, index, "camera", 255.0)
    x = noisy / 255.0
    s = float(estimate_sigma(x, channel_axis=-1, average_sigmas=True))
    runs = {"ours: denoise(x) defaults": timed(denoise, x), "noisy": (x, 0.0)}
    runs.update(references(x, s, with_bm3d))
    return {k: (psnr_of(truth, out), sec) for k, (out, sec) in runs.items()}, s * 255.0


def part_camera(args):
    data = images(args, "CBSD68")
    denoise(data[0][2][:64, :64] / 255.0, sigma=0.1)                    # compile
    results, sigmas = [], []
    for _, index, clean in data:
        res, s = camera_image(clean, index, index < args.bm3d_limit)
        results.append(res)
        sigmas.append(s)
        print(data[index][0], {k: round(v[0], 2) for k, v in res.items()}, flush=True)
    ours = "ours: denoise(x) defaults"
    rows = ["| method | images | mean PSNR dB | ours - method dB (same images) | s/image | "
            "target |", "|" + " --- |" * 6]
    for name in results[0]:
        have = [r for r in results if name in r]
        mine = np.mean([r[name][0] for r in have])
        gain = np.mean([r[ours][0] - r[name][0] for r in have])
        target = ""
        if name.startswith(("skimage", "OpenCV")):
            target = "met" if gain >= 0.5 else "**missed**"
        rows.append(f"| {name} | {len(have)} | {mine:.2f} | "
                    f"{'' if name == ours else f'{gain:+.2f}'} | "
                    f"{np.mean([r[name][1] for r in have]):.2f} | {target} |")
    text = (f"Camera noise (Brooks et al. unprocessing, level 1), CBSD68 ({len(data)} "
            "images): `noisy_pair(clean, 1, index, 'camera', 255)` -> (noisy, truth), "
            "x = noisy / 255; every result clipped and scored against truth. Ours: "
            "`denoise(x)` (attention, noise estimated); references given scikit-image's "
            "`estimate_sigma(x, channel_axis=-1, average_sigmas=True)` = s (mean "
            f"{np.mean(sigmas):.2f}, range {min(sigmas):.2f}-{max(sigmas):.2f} in 8-bit units): "
            "`denoise_nl_means(x, h=0.8 s, sigma=s, fast_mode, patch 7, distance 11)`, "
            "`cv2.fastNlMeansDenoisingColored` on uint8 BGR with h = h_color = 255 s, 7, 21, "
            f"and `bm3d.bm3d_rgb(x, s)` on the first {min(len(data), args.bm3d_limit)} images. "
            "Target: ours beats skimage and OpenCV by >= 0.5 dB.")
    return "Camera noise: denoise defaults against the references (CBSD68)", text, rows


# --- main -------------------------------------------------------------------------------

def parse_dataset(text):
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {text!r}")
    return name, Path(folder)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", required=True,
                        help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--dataset", action="append", type=parse_dataset, default=[],
                        metavar="NAME=DIR", help=f"data set folder (default {ROOT}/NAME)")
    parser.add_argument("--limit", type=int, help="first N images of every data set")
    parser.add_argument("--bm3d-limit", type=int, default=17,
                        help="camera: CBM3D on the first N images only (default 17)")
    parser.add_argument("--threads", type=int)
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--output", type=Path, help="the report of a single part")
    out.add_argument("--output-dir", type=Path, default=Path("benchmarks/report"),
                     help="writes DIR/noise_<part>.md (default benchmarks/report)")
    args = parser.parse_args(argv)
    args.dataset = dict(args.dataset)
    parts = [p.strip() for p in args.part.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown or not parts:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; choose from {PARTS}")
    if args.output and len(parts) > 1:
        parser.error("--output takes one part; use --output-dir for several")
    set_threads(args.threads)
    for part in parts:
        started = time.perf_counter()
        title, text, rows = globals()[f"part_{part}"](args)
        lines = header(args, title, text, started) + rows + [""]
        path = args.output or args.output_dir / f"noise_{part}.md"
        write_text(path, "\n".join(lines))
        print(f"{part}: {(time.perf_counter() - started) / 60:.1f} min -> {path}", flush=True)


if __name__ == "__main__":
    main()
