"""Files in, files out: map inputs to outputs, run a transform per file, report.

One file's failure never stops the batch: it is recorded in the :class:`Report`
(and passed to `on_error` as it happens), and the others are still written.
"""
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DenoiseError, ImageIOError, InvalidParameterError
from .io import check_writable, is_image_path, iter_images, read_image, read_info, write_image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One input file and the output path it maps to."""

    source: Path
    target: Path


@dataclass
class Report:
    """What a batch did: paths written, skipped (existing), failed with reasons."""

    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)   # (path, message)

    @property
    def return_code(self):
        """0 if no file failed, else 1."""
        return 1 if self.failed else 0


def jobs_for(inputs, output, *, recursive=False):
    """Map input files and folders to output paths (InvalidParameterError if none).

    A single input file with an output that has an image extension (and is not a
    folder) maps to that file. Otherwise `output` is a folder: files keep their
    names, and files found in an input folder keep their path relative to it.
    """
    inputs = [Path(p) for p in inputs]
    output = Path(output)
    to_file = (len(inputs) == 1 and inputs[0].is_file() and not output.is_dir()
               and is_image_path(output))
    if not to_file and is_image_path(output) and not output.is_dir():
        raise InvalidParameterError(
            f"output {output} looks like a file, but the inputs are several files or a "
            f"folder: give a folder")
    if to_file:
        return [Job(inputs[0], output)]
    jobs = []
    for item in inputs:
        if item.is_dir():
            jobs += [Job(p, output / p.relative_to(item))
                     for p in iter_images(item, recursive=recursive)
                     if not _inside(p, output)]
        else:
            jobs.append(Job(item, output / item.name))
    if not jobs:
        nested = not recursive and any(iter_images(item, recursive=True)
                                       for item in inputs if item.is_dir())
        raise InvalidParameterError(
            "no image files found in the inputs" +
            ("; images are in sub-folders: add -r (--recursive)" if nested else ""))
    return jobs


def _inside(path, folder):
    """True if `path` lies inside `folder` (an output folder is never read as input)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def plan_files(jobs, plan_for):
    """Plan every job's input from its header, before any pixel is filtered.

    `plan_for(info)` plans for an :class:`~denoise._image.ImageInfo` (once per kind
    of image). Returns ``(plans, report)``: the plan of each job (None where the
    header could not be read) and a :class:`Report` of those files. A parameter
    error raises InvalidParameterError naming the file, since it concerns them all.
    """
    report, plans, cache = Report(), [], {}
    for job in jobs:
        try:
            info = read_info(job.source)
        except ImageIOError as exc:
            report.failed.append((job.source, str(exc)))
            plans.append(None)
            continue
        if info not in cache:
            try:
                cache[info] = plan_for(info)
            except InvalidParameterError as exc:
                raise type(exc)(f"{exc} ({job.source}: {info.describe()})") from None
            log.info("%s on %s images: %s", cache[info].method, info.describe(),
                     cache[info].describe())
        plans.append(cache[info])
    return plans, report


def run_jobs(jobs, transform, *, overwrite=False, skip_existing=False, progress=True,
             on_error=None):
    """Read each job's source, apply ``transform(image, index)``, write the target.

    Existing targets fail unless `overwrite` (replace) or `skip_existing` (skip).
    A target that is the source itself always fails. Returns a :class:`Report`.
    """
    from tqdm import tqdm

    report = Report()
    seen = set()
    bar = tqdm(jobs, file=sys.stderr, unit="image", dynamic_ncols=True,
               disable=True if not progress or len(jobs) <= 1 else None)
    for index, job in enumerate(bar):
        try:
            start = time.perf_counter()
            if _run_one(job, index, transform, seen, overwrite, skip_existing):
                report.done.append(job.target)
                log.info("%s -> %s (%.2f s)", job.source, job.target,
                         time.perf_counter() - start)
            else:
                report.skipped.append(job.target)
        except Exception as exc:  # one bad file must not stop the batch
            message = str(exc) if isinstance(exc, DenoiseError) else \
                f"{job.source}: {type(exc).__name__}: {exc}"
            log.debug("failure on %s", job.source, exc_info=True)
            report.failed.append((job.source, message))
            if on_error is not None:
                on_error(message)
    return report


def _run_one(job, index, transform, seen, overwrite, skip_existing):
    """Process one job; False if skipped. Raises on failure."""
    target = job.target.resolve()
    if target == job.source.resolve():
        raise InvalidParameterError(f"{job.source}: refusing to overwrite the input file")
    if target in seen:
        raise InvalidParameterError(
            f"{job.source}: output {job.target} is also the output of another input")
    seen.add(target)
    if job.target.exists() and not overwrite:
        if skip_existing:
            return False
        raise InvalidParameterError(
            f"{job.target}: output exists (pass --overwrite to replace it, "
            f"or --skip-existing to keep it)")
    image = read_image(job.source)
    check_writable(job.target, image)
    write_image(job.target, transform(image, index), overwrite=overwrite)
    return True


def estimate_files(inputs, estimator, *, recursive=False):
    """``([(path, NoiseEstimate)], Report)`` for the image files in `inputs`."""
    from .noise.estimate import estimate_noise

    paths = [p for item in map(Path, inputs)
             for p in (iter_images(item, recursive=recursive) if item.is_dir() else [item])]
    if not paths:
        raise InvalidParameterError("no image files found in the inputs")
    rows, report = [], Report()
    for path in paths:
        try:
            rows.append((path, estimate_noise(read_image(path), estimator=estimator,
                                              warn=False)))
            report.done.append(path)
        except DenoiseError as exc:
            report.failed.append((path, str(exc)))
    return rows, report
