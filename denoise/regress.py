"""Quality regression check: score our methods on the sample images against a baseline.

Each method runs at its defaults on every image of the samples folder with
Gaussian noise at sigma 15, 25 and 50 (8-bit units, scaled to each file's range),
under the benchmark protocol (:mod:`denoise.protocol`): seed = the image's index
in sorted order, noisy image not clipped, output clipped before scoring. Results
are compared image by image with a committed baseline (JSON), so a drop on one
image is not averaged away by the others.

The samples and the baseline live in the project's checkout, next to the
package: they are found from there, whatever the working directory.
"""
import json
import sys
import statistics
from dataclasses import dataclass
from pathlib import Path

from .errors import ImageIOError, InvalidParameterError
from .io import write_text
from .protocol import clean_image, denoise_scaled, load_dataset, noisy_image, score
from .registry import get_filter

SIGMAS = (15, 25, 50)          # 8-bit units
#: The checkout the package was installed from (an editable install, as `make` does).
PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = PROJECT / "tests" / "regression" / "baseline.json"
DEFAULT_SAMPLES = PROJECT / "sample_images" / "clean"
PROTOCOL = ("noisy = clean + N(0, (sigma * range / 255)^2), seed = index in sorted order, "
            "not clipped; method at defaults on noisy / range with sigma / range; output "
            "clipped to the range; PSNR and SSIM (skimage) per image")


@dataclass(frozen=True)
class Delta:
    """One method at one sigma against the baseline."""

    method: str
    sigma: float
    psnr: float | None          # current mean PSNR
    d_psnr: float | None        # mean change (None: nothing to compare)
    d_ssim: float | None
    worst_psnr: float | None    # most negative per-image PSNR change
    worst_ssim: float | None
    worst_image: str
    status: str                 # ok, improved, REGRESSED, NEW, MISSING


def measure(samples, methods, sigmas=SIGMAS, progress=False):
    """``{method: {sigma: {image: [psnr, ssim]}}}`` on the images of `samples`."""
    from tqdm import tqdm

    files = load_dataset(samples)
    images = [(name, *clean_image(path)) for name, path in files]
    specs = [get_filter(m) for m in methods]
    out = {m: {_key(s): {} for s in sigmas} for m in methods}
    with tqdm(total=len(specs) * len(sigmas) * len(images), desc="regress", unit="call",
              file=sys.stderr, disable=None if progress else True) as bar:
        for sigma in sigmas:
            for index, (name, clean, data_range) in enumerate(images):
                level = sigma * data_range / 255.0
                noisy = noisy_image(clean, level, index)
                for spec in specs:
                    estimate = denoise_scaled(spec, noisy, level, data_range)
                    value = score(clean, estimate, data_range)
                    out[spec.name][_key(sigma)][name] = [round(v, 5) for v in value]
                    bar.update()
    return out


def merge(baseline, current, methods):
    """The baseline after an update: only the `methods` checked are replaced when
    some were chosen (the others are kept as they were), else all of it."""
    return {**baseline, **current} if methods else dict(current)


def load_baseline(path):
    """The ``methods`` mapping of a baseline file; errors name the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        return data["methods"]
    except FileNotFoundError:
        raise ImageIOError(f"{path}: no baseline file (create one with --update)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ImageIOError(f"{path}: not a regression baseline ({exc})") from None


def save_baseline(path, methods, samples):
    """Write the baseline atomically (sorted keys, stable diffs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = Path(samples).resolve()
    shown = samples.relative_to(PROJECT) if samples.is_relative_to(PROJECT) else samples
    data = {"protocol": PROTOCOL, "samples": str(shown), "sigmas_8bit": list(SIGMAS),
            "methods": methods}
    write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def compare(baseline, current, tolerance_db, tolerance_ssim):
    """Deltas of `current` against `baseline`, per method and sigma (see :class:`Delta`).

    A method fails (REGRESSED) when any image drops by more than a tolerance, or
    the set of images differs; it is NEW when the baseline lacks it and MISSING
    when the baseline has it but the run does not.
    """
    rows = []
    for method in sorted(set(baseline) | set(current)):
        for sigma in sorted(set(baseline.get(method, {})) | set(current.get(method, {})),
                            key=float):
            old = baseline.get(method, {}).get(sigma)
            new = current.get(method, {}).get(sigma)
            rows.append(_delta(method, sigma, old, new, tolerance_db, tolerance_ssim))
    return rows


def failed(rows):
    """True if any row fails the check."""
    return any(r.status in ("REGRESSED", "NEW", "MISSING") for r in rows)


def render(rows, tolerance_db, tolerance_ssim):
    """Text table of the deltas."""
    head = (f"{'method':<18} {'sigma':>5} {'PSNR':>7} {'dPSNR':>7} {'dSSIM':>8} "
            f"{'worst dPSNR':>11}  status")
    lines = [head]
    for r in rows:
        worst = "-" if r.worst_psnr is None else f"{r.worst_psnr:+.3f} {r.worst_image}"
        lines.append(f"{r.method:<18} {r.sigma:>5g} {_num(r.psnr, '.2f'):>7} "
                     f"{_num(r.d_psnr, '+.3f'):>7} {_num(r.d_ssim, '+.4f'):>8} "
                     f"{worst:>11}  {r.status}")
    lines.append(f"tolerance: {tolerance_db:g} dB PSNR, {tolerance_ssim:g} SSIM per image "
                 f"(sigma in 8-bit units)")
    return "\n".join(lines)


def check_tolerances(tolerance_db, tolerance_ssim):
    if not tolerance_db >= 0 or not tolerance_ssim >= 0:
        raise InvalidParameterError("tolerances must be >= 0")


def _delta(method, sigma, old, new, tol_db, tol_ssim):
    if new is None:
        return Delta(method, float(sigma), None, None, None, None, None, "", "MISSING")
    mean_psnr = statistics.fmean(v[0] for v in new.values())
    if old is None:
        return Delta(method, float(sigma), mean_psnr, None, None, None, None, "", "NEW")
    if set(old) != set(new):
        changed = ", ".join(sorted(set(old) ^ set(new)))
        return Delta(method, float(sigma), mean_psnr, None, None, None, None, changed,
                     "REGRESSED")
    d_psnr = {k: new[k][0] - old[k][0] for k in new}
    d_ssim = {k: new[k][1] - old[k][1] for k in new}
    worst = min(d_psnr, key=d_psnr.get)
    worst_ssim = min(d_ssim.values())
    regressed = d_psnr[worst] < -tol_db or worst_ssim < -tol_ssim
    improved = statistics.fmean(d_psnr.values()) > tol_db
    status = "REGRESSED" if regressed else "improved" if improved else "ok"
    return Delta(method, float(sigma), mean_psnr, statistics.fmean(d_psnr.values()),
                 statistics.fmean(d_ssim.values()), d_psnr[worst], worst_ssim, worst, status)


def _key(sigma):
    return f"{sigma:g}"


def _num(value, spec):
    return "-" if value is None else format(value, spec)
