"""`denoise noise`: add seeded synthetic noise (kinds from the noise registry)."""
import click

from . import options as opt


def _kinds_help():
    from ..noise import NOISE

    return "\b\nKinds (--level means):\n" + "\n".join(
        f"  {m.name}: {m.level}; default {m.default:g}{' (8-bit units)' if m.scaled else ''}"
        for m in NOISE.values())


@click.command(epilog=_kinds_help())
@opt.inputs_arg
@opt.output_opt
@click.option("--kind", type=opt.noise_kind, default="gaussian", show_default=True,
              help="Noise model (below).")
@click.option("--level", type=float, default=None,
              help="The model's level (below); default: the model's default, scaled to "
                   "each file's range where it is an intensity.")
@click.option("--density", type=float, default=None,
              help="mixed only: fraction of samples turned into impulses (default 0.1).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed; the k-th file (sorted order) uses SEED + k.")
@opt.recursive_opt
@opt.overwrite_opt
@opt.skip_existing_opt
@opt.verbosity
@click.pass_context
def noise(ctx, inputs, output, kind, level, density, seed, recursive, overwrite,
          skip_existing):
    """Add seeded synthetic noise to images (test data for the filters).

    \b
    Examples:
      denoise noise clean.png -o noisy.png --kind gaussian --level 25 --seed 1
      denoise noise clean/ -o noisy/ --kind mixed --level 15 --density 0.1
    """
    from ..batch import jobs_for, run_jobs
    from ..noise import add_noise, get_noise

    model = get_noise(kind)
    with opt.usage_errors():
        options = model.resolve_options({"density": density})
        if level is not None:
            model.check(level)
        jobs = jobs_for(inputs, output, recursive=recursive)
    report = run_jobs(jobs, lambda image, k: add_noise(image, kind, level, seed=seed + k,
                                                       **options),
                      overwrite=overwrite, skip_existing=skip_existing,
                      progress=not opt.quiet(ctx), on_error=opt.error)
    opt.finish(ctx, report)
