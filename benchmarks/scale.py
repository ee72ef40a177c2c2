"""Scale: a folder of images on processes, threads and Dask; one huge TIFF in tiles.

Usage (from the repository root; about 15 min on 2 cores with --repeat 3):

    .venv/bin/python benchmarks/scale.py --dataset ../shared/datasets/BSD68 --repeat 3 \\
        --output benchmarks/report/scale.md
    .venv/bin/python benchmarks/scale.py --part batch --images 12 --dataset DIR --output F.md
    .venv/bin/python benchmarks/scale.py --part tiles --size 5000 --output F.md

``--repeat R`` times every batch configuration R times (rounds in rotated order) and
keeps the median; on a shared machine the report also gives the load average and a
rough check of how much of two cores two CPU-bound processes got, before and after.

Parts (``--part``, comma-separated, default both):

* batch: ``--images N`` 512x512 gray uint8 PNGs cut from ``--dataset`` (cycling
  through its sorted files; a side below 512 is first padded by reflection, np.pad
  mode "reflect"; the crop's corner is drawn with seed = the image's index), plus
  protocol Gaussian noise sigma 25 with seed = the index, rounded and clipped. Then
  ``denoise run IN -o OUT -m nlm --sigma 25 -q`` in a fresh process per
  configuration: --jobs 1 --threads 1, --jobs 2 --threads 1, --jobs 1 --threads 2,
  and --executor dask --jobs 2 --threads 1 (a LocalCluster of 2 workers, its
  start-up included). Every process uses one NUMBA_CACHE_DIR, new and empty, filled
  first by one ``denoise warmup nlm``, so compilation is excluded from every
  configuration alike. Wall time of each process; the four output folders are
  compared byte for byte.
* tiles: one ``--size`` x ``--size`` uint16 gray TIFF (smooth synthetic content
  plus Gaussian noise sigma 1500, seeded per band), written uncompressed band by
  band through a memory map so the generator never holds the image. For each of
  ``--methods``: ``/usr/bin/time -v denoise run big.tif -o out.tif -m METHOD
  --sigma 1500 -q`` (tiled automatically above 4096x4096, streamed TIFF to TIFF),
  peak resident set and wall time; then a 600x700 crop of the output, centred on
  the tile corner nearest the image centre (so it straddles tile seams), against
  the untiled in-memory result on that crop grown by the method's halo.

The big files go to ``--workdir`` (default: the system temp folder), in a temporary
folder removed at the end.
"""
import argparse
import filecmp
import importlib.metadata
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from denoise.bench import environment
from denoise.io import iter_images, read_image, write_image, write_text

PARTS = ("batch", "tiles")
DENOISE = Path(sys.executable).with_name("denoise")
TIME = Path("/usr/bin/time")
SIDE = 512                       # batch images: SIDE x SIDE
BATCH_SIGMA = 25.0               # 8-bit units
TILE_SIGMA = 1500.0              # 16-bit units
CROP = (600, 700)                # rows, cols of the checked crop
BAND_PIXELS = 8_000_000          # pixels per band of the big TIFF's generator
MEMORY_TARGET_MIB = 1024.0       # 1 GiB
JOBS2_SPEEDUP = 1.8              # jobs 2 / jobs 1 throughput
THREADS_RATIO = 1.0              # jobs 2 time / 1 process 2 threads time
DASK_SLACK = 1.2                 # dask time / jobs 2 time
CONFIGS = [                      # label, extra `denoise run` options
    ("jobs 1, threads 1", ["--jobs", "1", "--threads", "1"]),
    ("jobs 2, threads 1", ["--jobs", "2", "--threads", "1"]),
    ("jobs 1, threads 2", ["--jobs", "1", "--threads", "2"]),
    ("dask, jobs 2, threads 1", ["--executor", "dask", "--jobs", "2", "--threads", "1"]),
]


# --- shared -----------------------------------------------------------------------------

