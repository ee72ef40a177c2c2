"""`denoise run`: denoise files and folders."""
import click

from . import options as opt


@click.command()
@opt.inputs_arg
@opt.output_opt
@opt.method_opt
@opt.auto_sigma_opt
@opt.noise_model_opt
@opt.gain_opt
@opt.offset_opt
@opt.chroma_opt
@opt.strength_opt
@opt.param_opt
@opt.recursive_opt
@opt.threads_opt
@opt.overwrite_opt
@opt.skip_existing_opt
@opt.log_opt
@opt.verbosity
@click.pass_context
def run(ctx, inputs, output, method, sigma, noise_model, gain, offset, chroma_strength, strength,
        params, recursive, threads, overwrite, skip_existing, log_path):
    """Denoise image files and folders into OUTPUT.

    The noise is estimated per file unless --sigma or --gain is given (`denoise
    estimate` shows what is found). Every file is planned from its header first, so
    a bad -p fails before any work. Kernels are compiled on first use and cached
    (see `denoise warmup`).

    \b
    Examples:
      denoise run photo.png -o clean.png
      denoise run photo.png -o clean.png --sigma 20
      denoise run mixed/ -o clean/ --sigma 10%
      denoise run raw.tif -o clean.tif --gain 0.0004 --offset 1e-6
      denoise run noisy/ -o clean/ -m median -p radius=2
    """
    from .._config import set_threads
    from ..auto import NoiseRequest, check_plans, denoise_image, validation_sigma
    from ..batch import jobs_for, plan_files, run_jobs
    from ..registry import coerce_params, get_filter

    spec = get_filter(method)
    request = NoiseRequest(*sigma, "poisson-gaussian" if gain else noise_model, gain, offset,
                           chroma_strength, strength)
    with opt.usage_errors("'-p' / '--param'"):
        given = coerce_params(spec, params)
    with opt.usage_errors():
        jobs = jobs_for(inputs, output, recursive=recursive)
        plans, unreadable = plan_files(
            jobs, lambda info: spec.plan(info, validation_sigma(request, info), **given))
        check_plans(jobs, plans, request)
    for _, message in unreadable.failed:
        opt.error(message)
    todo = [job for job, plan in zip(jobs, plans) if plan is not None]
    records = opt.RunLog(ctx, log_path, spec.name)
    set_threads(threads)
    with opt.compile_notice(ctx, spec.name):
        report = run_jobs(todo, lambda image, k: records.add(
                              todo[k], *denoise_image(image, spec, request, given)),
                          overwrite=overwrite, skip_existing=skip_existing,
                          progress=not opt.quiet(ctx), on_error=opt.error)
    report.failed[:0] = unreadable.failed
    records.write()
    opt.finish(ctx, report)
