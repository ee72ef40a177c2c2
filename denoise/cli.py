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
from .errors import DenoiseError, InvalidParameterError, MissingSigmaError
from .noise import KINDS as NOISE_KINDS
from .registry import REFERENCE_PREFIX, REGISTRY, coerce_params, get_filter, our_methods
from .regress import DEFAULT_BASELINE, DEFAULT_SAMPLES

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
    """List the methods (ours, then the ref: adapters of other packages), or describe
    METHOD: parameters, defaults, units, reference."""
    if method is None:
        width = max(map(len, REGISTRY))
        references = sorted(n for n in REGISTRY if REGISTRY[n].is_reference)
        for name in our_methods():
            click.echo(f"{name:<{width}}  {REGISTRY[name].summary}")
        if references:
            click.echo("\nReferences (other packages, same interface; for comparison):")
        for name in references:
            click.echo(f"{name:<{width}}  {REGISTRY[name].summary}")
        return
    click.echo(_describe(get_filter(method)))


@main.command()
@opt.inputs_arg
@opt.output_opt
@click.option("--kind", type=click.Choice(list(NOISE_KINDS)),
              default="gaussian", show_default=True,
              help="Noise model; mixed is gaussian, then salt-pepper impulses.")
@click.option("--level", type=float, default=25.0, show_default=True,
              help="gaussian and mixed: sigma in image units; poisson: photons at full "
                   "scale; salt-pepper: fraction of samples; speckle: relative sigma.")
@click.option("--density", type=float, default=0.1, show_default=True,
              help="mixed only: fraction of samples turned into impulses (0 or the top "
                   "of the range, half each).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed; the k-th file (sorted order) uses SEED + k.")