def shown(path):
    """`path` relative to the working folder when inside it (for the report)."""
    path = Path(os.path.abspath(path))
    try:
        return str(path.relative_to(Path(os.path.abspath(Path.cwd()))))
    except ValueError:
        return str(path)


def command_line():
    """The command that ran this script, as typed (interpreter made relative)."""
    return shlex.join([shown(sys.executable), *sys.argv])


def fresh_cache(work, methods, dtypes):
    """A new, empty NUMBA_CACHE_DIR under `work`, filled by one `denoise warmup`;
    ``(path, warm-up seconds, kernel files)``."""
    cache = Path(tempfile.mkdtemp(prefix="numba-cache-", dir=work))
    seconds, _ = run_denoise(["warmup", *methods, "--dtype", dtypes, "-q"], cache)
    return cache, seconds, kernel_files(cache)


def kernel_files(cache):
    """How many compiled kernels (Numba .nbc files) `cache` holds."""
    return sum(1 for _ in Path(cache).rglob("*.nbc"))


def run_denoise(args, cache, prefix=()):
    """Run `denoise ARGS` (after `prefix`, e.g. /usr/bin/time) in a fresh process with
    NUMBA_CACHE_DIR = `cache`; ``(wall seconds, stderr)``; exits on failure."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    command = [*map(str, prefix), str(DENOISE), *map(str, args)]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(command)}\n"
                         f"{done.stderr[-4000:]}")
    return seconds, done.stderr


def cli(args):
    """A `denoise` command line for the report."""
    return shlex.join(["denoise", *map(str, args)])


def load():
    """The 1, 5 and 15 minute load averages, as text."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


SPIN = ("import sys, time\nend = time.perf_counter() + float(sys.argv[1])\nn = 0\n"
        "while time.perf_counter() < end:\n    for i in range(10000):\n        n += 1\n"
        "print(n)")


def capacity(processes=2, seconds=2.0):
    """The work `processes` CPU-bound Python loops do at once, over that of one alone
    (the better of one run before and one after; each runs `seconds`): `processes` on
    as many idle cores, less when other load shares them. A rough check."""
    def spin(k):
        running = [subprocess.Popen([sys.executable, "-I", "-c", SPIN, str(seconds)],
                                    stdout=subprocess.PIPE, text=True) for _ in range(k)]
        return sum(int(p.communicate()[0]) for p in running)

    alone = spin(1)
    together = spin(processes)
    return together / max(alone, spin(1))


def met(ok):
    return "yes" if ok else "**no**"


# --- batch ------------------------------------------------------------------------------

def gray_u8(path):
    """The image at `path` as 2-D uint8 (color: the mean of its channels)."""
    image = read_image(path)
    if image.dtype != np.uint8:
        raise SystemExit(f"{path}: expected an 8-bit image, got {image.dtype}")
    if image.ndim == 3:
        image = np.rint(image[..., :3].mean(axis=2)).astype(np.uint8)
    return image


