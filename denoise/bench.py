"""Side-by-side benchmarks on a clean data set with seeded noise (Gaussian by default).

The protocol is the one of the published tables (../shared/datasets/README.md):

* clean image as float64 in its own units (0-255 for 8-bit files);
* ``noisy = clean + default_rng(k).normal(0, sigma, shape)`` with ``k`` the
  image's index in sorted file order, the same seed at every sigma, and the
  noisy image **not** clipped or quantised;
* every method gets ``noisy / data_range`` (float64) and ``sigma / data_range``
  (the library's float convention), and its output, scaled back, is clipped to
  the data range before PSNR (peak = data range) and SSIM.

Other noise (``noise=``): "salt-pepper" sweeps the impulse density instead of
sigma (a fraction of the pixels set to 0 or the top of the range, half each,
from the same seeded generator) and methods get no sigma; "mixed" adds the
Gaussian noise, then impulses of a fixed `density`, and methods get sigma.

Methods run image by image in turn (rotating their order), so drift on a noisy
machine hits all of them alike. Timings cover the method call only, after a
warm-up call per method and sigma on a crop of the first image; that very first
call (compilation, package import) is reported separately. Peak memory is the
rise of the process's resident set during the call (Linux ``VmHWM``, reset
before each call), so it covers Numba, OpenCV and C allocations alike.
"""
import ctypes
import ctypes.util
import datetime
import functools
import importlib.metadata
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ._config import get_threads, set_threads
from ._image import data_range_of, split_alpha
from .errors import DenoiseError, InvalidParameterError
from .io import iter_images, read_image
from .metrics import psnr, ssim
from .noise import impulses
from .registry import get_filter

WARMUP_SIZE = 64          # side of the warm-up crop, in pixels
PACKAGES = ("denoise", "numpy", "numba", "scipy", "scikit-image", "imageio",
            "opencv-python-headless", "opencv-python", "bm3d", "matplotlib")


@dataclass(frozen=True)
class Sample:
    """One method's result on one noisy image."""

    method: str
    sigma: float
    image: str
    index: int
    pixels: int
    psnr: float
    ssim: float
    seconds: float
    peak_mb: float | None


@dataclass(frozen=True)
class Summary:
    """One method at one sigma: means over its images, timing and memory."""

    method: str
    sigma: float
    n: int
    psnr: float
    ssim: float
    seconds: float | None          # median seconds per image
    mpx_per_s: float | None        # all pixels / all seconds
    peak_mb: float | None          # largest per-call rise of the resident set
    first_call_s: float | None     # first call in the process (compile, imports)


@dataclass
class BenchResult:
    """Everything one `denoise bench` run measured, and how."""

    dataset: str
    sigmas: list                   # the swept noise levels: sigma, or the impulse density
    methods: list
    threads: int
    data_range: float
    images: list                   # names, sorted order (index = noise seed)
    samples: list = field(default_factory=list)         # Sample
    noisy: list = field(default_factory=list)           # Sample of the input itself
    first_call: dict = field(default_factory=dict)      # method -> seconds
    montage: dict = field(default_factory=dict)         # sigma -> {label: image}
    montage_image: str = ""
    environment: dict = field(default_factory=dict)
    noise: str = "gaussian"        # NOISE_KINDS
    density: float = 0.0           # impulse density of "mixed" noise

    @property
    def symbol(self):
        """What the swept level is: σ, or p (impulse density) for salt-pepper."""
        return "p" if self.noise == "salt-pepper" else "σ"

    def describe_noise(self):
        """The noise in words, for headers."""
        levels = ", ".join(f"{s:g}" for s in self.sigmas)
        if self.noise == "salt-pepper":
            return f"salt-pepper noise, impulse density {levels}"
        if self.noise == "mixed":
            return (f"mixed noise: sigma {levels} (image units), then "
                    f"{self.density:g} impulse density")
        return f"sigma {levels} (image units)"

    def summaries(self, images=None):
        """Summary rows (noisy input first, then methods in run order) per sigma.

        `images` restricts the means to those image names (subset-matched tables).
        """
        rows = []
        for sigma in self.sigmas:
            for method in ["noisy", *self.methods]:
                pool = self.noisy if method == "noisy" else self.samples
                chosen = [s for s in pool if s.method == method and s.sigma == sigma
                          and (images is None or s.image in images)]
                if chosen:
                    rows.append(_summarise(method, sigma, chosen,
                                           self.first_call.get(method)))
        return rows

    def common_images(self):
        """Images every method ran on, when some ran on fewer (else None)."""
        sets = [{s.image for s in self.samples if s.method == m} for m in self.methods]
        common = set.intersection(*sets) if sets else set()
        return None if all(s == common for s in sets) else common

    @classmethod
    def from_json(cls, data):
        """Rebuild a result from :meth:`to_json` output (montage images are not kept)."""
        samples = [Sample(**s) for s in data["samples"]]
        return cls(dataset=data["dataset"], sigmas=data["sigmas"], methods=data["methods"],
                   threads=data["threads"], data_range=data["data_range"],
                   images=data["images"], montage_image=data["montage_image"],
                   environment=data["environment"], first_call=data["first_call_s"],
                   noise=data.get("noise", "gaussian"), density=data.get("density", 0.0),
                   noisy=[s for s in samples if s.method == "noisy"],
                   samples=[s for s in samples if s.method != "noisy"])

    def to_json(self):
        """JSON-ready dict (without the montage arrays)."""
        return {"dataset": self.dataset, "sigmas": self.sigmas, "methods": self.methods,
                "threads": self.threads, "data_range": self.data_range,
                "images": self.images, "montage_image": self.montage_image,
                "environment": self.environment, "first_call_s": self.first_call,
                "noise": self.noise, "density": self.density,
                "summary": [asdict(r) for r in self.summaries()],
                "samples": [asdict(s) for s in self.noisy + self.samples]}