@opt.recursive_opt
@opt.overwrite_opt
@opt.skip_existing_opt
@click.pass_context
def noise(ctx, inputs, output, kind, level, density, seed, recursive, overwrite,
          skip_existing):
    """Add seeded synthetic noise to images (test data for the filters).

    \b
    Example:
      denoise noise clean.png -o noisy.png --kind gaussian --level 25 --seed 1
      denoise noise clean/ -o noisy/ --kind mixed --level 15 --density 0.1
    """
    from .batch import run_jobs
    from .noise import add_noise

    try:
        add_noise(_tiny(), kind, level, seed=seed, density=density)   # validate up front
    except DenoiseError as exc:
        raise click.UsageError(str(exc)) from None
    report = run_jobs(_plan(inputs, output, recursive),
                      lambda image, k: add_noise(image, kind, level, seed=seed + k,
                                                 density=density),
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


@main.command()
@click.option("--dataset", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of clean images (e.g. ../shared/datasets/Set12).")
@click.option("--sigma", "sigmas", default="25", show_default=True, callback=opt.number_list,
              help="Comma-separated noise levels in the images' units, e.g. 15,25,50; "
                   "with --noise salt-pepper, impulse densities, e.g. 0.1,0.3,0.5.")
@click.option("--noise", type=click.Choice(["gaussian", "salt-pepper", "mixed"]),
              default="gaussian", show_default=True,
              help="gaussian: N(0, sigma^2); salt-pepper: impulses only (methods get no "
                   "sigma); mixed: N(0, sigma^2), then impulses of --density.")
@click.option("--density", type=click.FloatRange(0, 1, min_open=True), default=0.1,
              show_default=True, help="Impulse density of --noise mixed (fraction of pixels).")
@click.option("-m", "--method", "methods", multiple=True, type=click.Choice(sorted(REGISTRY)),
              metavar="METHOD", help="Method to run, repeatable (default: all of ours; "
                                     "`denoise methods` lists them).")
@click.option("--against", "against", multiple=True, metavar="REF",
              help="Reference to compare with, repeatable, e.g. ref:bm3d (the ref: prefix "
                   "may be left out); default: every installed reference; 'none' for none.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Use only the first N images (sorted order).")
@click.option("--limit-method", "limit_method", multiple=True, callback=opt.key_values,
              metavar="METHOD=N",
              help="Run METHOD on its first N images only (slow references), repeatable; "
                   "tables then add means over the images every method ran.")
@opt.threads_opt
@click.option("--report", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write index.html, CSV/JSON and plots into this folder.")
@click.option("--montage", "montage_image", default=None, metavar="NAME",
              help="Image shown side by side in the report (default: the first).")
@opt.overwrite_opt
@click.pass_context
def bench(ctx, dataset, sigmas, noise, density, methods, against, limit, limit_method,
          threads, report, montage_image, overwrite):
    """Benchmark methods side by side on a clean data set with seeded noise.

    Noise: clean + N(0, sigma^2), seed = the image's index in sorted order, not
    clipped (or impulses: --noise salt-pepper / mixed); outputs are clipped to
    the data range, then scored (PSNR, SSIM). Every
    method sees the same noisy images; they run image by image in turn. Prints a
    table: mean PSNR/SSIM, median seconds per image, Mpx/s, peak memory and the
    first call's time (compilation) for each method and sigma. --threads applies
    to our kernels and to OpenCV and BM3D alike.

    \b
    Examples:
      denoise bench --dataset ../shared/datasets/Set12 --sigma 15,25,50 --report report/
      denoise bench --dataset data/ -m bilateral --against ref:opencv-bilateral --threads 1
      denoise bench --dataset data/ --noise salt-pepper --sigma 0.1,0.3 -m adaptive-median
    """
    from .bench import run_bench
    from .report import header, table, write_report

    names = list(methods) or our_methods()
    names += [r for r in _references(against) if r not in names]
    limits = {_ref_name(k): _count(k, v) for k, v in limit_method.items()}
    if report is not None:
        _check_report_folder(report, overwrite)
    try:
        result = run_bench(dataset, sigmas, names, limit=limit, method_limits=limits,
                           threads=threads, montage_image=montage_image,
                           progress=not ctx.obj["quiet"], noise=noise, density=density)
    except InvalidParameterError as exc:
        raise click.UsageError(str(exc)) from None
    except DenoiseError as exc:               # a file that cannot be read, a method failing
        _error(str(exc))
        ctx.exit(1)
    click.echo(header(result))
    click.echo(table(result))
    common = result.common_images()
    if common is not None:
        click.echo(f"\nOn the {len(common)} images every method ran:")
        click.echo(table(result, common))
    if report is not None:
        try:
            index = write_report(result, report, overwrite=overwrite)
        except DenoiseError as exc:
            _error(str(exc))
            ctx.exit(1)
        click.echo(f"report: {index}", err=True)


@main.command()
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_BASELINE, show_default=True,
              help="Baseline JSON to compare with (or to write with --update).")
@click.option("--samples", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=DEFAULT_SAMPLES, show_default=True,
              help="Folder of clean sample images.")
@click.option("-m", "--method", "methods", multiple=True,
              type=click.Choice(our_methods()), metavar="METHOD",
              help="Check only this method, repeatable (default: all of ours).")
@click.option("--update", is_flag=True,
              help="Write the current scores into the baseline (only the methods checked).")
@click.option("--tolerance-db", type=float, default=0.05, show_default=True,
              help="Largest allowed PSNR drop on any image, dB.")
@click.option("--tolerance-ssim", type=float, default=0.002, show_default=True,
              help="Largest allowed SSIM drop on any image.")
@opt.threads_opt
@click.pass_context
def regress(ctx, baseline, samples, methods, update, tolerance_db, tolerance_ssim, threads):
    """Check that no method's quality dropped: score every method of ours on the
    sample images (Gaussian noise at sigma 15, 25, 50, fixed seeds) against a
    committed baseline. Exit 1 if any image drops by more than the tolerance, or a
    method is missing from the baseline (add it with --update) or from the run.

    \b
    Examples:
      denoise regress
      denoise regress -m nlm --update     # record a new or deliberately changed method
    """
    from ._config import set_threads
    from .regress import (check_tolerances, compare, failed, load_baseline, measure,
                          render, save_baseline)

    try:
        check_tolerances(tolerance_db, tolerance_ssim)
        names = list(methods) or our_methods()
        old = load_baseline(baseline) if (baseline.exists() or not update) else {}
    except DenoiseError as exc:
        raise click.UsageError(str(exc)) from None
    set_threads(threads)
    current = measure(samples, names, progress=not ctx.obj["quiet"])
    reference = {m: v for m, v in old.items() if not methods or m in names}
    rows = compare(reference, current, tolerance_db, tolerance_ssim)
    click.echo(render(rows, tolerance_db, tolerance_ssim))
    if update:
        merged = {**old, **current} if methods else current
        save_baseline(baseline, merged, samples)
        click.echo(f"baseline updated: {baseline} ({', '.join(sorted(current))})", err=True)
        return
    if failed(rows):
        _error("quality regression (see the table); if the change is intended, "
               "record it with --update and commit the baseline")
        ctx.exit(1)


def _ref_name(name):
    """``bm3d`` -> ``ref:bm3d`` when only the prefixed name exists."""
    if name not in REGISTRY and REFERENCE_PREFIX + name in REGISTRY:
        return REFERENCE_PREFIX + name
    return name


def _references(against):
    """Reference names for --against: all installed by default, none for 'none'."""
    if not against:
        return sorted(n for n in REGISTRY if REGISTRY[n].is_reference)
    if [a.lower() for a in against] == ["none"]:
        return []
    names = [_ref_name(a) for a in against]
    for name in names:
        if name not in REGISTRY or not REGISTRY[name].is_reference:
            installed = ", ".join(n for n in sorted(REGISTRY) if REGISTRY[n].is_reference)
            raise click.BadParameter(
                f"{name!r} is not an installed reference; installed: {installed} "
                f"(OpenCV and BM3D come with pip install 'denoise[bench]')",
                param_hint="'--against'")
    return names


def _count(key, text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise click.BadParameter(f"{key}={text}: N must be a positive integer",
                                 param_hint="'--limit-method'")
    return value


def _check_report_folder(folder, overwrite):
    if (folder / "index.html").exists() and not overwrite:
        raise click.UsageError(f"{folder}: a report exists there; pass --overwrite to replace it")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise click.UsageError("--report draws plots with matplotlib: "
                               "pip install 'denoise[bench]'") from None


def _method_kwargs(spec, sigma, raw):
    """Typed parameters for `spec`; bad ones and a missing sigma are usage errors."""
    needs_sigma = click.UsageError(
        f"method {spec.name} needs the noise level: pass --sigma VALUE "
        f"(in the image's units, e.g. --sigma 20 for 8-bit images)")
    try:
        kwargs = coerce_params(spec, raw)
        if sigma is None and spec.needs_sigma(kwargs):
            raise needs_sigma
        spec.func(_tiny(), sigma=sigma, **kwargs)   # validates values before any file
    except MissingSigmaError:
        raise needs_sigma from None
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
