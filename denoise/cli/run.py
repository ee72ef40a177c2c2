"""`denoise run`: denoise files and folders."""
import click

from . import options as opt


@click.command()
@opt.inputs_arg
@opt.output_opt
@opt.method_opt
@opt.sigma_opt
@opt.param_opt
@opt.recursive_opt
@opt.threads_opt
@opt.overwrite_opt
@opt.skip_existing_opt
@opt.verbosity
@click.pass_context
def run(ctx, inputs, output, method, sigma, params, recursive, threads, overwrite,
        skip_existing):
    """Denoise image files and folders into OUTPUT.

    Every file is planned from its header first (parameters resolved and checked
    for its dtype and channels), so a bad -p fails before any work. Kernels are
    compiled on first use and cached (see `denoise warmup`).

    \b
    Examples:
      denoise run photo.png -o clean.png --sigma 20
      denoise run noisy/ -o clean/ -m median -p radius=2
    """
    from .._config import set_threads
    from ..batch import jobs_for, plan_files, run_jobs
    from ..registry import coerce_params, get_filter

    spec = get_filter(method)
    with opt.usage_errors("'-p' / '--param'"):
        given = coerce_params(spec, params)
    with opt.usage_errors():
        jobs = jobs_for(inputs, output, recursive=recursive)
        plans, unreadable = plan_files(jobs, lambda info: spec.plan(info, sigma, **given))
    for _, message in unreadable.failed:
        opt.error(message)
    todo = [(job, plan) for job, plan in zip(jobs, plans) if plan is not None]
    set_threads(threads)
    with opt.compile_notice(ctx, spec.name):
        report = run_jobs([job for job, _ in todo],
                          lambda image, k: spec.run(image, todo[k][1]),
                          overwrite=overwrite, skip_existing=skip_existing,
                          progress=not opt.quiet(ctx), on_error=opt.error)
    report.failed[:0] = unreadable.failed
    opt.finish(ctx, report)
