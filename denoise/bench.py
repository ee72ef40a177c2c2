"""Side-by-side benchmarks on a clean data set with seeded noise (Gaussian by default).

The protocol is the one of the published tables (../shared/datasets/README.md):

* clean image as float64 in its own units (0-255 for 8-bit files);
* ``noisy = clean + default_rng(k).normal(0, sigma, shape)`` with ``k`` the
  image's index in sorted file order, the same seed at every sigma, and the
  noisy image **not** clipped or quantised;
* every method gets ``noisy / data_range`` (float64) and ``sigma / data_range``
  (the library's float convention), and its output, scaled back, is clipped to
  the data range before PSNR (peak = data range) and SSIM.

Other noise (``noise=``, any kind of the noise registry): the swept levels are
that model's levels (salt-pepper: impulse densities), drawn from the same
seeded generator; methods get the sigma the model implies, or none.

Parameters given (``params``, ``bench -p``) are in the images' units and replace
what the methods' sigma rules choose (:mod:`denoise.bench_params`).

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

import numpy as np

from ._config import get_threads, set_threads
from .bench_params import check_params, plan_params, reference_name, working_params
from .errors import DenoiseError, InvalidParameterError
from .noise import get_noise
from .protocol import (clean_image, load_dataset, method_sigma, noisy_image, noisy_pair,
                       run_method, score)
from .registry import REGISTRY, get_filter, references

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
    noise: str = "gaussian"        # a kind of the noise registry
    noise_options: dict = field(default_factory=dict)   # its extra options (mixed: density)
    params: dict = field(default_factory=dict)          # method -> {parameter: value} given

    @property
    def symbol(self):
        """What the swept level is, from the noise model: σ, p (impulse density)..."""
        return get_noise(self.noise).symbol

    def describe_noise(self):
        """The noise in words, for headers."""
        return get_noise(self.noise).describe(self.sigmas, **self.noise_options)

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
                   noise=data.get("noise", "gaussian"),
                   noise_options=data.get("noise_options", {}),
                   params=data.get("params", {}),
                   noisy=[s for s in samples if s.method == "noisy"],
                   samples=[s for s in samples if s.method != "noisy"])

    def to_json(self):
        """JSON-ready dict (without the montage arrays)."""
        return {"dataset": self.dataset, "sigmas": self.sigmas, "methods": self.methods,
                "threads": self.threads, "data_range": self.data_range,
                "images": self.images, "montage_image": self.montage_image,
                "environment": self.environment, "first_call_s": self.first_call,
                "noise": self.noise, "noise_options": self.noise_options,
                "params": self.params,
                "summary": [asdict(r) for r in self.summaries()],
                "samples": [asdict(s) for s in self.noisy + self.samples]}


def resolve_references(against, methods=()):
    """Reference names for --against.

    Default (nothing given): the references of the same family as `methods` (ours
    among them: nlm brings ref:skimage-nlm and ref:opencv-nlm), so a reference with
    no method of ours beside it (BM3D, TV, wavelet) runs only when named; 'all':
    every installed reference; 'none': none.
    """
    words = [a.lower() for a in against]
    if not against:
        families = {REGISTRY[m].family for m in methods if not REGISTRY[m].is_reference}
        return [r for r in references() if REGISTRY[r].family in families]
    if words in (["none"], ["all"]):
        return [] if words == ["none"] else references()
    if "none" in words or "all" in words:
        raise InvalidParameterError("--against none and --against all stand alone; "
                                    "give either one of them or reference names")
    names = [reference_name(a) for a in against]
    for name in names:
        if name not in REGISTRY or not REGISTRY[name].is_reference:
            raise InvalidParameterError(
                f"{name!r} is not an installed reference; installed: "
                f"{', '.join(references()) or 'none'} "
                f"(OpenCV and BM3D come with pip install 'denoise[bench]')")
    return names


def parse_limits(raw):
    """``{"bm3d": "17"}`` (METHOD=N) -> ``{"ref:bm3d": 17}``; N must be a positive integer."""
    limits = {}
    for key, text in raw.items():
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise InvalidParameterError(f"{key}={text}: N must be a positive integer")
        limits[reference_name(key)] = value
    return limits


def run_bench(dataset, sigmas, methods, *, limit=None, method_limits=None, threads=None,
              montage_image=None, progress=False, noise="gaussian", noise_options=None,
              params=None):
    """Benchmark `methods` (registry names) on `dataset` at each level of `noise`.

    `sigmas` are the noise model's levels (sigma in image units for Gaussian
    noise; impulse densities for salt-pepper), `noise_options` its extra options
    (mixed: density). `method_limits` maps a method to the number of first images
    it runs on (slow references). `params` maps a method to parameter values in
    the images' units (:func:`denoise.bench_params.resolve_params`), which replace
    what its sigma rule would choose. Returns a :class:`BenchResult`.
    """
    from tqdm import tqdm

    specs = [get_filter(m) for m in methods]
    noise_options = _check_noise(noise, sigmas, noise_options, specs)
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
                         environment=environment(), noise=noise,
                         noise_options=noise_options, params=check_params(params, methods))
    result.montage_image = montage_image or files[0][0]
    if result.montage_image not in result.images:
        raise InvalidParameterError(
            f"montage image {result.montage_image!r} is not among the images benchmarked")
    quota = {m: min(len(files), method_limits.get(m, len(files))) for m in methods}
    total = sum(quota.values()) * len(sigmas)
    first = _load_first(files)
    plan_params(specs, first, result)
    with tqdm(total=total, desc="bench", unit="call", file=sys.stderr,
              disable=None if progress else True) as bar:   # None: off when not a terminal
        for sigma in sigmas:
            _warm_up(specs, first, sigma, result)
            for index, (name, path) in enumerate(files):
                order = specs[index % len(specs):] + specs[:index % len(specs)]
                _one_image(result, [s for s in order if index < quota[s.name]], sigma, index,
                           name, path, bar)
    return result


def _one_image(result, specs, sigma, index, name, path, bar):
    """The noisy image `index` at `sigma`, then each method in turn on it."""
    clean, data_range = clean_image(path)
    result.data_range = data_range
    noisy, clean = noisy_pair(clean, sigma, index, result.noise, data_range,
                              **result.noise_options)
    keep = name == result.montage_image
    base = np.clip(noisy, 0.0, data_range)
    result.noisy.append(Sample("noisy", sigma, name, index, _pixels(clean),
                               *score(clean, base, data_range), 0.0, None))
    if keep:
        result.montage[sigma] = {"clean": clean, "noisy": base}
    for spec in specs:
        try:
            out, seconds, peak = _timed(spec, noisy, method_sigma(result.noise, sigma),
                                        data_range, result.params.get(spec.name))
        except Exception as exc:
            raise DenoiseError(f"{spec.name} failed on {path} at "
                               f"{result.symbol}={sigma:g}: {exc}") from exc
        result.samples.append(Sample(spec.name, sigma, name, index, _pixels(clean),
                                     *score(clean, out, data_range), seconds, peak))
        if keep:
            result.montage[sigma][spec.name] = out
        bar.update()


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


def _check_noise(noise, levels, options, specs):
    """The noise's options; InvalidParameterError for an unknown kind, a bad level or
    option, or a method that needs sigma where the noise implies none and cannot be
    estimated (impulses; otherwise such methods get it estimated, as `run` does)."""
    model = get_noise(noise)
    options = model.resolve_options(options)
    for level in levels:
        model.check(level)
    if not model.estimable and any(model.implied_sigma(level) is None for level in levels):
        blind = [s.name for s in specs if s.needs_sigma()]
        if blind:
            raise InvalidParameterError(
                f"{', '.join(blind)} need{'s' if len(blind) == 1 else ''} sigma, which "
                f"{noise} noise does not give; choose methods with -m (median, "
                f"adaptive-median...)")
    return options


def _warm_up(specs, first, sigma, result):
    """One call per method on a crop (compiles this level's code paths)."""
    crop, data_range = first
    noisy = noisy_image(crop, sigma, 0, result.noise, data_range, **result.noise_options)
    for spec in specs:
        start = time.perf_counter()
        try:
            low = method_sigma(result.noise, sigma)
            run_method(spec, noisy / data_range, None if low is None else low / data_range,
                       working_params(spec, result.params.get(spec.name), data_range))
        except Exception as exc:
            raise DenoiseError(f"{spec.name} failed on the warm-up crop at "
                               f"{result.symbol}={sigma:g}: {exc}") from exc
        result.first_call.setdefault(spec.name, time.perf_counter() - start)


def _timed(spec, noisy, sigma, data_range, given=None):
    """Run one call: (clipped output in image units, seconds, peak memory rise MB)."""
    scaled = noisy / data_range
    low = None if sigma is None else sigma / data_range
    given = working_params(spec, given, data_range)
    before = _reset_peak()
    start = time.perf_counter()
    out = run_method(spec, scaled, low, given)
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
