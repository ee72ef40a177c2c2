"""`denoise regress`: the quality regression check on the sample images."""
from pathlib import Path

import click

from . import options as opt


@click.command()
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Baseline JSON to compare with (or to write with --update); default: "
                   "tests/regression/baseline.json of the project.")
@click.option("--samples", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Folder of clean sample images; default: "
                                 "sample_images/clean of the project.")
@click.option("-m", "--method", "methods", multiple=True, type=opt.ours, metavar="METHOD",
              help="Check only this method, repeatable (default: all of ours).")
@click.option("--update", is_flag=True,
              help="Write the current scores into the baseline (only the methods checked).")
@click.option("--tolerance-db", type=float, default=0.05, show_default=True,
              help="Largest allowed PSNR drop on any image, dB.")
@click.option("--tolerance-ssim", type=float, default=0.002, show_default=True,
              help="Largest allowed SSIM drop on any image.")
@opt.threads_opt
@opt.verbosity
@click.pass_context
def regress(ctx, baseline, samples, methods, update, tolerance_db, tolerance_ssim, threads):
    """Check that no method's quality dropped: score every method of ours on the
    sample images (Gaussian noise at sigma 15, 25, 50, fixed seeds) against a
    committed baseline. Exit 1 if any image drops by more than the tolerance, or a
    method is missing from the baseline (add it with --update) or from the run.
    Works from any directory.

    \b
    Examples:
      denoise regress
      denoise regress -m nlm --update     # record a new or deliberately changed method
    """
    from .._config import set_threads
    from ..registry import our_methods
    from ..regress import (DEFAULT_BASELINE, DEFAULT_SAMPLES, check_tolerances, compare,
                           failed, load_baseline, measure, merge, render, save_baseline)

    baseline = baseline or DEFAULT_BASELINE
    samples = samples or DEFAULT_SAMPLES
    with opt.usage_errors():
        check_tolerances(tolerance_db, tolerance_ssim)
        names = list(methods) or our_methods()
        old = load_baseline(baseline) if (baseline.exists() or not update) else {}
        set_threads(opt.threads(ctx, threads))
        with opt.compile_notice(ctx, ", ".join(names)):
            current = measure(samples, names, progress=not opt.quiet(ctx))
    rows = compare({m: v for m, v in old.items() if not methods or m in names}, current,
                   tolerance_db, tolerance_ssim)
    click.echo(render(rows, tolerance_db, tolerance_ssim))
    if update:
        save_baseline(baseline, merge(old, current, methods), samples)
        click.echo(f"baseline updated: {baseline} ({', '.join(sorted(current))})", err=True)
    elif failed(rows):
        opt.error("quality regression (see the table); if the change is intended, "
                  "record it with --update and commit the baseline")
        ctx.exit(1)
