"""Click options and helpers shared by several commands."""
import contextlib
import logging
import math
import sys
from pathlib import Path

import click

from ..errors import DenoiseError
from ..io import FORMATS
from ..noise import NOISE
from ..registry import REGISTRY, our_methods


class LiveChoice(click.Choice):
    """A choice among the names of a registry, read when used: a kind or method
    registered after the command was built is offered too."""

    def __init__(self, source):
        self._source = source
        super().__init__([])

    @property
    def choices(self):
        return tuple(self._source())

    @choices.setter
    def choices(self, value):
        pass


def method_names():
    return sorted(REGISTRY)


# --- verbosity: -v / -q before or after the subcommand ---------------------------------

def state(ctx):
    """The run's settings shared by the group and its command (verbosity)."""
    root = ctx.find_root()
    if root.obj is None:
        root.obj = {"verbose": 0, "quiet": False}
    return root.obj


def quiet(ctx):
    """True when -q was given (before or after the command)."""
    return state(ctx)["quiet"]


def configure_logging(settings):
    levels = (logging.WARNING, logging.INFO, logging.DEBUG)
    level = logging.ERROR if settings["quiet"] else levels[min(settings["verbose"], 2)]
    logging.basicConfig(level=level, format="denoise: %(message)s", stream=sys.stderr,
                        force=True)


def _verbose(ctx, param, value):
    settings = state(ctx)
    settings["verbose"] = max(settings["verbose"], value or 0)
    configure_logging(settings)


def _quiet(ctx, param, value):
    settings = state(ctx)
    settings["quiet"] = settings["quiet"] or bool(value)
    configure_logging(settings)


def verbosity(command):
    """-v/--verbose and -q/--quiet, accepted by the group and by every command."""
    command = click.option("-q", "--quiet", is_flag=True, expose_value=False,
                           callback=_quiet, help="No progress bar or notes; errors only.")(command)
    return click.option("-v", "--verbose", count=True, expose_value=False, callback=_verbose,
                        help="More messages on stderr (-vv: debug).")(command)


# --- messages ------------------------------------------------------------------------

def error(message):
    """One error line on stderr (above a progress bar, if one is drawn)."""
    from tqdm import tqdm

    tqdm.write(f"denoise: error: {message}", file=sys.stderr)


def note(ctx, message):
    """One informational line on stderr, unless -q (or the message is empty)."""
    if message and not quiet(ctx):
        from tqdm import tqdm

        tqdm.write(f"denoise: {message}", file=sys.stderr)


def threads(ctx, value, workers=1):
    """--threads as the kernels may use it: lowered to the cores (or to the cores
    per worker) with a note saying why; None stays None (all cores)."""
    from ..executors import worker_threads

    each, message = worker_threads(workers, value)
    note(ctx, message)
    return None if value is None else each


def note_left_out(ctx, counts):
    """Say how many files of the input folders were not read, by extension."""
    if counts:
        kinds = ", ".join(f"{ext} x{n}" for ext, n in sorted(counts.items()))
        note(ctx, f"left out {sum(counts.values())} file(s) that are not images by their "
                  f"extension ({kinds}); images: {', '.join(sorted(FORMATS))}")


@contextlib.contextmanager
def usage_errors(hint=None):
    """Turn the library's errors in the block into usage errors (exit code 2)."""
    try:
        yield
    except DenoiseError as exc:
        if hint:
            raise click.BadParameter(str(exc), param_hint=hint) from None
        raise click.UsageError(str(exc)) from None


#: The exit code after an interrupt (Ctrl-C): 128 + SIGINT, as shells report it.
INTERRUPTED = 130


@contextlib.contextmanager
def interrupt_aborts():
    """An interrupt in the block ends the command with click's "Aborted!" and exit
    code 130, without a traceback."""
    try:
        yield
    except KeyboardInterrupt:
        click.echo(err=True)                    # closes the terminal's ^C echo
        click.echo("Aborted!", err=True)
        raise click.exceptions.Exit(INTERRUPTED) from None


@contextlib.contextmanager
def compile_notice(ctx, name):
    """Say so before the wait when `name`'s kernels must be compiled first."""
    from .._config import on_compile

    with on_compile(lambda: note(ctx, f"compiling {name} kernels for first use; they are "
                                      f"cached afterwards")):
        yield


def finish(ctx, report, what="written"):
    """Print the batch summary, black-style (counts, skips by reason, then each failure
    again, since errors printed as they came may have scrolled away), and exit with
    its code."""
    if not quiet(ctx) or report.failed:
        for line in report.summary(what):
            click.echo(f"denoise: {line}" if not line.startswith(" ") else line, err=True)
    ctx.exit(report.return_code)


