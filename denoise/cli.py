"""The `denoise` command line: parse, call the library, render, exit (0 ok, 1 some
inputs failed, 2 usage error)."""
import json
import logging
import sys
import textwrap
from pathlib import Path

import click

from . import __version__
from . import options as opt
from .errors import DenoiseError
from .registry import REGISTRY, coerce_params, get_filter

EXAMPLE_SIGMA = 25.0


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="denoise")
@click.option("-v", "--verbose", count=True, help="More messages on stderr (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar; errors only.")
@click.pass_context
def main(ctx, verbose, quiet):
    """Remove noise from images with classical filters (Numba kernels), and score
    the results with PSNR/SSIM."""
    levels = (logging.WARNING, logging.INFO, logging.DEBUG)
    level = logging.ERROR if quiet else levels[min(verbose, 2)]
    logging.basicConfig(level=level, format="denoise: %(message)s", stream=sys.stderr,
                        force=True)
    ctx.obj = {"quiet": quiet}


@main.command()
@opt.inputs_arg
@opt.output_opt
@opt.method_opt
@opt.sigma_opt
@opt.param_opt
@opt.recursive_opt
@opt.threads_opt
@opt.overwrite_opt
@opt.skip_existing_opt
@click.pass_context
def run(ctx, inputs, output, method, sigma, params, recursive, threads, overwrite,
        skip_existing):
    """Denoise image files and folders into OUTPUT.

    \b
    Examples:
      denoise run photo.png -o clean.png --sigma 20
      denoise run noisy/ -o clean/ -m median -p radius=2
    """
    from ._config import set_threads
    from .batch import run_jobs

    spec = get_filter(method)
    kwargs = _method_kwargs(spec, sigma, params)
    set_threads(threads)
    jobs = _plan(inputs, output, recursive)
    report = run_jobs(jobs, lambda image, _: spec.func(image, sigma=sigma, **kwargs),
                      overwrite=overwrite, skip_existing=skip_existing,
                      progress=not ctx.obj["quiet"], on_error=_error)
    _summary(ctx, report)
    ctx.exit(report.return_code)


@main.command()
@click.argument("method", required=False, type=click.Choice(sorted(REGISTRY)))
def methods(method):
    """List the methods, or describe METHOD: parameters, defaults, units, reference."""
    if method is None:
        width = max(map(len, REGISTRY))
        for name in sorted(REGISTRY):
            click.echo(f"{name:<{width}}  {REGISTRY[name].summary}")
        return
    click.echo(_describe(get_filter(method)))


@main.command()
@opt.inputs_arg
@opt.output_opt
@click.option("--kind", type=click.Choice(["gaussian", "poisson", "salt-pepper", "speckle"]),
              default="gaussian", show_default=True, help="Noise model.")
@click.option("--level", type=float, default=25.0, show_default=True,
              help="gaussian: sigma in image units; poisson: photons at full scale; "
                   "salt-pepper: fraction of samples; speckle: relative sigma.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed; the k-th file (sorted order) uses SEED + k.")
@opt.recursive_opt
@opt.overwrite_opt
@opt.skip_existing_opt
@click.pass_context
def noise(ctx, inputs, output, kind, level, seed, recursive, overwrite, skip_existing):
    """Add seeded synthetic noise to images (test data for the filters).

    \b
    Example:
      denoise noise clean.png -o noisy.png --kind gaussian --level 25 --seed 1
    """
    from .batch import run_jobs
    from .noise import add_noise

    try:
        add_noise(_tiny(), kind, level, seed=seed)           # validate once, up front
    except DenoiseError as exc:
        raise click.UsageError(str(exc)) from None
    report = run_jobs(_plan(inputs, output, recursive),
                      lambda image, k: add_noise(image, kind, level, seed=seed + k),
                      overwrite=overwrite, skip_existing=skip_existing,
                      progress=not ctx.obj["quiet"], on_error=_error)
    _summary(ctx, report)
    ctx.exit(report.return_code)


@main.command("eval")
@click.option("--clean", required=True, type=click.Path(exists=True, path_type=Path),
              help="Clean reference image or folder.")
@click.option("--denoised", required=True, type=click.Path(exists=True, path_type=Path),
              help="Denoised image or folder; files are paired with --clean by name.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format on stdout.")