def crop_side(clean, rng):
    """A SIDE x SIDE crop of `clean` at a corner drawn from `rng`; a side below SIDE is
    first padded by reflection, half before and half after."""
    pads = [((SIDE - n) // 2, SIDE - n - (SIDE - n) // 2) if n < SIDE else (0, 0)
            for n in clean.shape]
    padded = np.pad(clean, pads, mode="reflect")
    r0 = int(rng.integers(0, padded.shape[0] - SIDE + 1))
    c0 = int(rng.integers(0, padded.shape[1] - SIDE + 1))
    return padded[r0:r0 + SIDE, c0:c0 + SIDE]


def build_folder(dataset, count, folder):
    """`count` noisy SIDE x SIDE gray PNGs in `folder`; the number of distinct sources."""
    from denoise.protocol import noisy_image

    sources = iter_images(dataset)
    if not sources:
        raise SystemExit(f"{dataset}: no images")
    folder.mkdir(parents=True)
    cache = {}
    for index in range(count):
        path = sources[index % len(sources)]
        if path not in cache:
            cache[path] = gray_u8(path)
        clean = crop_side(cache[path], np.random.default_rng(index)).astype(np.float64)
        noisy = noisy_image(clean, BATCH_SIGMA, index)
        write_image(folder / f"img{index:04d}.png",
                    np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    return min(count, len(sources))


def dask_available():
    """None if dask.distributed imports in the CLI's environment, else the reason."""
    done = subprocess.run([sys.executable, "-c", "import dask.distributed"],
                          capture_output=True, text=True)
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit code {done.returncode}"


def compare_folders(reference, other):
    """``(files compared, [names that differ or are missing])`` of two output folders."""
    names = sorted(p.name for p in reference.iterdir())
    others = {p.name for p in other.iterdir()}
    bad = sorted(set(names) ^ others)
    bad += [n for n in names if n in others and
            not filecmp.cmp(reference / n, other / n, shallow=False)]
    return len(names), bad


def time_configs(configs, folder, work, cache, repeat, count):
    """{label: [wall seconds]} and {label: [output folders]}: every configuration
    `repeat` times, in an order rotated each round."""
    times = {label: [] for label, _ in configs}
    outputs = {label: [] for label, _ in configs}
    numbered = list(enumerate(configs, 1))
    for round_ in range(repeat):
        shift = round_ % len(configs)
        for number, (label, options) in numbered[shift:] + numbered[:shift]:
            out = work / f"OUT{number}" if repeat == 1 else work / f"OUT{number}-{round_ + 1}"
            args = ["run", folder, "-o", out, "-m", "nlm", "--sigma", f"{BATCH_SIGMA:g}", "-q",
                    *options]
            seconds, _ = run_denoise(args, cache)
            written = len(list(out.glob("*.png")))
            if written != count:
                raise SystemExit(f"{label}: {written} outputs for {count} inputs")
            times[label].append(seconds)
            outputs[label].append(out)
            print(f"batch: {label}: {seconds:.2f} s ({count / seconds:.2f} images/s)",
                  file=sys.stderr, flush=True)
    return times, outputs


def batch_rows(configs, times, count):
    """The timing table and the ratio table, as markdown lines."""
    wall = {label: statistics.median(t) for label, t in times.items()}
    base = wall[configs[0][0]]
    several = any(len(t) > 1 for t in times.values())
    rows = ["| configuration | `denoise run` options | wall s" +
            (" (median, range)" if several else "") + " | images/s | throughput vs jobs 1 |",
            "| --- | --- | --- | --- | --- |"]
    for label, options in configs:
        t = times[label]
        cell = f"{wall[label]:.2f}" + (f" ({min(t):.2f}-{max(t):.2f})" if several else "")
        rows.append(f"| {label} | `{shlex.join(options)}` | {cell} | "
                    f"{count / wall[label]:.2f} | {base / wall[label]:.2f}x |")
    j1, j2, t2 = (wall[c[0]] for c in configs[:3])
    rows += ["", "| ratio | value | target | met |", "| --- | --- | --- | --- |",
             f"| throughput jobs 2 / jobs 1 (= time jobs 1 / time jobs 2) | {j1 / j2:.2f} | "
             f">= {JOBS2_SPEEDUP:g} | {met(j1 / j2 >= JOBS2_SPEEDUP)} |",
             f"| time jobs 2 / time 1 process with 2 threads | {j2 / t2:.2f} | "
             f"<= {THREADS_RATIO:g} (jobs 2 no slower) | {met(j2 / t2 <= THREADS_RATIO)} |"]
    if len(configs) > 3:
        dk = wall[configs[3][0]]
        rows.append(f"| time dask / time jobs 2 | {dk / j2:.2f} | <= {DASK_SLACK:g} (within "
                    f"{100 * (DASK_SLACK - 1):.0f} %) | {met(dk / j2 <= DASK_SLACK)} |")
    return rows


def part_batch(args, work):
    started = time.perf_counter()
    before, spare = load(), capacity()
    folder = work / "noisy"
    distinct = build_folder(args.dataset, args.images, folder)
    print(f"batch: {args.images} images in {folder}", file=sys.stderr, flush=True)
    cache, warm_s, kernels = fresh_cache(work, ["nlm"], "uint8,uint16")
    missing = dask_available()
    configs = CONFIGS if missing is None else CONFIGS[:3]
    times, outputs = time_configs(configs, folder, work, cache, args.repeat, args.images)
    after_kernels = kernel_files(cache)
    spare_after = capacity()
    reference = outputs[configs[0][0]][0]
    checks = [(o, *compare_folders(reference, o)) for label, _ in configs
              for o in outputs[label] if o != reference]
    bad = [(o, names) for o, _, names in checks if names]
    example = ["run", "IN", "-o", "OUT", "-m", "nlm", "--sigma", f"{BATCH_SIGMA:g}", "-q"]
    lines = ["### Batch: one folder on processes, threads and Dask", "",
             f"{args.images} gray uint8 {SIDE}x{SIDE} PNGs cut from {distinct} image(s) of "
             f"`{args.dataset}` (sorted files in turn; sides below {SIDE} padded by "
             f"reflection, np.pad mode \"reflect\"; crop corner seeded by the index) with "
             f"Gaussian noise sigma {BATCH_SIGMA:g} (seed = index; rounded, clipped). Each "
             f"configuration is one fresh `{cli(example)} OPTIONS` process; wall time of the "
             f"whole process (start-up, imports, reading, filtering, writing; for Dask also "
             f"the LocalCluster's start and stop)" +
             (f", median of {args.repeat} runs in rotated order" if args.repeat > 1 else "") +
             ". Compile time is excluded from every configuration alike: all use one "
             f"NUMBA_CACHE_DIR, new and empty, filled first by one `denoise warmup nlm` "
             f"({warm_s:.1f} s, {kernels} kernel files; {after_kernels} after all runs"
             f"{', so no run added a compiled kernel' if after_kernels == kernels else ''}). "
             f"Load average before: {before}; after: {load()}. Shared-machine check: two "
             f"CPU-bound Python loops at once did {spare:.2f}x the work of one alone just "
             f"before the runs and {spare_after:.2f}x just after (2 s each, the better of "
             f"two lone runs as the base; 2.00 on two idle cores, below that other load "
             f"took a share of the cores and the parallel ratios suffer).", ""]
    lines += batch_rows(configs, times, args.images)
    lines.append("")
    if missing is not None:
        lines += [f"Dask skipped: `import dask.distributed` fails ({missing}).", ""]
    compared = len(checks)
    if bad:
        lines += ["**Outputs differ**: " + "; ".join(
            f"{o.name}: {len(n)} file(s), e.g. {', '.join(n[:3])}" for o, n in bad), ""]
    else:
        lines += [f"Outputs byte-identical (filecmp, file by file): all {args.images} files "
                  f"of the {compared} other output folder(s) equal those of "
                  f"\"{configs[0][0]}\".", ""]
    lines.append(f"This part took {(time.perf_counter() - started) / 60:.1f} min.")
    return lines


# --- tiles ------------------------------------------------------------------------------

def synthetic_band(r0, r1, size, seed):
    """Rows r0..r1 of the big image: smooth waves, a coarse checkerboard of steps and a
    ramp (about 15000..49000), plus Gaussian noise TILE_SIGMA seeded by (seed, r0)."""
    y = np.arange(r0, r1, dtype=np.float32)[:, None]
    x = np.arange(size, dtype=np.float32)[None, :]
    band = 12000.0 * np.sin(2 * np.pi * x / 1500.0 + 0.7) * np.cos(2 * np.pi * y / 2100.0)
    band += 6000.0 * (((x // 1024) + (y // 1024)) % 2 - 0.5)
    band += 30000.0 + 4000.0 * (x + y) / (2.0 * size)
    rng = np.random.default_rng([seed, r0])
    band += rng.standard_normal(band.shape, dtype=np.float32) * np.float32(TILE_SIGMA)
    return np.clip(np.rint(band), 0, 65535).astype(np.uint16)


def write_big_tiff(path, size, seed=0):
    """An uncompressed `size` x `size` uint16 TIFF at `path`, filled band by band through
    a new memory map per band; ``(bands, rows per band)``."""
    import tifffile

    mapped = tifffile.memmap(str(path), shape=(size, size), dtype=np.uint16,
                             photometric="minisblack")
    del mapped
    rows = max(1, BAND_PIXELS // size)
    bands = 0
    for r0 in range(0, size, rows):
        r1 = min(size, r0 + rows)
        mapped = tifffile.memmap(str(path), mode="r+")
        mapped[r0:r1] = synthetic_band(r0, r1, size, seed)
        mapped.flush()
        del mapped
        bands += 1
    return bands, rows


def parse_time_v(text):
    """(peak RSS KiB, wall seconds) from GNU time -v's report."""
    peak = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", text)
    wall = re.search(r"Elapsed \(wall clock\) time \([^)]*\):\s*([\d:.]+)", text)
    if not peak or not wall:
        raise SystemExit(f"cannot parse /usr/bin/time -v output:\n{text}")
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = 60.0 * seconds + float(part)
    return int(peak.group(1)), seconds


def crop_box(size, tile):
    """A CROP box centred on the tile corner nearest the image centre (the centre when
    the image is not tiled), within the image."""
    box = []
    for n, extent in zip((size, size), CROP):
        centre = n // 2 if tile is None else int(round(n / 2 / tile)) * tile
        start = min(max(0, centre - extent // 2), max(0, n - extent))
        box += [start, min(n, start + extent)]
    return tuple(box)


def check_crop(method, big, out, box, sigma=TILE_SIGMA):
    """``(halo, grown box, max |tiled - untiled|)`` on `box` of the output `out`."""
    from denoise._image import ImageInfo
    from denoise.registry import get_filter
    from denoise.tiling import TiffWindows, grown

    source, result = TiffWindows.open(big), TiffWindows.open(out)
    if source is None or result is None:
        raise SystemExit(f"{big} or {out}: not a TIFF readable window by window")
    r0, r1, c0, c1 = box
    spec = get_filter(method)
    halo = spec.plan(ImageInfo.of(source[r0:r1, c0:c1]), sigma).halo
    a0, a1, b0, b1 = grown(box, halo, *source.shape[:2])
    crop_grown = source[a0:a1, b0:b1]
    plan = spec.plan(ImageInfo.of(crop_grown), sigma)
    if plan.halo != halo:
        raise SystemExit(f"{method}: halo {plan.halo} on the grown crop, {halo} on the crop")
    untiled = spec.run(crop_grown, spec.place(plan, a0, b0))[r0 - a0:r1 - a0, c0 - b0:c1 - b0]
    tiled = result[r0:r1, c0:c1]
    diff = np.abs(tiled.astype(np.int64) - untiled.astype(np.int64))
    return plan.halo, (a0, a1, b0, b1), int(diff.max())


def measure_method(method, big, work, cache, box, estimated=False):
    """One method on the big TIFF: a dict of what the table shows. `estimated`: no
    --sigma; the sigma the run used (from its --log) is the crop check's."""
    import json

    out = work / f"out_{method}.tif"
    report = work / f"time_{method}.txt"
    log = work / f"log_{method}.json"
    args = ["run", big, "-o", out, "-m", method, "-q", "--overwrite"]
    args += ["--log", log] if estimated else ["--sigma", f"{TILE_SIGMA:g}"]
    own, _ = run_denoise(args, cache, prefix=[TIME, "-v", "-o", report])
    peak_kib, wall = parse_time_v(report.read_text())
    sigma = TILE_SIGMA
    if estimated:
        noise = json.loads(log.read_text())["files"][0]["noise"]
        sigma = float(np.mean(noise["sigma"])) * noise["sigma_factor"]
    halo, grown_box, diff = check_crop(method, big, out, box, sigma)
    out.unlink()
    name = f"{method}, sigma estimated ({sigma:.1f})" if estimated else method
    row = dict(method=name, peak=peak_kib / 1024.0, wall=wall, own=own, halo=halo,
               grown=grown_box, diff=diff, args=args)
    print(f"tiles: {name}: peak {row['peak']:.0f} MiB, {wall:.1f} s, max diff {diff}",
          file=sys.stderr, flush=True)
    return row


def part_tiles(args, work):
    from denoise.tiling import tile_size

    started = time.perf_counter()
    before = load()
    if not TIME.exists():
        raise SystemExit(f"{TIME} (GNU time) is needed for the tiles part")
    need = 2 * args.size * args.size * 2 * 1.05 + 2 ** 28
    free = shutil.disk_usage(work).free
    if free < need:
        raise SystemExit(f"{work}: {free / 2 ** 30:.1f} GiB free, the tiles part needs "
                         f"{need / 2 ** 30:.1f} GiB (--workdir elsewhere?)")
    big = work / "big.tif"
    start = time.perf_counter()
    bands, rows = write_big_tiff(big, args.size)
    gen_s = time.perf_counter() - start
    gen_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"tiles: {big} written in {gen_s:.1f} s", file=sys.stderr, flush=True)
    cache, warm_s, kernels = fresh_cache(work, args.methods, "uint16")
    tile = tile_size((args.size, args.size))
    box = crop_box(args.size, tile)
    results = [measure_method(m, big, work, cache, box) for m in args.methods]
    results += [measure_method(m, big, work, cache, box, estimated=True)
                for m in args.estimated]
    mpx = args.size * args.size / 1e6
    size_mib = args.size * args.size * 2 / 2 ** 20
    example = ["run", "big.tif", "-o", "out_METHOD.tif", "-m", "METHOD", "--sigma",
               f"{TILE_SIGMA:g}", "-q"]
    tiling = f"in tiles of {tile} (automatic above 4096x4096)" if tile else \
        "untiled (at most 4096x4096 pixels: below the automatic tiling)"
    lines = ["### Tiles: one huge TIFF, peak memory and seams", "",
             f"One {args.size}x{args.size} uint16 gray TIFF, uncompressed ({size_mib:.0f} MiB "
             f"of pixels): smooth waves, a checkerboard of steps every 1024 px and a ramp, "
             f"plus Gaussian noise sigma {TILE_SIGMA:g} (16-bit units), written in {bands} "
             f"bands of {rows} rows through a new tifffile memory map per band ({gen_s:.1f} s; "
             f"this benchmark process's peak RSS so far {gen_peak:.0f} MiB). Each method: one "
             f"fresh `/usr/bin/time -v {cli(example)}` process, {tiling}, TIFF to TIFF window "
             f"by window; peak = GNU time's \"Maximum resident set size\" (MiB = 1024 KiB; "
             f"target <= {MEMORY_TARGET_MIB:.0f} MiB = 1 GiB), wall = its \"Elapsed (wall "
             f"clock) time\". Kernels from a new NUMBA_CACHE_DIR filled first by one `denoise "
             f"warmup {' '.join(args.methods)} --dtype uint16` ({warm_s:.1f} s, {kernels} "
             f"kernel files), so no compile time is counted. A method marked \"sigma "
             f"estimated\" ran without --sigma (the noise estimated on the central "
             f"2048x2048 part); its crop check uses the sigma the run logged (--log). "
             f"Load average before: {before}; "
             f"after: {load()}.", "",
             f"Seams: the output's crop rows {box[0]}:{box[1]}, cols {box[2]}:{box[3]} "
             f"({CROP[0]}x{CROP[1]}, centred on the tile corner nearest the image centre), "
             f"against the untiled in-memory result on that crop grown by the method's halo "
             f"(`spec.run(crop_grown, spec.place(spec.plan(ImageInfo.of(crop_grown), "
             f"{TILE_SIGMA:g}), a0, b0))`, interior cut); expected max |difference| 0.", "",
             "| method | peak RSS MiB | target | met | x image size | wall s | Mpx/s | halo px "
             "| grown crop (rows, cols) | max abs diff |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        a0, a1, b0, b1 = r["grown"]
        lines.append(f"| {r['method']} | {r['peak']:.0f} | <= {MEMORY_TARGET_MIB:.0f} | "
                     f"{met(r['peak'] <= MEMORY_TARGET_MIB)} | {r['peak'] / size_mib:.2f} | "
                     f"{r['wall']:.1f} | {mpx / r['wall']:.2f} | {r['halo']} | "
                     f"{a0}:{a1}, {b0}:{b1} | {r['diff']}{'' if r['diff'] == 0 else ' **'} |")
    lines += ["", f"This part took {(time.perf_counter() - started) / 60:.1f} min."]
    return lines


# --- main -------------------------------------------------------------------------------

def header():
    env = environment()
    versions = dict(env["packages"])
    for name in ("tifffile", "dask", "distributed"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    packages = ", ".join(f"{k} {versions[k]}" for k in
                         ("denoise", "numpy", "numba", "tifffile", "dask", "distributed")
                         if k in versions)
    return ["## Scale: parallel batches, tiles and Dask", "",
            f"Command: `{command_line()}`", "",
            f"Run {env['date']} on {env['cpu']}, {env['cores']} cores (os.cpu_count()), "
            f"{env['memory_gb']} GB RAM, {env['platform']}, Python {env['python']}, nice "
            f"{os.nice(0)}; {packages}. CLI: `{shown(DENOISE)}`.", ""]


def parse_list(text, allowed=None):
    items = [p.strip() for p in text.split(",") if p.strip()]
    unknown = set(items) - set(allowed) if allowed else set()
    if not items or unknown:
        raise argparse.ArgumentTypeError(
            "expected a comma-separated list" +
            (f" of {', '.join(allowed)}; unknown: {', '.join(sorted(unknown))}"
             if unknown else ""))
    return items


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", type=lambda t: parse_list(t, PARTS), default=list(PARTS),
                        help="comma-separated: batch, tiles (default both)")
    parser.add_argument("--dataset", type=Path,
                        help="batch: folder of 8-bit images (e.g. ../shared/datasets/BSD68)")
    parser.add_argument("--images", type=int, default=200, help="batch: images (default 200)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="batch: runs per configuration, median kept (default 1)")
    parser.add_argument("--size", type=int, default=20000,
                        help="tiles: side of the big TIFF (default 20000)")
    parser.add_argument("--methods", type=parse_list, default=["median", "nlm"],
                        help="tiles: comma-separated methods (default median,nlm)")
    parser.add_argument("--estimated", type=parse_list, default=["nlm"],
                        help="tiles: methods also run with the noise estimated (no --sigma; "
                             "from the central 2048x2048 part), default nlm")
    parser.add_argument("--workdir", type=Path,
                        help="where the temporary folder goes (default: the system temp)")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    if "batch" in args.part and args.dataset is None:
        parser.error("the batch part needs --dataset")
    if args.images < 2 or args.repeat < 1 or args.size < max(CROP):
        parser.error(f"need --images >= 2, --repeat >= 1, --size >= {max(CROP)}")
    if not DENOISE.exists():
        parser.error(f"{DENOISE}: no denoise CLI beside this Python")
    lines = header()
    with tempfile.TemporaryDirectory(prefix="denoise-scale-", dir=args.workdir) as tmp:
        for part in args.part:
            work = Path(tmp) / part
            work.mkdir()
            lines += globals()[f"part_{part}"](args, work) + [""]
    text = "\n".join(lines)
    write_text(args.output, text)
    print(text)


if __name__ == "__main__":
    main()
