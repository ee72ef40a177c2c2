"""Files in, files out: find the inputs, map them to outputs, process each, report.

One file's failure never stops the batch: it is recorded in the :class:`Report`
with its reason, and the others are still written. An output that exists and is
newer than its input is skipped (a re-run resumes a batch); one older than its
input is redone. Outputs are written atomically, and never replace a file another
process wrote meanwhile (:func:`~denoise.io.commit_atomic`). Executors (one
process, several, or a Dask cluster) are in :mod:`.executors`.
"""
import fnmatch
import glob
import logging
import os
import time
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ._image import check_data_range
from .errors import DenoiseError, ImageIOError, InvalidParameterError, OutputExistsError
from .io import (FORMATS, MAX_PIXELS, check_writable, format_of, is_image_path, iter_images,
                 read_image, read_info, remove_stale_temps, write_image)
from .metadata import Saving

log = logging.getLogger(__name__)

#: What to do with an output that exists: "resume" skips it if newer than its input
#: and redoes it otherwise; "overwrite" redoes it; "keep" skips it whatever its age.
MODES = ("resume", "overwrite", "keep")
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Job:
    """One input file and the output path it maps to."""

    source: Path
    target: Path


@dataclass(frozen=True)
class Outcome:
    """What became of one job: `status` is "written", "redone", "skipped" or "failed";
    `message` the reason (skipped, failed); `record` what the step reports."""

    job: Job
    status: str
    message: str = ""
    record: Optional[dict] = None
    seconds: float = 0.0


@dataclass
class Report:
    """What a batch did: paths written, skipped (with the reason), failed with reasons."""

    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # (path, reason)
    failed: list = field(default_factory=list)   # (path, message)
    redone: list = field(default_factory=list)   # outputs written again (input newer)

    @property
    def return_code(self):
        """0 if no file failed, else 1."""
        return 1 if self.failed else 0

    def add(self, outcome):
        """Count one :class:`Outcome`."""
        job = outcome.job
        if outcome.status == "failed":
            self.failed.append((job.source, outcome.message))
        elif outcome.status == "skipped":
            self.skipped.append((job.target, outcome.message))
        else:
            self.done.append(job.target)
            if outcome.status == "redone":
                self.redone.append(job.target)

    def summary(self, what="written"):
        """Black-style lines: the counts (skips grouped by reason), then each failure."""
        parts = [f"{len(self.done)} {what}" +
                 (f" ({len(self.redone)} redone: input newer than output)"
                  if self.redone else "")]
        reasons = {}
        for _, reason in self.skipped:
            reasons[reason] = reasons.get(reason, 0) + 1
        parts += [f"{n} skipped ({reason})" for reason, n in reasons.items()]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        lines = [", ".join(parts)]
        if self.failed and len(self.failed) + len(self.done) + len(self.skipped) > 1:
            lines += [f"  failed: {message}" for _, message in self.failed]
        return lines


# --- finding the inputs ---------------------------------------------------------------

def expand(inputs):
    """Each input as ``(path, root)``: a file or folder as given, or each match of a
    quoted glob (``'raw/*.png'``, ``'raw/**/*.tif'``) with the folder before its first
    wildcard as `root`. Raises InvalidParameterError for a missing path or a glob
    that matches nothing."""
    out = []
    for item in map(str, inputs):
        if Path(item).exists():
            out.append((Path(item), None))
        elif _GLOB_CHARS & set(item):
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True)
                             if Path(p).is_file() and is_image_path(p))
            if not matches:
                raise InvalidParameterError(f"no image files match {item!r}")
            out += [(p, _glob_root(item)) for p in matches]
        else:
            raise InvalidParameterError(f"{item}: no such file or folder")
    return out


def _glob_root(pattern):
    parts = Path(pattern).parts
    head = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    return Path(*parts[:head]) if head else Path(".")