def planned(jobs, plan, check=None):
    """``(jobs to run, [(path, reason)] unreadable)``: the jobs whose header could be
    read and planned by ``plan(jobs) -> (plans, report)``; each unreadable file's
    error printed now. ``check(jobs, plans)`` may refuse the plans together."""
    plans, unreadable = plan(jobs)
    if check is not None:
        check(jobs, plans)
    for _, message in unreadable.failed:
        error(message)
    return [job for job, p in zip(jobs, plans) if p is not None], unreadable.failed


def mode(overwrite, skip_existing):
    """The batch mode (see denoise.batch.MODES) from --overwrite / --skip-existing."""
    if overwrite and skip_existing:
        raise click.UsageError("--overwrite and --skip-existing contradict each other")
    return "overwrite" if overwrite else "keep" if skip_existing else "resume"


def print_failures(outcome):
    """Print a failed file's error as it happens (on_outcome of a batch)."""
    if outcome.status == "failed":
        error(outcome.message)


class RunLog:
    """Per file, what `run` found or was given about its noise: logged (-v), warned
    about when unreliable, and written as JSON to --log at the end."""

    def __init__(self, ctx, path, method):
        self.ctx, self.path, self.method, self.records = ctx, path, method, []

    def add(self, outcome):
        """Record a finished file's noise (its outcome's record); print its error."""
        if outcome.status == "failed":
            error(outcome.message)
        if outcome.record is None:
            return
        job, noise = outcome.job, outcome.record
        logging.getLogger("denoise").info("%s: %s", job.source, noise["summary"])
        for warning in noise["warnings"]:
            note(self.ctx, f"warning: {job.source}: {warning}")
        self.records.append({"input": str(job.source), "output": str(job.target),
                             "method": self.method,
                             "noise": {k: v for k, v in noise.items() if k != "summary"}})

    def write(self):
        if self.path is not None:
            import json

            from ..io import write_text

            write_text(self.path, json.dumps({"files": self.records}, indent=2) + "\n")


# --- parameters ----------------------------------------------------------------------

def key_values(ctx, param, values):
    """Parse repeated KEY=VALUE into a dict (values kept as typed, not lower-cased)."""
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", ctx, param)
        out[key.strip()] = value.strip()
    return out


def number_list(ctx, param, value):
    """Parse "15,25,50" into [15.0, 25.0, 50.0]; every number must be > 0."""
    try:
        numbers = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected numbers like 15,25,50, got {value!r}") from None
    if not numbers or any(not (n > 0 and math.isfinite(n)) for n in numbers):
        raise click.BadParameter(f"values must be finite numbers > 0, got {value!r}")
    return numbers


def positive(ctx, param, value):
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise click.BadParameter(f"must be a finite number > 0, got {value}", ctx, param)
    return value


inputs_arg = click.argument(
    "inputs", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))

output_opt = click.option(
    "-o", "--output", required=True, type=click.Path(),
    help="Output file (for one input file; its extension sets the format) or folder "
         "(created if needed): one that exists, ends in /, or takes several inputs.")

method_opt = click.option(
    "-m", "--method", type=LiveChoice(method_names), default="attention",
    show_default=True, metavar="METHOD",
    help="Denoising method; `denoise methods` lists and describes them (ref:NAME "
         "runs another package's, for comparison).")

sigma_opt = click.option(
    "--sigma", type=float, default=None, callback=positive,
    help="Noise standard deviation in the image's own units (0-255 for 8-bit, "
         "0-65535 for 16-bit, data units for float); sets the method's defaults.")


def sigma_text(ctx, param, value):
    """--sigma auto|VALUE|P%|V/R -> (absolute, relative) (see denoise.auto.parse_sigma)."""
    from ..auto import parse_sigma

    with usage_errors("'--sigma'"):
        return parse_sigma(value)


auto_sigma_opt = click.option(
    "--sigma", default="auto", show_default=True, callback=sigma_text, metavar="auto|VALUE",
    help="Noise standard deviation. auto: estimated per file and channel (with -v, "
         "logged). A number is in the image's own units (0-255 for 8-bit, 0-65535 for "
         "16-bit, data units for float); 10% or 25/255 is relative to each file's data "
         "range, for folders mixing 8-bit and 16-bit files.")

data_range_opt = click.option(
    "--data-range", type=float, default=None, callback=positive, metavar="VALUE",
    help="What the values span, in the image's units: the scale a method's defaults, a "
         "relative --sigma (10%) and --gain/--offset are read on. Default 255 (8-bit), "
         "65535 (16-bit); for float images 1, 255 or 65535, the smallest whose four "
         "times holds every value, else the largest magnitude (-v logs it).")

noise_model_opt = click.option(
    "--noise-model", type=click.Choice(["auto", "gaussian", "poisson-gaussian"]),
    default="auto", show_default=True,
    help="gaussian: the same sigma at every brightness. poisson-gaussian: variance "
         "gain*x+offset (sensor noise), stabilised by the generalized Anscombe transform "
         "before the method runs at unit noise. auto: poisson-gaussian where the "
         "estimated noise grows with brightness.")