def load_dataset(folder, limit=None):
    """Sorted ``[(name, path)]`` of the images in `folder` (first `limit` only)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidParameterError(f"{folder}: not a folder")
    paths = iter_images(folder)
    if not paths:
        raise InvalidParameterError(f"{folder}: no images")
    return [(p.name, p) for p in paths[:limit]]


def clean_image(path):
    """Read `path` as float64 in its own units, and its data range (alpha dropped)."""
    image, _ = split_alpha(read_image(path))
    data_range = data_range_of(image.dtype)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    return image.astype(np.float64), data_range


NOISE_KINDS = ("gaussian", "salt-pepper", "mixed")


def noisy_image(clean, sigma, index, noise="gaussian", density=0.0, top=255.0):
    """The protocol's noisy image: clean + N(0, sigma^2), seed = index, not clipped.

    salt-pepper: `sigma` is the impulse density instead, and impulses are 0 or
    `top` (the data range); mixed: the Gaussian noise, then impulses of `density`.
    """
    rng = np.random.default_rng(index)
    if noise == "salt-pepper":
        return impulses(clean.copy(), sigma, rng, top)
    noisy = clean + rng.normal(0.0, sigma, clean.shape)
    return impulses(noisy, density, rng, top) if noise == "mixed" else noisy


def method_sigma(noise, level):
    """The sigma a method is given (image units): none for salt-pepper."""
    return None if noise == "salt-pepper" else level


def denoise_scaled(spec, noisy, sigma, data_range):
    """Run `spec` the library's way (float on [0, 1]) and return clipped image units."""
    out = spec.func(noisy / data_range, sigma=None if sigma is None else sigma / data_range)
    return np.clip(np.asarray(out, dtype=np.float64) * data_range, 0.0, data_range)


def score(clean, estimate, data_range):
    """PSNR and SSIM of an estimate already clipped to the data range."""
    return (psnr(clean, estimate, data_range=data_range),
            ssim(clean, estimate, data_range=data_range))


def run_bench(dataset, sigmas, methods, *, limit=None, method_limits=None, threads=None,
              montage_image=None, progress=False, noise="gaussian", density=0.0):
    """Benchmark `methods` (registry names) on `dataset` at each sigma (image units).

    `method_limits` maps a method to the number of first images it runs on (slow
    references). `noise` is one of NOISE_KINDS; for salt-pepper `sigmas` are the
    impulse densities, for mixed `density` is the impulse density added to each
    sigma. Returns a :class:`BenchResult`.
    """
    from tqdm import tqdm

    specs = [get_filter(m) for m in methods]
    _check_noise(noise, sigmas, density, specs)
    method_limits = dict(method_limits or {})
    unknown = set(method_limits) - set(methods)
    if unknown:
        raise InvalidParameterError(
            f"image limits for methods not in the run: {', '.join(sorted(unknown))}")
    files = load_dataset(dataset, limit)
    set_threads(threads)
    result = BenchResult(dataset=str(dataset), sigmas=list(sigmas), methods=list(methods),
                         threads=get_threads(), data_range=0.0,
                         images=[name for name, _ in files],
                         environment=environment(), noise=noise, density=density)
    result.montage_image = montage_image or files[0][0]
    if result.montage_image not in result.images:
        raise InvalidParameterError(
            f"montage image {result.montage_image!r} is not among the images benchmarked")
    quota = {m: min(len(files), method_limits.get(m, len(files))) for m in methods}
    total = sum(quota.values()) * len(sigmas)
    bar = tqdm(total=total, desc="bench", unit="call", disable=not progress, file=sys.stderr)
    first = _load_first(files)
    with bar:
        for sigma in sigmas:
            _warm_up(specs, first, sigma, result)
            for index, (name, path) in enumerate(files):
                clean, data_range = clean_image(path)
                result.data_range = data_range
                noisy = noisy_image(clean, sigma, index, noise, density, data_range)
                keep = name == result.montage_image
                base = np.clip(noisy, 0.0, data_range)
                result.noisy.append(Sample("noisy", sigma, name, index, _pixels(clean),
                                           *score(clean, base, data_range), 0.0, None))
                if keep:
                    result.montage[sigma] = {"clean": clean, "noisy": base}
                order = specs[index % len(specs):] + specs[:index % len(specs)]
                for spec in order:
                    if index >= quota[spec.name]:
                        continue
                    try:
                        out, seconds, peak = _timed(
                            spec, noisy, method_sigma(noise, sigma), data_range)
                    except Exception as exc:
                        raise DenoiseError(f"{spec.name} failed on {path} at "
                                           f"{result.symbol}={sigma:g}: {exc}") from exc
                    result.samples.append(Sample(
                        spec.name, sigma, name, index, _pixels(clean),
                        *score(clean, out, data_range), seconds, peak))
                    if keep:
                        result.montage[sigma][spec.name] = out
                    bar.update()
    return result