def selected(path, root, include=(), exclude=()):
    """True if `path` (found under `root`) passes the --include / --exclude globs: a
    pattern with a slash matches the path relative to `root`, one without the name."""
    relative = path.relative_to(root).as_posix() if root is not None else path.name

    def hit(pattern):
        return fnmatch.fnmatch(relative if "/" in pattern else path.name, pattern)

    return (not include or any(map(hit, include))) and not any(map(hit, exclude))


def jobs_for(inputs, output, *, recursive=False, include=(), exclude=()):
    """Map input files, folders and quoted globs to output paths (InvalidParameterError
    if none).

    A single input file with an output that has an image extension (and is not a
    folder) maps to that file; `output` is a folder if it exists as one, ends in a
    slash, or the inputs are several, and any other output is an error (never a
    folder made silently). Otherwise `output` is a folder: files keep their
    names, and files found in an input folder (or by a glob) keep their path
    relative to it. An output folder inside an input folder is never read as input.
    `include` / `exclude` filter the files found in folders and by globs.
    """
    items = expand(inputs)
    raw, output = str(output), Path(output)
    first = items[0][0] if len(items) == 1 and items[0][1] is None else None
    one_file = first is not None and first.exists() and not first.is_dir()   # FIFOs too
    folder = output.is_dir() or raw.endswith(("/", os.sep))
    to_file = one_file and not folder and is_image_path(output)
    if one_file and not folder and not to_file:
        raise InvalidParameterError(
            f"output {raw}: {output.suffix or 'no extension'} is no image type this tool "
            f"writes; use one of {', '.join(sorted(FORMATS))}, or end a folder's name "
            f"with / ({raw}/)")
    if not to_file and is_image_path(output) and not output.is_dir():
        raise InvalidParameterError(
            f"output {output} looks like a file, but the inputs are several files or a "
            f"folder: give a folder")
    if to_file:
        _check_distinct([Job(items[0][0], output)])
        return [Job(items[0][0], output)]
    jobs = []
    for item, root in items:
        if item.is_dir():
            jobs += [Job(p, output / p.relative_to(item))
                     for p in iter_images(item, recursive=recursive)
                     if not _inside(p, output) and selected(p, item, include, exclude)]
        elif root is not None:
            if not _inside(item, output) and selected(item, root, include, exclude):
                jobs.append(Job(item, output / item.relative_to(root)))
        else:
            jobs.append(Job(item, output / item.name))
    if not jobs:
        nested = not recursive and any(iter_images(item, recursive=True)
                                       for item, _ in items if item.is_dir())
        raise InvalidParameterError(
            "no image files found in the inputs" +
            ("; images are in sub-folders: add -r (--recursive)" if nested else "") +
            ("; check --include / --exclude" if include or exclude else ""))
    _check_distinct(jobs)
    return jobs


def left_out(inputs, *, recursive=False):
    """``{extension: count}`` of the files in the input folders that are not read
    because their extension is no image type this tool reads (hidden files aside)."""
    counts = {}
    for item, _ in expand(inputs):
        if item.is_dir():
            for path in item.glob("**/*" if recursive else "*"):
                if path.is_file() and not path.name.startswith(".") \
                        and not is_image_path(path):
                    suffix = path.suffix.lower() or "(none)"
                    counts[suffix] = counts.get(suffix, 0) + 1
    return counts