gain_opt = click.option(
    "--gain", type=float, default=None, callback=positive,
    help="Poisson-Gaussian gain a of var = a*x + b, x on [0, 1] whatever the dtype (as "
         "`denoise estimate` prints it and camera profiles give it); implies "
         "--noise-model poisson-gaussian.")

offset_opt = click.option(
    "--offset", type=float, default=None,
    help="Poisson-Gaussian offset b of var = a*x + b on [0, 1] (default 0; with --gain).")

chroma_opt = click.option(
    "--chroma-strength", type=float, default=1.0, show_default=True, callback=positive,
    help="Color images: how much harder chroma noise is smoothed than luma noise.")

strength_opt = click.option(
    "--strength", type=float, default=1.0, show_default=True, callback=positive,
    help="Multiplies the sigma the method is given, estimated or not: above 1 smooths "
         "more, below 1 keeps more detail (`denoise tune` chooses it).")

log_opt = click.option(
    "--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write a JSON record per file: input, output, method, and the noise found or "
         "given (model, sigma or gain and offset, correlation, warnings).")

param_opt = click.option(
    "-p", "--param", "params", multiple=True, callback=key_values, metavar="KEY=VALUE",
    help="Method parameter, repeatable, e.g. -p radius=2 (see `denoise methods NAME`).")

recursive_opt = click.option(
    "-r", "--recursive", is_flag=True, help="Also process images in sub-folders.")

threads_opt = click.option(
    "--threads", type=click.IntRange(min=1), default=None,
    help="Threads for the filters (default: all cores).")

overwrite_opt = click.option(
    "--overwrite", is_flag=True,
    help="Redo every file, replacing existing outputs. Without it an output newer "
         "than its input is skipped (a re-run resumes a batch) and an older one is redone.")

skip_existing_opt = click.option(
    "--skip-existing", is_flag=True,
    help="Skip every input whose output exists, even one older than the input.")

include_opt = click.option(
    "--include", multiple=True, metavar="GLOB",
    help="Only files matching GLOB (repeatable): a pattern with a slash matches the path "
         "relative to the input folder, one without the file name, e.g. '*.tif'.")

exclude_opt = click.option(
    "--exclude", multiple=True, metavar="GLOB",
    help="Leave out files matching GLOB (repeatable; matched as --include).")

jobs_opt = click.option(
    "-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
    help="Worker processes (or Dask workers) for many files; each gets cores/JOBS "
         "kernel threads. Outputs are the same whatever JOBS.")

executor_opt = click.option(
    "--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
    help="local: this machine. dask: a Dask cluster, one task per file and tiles of a "
         "large image by map_overlap (needs the dask extra: pip install 'denoise[dask]').")

scheduler_opt = click.option(
    "--scheduler", metavar="ADDRESS", default=None,
    help="With --executor dask: the scheduler of an existing cluster (tcp://host:8786); "
         "default: a LocalCluster of --jobs workers on this machine.")

tile_opt = click.option(
    "--tile", type=click.IntRange(min=64), default=None, metavar="SIZE",
    help="Filter in overlapping tiles of SIZE x SIZE pixels (grown by the method's "
         "halo; the same result for window methods). Default: tiles of 2048 above "
         "4096x4096 pixels. TIFF to TIFF in tiles is read and written window by window.")

max_pixels_opt = click.option(
    "--max-pixels", type=click.IntRange(min=1), default=1 << 30, show_default=True,
    metavar="N", help="Refuse images declaring more than N pixels, before reading them.")

format_opt = click.option(
    "--format", "fmt",
    type=click.Choice(["png", "tif", "jpg", "bmp", "pgm", "ppm", "pnm", "webp"]),
    default=None, help="Format of '-' (stdin or stdout); default: stdin's leading bytes, "
                       "or the input's extension for stdout.")

quality_opt = click.option(
    "--quality", type=click.IntRange(1, 100), default=None, metavar="Q",
    help="JPEG quality of the outputs, 1-100. Default: the input JPEG's own quality, "
         "estimated from its quantization tables, else 95. Other formats are lossless.")

strip_metadata_opt = click.option(
    "--strip-metadata", is_flag=True,
    help="Leave the input's EXIF (orientation included), ICC profile and resolution out "
         "of the outputs. By default they are copied where the output format holds them.")


def saving(quality, strip_metadata):
    """How outputs are saved, from --quality and --strip-metadata."""
    from ..metadata import Saving

    return Saving(quality=quality, strip=strip_metadata)


noise_kind = LiveChoice(lambda: list(NOISE))
ours = LiveChoice(our_methods)