def environment():
    """Machine, Python and package versions, date: what a reader needs to compare."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "python": platform.python_version(), "platform": platform.platform(),
            "cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gb": _memory_gb(),
            "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR", ""),
            "packages": versions}


def _summarise(method, sigma, chosen, first_call):
    seconds = [s.seconds for s in chosen]
    timed = method != "noisy"
    peaks = [s.peak_mb for s in chosen if s.peak_mb is not None]
    total = sum(seconds)
    return Summary(
        method=method, sigma=sigma, n=len(chosen),
        psnr=statistics.fmean(s.psnr for s in chosen),
        ssim=statistics.fmean(s.ssim for s in chosen),
        seconds=statistics.median(seconds) if timed else None,
        mpx_per_s=(sum(s.pixels for s in chosen) / 1e6 / total) if timed and total else None,
        peak_mb=max(peaks) if peaks else None,
        first_call_s=first_call if timed else None)


def _load_first(files):
    clean, data_range = clean_image(files[0][1])
    return clean[:WARMUP_SIZE, :WARMUP_SIZE], data_range


def _check_noise(noise, levels, density, specs):
    """Raise InvalidParameterError: unknown kind, bad levels, a method left without sigma."""
    if noise not in NOISE_KINDS:
        raise InvalidParameterError(
            f"unknown noise {noise!r}; choose from: {', '.join(NOISE_KINDS)}")
    if noise == "salt-pepper":
        if any(not 0.0 < p <= 1.0 for p in levels):
            raise InvalidParameterError("salt-pepper levels are impulse densities in (0, 1]")
        blind = [s.name for s in specs if s.needs_sigma()]
        if blind:
            raise InvalidParameterError(
                f"{', '.join(blind)} need{'s' if len(blind) == 1 else ''} sigma, which "
                f"salt-pepper noise does not give; "
                f"choose methods with -m (median, adaptive-median...)")
    if noise == "mixed" and not 0.0 < density <= 1.0:
        raise InvalidParameterError(f"mixed noise needs an impulse density in (0, 1], "
                                    f"got {density:g}")


def _warm_up(specs, first, sigma, result):
    """One call per method on a crop (compiles this level's code paths)."""
    crop, data_range = first
    noisy = noisy_image(crop, sigma, 0, result.noise, result.density, data_range)
    for spec in specs:
        start = time.perf_counter()
        try:
            denoise_scaled(spec, noisy, method_sigma(result.noise, sigma), data_range)
        except Exception as exc:
            raise DenoiseError(f"{spec.name} failed on the warm-up crop at "
                               f"{result.symbol}={sigma:g}: {exc}") from exc
        result.first_call.setdefault(spec.name, time.perf_counter() - start)


def _timed(spec, noisy, sigma, data_range):
    """Run one call: (clipped output in image units, seconds, peak memory rise MB)."""
    scaled = noisy / data_range
    low = None if sigma is None else sigma / data_range
    before = _reset_peak()
    start = time.perf_counter()
    out = spec.func(scaled, sigma=low)
    seconds = time.perf_counter() - start
    peak = _peak_rise(before)
    out = np.clip(np.asarray(out, dtype=np.float64) * data_range, 0.0, data_range)
    return out, seconds, peak


def _status(field_name):
    try:
        with open("/proc/self/status") as f:
            match = re.search(rf"^{field_name}:\s+(\d+) kB", f.read(), re.M)
        return int(match.group(1)) * 1024 if match else None
    except OSError:
        return None


def _reset_peak():
    """Reset the resident-set high-water mark; return the current resident set.

    Free heap memory is handed back to the system first (glibc ``malloc_trim``),
    so memory a call reuses from earlier calls counts as a rise too.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    return _status("VmRSS")


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):       # not glibc
        return None


def _peak_rise(before):
    if before is None:
        return None
    peak = _status("VmHWM")
    return None if peak is None else max(peak - before, 0) / 2 ** 20


def _pixels(image):
    return int(image.shape[0] * image.shape[1])


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            match = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
        return match.group(1).strip() if match else platform.processor()
    except OSError:
        return platform.processor()


def _memory_gb():
    try:
        with open("/proc/meminfo") as f:
            match = re.search(r"^MemTotal:\s+(\d+) kB", f.read(), re.M)
        return round(int(match.group(1)) / 2 ** 20, 1) if match else None
    except OSError:
        return None
