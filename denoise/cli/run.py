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
@opt.data_range_opt
@opt.param_opt
@opt.recursive_opt
@opt.include_opt
@opt.exclude_opt
@opt.jobs_opt
@opt.threads_opt
@opt.executor_opt
@opt.scheduler_opt
@opt.tile_opt
@opt.max_pixels_opt
@opt.overwrite_opt
@opt.skip_existing_opt
@opt.format_opt
@opt.quality_opt
@opt.strip_metadata_opt
@opt.log_opt
@opt.verbosity
@click.pass_context
def run(ctx, inputs, output, method, sigma, noise_model, gain, offset, chroma_strength, strength,
        data_range, params, recursive, include, exclude, jobs, threads, executor, scheduler, tile,
        max_pixels, overwrite, skip_existing, fmt, quality, strip_metadata, log_path):
    """Denoise image files, folders and quoted globs into OUTPUT.

    The noise is estimated per file unless --sigma or --gain is given (`denoise
    estimate` shows what is found). Every file is planned from its header first, so
    a bad -p fails before any work. A re-run skips outputs newer than their inputs
    and redoes older ones; a file that fails is named with its reason at the end,
    the others are still written, and the exit code is 1. `-` reads one image from
    stdin or writes it to stdout. Outputs keep the input's EXIF (orientation
    included), ICC profile and resolution where their format holds them
    (--strip-metadata drops them), and a JPEG keeps its quality (--quality).
    Kernels are compiled on first use and cached (see `denoise warmup`).

    \b
    Examples:
      denoise run photo.png -o clean.png
      denoise run photo.png -o clean.png --sigma 20
      denoise run phone.jpg -o clean.jpg --quality 90 --strip-metadata
      denoise run raw/ -o clean/ -r --jobs 2 --include '*.tif'
      denoise run 'scans/**/*.png' -o clean/
      denoise run huge.tif -o clean.tif -m median --tile 2048
      denoise run frames/ -o clean/ --executor dask --scheduler tcp://host:8786
      cat noisy.png | denoise run - -o - > clean.png
    """
    from ..auto import NoiseRequest, check_plans, validation_sigma
    from ..batch import jobs_for, left_out, plan_files
    from ..executors import run_jobs
    from .progress import Progress
    from ..registry import coerce_params, get_filter
    from ..runfile import DenoiseStep
    from ..stdio import std_streams

    spec = get_filter(method)
    request = NoiseRequest(*sigma, "poisson-gaussian" if gain else noise_model, gain, offset,
                           chroma_strength, strength, data_range=data_range)
    with opt.usage_errors("'-p' / '--param'"):
        given = coerce_params(spec, params)
    with opt.usage_errors(), std_streams(inputs, output, fmt) as (inputs, output):
        todo, failed = opt.planned(
            jobs_for(inputs, output, recursive=recursive, include=include, exclude=exclude),
            lambda jobs: plan_files(jobs, lambda info: spec.plan(
                info, validation_sigma(request, info), **given), max_pixels=max_pixels,
                data_range=data_range),
            lambda jobs, plans: check_plans(jobs, plans, request))
        opt.threads(ctx, threads, jobs)
        opt.note_left_out(ctx, left_out(inputs, recursive=recursive))
        records = opt.RunLog(ctx, log_path, spec.name)
        with opt.compile_notice(ctx, spec.name):
            report = run_jobs(
                todo, DenoiseStep(spec.name, request, given, tile, max_pixels,
                                  saving=opt.saving(quality, strip_metadata)),
                mode=opt.mode(overwrite, skip_existing), workers=jobs, threads=threads,
                executor=executor, scheduler=scheduler, on_outcome=records.add,
                progress=Progress(len(todo), enabled=not opt.quiet(ctx)))
    report.failed[:0] = failed
    records.write()
    opt.finish(ctx, report)
