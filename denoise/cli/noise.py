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
@click.option("--offset", type=float, default=None,
              help="poisson-gaussian only: offset b of the variance a*x + b, x on [0, 1] "
                   "(default 0.0004).")
@click.option("--truth", type=click.Path(), default=None,
              help="camera only (it processes the clean image too): also write the ground "
                   "truth to score against, to this file or folder.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed; the k-th file (sorted order) uses SEED + k.")
@opt.recursive_opt
@opt.overwrite_opt
@opt.skip_existing_opt
@opt.data_range_opt
@opt.quality_opt
@opt.strip_metadata_opt
@opt.verbosity
@click.pass_context
def noise(ctx, inputs, output, kind, level, density, offset, truth, seed, recursive, overwrite,
          skip_existing, data_range, quality, strip_metadata):
    """Add seeded synthetic noise to images (test data for the filters).

    \b
    Examples:
      denoise noise clean.png -o noisy.png --kind gaussian --level 25 --seed 1
      denoise noise clean/ -o noisy/ --kind mixed --level 15 --density 0.1
      denoise noise photo.png -o noisy.png --kind camera --truth truth.png
    """
    from ..batch import ImageStep, jobs_for
    from ..executors import run_jobs
    from .progress import Progress
    from ..io import write_image
    from ..noise import add_noise, get_noise

    model = get_noise(kind)
    with opt.usage_errors():
        options = model.resolve_options({"density": density, "offset": offset})
        if level is not None:
            model.check(level)
        jobs = jobs_for(inputs, output, recursive=recursive)
        truths = truth_jobs(model, inputs, truth, recursive)

    index = {job: k for k, job in enumerate(jobs)}

    def synthesize(image, job):
        k = index[job]
        noisy, clean = add_noise(image, kind, level, seed=seed + k, return_truth=True,
                                 data_range=data_range, **options)
        if truths:
            write_image(truths[k].target, clean, overwrite=True)
        return noisy

    step = ImageStep(synthesize, saving=opt.saving(quality, strip_metadata))
    report = run_jobs(jobs, step, mode=opt.mode(overwrite, skip_existing),
                      progress=Progress(len(jobs), enabled=not opt.quiet(ctx)),
                      on_outcome=opt.print_failures)
    opt.finish(ctx, report)


def truth_jobs(model, inputs, truth, recursive):
    """The ground-truth paths of a paired model's outputs (--truth), or None."""
    from ..batch import jobs_for
    from ..errors import InvalidParameterError

    if truth is None:
        return None
    if not model.paired:
        raise InvalidParameterError(
            f"--truth is for noise that also changes the clean image (camera), not "
            f"{model.name}: compare with the input itself")
    return jobs_for(inputs, truth, recursive=recursive)