@click.pass_context
def evaluate(ctx, clean, denoised, fmt):
    """Score denoised images against clean ones: PSNR (dB) and SSIM per image, and the mean.

    \b
    Example:
      denoise eval --clean sample_images/clean --denoised out/bilateral
    """
    from .metrics import pair_files, score_files

    pairs, unmatched = pair_files(clean, denoised)
    failed = [f"{p}: no clean image of the same name in {clean}" for p in unmatched]
    scores = []
    for name, ref, den in pairs:
        try:
            scores.append(score_files(ref, den, name))
        except DenoiseError as exc:
            failed.append(str(exc))
    for message in failed:
        _error(message)
    if not scores:
        _error(f"no denoised image in {denoised} could be scored")
        ctx.exit(1)
    click.echo(_render_scores(scores, fmt))
    ctx.exit(1 if failed else 0)


def _method_kwargs(spec, sigma, raw):
    """Typed parameters for `spec`; bad ones and a missing sigma are usage errors."""
    try:
        kwargs = coerce_params(spec, raw)
        if sigma is None and spec.needs_sigma(kwargs):
            raise click.UsageError(
                f"method {spec.name} needs the noise level: pass --sigma VALUE "
                f"(in the image's units, e.g. --sigma 20 for 8-bit images)")
        spec.func(_tiny(), sigma=sigma, **kwargs)   # validates values before any file
    except DenoiseError as exc:
        raise click.BadParameter(str(exc), param_hint="'-p' / '--param'") from None
    return kwargs


def _plan(inputs, output, recursive):
    from .batch import plan

    try:
        jobs = plan(inputs, output, recursive=recursive)
    except DenoiseError as exc:
        raise click.UsageError(str(exc)) from None
    if not jobs:
        raise click.UsageError("no image files found in the inputs")
    return jobs


def _tiny():
    import numpy as np

    return np.zeros((8, 8), dtype=np.uint8)


def _error(message):
    from tqdm import tqdm

    tqdm.write(f"denoise: error: {message}", file=sys.stderr)


def _summary(ctx, report):
    parts = [f"{len(report.done)} written"]
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped (output exists)")
    if report.failed:
        parts.append(f"{len(report.failed)} failed")
    if not ctx.obj["quiet"] or report.failed:
        click.echo(f"denoise: {', '.join(parts)}", err=True)


def _describe(spec):
    """Text of `denoise methods NAME`."""
    lines = [f"{spec.name}: {spec.summary}", "", "Parameters (-p KEY=VALUE):"]
    for p in spec.params:
        lines.append(f"  {p.name} : {p.doc_type}")
        lines.append(textwrap.fill(p.description, width=88, initial_indent=" " * 6,
                                   subsequent_indent=" " * 6))
    try:
        resolved = spec.resolve(EXAMPLE_SIGMA, 255.0)
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in resolved.items())
        lines += ["", f"Defaults at --sigma {EXAMPLE_SIGMA:g} on an 8-bit image: {shown}"]
    except DenoiseError:
        pass
    if spec.needs_sigma():
        lines += ["", "Needs --sigma (the noise level) unless its sigma-derived "
                      "parameters are given."]
    if spec.reference:
        lines += ["", "Reference:", *("  " + line for line in spec.reference.splitlines())]
    return "\n".join(lines)


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _render_scores(scores, fmt):
    mean_psnr = sum(s.psnr for s in scores) / len(scores)
    mean_ssim = sum(s.ssim for s in scores) / len(scores)
    if fmt == "json":
        return json.dumps({"images": [vars(s) for s in scores],
                           "mean": {"psnr": mean_psnr, "ssim": mean_ssim, "n": len(scores)}},
                          indent=2)
    if fmt == "csv":
        rows = ["name,psnr,ssim"] + [f"{s.name},{s.psnr:.4f},{s.ssim:.5f}" for s in scores]
        return "\n".join(rows + [f"mean,{mean_psnr:.4f},{mean_ssim:.5f}"])
    width = max(len("mean"), *(len(s.name) for s in scores))
    rows = [f"{'image':<{width}}  {'PSNR dB':>8}  {'SSIM':>6}"]
    rows += [f"{s.name:<{width}}  {s.psnr:8.2f}  {s.ssim:6.4f}" for s in scores]
    rows.append(f"{'mean':<{width}}  {mean_psnr:8.2f}  {mean_ssim:6.4f}")
    return "\n".join(rows)