def _inside(path, folder):
    """True if `path` lies inside `folder` (an output folder is never read as input)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _check_distinct(jobs):
    """Two inputs mapping to one output, or an output that is an input, is an error."""
    seen = {}
    for job in jobs:
        target = job.target.resolve()
        if target == job.source.resolve():
            raise InvalidParameterError(f"{job.source}: refusing to overwrite the input file")
        if target in seen:
            raise InvalidParameterError(
                f"{job.source} and {seen[target]} would both be written to {job.target}")
        seen[target] = job.source


def plan_files(jobs, plan_for, *, max_pixels=MAX_PIXELS, data_range=None):
    """Plan every job's input from its header, before any pixel is filtered.

    `plan_for(info)` plans for an :class:`~denoise._image.ImageInfo` (once per kind
    of image), of the given `data_range`, else the dtype's, or for float images
    the range of their values (read once here, window by window for a TIFF).
    Returns ``(plans, report)``: the plan of each job (None where the file could
    not be read, or declares more than `max_pixels`) and a :class:`Report` of those
    files. A parameter error raises InvalidParameterError naming the file, since it
    concerns them all.
    """
    report, plans, cache = Report(), [], {}
    for job in jobs:
        try:
            info = _with_range(read_info(job.source, max_pixels=max_pixels), job.source,
                               data_range, max_pixels)
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


def _with_range(info, path, data_range, max_pixels):
    """`info` with its data range: given, the dtype's, or a float file's values'."""
    from .tiling import TiffWindows, source_range

    if data_range is None and info.dtype.kind != "f":
        return info
    if data_range is None:
        windows = TiffWindows.open(path) if format_of(path) == "TIFF" else None
        try:
            data_range = None if windows is None else source_range(windows)
        except (ValueError, OSError):        # truncated: read whole, it fails with a reason
            pass
        if data_range is None:
            data_range = source_range(read_image(path, max_pixels=max_pixels))
    return dataclasses.replace(info, data_range=check_data_range(data_range))


# --- one job --------------------------------------------------------------------------

def decide(job, mode):
    """``(replace, reason)`` for `job` under `mode`: whether an existing output may be
    replaced, or the reason to skip it (then `replace` is None)."""
    try:
        target = job.target.stat()
    except FileNotFoundError:
        return False, ""
    if mode == "overwrite":
        return True, ""
    if mode == "keep":
        return None, "output exists"
    if target.st_mtime_ns >= job.source.stat().st_mtime_ns:
        return None, "up to date"
    return True, ""


def execute(job, step, mode="resume", tiles=None):
    """Run `step` on `job` as `mode` says (:func:`decide`): an :class:`Outcome`, never
    an exception, for any failure of this file alone."""
    start = time.perf_counter()
    try:
        replace, reason = decide(job, mode)
        if replace is None:
            return Outcome(job, "skipped", reason)
        record = step(job, replace, tiles)
    except OutputExistsError:
        return Outcome(job, "skipped", "written meanwhile by another process")
    except Exception as exc:  # one bad file must not stop the batch
        message = str(exc) if isinstance(exc, DenoiseError) else \
            f"{job.source}: {type(exc).__name__}: {exc}"
        log.debug("failure on %s", job.source, exc_info=True)
        return Outcome(job, "failed", message, seconds=time.perf_counter() - start)
    return Outcome(job, "redone" if replace and mode == "resume" else "written", "", record,
                   time.perf_counter() - start)


class ImageStep:
    """A step from a function of the image: read the source, ``transform(image, job)``,
    write the target."""

    def __init__(self, transform, max_pixels=MAX_PIXELS, saving=Saving()):
        self.transform, self.max_pixels, self.saving = transform, max_pixels, saving

    def __call__(self, job, replace, tiles=None):
        image = read_image(job.source, max_pixels=self.max_pixels)
        check_writable(job.target, image)
        write_image(job.target, self.transform(image, job), overwrite=replace,
                    metadata=self.saving.metadata_for(job.source))


def clean_targets(jobs):
    """Remove the temporary files interrupted runs left in the jobs' output folders;
    returns how many."""
    folders = {job.target.parent for job in jobs}
    return sum(len(remove_stale_temps(f)) for f in folders if f.is_dir())


def estimate_files(inputs, estimator, *, recursive=False, data_range=None):
    """``([(path, NoiseEstimate)], Report)`` for the image files in `inputs`."""
    from .noise.estimate import estimate_noise

    paths = [p for item, _ in expand(inputs)
             for p in (iter_images(item, recursive=recursive) if item.is_dir() else [item])]
    if not paths:
        raise InvalidParameterError("no image files found in the inputs")
    rows, report = [], Report()
    for path in paths:
        try:
            rows.append((path, estimate_noise(read_image(path), estimator=estimator,
                                              warn=False, data_range=data_range)))
            report.done.append(path)
        except DenoiseError as exc:
            report.failed.append((path, str(exc)))
    return rows, report
